// The tracing state behind /sys/kernel/tracing (ring buffer, clock, enables) and its files.

import type { Result } from './errno.ts';
import { fail } from './errno.ts';
import type { KernelProfile, TraceEventName } from './profile.ts';
import type { PointerOptions, TaskContext, TraceEntry } from './trace.ts';
import {
  CMA_TRACE_EVENTS,
  formatEventText,
  formatTraceLine,
  TRACE_CLOCK_IN_NS,
  TRACE_CLOCKS,
  traceFormatFile,
  traceHeader,
} from './trace.ts';
import type { CmaTraceEvent } from './trace-events.ts';
import type { DirNode, VfsNode } from './vfs.ts';
import { controlFile, dir } from './vfs.ts';

/** Entries kept before the oldest are overwritten (the kernel's buffer is per-CPU kB). */
export const TRACE_BUFFER_ENTRIES = 200_000;

/** The ftrace instance: tracing_on, the clock, which cma events are enabled, and the buffer. */
export class TraceBuffer {
  tracingOn = true;
  clock = 'local';
  readonly enabled = new Set<TraceEventName>();
  written = 0;
  /** Recorded entries; the kept ones start at `head` (the oldest are dropped in batches). */
  private buf: TraceEntry[] = [];
  private head = 0;
  /** The counter clock's value (trace_clock_counter: one tick per event and per buffer reset). */
  counter = 0n;
  private listeners: ((e: TraceEntry) => void)[] = [];

  constructor(
    private readonly profile: KernelProfile,
    private readonly nowNs: () => bigint,
    readonly pointers: PointerOptions,
    readonly cpus = 1,
  ) {}

  private stamp(): bigint {
    if (this.clock === 'counter') return ++this.counter;
    return TRACE_CLOCK_IN_NS.has(this.clock) ? this.nowNs() : this.nowNs() / 1000n;
  }

  /** Records an event if tracing is on and the event is enabled. */
  record(event: CmaTraceEvent, task: TaskContext): void {
    if (!this.tracingOn || !this.enabled.has(event.event)) return;
    const entry: TraceEntry = {
      task,
      ts: this.stamp(),
      clock: this.clock,
      event,
      text: formatEventText(this.profile, event, this.pointers),
    };
    this.written++;
    this.buf.push(entry);
    if (this.buf.length - this.head > TRACE_BUFFER_ENTRIES) {
      // overwrite the oldest entry; compact only now and then, so recording stays O(1)
      this.head++;
      if (this.head >= TRACE_BUFFER_ENTRIES / 4) this.compact();
    }
    for (const l of this.listeners) l(entry);
  }

  /** The entries in the buffer, oldest first. */
  get entries(): readonly TraceEntry[] {
    this.compact();
    return this.buf;
  }

  /** Replaces the buffer's contents (restoring a saved state). */
  set entries(entries: readonly TraceEntry[]) {
    this.buf = entries.slice(-TRACE_BUFFER_ENTRIES);
    this.head = 0;
  }

  private compact(): void {
    if (this.head === 0) return;
    this.buf = this.buf.slice(this.head);
    this.head = 0;
  }

  /** `echo > trace`: empties the buffer and the written count. */
  reset(): void {
    this.buf = [];
    this.head = 0;
    this.written = 0;
    if (this.clock === 'counter') this.counter++;
  }

  /** Writing trace_clock: switches the clock and resets the buffer, as tracing_set_clock does. */
  setClock(name: string): Result<object> {
    if (!TRACE_CLOCKS.includes(name)) return fail('EINVAL');
    this.clock = name;
    this.reset();
    return { ok: true };
  }

  /** The text of the `trace` file. */
  text(): string {
    return (
      traceHeader(this.entries.length, this.written, this.cpus) + this.entries.map(formatTraceLine).join('')
    );
  }

  /** Calls `fn` for every recorded entry; returns an unsubscribe function. */
  subscribe(fn: (e: TraceEntry) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }
}

function parseBool(text: string): boolean | null {
  const t = text.trim();
  if (t === '0') return false;
  if (t === '1') return true;
  return null;
}

function enableFile(buf: TraceBuffer, events: readonly TraceEventName[]): VfsNode {
  return controlFile(
    0o640,
    () => {
      const on = events.filter((e) => buf.enabled.has(e)).length;
      return on === 0 ? '0\n' : on === events.length ? '1\n' : 'X\n';
    },
    (text) => {
      const v = parseBool(text);
      if (v === null) return fail('EINVAL');
      for (const e of events) {
        if (v) buf.enabled.add(e);
        else buf.enabled.delete(e);
      }
      return { ok: true };
    },
  );
}

/**
 * An event's or the subsystem's `filter`: `none` or the subsystem's help text while no filter is
 * set (print_event_filter, print_subsystem_event_filter); only a read from the start returns it.
 */
const filterFile = (text = 'none\n'): VfsNode =>
  controlFile(
    0o640,
    () => text,
    (t) => (t.trim() === '0' || t.trim() === '' ? { ok: true } : fail('EINVAL')),
    undefined,
    true,
  );

const SUBSYSTEM_FILTER_HELP =
  '### global filter ###\n' +
  '# Use this to set filters for multiple events.\n' +
  '# Only events with the given fields will be affected.\n' +
  '# If no events are modified, an error message will be displayed here\n';

/** /sys/kernel/tracing: trace, tracing_on, trace_clock, current_tracer and events/cma/. */
export function tracefsRoot(profile: KernelProfile, buf: TraceBuffer): DirNode {
  const event = (e: TraceEventName): DirNode =>
    dir(() => [
      ['enable', enableFile(buf, [e])],
      ['filter', filterFile()],
      ['format', controlFile(0o440, () => traceFormatFile(profile, e), null)],
      ['id', controlFile(0o440, () => `${profile.traceEventIds[e]}\n`, null)],
    ]);
  const cma = dir(() => [
    ...CMA_TRACE_EVENTS.map((e): [string, VfsNode] => [e, event(e)]),
    ['enable', enableFile(buf, CMA_TRACE_EVENTS)],
    ['filter', filterFile(SUBSYSTEM_FILTER_HELP)],
  ]);
  return dir(() => [
    [
      'trace',
      controlFile(
        0o640,
        () => buf.text(),
        () => ({ ok: true }),
        () => buf.reset(),
      ),
    ],
    [
      'tracing_on',
      controlFile(
        0o640,
        () => (buf.tracingOn ? '1\n' : '0\n'),
        (text) => {
          const v = parseBool(text);
          if (v === null) return fail('EINVAL');
          buf.tracingOn = v;
          return { ok: true };
        },
      ),
    ],
    [
      'trace_clock',
      controlFile(
        0o640,
        () => `${TRACE_CLOCKS.map((c) => (c === buf.clock ? `[${c}]` : c)).join(' ')}\n`,
        (text) => buf.setClock(text.trim()),
      ),
    ],
    [
      'current_tracer',
      controlFile(
        0o640,
        () => 'nop\n',
        (text) => (text.trim() === 'nop' ? { ok: true } : fail('EINVAL')),
      ),
    ],
    [
      'events',
      dir(() => [
        ['cma', cma],
        ['enable', enableFile(buf, CMA_TRACE_EVENTS)],
      ]),
    ],
  ]);
}
