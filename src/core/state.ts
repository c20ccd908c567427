// A CmaSystem as plain JSON-able data and back: areas with their bitmaps, debugfs records,
// sysfs counters and busy pages, vmstat, the kernel log and the trace buffer. Used by
// `cma-debug mount --state FILE` to survive restarts and crashes.

import { validate } from '../schema/issues.ts';
import { StateSchema } from '../schema/state.ts';
import type { AreaSpec, BusyRange } from './cma.ts';
import { setBitsFromWords } from './cma-bitmap.ts';
import { ConfigError, checkSystemLimits } from './config.ts';
import { parseFilter } from './event-filter.ts';
import type { TriggerCommand } from './event-trigger.ts';
import type { KernelProfile, TraceEventName } from './profile.ts';
import { findProfile, PROFILES } from './profile.ts';
import { CmaSystem } from './system.ts';
import type { TraceEntry } from './trace.ts';
import { CMA_TRACE_EVENTS, eventFieldTable } from './trace.ts';
import { traceOptionList } from './trace-options.ts';

/** The version written in every state document. */
const STATE_FORMAT = 'cma-debug-state';
const STATE_VERSION = 1;

/** One range as saved: its placement and its bitmap words (base64 of little-endian u32). */
interface RangeState {
  readonly basePfn: number;
  readonly count: number;
  readonly bitmap: string;
}

/** One area as saved; u64 values are decimal strings. */
interface AreaStateData {
  readonly name: string;
  readonly orderPerBit: number;
  readonly ranges: readonly RangeState[];
  readonly availableCount: number;
  readonly sysfs: { allocPagesSuccess: string; allocPagesFail: string; releasePagesSuccess: string };
  readonly busy: readonly BusyRange[];
  /** The debugfs LIFO list, oldest first. */
  readonly records: readonly { pfn: number; count: string }[];
}

/** A whole system as saved. Trace entries keep bigints as `{"$n": "123"}`. */
export interface SystemState {
  readonly format: typeof STATE_FORMAT;
  readonly version: number;
  readonly profile: string;
  /** Emulated milliseconds since boot when saved; the restored clock continues from here. */
  readonly nowMs: number;
  readonly areas: readonly AreaStateData[];
  readonly vmstat: { cma_alloc_success: number; cma_alloc_fail: number };
  readonly corruption: string | null;
  /** The machine's RAM in pages, when the system was made with one (`--mem`). */
  readonly memPages?: number;
  /** Its `memmap=` holes (`--cmdline`), pfns. */
  readonly memHoles?: readonly { start: number; end: number }[];
  /** The 1 GiB hugetlb pool, head first: each page's area, or null for ordinary memory. */
  readonly hugepages?: readonly { area: string | null; pfn: number }[];
  readonly kernelLog: readonly { timeMs: number; text: string }[];
  readonly tracing: {
    readonly tracingOn: boolean;
    readonly clock: string;
    readonly enabled: readonly string[];
    readonly written: number;
    readonly counter: string;
    /** Bytes used in the ring buffer's current page (where the counter clock next skips). */
    readonly pageUsed?: number;
    /** buffer_size_kb, and whether the buffer has grown to it. */
    readonly sizeKb?: number;
    readonly expanded?: boolean;
    /** The trace options that are on, and the pids whose tgid the buffer saved. */
    readonly options?: readonly string[];
    readonly tgids?: readonly number[];
    /** The clock's value at the last reset (latency-format counts from it). */
    readonly timeStart?: string;
    /** Each cma event's triggers (newest first), and the events they hold in soft mode. */
    readonly triggers?: Readonly<
      Record<
        string,
        readonly { cmd: TriggerCommand; target?: string; count: number | null; filter?: string }[]
      >
    >;
    readonly softMode?: Readonly<Record<string, number>>;
    readonly softDisabled?: readonly string[];
    /** set_event_pid, set_event_notrace_pid, tracing_cpumask, buffer_percent, tracing_thresh. */
    readonly eventPids?: readonly number[];
    readonly notracePids?: readonly number[];
    readonly cpumask?: string;
    readonly bufferPercent?: number;
    readonly thresh?: string;
    /** Each cma event's `filter` file as it reads, and whether it filters (false: refused). */
    readonly filters?: Readonly<Record<string, { shown: string; active: boolean }>>;
    readonly entries: readonly unknown[];
  };
}

