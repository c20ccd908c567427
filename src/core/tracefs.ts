// The tracing state behind /sys/kernel/tracing (ring buffer, clock, enables) and its files.

import type { Result } from './errno.ts';
import { fail } from './errno.ts';
import type { EventFilter } from './event-filter.ts';
import { clearsFilter, FILTER_WRITE_MAX, filterText, parseFilter, subsystemRefusal } from './event-filter.ts';
import type { Trigger } from './event-trigger.ts';
import { NO_TRIGGERS, parseTrigger, triggerKind, triggerLine } from './event-trigger.ts';
import { kstrtoull } from './kstrtox.ts';
import type { KernelProfile, TraceEventName } from './profile.ts';
import type { PointerOptions, TaskContext, TraceEntry } from './trace.ts';
import {
  CMA_TRACE_EVENTS,
  eventFieldTable,
  eventRecordSize,
  formatEventText,
  TRACE_CLOCK_IN_NS,
  TRACE_CLOCKS,
  traceFormatFile,
} from './trace.ts';
import { kernelEventList } from './trace-event-list.ts';
import type { CmaTraceEvent } from './trace-events.ts';
import { traceOptionList } from './trace-options.ts';
import type { TraceView } from './trace-view.ts';
import { eventFieldValue, renderHeader, renderLine } from './trace-view.ts';
import type { DirNode, FileNode, OpenFile, VfsNode } from './vfs.ts';
import { controlFile, dir } from './vfs.ts';

const utf8 = new TextEncoder();

/** Data bytes of a ring-buffer page (BUF_PAGE_SIZE: 4096 less its 16-byte header). */
const RB_PAGE_DATA = 4080;

/**
 * The bytes a record of `payload` bytes takes in a ring-buffer page (rb_calculate_event_length):
 * a 4-byte header, 4 more for the length when the record is over 112 bytes, 4-byte aligned.
 */
function rbEventLength(payload: number): number {
  return Math.ceil((payload + 4 + (payload > 112 ? 4 : 0)) / 4) * 4;
}

/**
 * Entries kept at most whatever the buffer's size (a memory bound of the emulator; the kernel's
 * default 1408 KiB holds ~25,000 cma events, which the page model below keeps exactly).
 */
export const TRACE_BUFFER_ENTRIES = 200_000;

/** trace_buf_size's default (1441792 bytes): buffer_size_kb once the buffer is expanded. */
const DEFAULT_BUFFER_KB = 1408;

/** Pages of a per-CPU ring buffer of `kb` KiB (at least 2). */
function bufferPages(kb: number): number {
  return Math.max(2, Math.ceil((kb * 1024) / RB_PAGE_DATA));
}

/** The ftrace instance: tracing_on, the clock, which cma events are enabled, and the buffer. */
export class TraceBuffer {
  tracingOn = true;
  clock = 'local';
  readonly enabled = new Set<TraceEventName>();
  /** The kernel's other events switched on (`system:event`): listed, never recorded. */
  readonly otherEnabled = new Set<string>();
  written = 0;
  /** Recorded entries; the kept ones start at `head` (the oldest are dropped in batches). */
  private buf: TraceEntry[] = [];
  private head = 0;
  /** The counter clock's value (trace_clock_counter: one tick per event and per buffer reset). */
  counter = 0n;
  /** The trace options that are on (trace_options, options/): the profile's defaults at boot. */
  readonly options: Set<string>;
  /** Pids whose tgid the buffer saved (an entry recorded while record-tgid was on). */
  readonly tgids = new Set<number>();
  /** The clock's value at the last reset: latency-format's times count from it. */
  timeStart = 0n;
  /** Each cma event's triggers, newest first (event-trigger.ts). */
  readonly triggers = new Map<TraceEventName, Trigger[]>();
  /**
   * Events in soft mode (`system:event` → how many triggers hold it there: its own triggers, and
   * enable_event/disable_event naming it) and those soft-disabled (enabled, but not recording).
   */
  readonly softMode = new Map<string, number>();
  readonly softDisabled = new Set<string>();
  /** set_event_pid (when not empty, only these pids' events are recorded) and set_event_notrace_pid. */
  readonly eventPids = new Set<number>();
  readonly notracePids = new Set<number>();
  /** tracing_cpumask: a CPU outside it records nothing (markers fail with EBADF). */
  cpumask = 1n;
  /** buffer_percent and tracing_thresh: kept and shown, nothing here depends on them. */
  bufferPercent = 50;
  thresh = 0n;
  /**
   * Each cma event's `filter`: what the file shows, and the filter that drops records (null after
   * a refused write: the event is then unfiltered). No entry: `none`.
   */
  readonly filters = new Map<TraceEventName, { shown: string; filter: EventFilter | null }>();
  private listeners: ((e: TraceEntry) => void)[] = [];

