// The ftrace side of the cma tracepoints: event definitions, the ring buffer and the exact text
// of /sys/kernel/tracing/trace (kernel/trace/trace_output.c, trace.c).

import type { FilterField } from './event-filter.ts';
import { GENERIC_FIELDS, ownFields } from './event-filter.ts';
import type { KernelProfile, TraceEventName } from './profile.ts';
import type { CmaTraceEvent } from './trace-events.ts';

/** The events of the `cma` system, in `ls` order. */
export const CMA_TRACE_EVENTS: readonly TraceEventName[] = [
  'cma_alloc_busy_retry',
  'cma_alloc_finish',
  'cma_alloc_start',
  'cma_release',
];

/** The clocks listed by trace_clock on x86_64, default first. */
export const TRACE_CLOCKS = [
  'local',
  'global',
  'counter',
  'uptime',
  'perf',
  'mono',
  'mono_raw',
  'boot',
  'tai',
  'x86-tsc',
];

/** Clocks whose timestamps are nanoseconds (printed as seconds.micros); the others print raw. */
export const TRACE_CLOCK_IN_NS = new Set(['local', 'global', 'perf', 'mono', 'mono_raw', 'boot', 'tai']);

/** How `page=%p` prints a non-NULL page (lib/vsprintf.c: hashed unless no_hash_pointers; ptrval before crng init). */
export type PointerMode = 'ptrval' | 'hashed' | 'raw';

/** Who caused an event: the task context of the trace line. */
export interface TaskContext {
  readonly comm: string;
  readonly pid: number;
  readonly cpu?: number;
  /** Its ancestors' pids, parent first, where the front end can tell (set_event_pid's event-fork). */
  readonly parents?: () => readonly number[];
}

/** One recorded trace entry. */
export interface TraceEntry {
  readonly task: TaskContext;
  /** Timestamp in the clock of the buffer when recorded: ns for time clocks, a count for counter. */
  readonly ts: bigint;
  readonly clock: string;
  /** The cma event, or null for a `trace_marker` write (ftrace's print entry). */
  readonly event: CmaTraceEvent | null;
  /** Rendered TP_printk text; a print entry's text as written (its newline included). */
  readonly text: string;
  /** A print entry's ip and flags column (KernelProfile.traceMarker). */
  readonly marker?: { readonly ip: string; readonly flags: string };
}

const FIELD_COMMON = [
  '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;',
  '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;',
  '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;',
  '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;',
];

const ALLOC_CLASS_FIELDS = [
  'unsigned long pfn;\toffset:16;\tsize:8;\tsigned:0;',
  'const struct page * page;\toffset:24;\tsize:8;\tsigned:0;',
  'unsigned long count;\toffset:32;\tsize:8;\tsigned:0;',
  'unsigned int align;\toffset:40;\tsize:4;\tsigned:0;',
];
const ALLOC_CLASS_FMT =
  '"name=%s pfn=0x%lx page=%p count=%lu align=%u", __get_str(name), REC->pfn, REC->page, REC->count, REC->align';

