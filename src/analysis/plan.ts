// Sizing an area for a recorded workload: extract the request/release sequence of a trace and
// find, per order_per_bit, the smallest area (in bitmap granules) on which OUR allocator (the
// kernel's first fit, placements recomputed, not taken from the trace) never fails.

import type { AreaSpec } from '../core/cma.ts';
import { AlignmentTable, cmaBitmapPagesToBits } from '../core/cma.ts';
import type { CmaBitmapFactory } from '../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../core/indexed-bitmap.ts';
import type { AnnotatedArea, TraceEvent } from '../sources/trace/events.ts';
import { EV_ALLOC, EV_FINISH, EV_RELEASE, EV_START } from '../sources/trace/events.ts';
import type { TraceSource } from '../sources/trace/input.ts';
import { memorySource } from '../sources/trace/input.ts';
import { TraceLineParser } from '../sources/trace/parse.ts';
import { readTraceEvents } from '../sources/trace/read-events.ts';
import type { ReplayAreaSpec } from '../sources/trace/replay.ts';
import { inferAreas, toReplaySpec } from '../sources/trace/replay.ts';

/** How requests that failed in the recording are treated. */
export type FailedPolicy = 'transient' | 'hold' | 'skip';

const OP_ALLOC = 1;
const OP_RELEASE = 2;
const OP_NONE = 0;

/** The request/release sequence of one area, in trace order (requests at their start event). */
export interface WorkloadSequence {
  readonly name: string;
  /** OP_ALLOC (1), OP_RELEASE (2) or 0 (dropped). */
  kind: number[];
  /** Alloc: pages requested; release: pages released. */
  pages: number[];
  /** Alloc: alignment order; release: offset in pages from the allocation's first pfn. */
  arg: number[];
  /** Alloc: its id; release: the id of the allocation released. */
  id: number[];
  /** Alloc: also released right away (a request that failed in the recording, 'transient'). */
  transient: boolean[];
  /** Trace line of each op. */
  line: number[];
  allocs: number;
  releases: number;
  failedInTrace: number;
  /** Releases whose allocation is not in the trace (allocated before recording started). */
  unknownReleases: number;
  /** Alloc ops whose count is 2^53 or more: the exact u64 count (pages holds MAX_SAFE_INTEGER). */
  bigCounts: Map<number, bigint>;
  /** Alloc ops that failed in the recording (whatever the policy did with them). */
  failedOps: Set<number>;
}

/** A request set aside: larger than the whole area, no size of this area could satisfy it. */
export interface SetAsideRequest {
  line: number;
  /** Pages requested (a bigint, exact, for a u64 count of 2^53 or more). */
  pages: number | bigint;
  align: number;
  /** What the kernel did with it: 'failed', or 'succeeded' (e.g. a count that wraps to 0 bits). */
  recorded: 'failed' | 'succeeded';
}

/** One order_per_bit choice. */
export interface PlanChoice {
  orderPerBit: number;
  /** The smallest size in bitmap bits (granules of 2^order_per_bit pages) that never fails. */
  bits: number;
  /** = bits << order_per_bit. */
  pages: number;
  bytes: number;
  /** Highest `used` (pages, bitmap-rounded) during the sequence at that size. */
  peakUsedPages: number;
  /** Free pages at the worst moment (pages - peakUsedPages). */
  headroomPages: number;
  /** Longest free run at the worst moment, pages. */
  maxchunkAtWorst: number;
  /** Trace line of the worst moment. */
  worstLine: number;
  /** Replays run for this choice. */
  replays: number;
}

/** The plan of one area. */
export interface AreaPlan {
  name: string;
  basePfn: number;
  /** The area as recorded (or given), for comparison: pages of all its ranges. */
  recordedCount: number;
  recordedOrderPerBit: number;
  /**
   * Ranges of the recorded area. The plan is always for ONE contiguous range at `basePfn`
   * (range 0's base): a multi-range (7.x) area's workload is sized as a single-range area.
   */
  recordedRanges: number;
  requests: number;
  releases: number;
  failedInTrace: number;
  unknownReleases: number;
  choices: PlanChoice[];
  /** The choice with the fewest pages (ties: larger order_per_bit, the smaller bitmap). */
  best: PlanChoice | null;
  /** Requests larger than the recorded area, left out of the sizing (unless includeOversize). */
  setAside: SetAsideRequest[];
  /** Why there is no `best`, in a sentence (null when there is one). */
  noSizeReason: string | null;
}