  constructor(
    private readonly profile: KernelProfile,
    private readonly nowNs: () => bigint,
    readonly pointers: PointerOptions,
    readonly cpus = 1,
  ) {
    this.options = new Set(
      traceOptionList(profile)
        .filter((o) => o.on)
        .map((o) => o.name),
    );
  }

  /** What printing the buffer depends on besides its entries. */
  view(): TraceView {
    const defaults = traceOptionList(this.profile);
    return {
      profile: this.profile,
      pointers: this.pointers,
      on: this.options,
      changed: defaults.some((o) => o.on !== this.options.has(o.name)),
      tgids: this.tgids,
      timeStart: this.timeStart,
      cpus: this.cpus,
    };
  }

  /** Bytes used in the ring buffer's current page (kept in state files). */
  pageUsed = 0;
  /** The current page's number, and the page of each kept entry (buf's order). */
  private pageNo = 0;
  private pageOf: number[] = [];
  /** buffer_size_kb as last written (or the default); used once the buffer is expanded. */
  sizeKb = DEFAULT_BUFFER_KB;
  /**
   * Whether the ring buffer has its full size: it boots with 2 pages per CPU and grows to
   * buffer_size_kb when an event is first enabled or the size is written (tracing_update_buffers).
   */
  expanded = false;

  /**
   * The timestamp of a record of `payload` bytes. It is placed in the current page, or, when it
   * does not fit, in the next one: the writer then reads the clock once more, so the counter
   * clock skips a value (every ~75 cma events on 6.1; test/fixtures/tracefs-writes/).
   */
  private stamp(payload: number): bigint | null {
    const len = rbEventLength(payload);
    let skipped = false;
    if (this.pageUsed + len > RB_PAGE_DATA) {
      // with the overwrite option off a full buffer takes nothing more (its oldest page stays)
      const oldest = this.size > 0 ? this.pageOf[this.head]! : this.pageNo;
      // (and the rest of its last page is padded: a smaller record does not fit in it either)
      if (!this.options.has('overwrite') && this.pageNo + 1 - oldest >= this.pages) {
        this.pageUsed = RB_PAGE_DATA;
        return null;
      }
      this.pageUsed = 0;
      this.pageNo++;
      skipped = true;
    }
    this.pageUsed += len;
    if (this.clock === 'counter') {
      if (skipped) this.counter++;
      return ++this.counter;
    }
    return TRACE_CLOCK_IN_NS.has(this.clock) ? this.nowNs() : this.nowNs() / 1000n;
  }

  /**
   * Records an event if tracing is on, the event is enabled and its filter lets it through (a
   * filtered-out record takes no place in the buffer and no tick of the counter clock).
   */
  record(event: CmaTraceEvent, task: TaskContext): void {
    if (this.recordable(event, task)) {
      const size = eventRecordSize(this.profile, event.event, utf8.encode(event.name).length);
      const ts = this.stamp(size);
      if (ts !== null)
        this.push({
          task,
          ts,
          clock: this.clock,
          event,
          text: formatEventText(this.profile, event, this.pointers),
        });
    }
    // the event's triggers act after it (a traceoff's event is still recorded, a traceon's not)
    const triggers = this.triggers.get(event.event);
    if (triggers) this.fire(triggers, event, task);
  }

  private recordable(event: CmaTraceEvent, task: TaskContext): boolean {
    if (!this.tracingOn || !this.enabled.has(event.event) || !this.cpuOn(task)) return false;
    if (this.softDisabled.has(`cma:${event.event}`)) return false;
    if (this.eventPids.size > 0 && !this.eventPids.has(task.pid) && !this.forkedFrom(this.eventPids, task))
      return false;
    if (this.notracePids.has(task.pid) || this.forkedFrom(this.notracePids, task)) return false;
    const filter = this.filters.get(event.event)?.filter;
    return !filter || filter.test((f) => eventFieldValue(this.profile, this.pointers, event, task, f));
  }