function wordsToBase64(words: Uint32Array): string {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => {
    view.setUint32(i * 4, w, true);
  });
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function base64ToWords(text: string, nwords: number, what: string): Uint32Array {
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    throw new ConfigError(`${what}: bitmap is not base64`);
  }
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (bytes.length !== nwords * 4)
    throw new ConfigError(`${what}: bitmap has ${bytes.length} bytes, expected ${nwords * 4}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const words = new Uint32Array(nwords);
  for (let i = 0; i < nwords; i++) words[i] = view.getUint32(i * 4, true);
  return words;
}

/** Replaces every bigint in a value by `{"$n": "decimal"}` (JSON has no 64-bit integers). */
function encodeBig(v: unknown): unknown {
  if (typeof v === 'bigint') return { $n: v.toString() };
  if (Array.isArray(v)) return v.map(encodeBig);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeBig(x)]));
  return v;
}

function decodeBig(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeBig);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$n' && typeof o.$n === 'string') return BigInt(o.$n);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decodeBig(x)]));
  }
  return v;
}

/** Everything a restart needs to continue exactly where `sys` is now. */
export function systemToState(sys: CmaSystem): SystemState {
  const tracing = sys.tracing;
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    profile: sys.profile.id,
    nowMs: sys.uptimeMs(),
    areas: sys.areas.map((st) => ({
      name: st.area.name,
      orderPerBit: st.area.orderPerBit,
      ranges: st.area.ranges.map((r) => ({
        basePfn: r.basePfn,
        count: r.count,
        bitmap: wordsToBase64(r.bitmap.words),
      })),
      availableCount: st.area.availableCount,
      sysfs: {
        allocPagesSuccess: st.area.sysfs.allocPagesSuccess.toString(),
        allocPagesFail: st.area.sysfs.allocPagesFail.toString(),
        releasePagesSuccess: st.area.sysfs.releasePagesSuccess.toString(),
      },
      busy: st.area.busy.map((b) => ({
        pfn: b.pfn,
        count: b.count,
        error: b.error,
        ...(b.once ? { once: true } : {}),
        ...(b.owner ? { owner: b.owner } : {}),
      })),
      records: st.records.map((m) => ({ pfn: m.pfn, count: m.count.toString() })),
    })),
    vmstat: { ...sys.vmstat },
    corruption: sys.corruption,
    ...(sys.memPages !== undefined ? { memPages: sys.memPages } : {}),
    ...(sys.memHoles.length > 0
      ? { memHoles: sys.memHoles.map((h) => ({ start: h.start, end: h.end })) }
      : {}),
    ...(sys.gigantic.pages.length > 0
      ? { hugepages: sys.gigantic.pages.map((p) => ({ area: p.area?.name ?? null, pfn: p.pfn })) }
      : {}),
    kernelLog: sys.kernelLog.records.map((r) => ({ timeMs: r.timeMs, text: r.text })),
    tracing: {
      tracingOn: tracing.tracingOn,
      clock: tracing.clock,
      enabled: [...tracing.enabled, ...tracing.otherEnabled],
      written: tracing.written,
      counter: tracing.counter.toString(),
      pageUsed: tracing.pageUsed,
      sizeKb: tracing.sizeKb,
      expanded: tracing.expanded,
      options: [...tracing.options],
      timeStart: tracing.timeStart.toString(),
      ...(tracing.triggers.size > 0
        ? {
            triggers: Object.fromEntries(
              [...tracing.triggers].map(([e, list]) => [
                e,
                list.map((t) => ({
                  cmd: t.cmd,
                  ...(t.target ? { target: t.target } : {}),
                  count: t.count,
                  ...(t.filter ? { filter: t.filter.text } : {}),
                })),
              ]),
            ),
          }
        : {}),
      ...(tracing.softMode.size > 0 ? { softMode: Object.fromEntries(tracing.softMode) } : {}),
      ...(tracing.softDisabled.size > 0 ? { softDisabled: [...tracing.softDisabled] } : {}),
      ...(tracing.eventPids.size > 0 ? { eventPids: [...tracing.eventPids] } : {}),
      ...(tracing.notracePids.size > 0 ? { notracePids: [...tracing.notracePids] } : {}),
      cpumask: tracing.cpumask.toString(),
      bufferPercent: tracing.bufferPercent,
      thresh: tracing.thresh.toString(),
      ...(tracing.tgids.size > 0 ? { tgids: [...tracing.tgids] } : {}),
      ...(tracing.filters.size > 0
        ? {
            filters: Object.fromEntries(
              [...tracing.filters].map(([e, f]) => [e, { shown: f.shown, active: f.filter !== null }]),
            ),
          }
        : {}),
      entries: tracing.entries.map(encodeBig),
    },
  };
}

/** The JSON text of a state (what `--state FILE` holds). */
export function stateToJson(state: SystemState): string {
  return `${JSON.stringify(state)}\n`;
}

/** The area specs a state was made from, to compare with what a user asked for. */
export function stateAreaSpecs(state: SystemState): AreaSpec[] {
  return state.areas.map((a) => ({
    name: a.name,
    orderPerBit: a.orderPerBit,
    ranges: a.ranges.map((r) => ({ basePfn: r.basePfn, count: r.count })),
  }));
}

/** A state's per-event table names a cma event. */
function checkCmaEvent(e: string, what: string): asserts e is TraceEventName {
  check((CMA_TRACE_EVENTS as readonly string[]).includes(e), what, `'${e}' is not a CMA trace event`);
}

function check(cond: unknown, what: string, problem: string): asserts cond {
  if (!cond) throw new ConfigError(`${what}: ${problem}`);
}

/** Parses and validates a state file's text; throws ConfigError naming the problem and its JSON path. */
export function parseState(text: string, what = 'state'): SystemState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${what}: not valid JSON (${(e as Error).message})`);
  }
  const s = doc as Partial<SystemState> | null;
  check(
    typeof s === 'object' && s !== null && !Array.isArray(s),
    what,
    'not a cma-debug state (not a JSON object)',
  );
  check(s.format === STATE_FORMAT, what, `not a cma-debug state (format '${String(s.format)}')`);
  check(s.version === STATE_VERSION, what, `state version ${String(s.version)} is not supported`);
  check(
    typeof s.profile === 'string' && findProfile(s.profile),
    what,
    `unknown profile '${String(s.profile)}' (known: ${Object.keys(PROFILES).join(', ')})`,
  );
  const fail = (m: string): never => {
    throw new ConfigError(`${what}: ${m}`);
  };
  const st = validate(StateSchema, doc, fail);
  st.tracing.enabled.forEach((e, i) => {
    // the cma events by name; the kernel's others (set_event `*:*`) as system:event
    check(
      (CMA_TRACE_EVENTS as readonly string[]).includes(e) || /^\w+:\w+$/.test(e),
      what,
      `tracing.enabled[${i}] '${e}' is neither a CMA trace event (${CMA_TRACE_EVENTS.join(', ')}) nor system:event`,
    );
  });
  // before anything is allocated: numbers a kernel can have, and files that agree
  checkSystemLimits(st.areas, (m) => fail(m));
  st.areas.forEach((a, i) => {
    const count = a.ranges.reduce((n, r) => n + r.count, 0);
    check(
      a.availableCount <= count,
      what,
      `areas[${i}].availableCount ${a.availableCount} is more than the area's ${count} pages`,
    );
  });
  return st as SystemState;
}

