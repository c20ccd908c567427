// How `trace` and `trace_pipe` print entries under the trace options (trace_options, options/):
// irq-info, context-info, record-tgid, latency-format, raw, hex, sym-addr, printk-msg-only,
// hash-ptr and fields, as the three oracles printed them (test/fixtures/trace-options/). With
// every option at its default, the lines are trace.ts's formatTraceLine.

import type { KernelProfile } from './profile.ts';
import type { PointerOptions, TaskContext, TraceEntry } from './trace.ts';
import {
  eventFieldTable,
  formatEventText,
  formatTraceLine,
  pagePointer,
  TRACE_CLOCK_IN_NS,
  traceHeader,
} from './trace.ts';
import type { CmaTraceEvent } from './trace-events.ts';

/** What the printing depends on besides the entries. */
export interface TraceView {
  readonly profile: KernelProfile;
  readonly pointers: PointerOptions;
  /** The options that are on. */
  readonly on: ReadonlySet<string>;
  /** Options whose state differs from their default (none: the plain format). */
  readonly changed: boolean;
  /** Pids whose tgid was saved (an entry of theirs recorded with record-tgid on). */
  readonly tgids: ReadonlySet<number>;
  /** The buffer's clock value at its last reset (latency-format's times count from it). */
  readonly timeStart: bigint;
  readonly cpus: number;
}

/** A field of an event as a filter or the `fields` option reads it (numbers as raw bits). */
export function eventFieldValue(
  profile: KernelProfile,
  pointers: PointerOptions,
  event: CmaTraceEvent,
  task: TaskContext,
  field: string,
): bigint | string {
  switch (field) {
    case 'common_type':
      return BigInt(profile.traceEventIds[event.event]);
    case 'common_pid':
      return BigInt(task.pid);
    case 'CPU':
    case 'cpu':
    case 'common_cpu':
      return BigInt(task.cpu ?? 0);
    case 'COMM':
    case 'comm':
      return task.comm;
    case 'name':
      return event.name;
    case 'count':
    case 'request_count':
      return event.count;
    case 'align':
      return 'align' in event ? BigInt(event.align) : 0n;
    case 'pfn':
      return 'pfn' in event ? event.pfn : 0n;
    case 'page':
      return 'pfn' in event ? pagePointer(event.pfn, event.hasPage, pointers) : 0n;
    case 'errorno':
      return 'errorno' in event ? BigInt(event.errorno ?? 0) : 0n;
    case 'available_count':
      return 'availableCount' in event ? (event.availableCount ?? 0n) : 0n;
    case 'total_count':
      return 'totalCount' in event ? (event.totalCount ?? 0n) : 0n;
    default:
      // common_flags, common_preempt_count: the '.....' of every cma line
      return 0n;
  }
}

/** The print entry's type number (TRACE_PRINT), which raw/hex print for a trace_marker line. */
const TRACE_PRINT = 5;

const hex = (v: bigint | number, width: number) => BigInt(v).toString(16).padStart(width, '0');

/** The header of `trace`. */
export function renderHeader(v: TraceView, inBuffer: number, written: number): string {
  if (!v.changed) return traceHeader(inBuffer, written, v.cpus);
  if (!v.on.has('context-info')) return '# tracer: nop\n#\n';
  if (v.on.has('latency-format')) return latencyHeader(v, inBuffer, written);
  if (v.on.has('verbose')) return '# tracer: nop\n#\n';
  const irq = v.on.has('irq-info');
  const tgid = v.on.has('record-tgid');
  const head = [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${inBuffer}/${written}   #P:${v.cpus}`,
    '#',
  ];
  const pad = tgid ? ' '.repeat(10) : '';
  if (irq)
    head.push(
      `#                              ${pad}  _-----=> irqs-off/BH-disabled`,
      `#                              ${pad} / _----=> need-resched`,
      `#                              ${pad}| / _---=> hardirq/softirq`,
      `#                              ${pad}|| / _--=> preempt-depth`,
      `#                              ${pad}||| / _-=> migrate-disable`,
      `#                              ${pad}|||| /     delay`,
    );
  const cols = tgid
    ? ['#           TASK-PID       TGID    CPU#', '#              | |           |       |']
    : ['#           TASK-PID     CPU#', '#              | |         |'];
  head.push(
    `${cols[0]}  ${irq ? '|||||  ' : '   '}TIMESTAMP  FUNCTION`,
    `${cols[1]}   ${irq ? '|||||     ' : '      '}|         |`,
  );
  return `${head.join('\n')}\n`;
}