function eventFields(profile: KernelProfile, event: TraceEventName): { fields: string[]; fmt: string } {
  switch (event) {
    case 'cma_alloc_busy_retry':
      return { fields: ALLOC_CLASS_FIELDS, fmt: ALLOC_CLASS_FMT };
    case 'cma_alloc_finish':
      if (!profile.finishErrorno) return { fields: ALLOC_CLASS_FIELDS, fmt: ALLOC_CLASS_FMT };
      return {
        fields: [...ALLOC_CLASS_FIELDS, 'int errorno;\toffset:44;\tsize:4;\tsigned:1;'],
        fmt: '"name=%s pfn=0x%lx page=%p count=%lu align=%u errorno=%d", __get_str(name), REC->pfn, REC->page, REC->count, REC->align, REC->errorno',
      };
    case 'cma_alloc_start':
      if (profile.allocStartFields === 'count-align')
        return {
          fields: [
            'unsigned long count;\toffset:16;\tsize:8;\tsigned:0;',
            'unsigned int align;\toffset:24;\tsize:4;\tsigned:0;',
          ],
          fmt: '"name=%s count=%lu align=%u", __get_str(name), REC->count, REC->align',
        };
      return {
        fields: [
          'unsigned long request_count;\toffset:16;\tsize:8;\tsigned:0;',
          'unsigned long available_count;\toffset:24;\tsize:8;\tsigned:0;',
          'unsigned long total_count;\toffset:32;\tsize:8;\tsigned:0;',
          'unsigned int align;\toffset:40;\tsize:4;\tsigned:0;',
        ],
        fmt: '"name=%s request_count=%lu available_count=%lu total_count=%lu align=%u", __get_str(name), REC->request_count, REC->available_count, REC->total_count, REC->align',
      };
    case 'cma_release':
      return {
        fields: ALLOC_CLASS_FIELDS.slice(0, 3),
        fmt: '"name=%s pfn=0x%lx page=%p count=%lu", __get_str(name), REC->pfn, REC->page, REC->count',
      };
  }
}

/** The text of events/cma/<event>/format. */
export function traceFormatFile(profile: KernelProfile, event: TraceEventName): string {
  const { fields, fmt } = eventFields(profile, event);
  return [
    `name: ${event}`,
    `ID: ${profile.traceEventIds[event]}`,
    'format:',
    ...FIELD_COMMON,
    '',
    `\tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:${profile.nameFieldSigned};`,
    ...fields.map((f) => `\tfield:${f}`),
    '',
    `print fmt: ${fmt}`,
    '',
  ].join('\n');
}

/**
 * The bytes of an event's record: the raw struct (its fields as the format file gives them, padded
 * to 8 by its unsigned longs), then the `name` string with its NUL (the counter-clock runs of
 * test/fixtures/tracefs-writes/ skip where records of these sizes fill a ring-buffer page).
 */
export function eventRecordSize(profile: KernelProfile, event: TraceEventName, nameBytes: number): number {
  const key = `${profile.id} ${event}`;
  let fixed = structSizes.get(key);
  if (fixed === undefined) {
    const ends = eventFields(profile, event).fields.map((f) => {
      const m = /offset:(\d+);\tsize:(\d+);/.exec(f);
      return m ? Number(m[1]) + Number(m[2]) : 0;
    });
    fixed = Math.ceil(Math.max(12, ...ends) / 8) * 8;
    structSizes.set(key, fixed);
  }
  return fixed + nameBytes + 1;
}

/** sizeof of each profile's raw event structs, by `profile.id event`. */
const structSizes = new Map<string, number>();

/** An event's fields from its format file: its own in order, and with the generic ones by name. */
export interface EventFieldTable {
  readonly own: readonly (readonly [string, FilterField])[];
  /** What a filter or trigger on the event may name. */
  readonly all: ReadonlyMap<string, FilterField>;
}

/** The field table of `event` on `profile` (made once per profile and event). */
export function eventFieldTable(profile: KernelProfile, event: TraceEventName): EventFieldTable {
  const key = `${profile.id} ${event}`;
  let t = fieldTables.get(key);
  if (!t) {
    const own = ownFields(traceFormatFile(profile, event));
    t = { own, all: new Map([...GENERIC_FIELDS, ...own]) };
    fieldTables.set(key, t);
  }
  return t;
}

const fieldTables = new Map<string, EventFieldTable>();

/** Options for rendering `%p`. */
export interface PointerOptions {
  readonly mode: PointerMode;
  /** sizeof(struct page): 56 on the oracle's config, 64 on distribution kernels. */
  readonly structPageSize: number;
  /** Key of the fake pointer hash (stable within one emulated boot). */
  readonly hashKey: number;
}