/** The plan of a trace. */
export interface PlanResult {
  events: number;
  areaSource: 'options' | 'annotation' | 'inferred';
  failedPolicy: FailedPolicy;
  areas: AreaPlan[];
}

/** Plan options. */
export interface PlanOptions {
  /** As ReplayOptions.areas; only base_pfn (alignment) and names matter. */
  areas?: readonly (ReplayAreaSpec | AreaSpec)[] | 'auto' | 'infer';
  /** order_per_bit values to try (default 0…9). */
  orderPerBits?: readonly number[];
  /**
   * Requests that failed in the recording: 'transient' (default; must fit at that moment, then
   * gone, as the caller never got them), 'hold' (kept to the end: the most conservative) or
   * 'skip' (ignored).
   */
  failed?: FailedPolicy;
  /** Bitmap implementation (default: the index; plainBitmapFactory is the kernel's own scan). */
  bitmapFactory?: CmaBitmapFactory;
  /**
   * Keep requests larger than the recorded area (default false: they are set aside and listed,
   * as no area of that size could satisfy them: e.g. `echo 4294967295 > alloc`).
   */
  includeOversize?: boolean;
}

function newSeq(name: string): WorkloadSequence {
  return {
    name,
    kind: [],
    pages: [],
    arg: [],
    id: [],
    transient: [],
    line: [],
    allocs: 0,
    releases: 0,
    failedInTrace: 0,
    unknownReleases: 0,
    bigCounts: new Map(),
    failedOps: new Set(),
  };
}

/**
 * Reads the kernel's request/release sequence per area name: a request is placed at its
 * cma_alloc_start (as the kernel searches there), a release refers to the request the kernel
 * had put at that pfn.
 */
function sequenceCollector(failed: FailedPolicy): {
  onEvent: (ev: TraceEvent) => void;
  finish: () => Map<string, WorkloadSequence>;
} {
  const seqs = new Map<string, WorkloadSequence>();
  const pending = new Map<number, { seq: WorkloadSequence; op: number }>();
  const live = new Map<string, Map<number, { id: number; first: number; pages: number }>>();
  const seqOf = (name: string): WorkloadSequence => {
    const key = name === '' ? 'cma' : name;
    let s = seqs.get(key);
    if (!s) {
      s = newSeq(key);
      seqs.set(key, s);
      live.set(key, new Map());
    }
    return s;
  };
  const failOp = (seq: WorkloadSequence, op: number): void => {
    seq.failedInTrace++;
    seq.failedOps.add(op);
    if (failed === 'skip') seq.kind[op] = OP_NONE;
    else if (failed === 'transient') seq.transient[op] = true;
  };
  const pushAlloc = (seq: WorkloadSequence, ev: TraceEvent): number => {
    const op = seq.kind.length;
    seq.kind.push(OP_ALLOC);
    seq.pages.push(ev.countBig !== null ? Number.MAX_SAFE_INTEGER : ev.count);
    if (ev.countBig !== null) seq.bigCounts.set(op, ev.countBig);
    seq.arg.push(Math.max(ev.align, 0));
    seq.id.push(seq.allocs++);
    seq.transient.push(false);
    seq.line.push(ev.line);
    return op;
  };
  const placed = (seq: WorkloadSequence, op: number, pfn: number, pages: number): void => {
    live.get(seq.name)!.set(pfn, { id: seq.id[op]!, first: pfn, pages });
  };
  const onEvent = (ev: TraceEvent): void => {
    if (ev.kind === EV_START) {
      const seq = seqOf(ev.name);
      const old = pending.get(ev.pid);
      if (old) failOp(old.seq, old.op); // 6.1 oversize: a start without finish
      pending.set(ev.pid, { seq, op: pushAlloc(seq, ev) });
    } else if (ev.kind === EV_FINISH) {
      const p = pending.get(ev.pid);
      if (!p) return;
      pending.delete(ev.pid);
      if (ev.hasPage) placed(p.seq, p.op, ev.pfn, ev.count);
      else failOp(p.seq, p.op);
    } else if (ev.kind === EV_ALLOC) {
      const seq = seqOf(ev.name);
      const op = pushAlloc(seq, ev);
      if (ev.hasPage) placed(seq, op, ev.pfn, ev.count);
      else failOp(seq, op);
    } else if (ev.kind === EV_RELEASE) {
      const seq = seqOf(ev.name);
      const m = live.get(seq.name)!;
      const rec = m.get(ev.pfn);
      if (!rec) {
        seq.unknownReleases++;
        return;
      }
      m.delete(ev.pfn);
      seq.kind.push(OP_RELEASE);
      seq.pages.push(ev.count);
      seq.arg.push(ev.pfn - rec.first);
      seq.id.push(rec.id);
      seq.transient.push(false);
      seq.line.push(ev.line);
      seq.releases++;
      if (ev.count < rec.pages) m.set(ev.pfn + ev.count, { ...rec, pages: rec.pages - ev.count });
    }
  };
  const finish = (): Map<string, WorkloadSequence> => {
    for (const p of pending.values()) failOp(p.seq, p.op);
    pending.clear();
    return seqs;
  };
  return { onEvent, finish };
}