/** Rebuilds a system from a state; the clock continues from the saved time. */
export function systemFromState(state: SystemState, what = 'state'): CmaSystem {
  const profile = findProfile(state.profile) as KernelProfile;
  const t0 = performance.now();
  const sys = new CmaSystem({
    profile,
    areas: stateAreaSpecs(state),
    now: () => state.nowMs + (performance.now() - t0),
    ...(state.memPages !== undefined ? { memPages: state.memPages } : {}),
    ...(state.memHoles !== undefined ? { memHoles: state.memHoles } : {}),
  });
  state.areas.forEach((a, i) => {
    const st = sys.areas[i]!;
    a.ranges.forEach((r, j) => {
      const bitmap = st.area.ranges[j]!.bitmap;
      const words = base64ToWords(r.bitmap, bitmap.words.length, `${what}: area '${a.name}' range ${j}`);
      setBitsFromWords(bitmap, words);
    });
    st.area.availableCount = a.availableCount;
    st.area.sysfs.allocPagesSuccess = BigInt(a.sysfs.allocPagesSuccess);
    st.area.sysfs.allocPagesFail = BigInt(a.sysfs.allocPagesFail);
    st.area.sysfs.releasePagesSuccess = BigInt(a.sysfs.releasePagesSuccess);
    st.area.busy = a.busy.map((b) => ({
      pfn: b.pfn,
      count: b.count,
      error: b.error,
      ...(b.once === true ? { once: true } : {}),
      ...(b.owner ? { owner: b.owner } : {}),
    }));
    for (const m of a.records) st.records.push({ pfn: m.pfn, count: BigInt(m.count) });
  });
  sys.vmstat.cma_alloc_success = state.vmstat.cma_alloc_success;
  sys.vmstat.cma_alloc_fail = state.vmstat.cma_alloc_fail;
  sys.corruption = state.corruption;
  sys.gigantic.pages = (state.hugepages ?? []).map((p) => {
    const area = p.area === null ? null : sys.areas.find((st) => st.area.name === p.area)?.area;
    check(area !== undefined, `${what}: hugepages`, `area '${p.area}' is not one of the state's areas`);
    return { area, pfn: p.pfn };
  });
  const log = sys.kernelLog.records as { seq: number; timeMs: number; text: string }[];
  log.length = 0;
  state.kernelLog.forEach((r, seq) => {
    log.push({ seq, timeMs: r.timeMs, text: r.text });
  });
  const tr = sys.tracing;
  tr.tracingOn = state.tracing.tracingOn;
  tr.clock = state.tracing.clock;
  tr.enabled.clear();
  tr.otherEnabled.clear();
  for (const e of state.tracing.enabled)
    if (e.includes(':')) tr.otherEnabled.add(e);
    else tr.enabled.add(e as TraceEventName);
  tr.written = state.tracing.written;
  tr.counter = BigInt(state.tracing.counter);
  tr.pageUsed = state.tracing.pageUsed ?? 0;
  tr.sizeKb = state.tracing.sizeKb ?? tr.sizeKb;
  tr.expanded = state.tracing.expanded ?? tr.enabled.size > 0;
  tr.entries = state.tracing.entries.map((e) => decodeBig(e) as TraceEntry);
  if (state.tracing.options) {
    const known = new Set(traceOptionList(sys.profile).map((o) => o.name));
    tr.options.clear();
    for (const o of state.tracing.options) {
      check(known.has(o), `${what}: tracing.options`, `'${o}' is not a trace option of ${sys.profile.id}`);
      tr.options.add(o);
    }
  }
  tr.timeStart = BigInt(state.tracing.timeStart ?? '0');
  tr.triggers.clear();
  for (const [e, list] of Object.entries(state.tracing.triggers ?? {})) {
    checkCmaEvent(e, `${what}: tracing.triggers`);
    const fields = eventFieldTable(sys.profile, e as TraceEventName).all;
    tr.triggers.set(
      e as TraceEventName,
      list.map((t) => {
        const f = t.filter === undefined ? undefined : parseFilter(t.filter, fields);
        check(
          f === undefined || f.ok,
          `${what}: tracing.triggers.${e}`,
          `'${t.filter}' is not a filter of ${e}`,
        );
        return {
          cmd: t.cmd,
          ...(t.target ? { target: t.target } : {}),
          count: t.count,
          ...(f?.ok ? { filter: f.filter } : {}),
        };
      }),
    );
  }
  tr.softMode.clear();
  for (const [e, n] of Object.entries(state.tracing.softMode ?? {})) tr.softMode.set(e, n);
  tr.softDisabled.clear();
  for (const e of state.tracing.softDisabled ?? []) tr.softDisabled.add(e);
  tr.eventPids.clear();
  for (const p of state.tracing.eventPids ?? []) tr.eventPids.add(p);
  tr.notracePids.clear();
  for (const p of state.tracing.notracePids ?? []) tr.notracePids.add(p);
  tr.cpumask = BigInt(state.tracing.cpumask ?? '1');
  tr.bufferPercent = state.tracing.bufferPercent ?? 50;
  tr.thresh = BigInt(state.tracing.thresh ?? '0');
  tr.tgids.clear();
  for (const p of state.tracing.tgids ?? []) tr.tgids.add(p);
  tr.filters.clear();
  for (const [e, f] of Object.entries(state.tracing.filters ?? {})) {
    checkCmaEvent(e, `${what}: tracing.filters`);
    const event = e as TraceEventName;
    if (!f.active) {
      tr.filters.set(event, { shown: f.shown, filter: null });
      continue;
    }
    const text = f.shown.replace(/\n$/, '');
    const r = parseFilter(text, eventFieldTable(sys.profile, event).all);
    check(r.ok, `${what}: tracing.filters.${e}`, `'${text}' is not a filter of this kernel's ${e}`);
    if (r.ok) tr.filters.set(event, { shown: f.shown, filter: r.filter });
  }
  return sys;
}