/** The address of the struct page of `pfn` in the vmemmap (0 when there is none). */
export function pagePointer(pfn: bigint, hasPage: boolean, opts: PointerOptions): bigint {
  if (!hasPage) return 0n;
  return (0xffffea0000000000n + pfn * BigInt(opts.structPageSize)) & 0xffffffffffffffffn;
}

/** %p of the struct page of `pfn` (hasPage false → NULL). */
function renderPagePointer(pfn: bigint, hasPage: boolean, opts: PointerOptions): string {
  if (!hasPage) return '0000000000000000';
  const raw = pagePointer(pfn, hasPage, opts);
  if (opts.mode === 'ptrval') return '(____ptrval____)';
  if (opts.mode === 'raw') return raw.toString(16).padStart(16, '0');
  // a keyed 64→32-bit mix: the right shape, not the kernel's siphash values
  let h = Number(raw & 0xffffffffn) ^ Number(raw >> 32n) ^ opts.hashKey;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h = (h ^ (h >>> 16)) >>> 0;
  return h.toString(16).padStart(16, '0');
}

/** TP_printk text of one event with the profile's event fields. */
export function formatEventText(profile: KernelProfile, ev: CmaTraceEvent, ptr: PointerOptions): string {
  switch (ev.event) {
    case 'cma_alloc_start':
      return profile.allocStartFields === 'request-available-total'
        ? `name=${ev.name} request_count=${ev.count} available_count=${ev.availableCount ?? 0n} total_count=${ev.totalCount ?? 0n} align=${ev.align}`
        : `name=${ev.name} count=${ev.count} align=${ev.align}`;
    case 'cma_alloc_finish':
    case 'cma_alloc_busy_retry': {
      const base = `name=${ev.name} pfn=0x${ev.pfn.toString(16)} page=${renderPagePointer(ev.pfn, ev.hasPage, ptr)} count=${ev.count} align=${ev.align}`;
      return ev.event === 'cma_alloc_finish' && profile.finishErrorno
        ? `${base} errorno=${ev.errorno ?? 0}`
        : base;
    }
    case 'cma_release':
      return `name=${ev.name} pfn=0x${ev.pfn.toString(16)} page=${renderPagePointer(ev.pfn, ev.hasPage, ptr)} count=${ev.count}`;
  }
}

/** The 12-line header of the `trace` file (default options: irq-info on, record-tgid off). */
export function traceHeader(inBuffer: number, written: number, cpus: number): string {
  return [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${inBuffer}/${written}   #P:${cpus}`,
    '#',
    '#                                _-----=> irqs-off/BH-disabled',
    '#                               / _----=> need-resched',
    '#                              | / _---=> hardirq/softirq',
    '#                              || / _--=> preempt-depth',
    '#                              ||| / _-=> migrate-disable',
    '#                              |||| /     delay',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
    '',
  ].join('\n');
}

/** One line of the `trace` file: context, flags, timestamp, event name and text. */
export function formatTraceLine(e: TraceEntry): string {
  const cpu = String(e.task.cpu ?? 0).padStart(3, '0');
  let time: string;
  if (!TRACE_CLOCK_IN_NS.has(e.clock)) {
    time = ` ${String(e.ts).padStart(12)}`;
  } else {
    const us = (e.ts + 500n) / 1000n; // ns2usecs rounds
    time = ` ${String(us / 1000000n).padStart(5)}.${String(us % 1000000n).padStart(6, '0')}`;
  }
  const task = `${e.task.comm.padStart(16)}-${String(e.task.pid).padEnd(7)} [${cpu}]`;
  // a print entry: "%ps: %s" of the written text, which brings its own newline (or none)
  if (e.event === null)
    return `${task} ${e.marker?.flags ?? '.....'}${time}: ${e.marker?.ip ?? ''}: ${e.text}`;
  return `${task} .....${time}: ${e.event.event}: ${e.text}\n`;
}