  /**
   * With the event-fork option a pid list takes in the children of its tasks as they fork. The
   * emulator sees a task only when it acts, so it asks then: a task below a listed one joins the
   * list with the ancestors between them (the kernel also lists children that never record).
   */
  private forkedFrom(pids: Set<number>, task: TaskContext): boolean {
    if (pids.size === 0 || !this.options.has('event-fork') || !task.parents) return false;
    const up = task.parents();
    const at = up.findIndex((p) => pids.has(p));
    if (at < 0) return false;
    pids.add(task.pid);
    for (const p of up.slice(0, at)) pids.add(p);
    return true;
  }

  /**
   * Runs the triggers whose filter the event passes and whose count is not spent. A count only
   * drops when the trigger changes something (traceon while tracing is off, enable_event on a
   * soft-disabled event…); stacktrace's drops each time (its stacks are not modelled).
   */
  private fire(triggers: readonly Trigger[], event: CmaTraceEvent, task: TaskContext): void {
    for (const t of triggers) {
      if (t.count === 0) continue;
      if (t.filter && !t.filter.test((f) => eventFieldValue(this.profile, this.pointers, event, task, f)))
        continue;
      const on = t.cmd === 'traceon' || t.cmd === 'enable_event';
      if (t.cmd === 'traceon' || t.cmd === 'traceoff') {
        if (this.tracingOn === on) continue;
        this.tracingOn = on;
      } else if (t.cmd !== 'stacktrace') {
        const target = t.target!;
        if (this.softDisabled.has(target) !== on) continue;
        if (on) this.softDisabled.delete(target);
        else this.softDisabled.add(target);
      }
      if (t.count !== null) t.count--;
    }
  }

  /**
   * A `trace_marker` write (tracing_mark_write): at most the profile's maxBytes of it are taken,
   * as one print entry; the count taken, or -EBADF while tracing is off. The entry prints the
   * text up to a NUL, with a newline added when the bytes taken do not end in one (so a NUL
   * loses it, as on the kernels).
   */
  mark(data: Uint8Array, task: TaskContext): Result<{ written: number }> {
    if (!this.tracingOn) return fail('EBADF');
    if (!this.options.has('markers')) return fail('EINVAL');
    if (!this.cpuOn(task)) return fail('EBADF');
    const { ip, flags, maxBytes, minBytes } = this.profile.traceMarker;
    const taken = data.subarray(0, maxBytes);
    if (taken.length === 0) return { ok: true, written: 0 };
    const nul = taken.indexOf(0);
    const text =
      nul >= 0
        ? new TextDecoder().decode(taken.subarray(0, nul))
        : new TextDecoder().decode(taken) + (taken[taken.length - 1] === 0x0a ? '' : '\n');
    // print_entry (8-byte header and the ip), the text (at least minBytes), its '\n' and NUL
    const size = 16 + Math.max(taken.length, minBytes) + 2;
    const ts = this.stamp(size);
    if (ts !== null) this.push({ task, ts, clock: this.clock, event: null, text, marker: { ip, flags } });
    return { ok: true, written: taken.length };
  }

  /** Whether the task's CPU is in tracing_cpumask. */
  private cpuOn(task: TaskContext): boolean {
    return ((this.cpumask >> BigInt(task.cpu ?? 0)) & 1n) === 1n;
  }

  /** The ring buffer's pages (per CPU): 2 until it is expanded. */
  get pages(): number {
    return this.expanded ? bufferPages(this.sizeKb) : 2;
  }

  /**
   * buffer_size_kb as it reads: the pages' data bytes in KiB, and before the buffer is expanded
   * the size it will get (`7 (expanded: 1408)`; the per-CPU file leaves that out).
   */
  sizeText(perCpu: boolean): string {
    const kb = Math.floor((this.pages * RB_PAGE_DATA) / 1024);
    return this.expanded || perCpu ? `${kb}\n` : `${kb} (expanded: ${this.sizeKb})\n`;
  }

  /** Writing buffer_size_kb: the new size (the oldest pages' entries go if it is smaller). */
  resize(kb: number): void {
    this.sizeKb = kb;
    this.expanded = true;
    this.trim();
  }

  /** Enabling an event expands the buffer. */
  expand(): void {
    this.expanded = true;
  }

  private push(entry: TraceEntry): void {
    if (this.options.has('record-tgid')) this.tgids.add(entry.task.pid);
    this.written++;
    this.buf.push(entry);
    this.pageOf.push(this.pageNo);
    this.trim();
    for (const l of this.listeners) l(entry);
  }