/** Outcome of one simulated run. */
export interface SimulationResult {
  /** Index of the first op that failed, or -1. */
  failedAt: number;
  peakUsedBits: number;
  /** Lowest free bits seen and the op where it happened. */
  minFreeBits: number;
  minFreeOp: number;
}

/**
 * Runs a sequence on an empty area of `maxno` bits (base `basePfn`, `orderPerBit`) with the
 * kernel's first fit. Stops at the first failure, or after op `stopAfter` (for inspection).
 */
export function simulateSequence(
  seq: WorkloadSequence,
  basePfn: number,
  orderPerBit: number,
  maxno: number,
  factory: CmaBitmapFactory = indexedBitmapFactory,
  stopAfter = Number.POSITIVE_INFINITY,
): SimulationResult & { bitmap: ReturnType<CmaBitmapFactory> } {
  const bitmap = factory(maxno);
  const aligned = new AlignmentTable(basePfn, orderPerBit);
  const unit = 2 ** orderPerBit;
  const placeBit = new Float64Array(seq.allocs).fill(-1);
  const placeBits = new Float64Array(seq.allocs);
  let used = 0;
  let peak = 0;
  let minFree = maxno;
  let minFreeOp = -1;
  const n = seq.kind.length;
  for (let i = 0; i < n && i <= stopAfter; i++) {
    const k = seq.kind[i]!;
    if (k === OP_ALLOC) {
      const pages = seq.pages[i]!;
      const bits =
        pages >= Number.MAX_SAFE_INTEGER
          ? Number(cmaBitmapPagesToBits(2n ** 64n - 1n, orderPerBit))
          : Math.floor((pages + unit - 1) / unit);
      if (bits > maxno) return { failedAt: i, peakUsedBits: peak, minFreeBits: minFree, minFreeOp, bitmap };
      const align = seq.arg[i]!;
      const bit = bitmap.findArea(0, bits, aligned.mask(align), aligned.offset(align));
      if (bit >= maxno) return { failedAt: i, peakUsedBits: peak, minFreeBits: minFree, minFreeOp, bitmap };
      if (bits > 0) bitmap.set(bit, bits);
      used += bits;
      if (used > peak) peak = used;
      if (maxno - used < minFree) {
        minFree = maxno - used;
        minFreeOp = i;
      }
      if (seq.transient[i] && i !== stopAfter) {
        // (kept set when inspecting the worst moment)
        if (bits > 0) bitmap.clear(bit, bits);
        used -= bits;
      } else {
        const id = seq.id[i]!;
        placeBit[id] = bit;
        placeBits[id] = bits;
      }
    } else if (k === OP_RELEASE) {
      const id = seq.id[i]!;
      const p = placeBit[id]!;
      if (p < 0) continue;
      const from = p + Math.floor(seq.arg[i]! / unit);
      const end = Math.min(p + placeBits[id]!, from + Math.floor((seq.pages[i]! + unit - 1) / unit));
      if (end > from) used -= bitmap.clear(from, end - from);
    }
  }
  return { failedAt: -1, peakUsedBits: peak, minFreeBits: minFree, minFreeOp, bitmap };
}