function latencyHeader(v: TraceView, inBuffer: number, written: number): string {
  return `${[
    '# tracer: nop',
    '#',
    `# nop latency trace v1.1.5 on ${v.profile.release}`,
    '# --------------------------------------------------------------------',
    `# latency: 0 us, #${inBuffer}/${written}, CPU#0 | (M:${v.profile.preemptModel} VP:0, KP:0, SP:0 HP:0 #P:${v.cpus})`,
    '#    -----------------',
    '#    | task: -0 (uid:0 nice:0 policy:0 rt_prio:0)',
    '#    -----------------',
    '#',
    '#                    _------=> CPU#            ',
    '#                   / _-----=> irqs-off/BH-disabled',
    '#                  | / _----=> need-resched    ',
    '#                  || / _---=> hardirq/softirq ',
    '#                  ||| / _--=> preempt-depth   ',
    '#                  |||| / _-=> migrate-disable ',
    '#                  ||||| /     delay           ',
    '#  cmd     pid     |||||| time  |   caller     ',
    '#     \\   /        ||||||  \\    |    /       ',
  ].join('\n')}\n`;
}

/** latency-format's mark of the time to the next entry (trace_find_mark), for ns clocks. */
function delayMark(ns: bigint): string {
  if (ns > 1_000_000_000n) return '$';
  if (ns > 100_000_000n) return '@';
  if (ns > 10_000_000n) return '*';
  if (ns > 1_000_000n) return '#';
  if (ns > 100_000n) return '!';
  if (ns > 10_000n) return '+';
  return ' ';
}

/** One entry's line(s); `next` is the entry after it (latency-format's delay mark). */
export function renderLine(v: TraceView, e: TraceEntry, next?: TraceEntry): string {
  if (!v.changed) return formatTraceLine(e);
  const print = e.event === null;
  const cpu = e.task.cpu ?? 0;
  if (print && v.on.has('printk-msg-only')) return e.text;
  const type = e.event === null ? TRACE_PRINT : v.profile.traceEventIds[e.event.event];
  const ip = e.marker?.ip ?? '';
  if (v.on.has('raw'))
    return `${e.task.pid} ${cpu} ${e.ts} ${print ? `# ${ip.replace(/^0x/, '')} ${e.text}` : `type: ${type}\n`}`;
  if (v.on.has('hex')) return `${hex(e.task.pid, 8)} ${hex(cpu, 8)} ${hex(e.ts, 16)} type: ${type}\n\n`;
  const ctx = v.on.has('context-info') ? context(v, e, next) : '';
  if (e.event === null) {
    if (v.on.has('fields')) return `${ctx}UNKNOWN TYPE ${TRACE_PRINT}\n`;
    const sym = v.on.has('sym-addr') ? ` <${ip.replace(/^0x/, '')}>` : '';
    return `${ctx}${ip}${sym}: ${e.text}`;
  }
  return `${ctx}${e.event.event}: ${eventText(v, e.event, e)}\n`;
}

/** The columns before the event: task, tgid, cpu, flags and time. */
function context(v: TraceView, e: TraceEntry, next?: TraceEntry): string {
  const cpu = e.task.cpu ?? 0;
  const flags = e.marker?.flags ?? '.....';
  const ns = TRACE_CLOCK_IN_NS.has(e.clock);
  if (v.on.has('latency-format')) {
    const comm = e.task.comm.slice(0, 8).padStart(8);
    const rel = e.ts - v.timeStart;
    const time = ns
      ? ` ${String((rel + 500n) / 1000n).padStart(4)}us${next ? delayMark(next.ts - e.ts) : ' '}: `
      : ` ${String(rel).padStart(4)}: `;
    return `${comm}-${String(e.task.pid).padEnd(7)} ${String(cpu).padStart(3)}${flags}${time}`;
  }
  let time: string;
  if (!ns) time = ` ${String(e.ts).padStart(12)}`;
  else {
    const us = (e.ts + 500n) / 1000n;
    time = ` ${String(us / 1000000n).padStart(5)}.${String(us % 1000000n).padStart(6, '0')}`;
  }
  const tgid = v.on.has('record-tgid')
    ? ` (${v.tgids.has(e.task.pid) ? String(e.task.pid).padStart(7) : '-------'})`
    : '';
  // without irq-info the flags go but the blank after them stays
  const irq = v.on.has('irq-info') ? ` ${flags}` : ' ';
  return `${e.task.comm.padStart(16)}-${String(e.task.pid).padEnd(7)}${tgid} [${String(cpu).padStart(3, '0')}]${irq}${time}: `;
}

/** The event's text: as recorded, or again where hash-ptr or fields change it. */
function eventText(v: TraceView, ev: CmaTraceEvent, e: TraceEntry): string {
  if (v.on.has('fields')) {
    const parts: string[] = [];
    for (const [name, f] of eventFieldTable(v.profile, ev.event).own) {
      const val = eventFieldValue(v.profile, v.pointers, ev, e.task, name);
      if (typeof val === 'string') parts.push(`${name}=${val}`);
      else {
        const bits = f.size * 8;
        const digits = v.profile.fieldsPad64 && f.size === 8 ? 16 : 0;
        parts.push(`${name}=0x${hex(BigInt.asUintN(bits, val), digits)} (${BigInt.asIntN(bits, val)})`);
      }
    }
    return parts.join(' ');
  }
  if (!v.on.has('hash-ptr')) {
    const shown = v.profile.hashPtrOffDropsStrings ? { ...ev, name: '' } : ev;
    return formatEventText(v.profile, shown as CmaTraceEvent, { ...v.pointers, mode: 'raw' });
  }
  return e.text;
}