  /**
   * Overwrites what the ring buffer no longer holds: the entries of pages older than its last
   * `pages` (the page being written and the full ones before it; oracle runs with 2 pages kept
   * 83 of 300 cma events on 6.1), and past TRACE_BUFFER_ENTRIES. Compacts only now and then,
   * so recording stays O(1).
   */
  private trim(): void {
    const oldest = this.pageNo - this.pages + 1;
    while (
      this.head < this.buf.length &&
      (this.pageOf[this.head]! < oldest || this.buf.length - this.head > TRACE_BUFFER_ENTRIES)
    )
      this.head++;
    if (this.head >= TRACE_BUFFER_ENTRIES / 4 || this.head === this.buf.length) this.compact();
  }

  /** How many entries the buffer holds. */
  get size(): number {
    return this.buf.length - this.head;
  }

  /** The `i`th oldest entry. */
  entryAt(i: number): TraceEntry | undefined {
    return this.buf[this.head + i];
  }

  /**
   * Takes the `n` oldest entries out (a `trace_pipe` read): they leave `trace`, and both of its
   * header's counts drop by `n` (the oracles' entries-in-buffer/entries-written: 120/120 → 85/85).
   */
  consume(n: number): void {
    const k = Math.min(n, this.size);
    this.head += k;
    this.written -= k;
    if (this.head >= TRACE_BUFFER_ENTRIES / 4 || this.head === this.buf.length) this.compact();
  }

  /** The entries in the buffer, oldest first. */
  get entries(): readonly TraceEntry[] {
    this.compact();
    return this.buf;
  }

  /** Replaces the buffer's contents (restoring a saved state: they count as the current page's). */
  set entries(entries: readonly TraceEntry[]) {
    this.buf = entries.slice(-TRACE_BUFFER_ENTRIES);
    this.pageOf = this.buf.map(() => this.pageNo);
    this.head = 0;
  }

  private compact(): void {
    if (this.head === 0) return;
    this.buf = this.buf.slice(this.head);
    this.pageOf = this.pageOf.slice(this.head);
    this.head = 0;
  }