/** Bits that must be free at once at some moment, whatever the placement (a lower bound). */
function peakDemandBits(seq: WorkloadSequence, orderPerBit: number): number {
  const unit = 2 ** orderPerBit;
  const held = new Float64Array(seq.allocs);
  let cur = 0;
  let peak = 0;
  for (let i = 0; i < seq.kind.length; i++) {
    const k = seq.kind[i]!;
    if (k === OP_ALLOC) {
      const pages = seq.pages[i]!;
      const bits = pages >= Number.MAX_SAFE_INTEGER ? 2 ** 53 : Math.floor((pages + unit - 1) / unit);
      peak = Math.max(peak, cur + bits);
      if (!seq.transient[i]) {
        held[seq.id[i]!] = bits;
        cur += bits;
      }
    } else if (k === OP_RELEASE) {
      const id = seq.id[i]!;
      const b = Math.min(held[id]!, Math.floor((seq.pages[i]! + unit - 1) / unit));
      held[id] = held[id]! - b;
      cur -= b;
    }
  }
  return peak;
}

const MAX_BITS = 2 ** 31;

/** The smallest number of bits at which the sequence never fails, for one order_per_bit. */
export function planOrderPerBit(
  seq: WorkloadSequence,
  basePfn: number,
  orderPerBit: number,
  factory: CmaBitmapFactory = indexedBitmapFactory,
): PlanChoice | null {
  let replays = 0;
  /** The last size that passed, and its run (the final answer's run: not replayed again). */
  let passed: { bits: number; run: ReturnType<typeof simulateSequence> } | null = null;
  const passes = (bits: number): boolean => {
    replays++;
    const run = simulateSequence(seq, basePfn, orderPerBit, bits, factory);
    if (run.failedAt >= 0) return false;
    passed = { bits, run };
    return true;
  };
  const demand = peakDemandBits(seq, orderPerBit);
  if (demand >= MAX_BITS) return null;
  let lo = demand - 1; // fails for sure (pigeonhole), or -1
  let hi = Math.max(demand, 1);
  while (!passes(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > MAX_BITS) return null;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid > 0 && passes(mid)) hi = mid;
    else if (mid <= 0) break;
    else lo = mid;
  }
  if (demand === 0) hi = 0;
  const unit = 2 ** orderPerBit;
  const last = passed as { bits: number; run: ReturnType<typeof simulateSequence> } | null;
  const reuse = last !== null && last.bits === hi;
  const run = reuse ? last.run : simulateSequence(seq, basePfn, orderPerBit, hi, factory);
  let maxchunkAtWorst = hi * unit;
  let worstLine = 0;
  if (run.minFreeOp >= 0) {
    const atWorst = simulateSequence(seq, basePfn, orderPerBit, hi, factory, run.minFreeOp);
    maxchunkAtWorst = atWorst.bitmap.longestZeroRun() * unit;
    worstLine = seq.line[run.minFreeOp]!;
  }
  return {
    orderPerBit,
    bits: hi,
    pages: hi * unit,
    bytes: hi * unit * 4096,
    peakUsedPages: run.peakUsedBits * unit,
    headroomPages: run.minFreeBits * unit,
    maxchunkAtWorst,
    worstLine,
    replays: replays + (reuse ? 0 : 1),
  };
}

function toSpec(a: ReplayAreaSpec | AreaSpec): ReplayAreaSpec {
  return toReplaySpec(a);
}

/**
 * Plans area sizes for the workload recorded in a trace: for each area and each
 * order_per_bit, the smallest size (bits, pages) on which the request/release sequence never
 * fails under the kernel's first fit, with the headroom at the worst moment.
 */
export async function planTrace(
  source: TraceSource | string | Uint8Array,
  opts: PlanOptions = {},
): Promise<PlanResult> {
  const src = typeof source === 'string' || source instanceof Uint8Array ? memorySource(source) : source;
  const failed = opts.failed ?? 'transient';
  const col = sequenceCollector(failed);
  const annotated: AnnotatedArea[] = [];
  const stats = await readTraceEvents(src, col.onEvent, { onAnnotation: (a) => annotated.push(a) });
  const seqs = col.finish();
  let specs: ReplayAreaSpec[];
  let areaSource: PlanResult['areaSource'];
  const mode = opts.areas ?? 'auto';
  if (Array.isArray(mode)) {
    specs = mode.map(toSpec);
    areaSource = 'options';
  } else if (mode === 'auto' && annotated.length > 0) {
    specs = annotated.map((a) => ({ ...a }));
    areaSource = 'annotation';
  } else {
    specs = await inferAreas(src);
    areaSource = 'inferred';
  }
  const opbs = opts.orderPerBits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const factory = opts.bitmapFactory ?? indexedBitmapFactory;
  const areas: AreaPlan[] = [];
  for (const spec of specs) {
    const seq = seqs.get(spec.name) ?? newSeq(spec.name);
    const setAside = opts.includeOversize ? [] : setAsideOversize(seq, spec.count);
    const active = seq.kind.filter((k) => k === OP_ALLOC).length;
    const choices: PlanChoice[] = [];
    if (active > 0)
      for (const opb of opbs) {
        const c = planOrderPerBit(seq, spec.basePfn, opb, factory);
        if (c) choices.push(c);
      }
    let best: PlanChoice | null = null;
    for (const c of choices)
      if (!best || c.pages < best.pages || (c.pages === best.pages && c.orderPerBit > best.orderPerBit))
        best = c;
    const noSizeReason = best !== null ? null : whyNoSize(seq, active, opbs, setAside.length);
    areas.push({
      name: spec.name,
      basePfn: spec.basePfn,
      recordedCount: spec.count,
      recordedOrderPerBit: spec.orderPerBit,
      recordedRanges: spec.ranges?.length ?? 1,
      requests: seq.allocs,
      releases: seq.releases,
      failedInTrace: seq.failedInTrace,
      unknownReleases: seq.unknownReleases,
      choices,
      best,
      setAside,
      noSizeReason,
    });
  }
  return { events: stats.events, areaSource, failedPolicy: failed, areas };
}

/**
 * Drops (OP_NONE) the requests larger than the area's `count` pages and returns them: no size
 * the plan could pick for this area would satisfy them (the kernel refuses them as well, or,
 * for a count that wraps around in cma_bitmap_pages_to_bits(), "succeeds" with no bits).
 */
function setAsideOversize(seq: WorkloadSequence, count: number): SetAsideRequest[] {
  const out: SetAsideRequest[] = [];
  for (let i = 0; i < seq.kind.length; i++) {
    if (seq.kind[i] === OP_RELEASE || seq.pages[i] === undefined) continue;
    const big = seq.bigCounts.get(i);
    if (big === undefined && seq.pages[i]! <= count) continue;
    // (a request the 'skip' policy already dropped is listed too: it is still left out)
    if (seq.kind[i] === OP_NONE && !seq.failedOps.has(i)) continue;
    seq.kind[i] = OP_NONE;
    out.push({
      line: seq.line[i]!,
      pages: big ?? seq.pages[i]!,
      align: seq.arg[i]!,
      recorded: seq.failedOps.has(i) ? 'failed' : 'succeeded',
    });
  }
  return out;
}

/** A sentence saying why no size was found. */
function whyNoSize(seq: WorkloadSequence, active: number, opbs: readonly number[], setAside: number): string {
  if (active === 0)
    return setAside > 0
      ? 'every request of this area was set aside: nothing left to size'
      : 'the trace holds no requests for this area: nothing to size';
  let biggest = -1;
  for (let i = 0; i < seq.kind.length; i++)
    if (seq.kind[i] === OP_ALLOC && (biggest < 0 || seq.pages[i]! > seq.pages[biggest]!)) biggest = i;
  const big = seq.bigCounts.get(biggest);
  const pages = big ?? seq.pages[biggest]!;
  if (opbs.length === 0) return 'no order_per_bit value to try';
  return `no size up to 2^31 bits (order_per_bit ${opbs.join(',')}) works: the largest request, ${pages} pages at line ${seq.line[biggest]}, or the requests held at once need more; --failed skip leaves out the requests that failed in the recording`;
}

/** Extracts the sequences of a trace (for tests and tools). */
export function sequencesFromText(
  text: string | Uint8Array,
  failed: FailedPolicy = 'transient',
): Map<string, WorkloadSequence> {
  const col = sequenceCollector(failed);
  const parser = new TraceLineParser(col.onEvent);
  parser.feed(typeof text === 'string' ? new TextEncoder().encode(text) : text);
  parser.end();
  return col.finish();
}