  /** `echo > trace`: empties the buffer and the written count. */
  reset(): void {
    this.buf = [];
    this.pageOf = [];
    this.head = 0;
    this.written = 0;
    this.pageUsed = 0;
    if (this.clock === 'counter') this.timeStart = ++this.counter;
    else this.timeStart = TRACE_CLOCK_IN_NS.has(this.clock) ? this.nowNs() : this.nowNs() / 1000n;
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
    const v = this.view();
    const entries = this.entries;
    return (
      renderHeader(v, entries.length, this.written) +
      entries.map((e, i) => renderLine(v, e, entries[i + 1])).join('')
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

/**
 * An `enable` file over `system:event` names (an event's, its subsystem's, or all of events/):
 * `1` if all are on, `0` if none, `X` if some; writing 0 or 1 switches them all.
 */
function enableFile(buf: TraceBuffer, events: readonly string[]): VfsNode {
  return controlFile(
    0o640,
    () => {
      if (events.length === 1) {
        // one event: `0*`/`1*` while triggers hold it in soft mode (soft-disabled reads 0)
        const e = events[0]!;
        const on = isOn(buf, e) && !buf.softDisabled.has(e);
        return `${on ? 1 : 0}${buf.softMode.has(e) ? '*' : ''}\n`;
      }
      const on = events.filter((e) => isOn(buf, e)).length;
      return on === 0 ? '0\n' : on === events.length ? '1\n' : 'X\n';
    },
    (text) => {
      const v = parseBool(text);
      if (v === null) return fail('EINVAL');
      for (const e of events) setOn(buf, e, v);
      return { ok: true };
    },
  );
}

/**
 * `buffer_size_kb` (and `per_cpu/cpu0/`'s: one CPU): kstrtoul(s, 10) KiB per CPU; 0 and anything
 * not decimal -EINVAL (past 2^64 -ERANGE), more than the machine's RAM -ENOMEM (`99999999999` on
 * the oracles).
 */
function bufferSizeFile(buf: TraceBuffer, memBytes: number, perCpu: boolean): VfsNode {
  return controlFile(
    0o640,
    () => buf.sizeText(perCpu),
    (text) => {
      const v = kstrtoull(new TextEncoder().encode(text), 10);
      if (!v.ok) return v;
      if (v.value === 0n) return fail('EINVAL');
      if (v.value * 1024n > BigInt(memBytes)) return fail('ENOMEM');
      buf.resize(Number(v.value));
      return { ok: true };
    },
  );
}

/**
 * `trace_pipe` (and per_cpu/cpu0's: one CPU): a read takes the oldest entries out of the buffer
 * and returns their lines (tracing_read_pipe). The lines are printed into the open file's text
 * buffer (profile.traceSeqBytes) while they fit, until they reach the read's length; what the read
 * did not take stays for the open file's next read (and is lost at close). With nothing to
 * read, -EAGAIN: the kernel's reader blocks there, which a frontend may do (the FUSE mount waits
 * for the next entry; `cat` in the mini-shell stops).
 */
function tracePipeFile(buf: TraceBuffer, profile: KernelProfile): FileNode {
  return {
    kind: 'file',
    mode: 0o440,
    size: 0,
    seekable: false,
    emptyPastStart: false,
    blocking: true,
    open: () => {
      let left: Uint8Array = new Uint8Array(0);
      return {
        ok: true,
        file: {
          read: (_pos, length) => {
            const cnt = Math.min(length, profile.traceSeqBytes - 1);
            if (left.length > 0) {
              const out = left.subarray(0, cnt);
              left = left.subarray(out.length);
              return { ok: true, data: out };
            }
            if (buf.size === 0) return fail('EAGAIN');
            const view = buf.view();
            const lines: Uint8Array[] = [];
            let used = 0;
            let taken = 0;
            while (taken < buf.size && used < cnt) {
              const line = utf8.encode(renderLine(view, buf.entryAt(taken)!, buf.entryAt(taken + 1)));
              // a line that does not fit in what is left of the text buffer waits for the next read
              if (used + line.length > profile.traceSeqBytes - 1 && used > 0) break;
              lines.push(line);
              used += line.length;
              taken++;
            }
            buf.consume(taken);
            const text = new Uint8Array(used);
            let at = 0;
            for (const l of lines) {
              text.set(l, at);
              at += l.length;
            }
            left = text.subarray(Math.min(cnt, used));
            return { ok: true, data: text.subarray(0, Math.min(cnt, used)) };
          },
          textLength: () => 0,
          write: () => fail('EACCES'),
        },
      };
    },
  };
}

/**
 * `trace_options`: every option, `no` before those off; a write names one option, `no` before it
 * to clear it (blanks around it allowed), anything else -EINVAL.
 */
function traceOptionsFile(profile: KernelProfile, buf: TraceBuffer): FileNode {
  const names = traceOptionList(profile).map((o) => o.name);
  return controlFile(
    0o640,
    () => names.map((n) => `${buf.options.has(n) ? '' : 'no'}${n}\n`).join(''),
    (text) => {
      const word = text.trim();
      const off = word.startsWith('no');
      const name = off ? word.slice(2) : word;
      if (!names.includes(name)) return fail('EINVAL');
      setOption(buf, name, !off);
      return { ok: true };
    },
  );
}

/** `options/NAME`: `0` or `1`; a write of kstrtoul's 0 or 1 sets it, anything else -EINVAL. */
function optionFile(buf: TraceBuffer, name: string): FileNode {
  return controlFile(
    0o640,
    () => (buf.options.has(name) ? '1\n' : '0\n'),
    (text) => {
      const v = kstrtoull(utf8.encode(text), 10);
      if (!v.ok || v.value > 1n) return fail('EINVAL');
      setOption(buf, name, v.value === 1n);
      return { ok: true };
    },
  );
}

function setOption(buf: TraceBuffer, name: string, on: boolean): void {
  if (on) buf.options.add(name);
  else buf.options.delete(name);
}

/**
 * `set_event_pid` and `set_event_notrace_pid`: the pids, ascending; a write adds the decimal pids
 * it holds (blank-separated), all or none (`7 x`, `!1`, `-1` are -EINVAL); `>` empties it first.
 */
function pidListFile(pids: Set<number>): FileNode {
  return controlFile(
    0o640,
    () =>
      [...pids]
        .sort((a, b) => a - b)
        .map((p) => `${p}\n`)
        .join(''),
    (text) => {
      const words = text.split(/\s+/).filter(Boolean);
      if (!words.every((w) => /^\d+$/.test(w) && Number(w) < 2 ** 32)) return fail('EINVAL');
      for (const w of words) pids.add(Number(w));
      return { ok: true };
    },
    () => pids.clear(),
  );
}

/**
 * `tracing_cpumask`: the mask in hex (comma-separated 32-bit groups when written); a bit past the
 * machine's CPUs is -EOVERFLOW, anything not hex -EINVAL.
 */
function cpumaskFile(buf: TraceBuffer): FileNode {
  return controlFile(
    0o640,
    () => `${buf.cpumask.toString(16)}\n`,
    (text) => {
      const groups = text.trim().split(',');
      if (!groups.every((g) => /^[0-9a-fA-F]{1,8}$/.test(g))) return fail('EINVAL');
      const mask = groups.reduce((m, g) => (m << 32n) | BigInt(`0x${g}`), 0n);
      if (mask >> BigInt(buf.cpus) !== 0n) return fail('EOVERFLOW');
      buf.cpumask = mask;
      return { ok: true };
    },
  );
}

/** A number file taking kstrtoul's decimal (`buffer_percent` at most 100). */
function numberFile(show: () => string, set: (v: bigint) => boolean): FileNode {
  return controlFile(0o640, show, (text) => {
    const v = kstrtoull(utf8.encode(text), 10);
    if (!v.ok) return v;
    return set(v.value) ? { ok: true } : fail('EINVAL');
  });
}

/**
 * A file whose reads are -EINVAL and whose writes go to `write` (`trace_marker`; `trace_marker_raw`
 * and `free_buffer` take them). `textLength` is what a front end sizing files by their text sees:
 * not 0 where `cat` must reach the read's EINVAL (with st_size 0 the mount's sendfile reads EOF).
 */
function writeOnlyFile(
  mode: number,
  write: OpenFile['write'] = (data) => ({ ok: true, written: data.length }),
  textLength = 1,
): FileNode {
  return {
    kind: 'file',
    mode,
    size: 0,
    seekable: true,
    emptyPastStart: false,
    open: () => ({
      ok: true,
      file: { read: () => fail('EINVAL'), textLength: () => textLength, write },
    }),
  };
}

/** A trigger puts an event in soft mode: enabled if it was not, then soft-disabled. */
function holdSoft(buf: TraceBuffer, full: string): void {
  const n = buf.softMode.get(full) ?? 0;
  buf.softMode.set(full, n + 1);
  if (n === 0 && !isOn(buf, full)) {
    setEnabled(buf, full, true);
    buf.softDisabled.add(full);
  }
}

/** The last trigger holding an event goes: soft-disabled, it is disabled; else it stays on. */
function releaseSoft(buf: TraceBuffer, full: string): void {
  const n = (buf.softMode.get(full) ?? 1) - 1;
  if (n > 0) {
    buf.softMode.set(full, n);
    return;
  }
  buf.softMode.delete(full);
  if (buf.softDisabled.delete(full)) setEnabled(buf, full, false);
}

/**
 * An event's `trigger` file: its triggers newest first, or the list of those available. A write
 * adds one (a second of its kind is -EEXIST) or, with `!`, removes its kind; `>` does not clear.
 */
function triggerFile(
  profile: KernelProfile,
  buf: TraceBuffer,
  e: TraceEventName,
  events: readonly string[],
): FileNode {
  const own = `cma:${e}`;
  return controlFile(
    0o640,
    () => {
      const list = buf.triggers.get(e) ?? [];
      return list.length === 0 ? NO_TRIGGERS : list.map(triggerLine).join('');
    },
    (text) => {
      const w = parseTrigger(text, eventFieldTable(profile, e).all, events);
      if (!w.ok) return fail(w.errno);
      const list = buf.triggers.get(e) ?? [];
      const kind = triggerKind(w.trigger.cmd, w.trigger.target);
      const at = list.findIndex((t) => triggerKind(t.cmd, t.target) === kind);
      if (w.remove) {
        if (at >= 0) {
          const [gone] = list.splice(at, 1);
          if (gone?.target) releaseSoft(buf, gone.target);
          releaseSoft(buf, own);
          if (list.length === 0) buf.triggers.delete(e);
        }
        return { ok: true };
      }
      if (at >= 0) return fail('EEXIST');
      buf.triggers.set(e, [w.trigger, ...list]);
      holdSoft(buf, own);
      if (w.trigger.target) holdSoft(buf, w.trigger.target);
      return { ok: true };
    },
  );
}

/** `trace_marker` (0220): each write one print entry (TraceBuffer.mark); nothing to read. */
function traceMarkerFile(buf: TraceBuffer): FileNode {
  return writeOnlyFile(0o220, (data, _pos, task) => buf.mark(data, task), 0);
}

/**
 * A `filter` file: reads `show()` (only from the start, as print_event_filter does); each write
 * (up to a NUL, under a page) goes to `store`, a page or more is -EINVAL and changes nothing.
 */
function filterNode(show: () => string, store: (text: string) => Result<object>): FileNode {
  return controlFile(0o640, show, (t) => store(t), undefined, true);
}

/** An event's `filter`: `0` clears it; an expression sets it or is refused (core/event-filter.ts). */
function eventFilterFile(profile: KernelProfile, buf: TraceBuffer, e: TraceEventName): FileNode {
  return filterNode(
    () => buf.filters.get(e)?.shown ?? 'none\n',
    (data) => {
      if (utf8.encode(data).length >= FILTER_WRITE_MAX) return fail('EINVAL');
      const text = filterText(data);
      if (clearsFilter(text)) {
        buf.filters.delete(e);
        return { ok: true };
      }
      const r = parseFilter(text, eventFieldTable(profile, e).all);
      if (r.ok) {
        buf.filters.set(e, { shown: `${text}\n`, filter: r.filter });
        return { ok: true };
      }
      buf.filters.set(e, { shown: r.shown, filter: null });
      return fail(r.errno);
    },
  );
}

/**
 * The subsystem's `filter`: always its help text; a write sets the expression on every event it
 * parses for and marks the others as not set (the write itself succeeds), `0` clears them all.
 */
function subsystemFilterFile(profile: KernelProfile, buf: TraceBuffer): FileNode {
  return filterNode(
    () => SUBSYSTEM_FILTER_HELP,
    (data) => {
      if (utf8.encode(data).length >= FILTER_WRITE_MAX) return fail('EINVAL');
      const text = filterText(data);
      for (const e of CMA_TRACE_EVENTS) {
        if (clearsFilter(text)) {
          buf.filters.delete(e);
          continue;
        }
        const r = parseFilter(text, eventFieldTable(profile, e).all);
        buf.filters.set(
          e,
          r.ok ? { shown: `${text}\n`, filter: r.filter } : { shown: subsystemRefusal(text), filter: null },
        );
      }
      return { ok: true };
    },
  );
}

const SUBSYSTEM_FILTER_HELP =
  '### global filter ###\n' +
  '# Use this to set filters for multiple events.\n' +
  '# Only events with the given fields will be affected.\n' +
  '# If no events are modified, an error message will be displayed here\n';

/** Whether `system:event` is on (a cma event in `enabled`, another in `otherEnabled`). */
function isOn(buf: TraceBuffer, full: string): boolean {
  return full.startsWith('cma:')
    ? buf.enabled.has(full.slice(4) as TraceEventName)
    : buf.otherEnabled.has(full);
}

/** Switches `system:event` on or off (in soft mode: off soft-disables it, on clears that). */
function setOn(buf: TraceBuffer, full: string, on: boolean): void {
  if (buf.softMode.has(full)) {
    if (on) buf.softDisabled.delete(full);
    else {
      buf.softDisabled.add(full);
      return;
    }
  }
  setEnabled(buf, full, on);
}

/** Sets the event's enabled flag itself. */
function setEnabled(buf: TraceBuffer, full: string, on: boolean): void {
  if (on) buf.expand();
  if (full.startsWith('cma:')) {
    const e = full.slice(4) as TraceEventName;
    if (on) buf.enabled.add(e);
    else buf.enabled.delete(e);
  } else if (on) buf.otherEnabled.add(full);
  else buf.otherEnabled.delete(full);
}

/**
 * One `set_event` word (ftrace_set_clr_event): `[!][SYSTEM:][EVENT]`, where an empty or `*`
 * SYSTEM or EVENT matches any, and a word without a colon names a system or an event; `*` alone,
 * globs and a third part match nothing. Returns false when nothing matches (-EINVAL).
 */
function setEventWord(buf: TraceBuffer, word: string, events: readonly string[]): boolean {
  const on = !word.startsWith('!');
  const w = on ? word : word.slice(1);
  const parts = w.split(':');
  if (parts.length > 2 || w === '' || w === '*') return false;
  const any = (x: string | undefined) => x === undefined || x === '' || x === '*';
  let matched = false;
  for (const full of events) {
    const [system, name] = full.split(':') as [string, string];
    const hit =
      parts.length === 2
        ? (any(parts[0]) || parts[0] === system) && (any(parts[1]) || parts[1] === name)
        : w === system || w === name;
    if (!hit) continue;
    matched = true;
    setOn(buf, full, on);
  }
  return matched;
}

/** /sys/kernel/tracing: trace, tracing_on, trace_clock, current_tracer and events/cma/. */
export function tracefsRoot(profile: KernelProfile, buf: TraceBuffer, memBytes: number): DirNode {
  // the kernel's events in its list's order (ours, for a profile without a recorded list)
  const known = kernelEventList(profile.id);
  const events = known.length > 0 ? known : CMA_TRACE_EVENTS.map((e) => `cma:${e}`);
  const listed = () =>
    events
      .filter((e) => isOn(buf, e))
      .map((e) => `${e}\n`)
      .join('');
  const event = (e: TraceEventName): DirNode =>
    dir(() => [
      ['enable', enableFile(buf, [`cma:${e}`])],
      ['filter', eventFilterFile(profile, buf, e)],
      ['trigger', triggerFile(profile, buf, e, events)],
      ['format', controlFile(0o440, () => traceFormatFile(profile, e), null)],
      ['id', controlFile(0o440, () => `${profile.traceEventIds[e]}\n`, null)],
    ]);
  const cma = dir(() => [
    ...CMA_TRACE_EVENTS.map((e): [string, VfsNode] => [e, event(e)]),
    [
      'enable',
      enableFile(
        buf,
        CMA_TRACE_EVENTS.map((e) => `cma:${e}`),
      ),
    ],
    ['filter', subsystemFilterFile(profile, buf)],
  ]);
  return dir(() => [
    [
      'set_event',
      controlFile(
        0o640,
        listed,
        // the words of one write (whitespace and NULs part them), in order; the first that
        // matches nothing ends the write with -EINVAL, the ones before it done
        (text) => {
          for (const word of text.split(/[\s\0]+/))
            if (word !== '' && !setEventWord(buf, word, events)) return fail('EINVAL');
          return { ok: true };
        },
        // opened with O_TRUNC (`>`): every event off first
        () => {
          buf.enabled.clear();
          buf.otherEnabled.clear();
        },
      ),
    ],
    ['available_events', controlFile(0o440, () => events.map((e) => `${e}\n`).join(''), null)],
    ['trace_marker', traceMarkerFile(buf)],
    ['buffer_size_kb', bufferSizeFile(buf, memBytes, false)],
    ['buffer_total_size_kb', controlFile(0o440, () => buf.sizeText(false), null)],
    ['trace_pipe', tracePipeFile(buf, profile)],
    ['trace_options', traceOptionsFile(profile, buf)],
    [
      'options',
      dir(() => traceOptionList(profile).map((o): [string, VfsNode] => [o.name, optionFile(buf, o.name)])),
    ],
    [
      'per_cpu',
      dir(() => [
        [
          'cpu0',
          dir(() => [
            ['buffer_size_kb', bufferSizeFile(buf, memBytes, true)],
            ['trace_pipe', tracePipeFile(buf, profile)],
          ]),
        ],
      ]),
    ],
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
    ['set_event_pid', pidListFile(buf.eventPids)],
    ['set_event_notrace_pid', pidListFile(buf.notracePids)],
    ['tracing_cpumask', cpumaskFile(buf)],
    [
      'buffer_percent',
      numberFile(
        () => `${buf.bufferPercent}\n`,
        (v) => {
          if (v > 100n) return false;
          buf.bufferPercent = Number(v);
          return true;
        },
      ),
    ],
    [
      'tracing_thresh',
      numberFile(
        () => `${buf.thresh}\n`,
        (v) => {
          buf.thresh = v;
          return true;
        },
      ),
    ],
    ['available_tracers', controlFile(0o440, () => 'nop\n', null)],
    [
      'timestamp_mode',
      controlFile(
        0o440,
        () => '[delta] absolute\n',
        () => fail('EINVAL'),
      ),
    ],
    ['saved_cmdlines_size', controlFile(0o640, () => `${profile.savedCmdlinesSize}\n`, null)],
    ['trace_marker_raw', writeOnlyFile(0o220)],
    ['free_buffer', writeOnlyFile(0o200)],
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
        // every event of the kernel (the others listed, never recorded)
        ['enable', enableFile(buf, events)],
      ]),
    ],
  ]);
}
