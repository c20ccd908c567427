// Sizing an area for a recorded workload: extract the request/release sequence of a trace and
// find, per order_per_bit, the smallest area (in bitmap granules) on which OUR allocator (the
// kernel's first fit, placements recomputed, not taken from the trace) never fails.

import type { AreaSpec } from '../core/cma.ts';
import type { CmaBitmapFactory } from '../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../core/indexed-bitmap.ts';
import type { AnnotatedArea } from '../sources/trace/events.ts';
import type { TraceSource } from '../sources/trace/input.ts';
import { memorySource } from '../sources/trace/input.ts';
import type { ReplayAreaSpec } from '../sources/trace/replay.ts';
import { inferAreas, toReplaySpec } from '../sources/trace/replay.ts';
import { type PlanHelper, type SizeTask, sizeAll, startPlanHelper } from './plan-parallel.ts';
import { readPlanEvents } from './plan-read.ts';
import {
  emptySequence,
  type FailedPolicy,
  OP_ALLOC,
  type SetAsideRequest,
  sequenceCollector,
  setAsideOversize,
  type WorkloadSequence,
} from './plan-sequence.ts';
import type { PlanChoice } from './plan-size.ts';

export type { FailedPolicy, SetAsideRequest, WorkloadSequence } from './plan-sequence.ts';
export { sequencesFromText } from './plan-sequence.ts';
export type { PlanChoice } from './plan-size.ts';
export { planOrderPerBit, planOrderPerBitBySearch, simulateSequence } from './plan-size.ts';

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
  /**
   * Threads for the sizing, this one included: 'auto' (default: for a trace of HELPER_MIN_BYTES or
   * more, a helper worker starts while the trace is read and sizes too if the rest of the machine
   * left a core to spare meanwhile, see startPlanHelper) or a count (1: this thread only; 2 or
   * more: one helper).
   */
  threads?: number | 'auto';
}

/** Traces from this size on are sized on a helper thread too (threads 'auto'). */
const HELPER_MIN_BYTES = 8 << 20;

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
  // a helper thread for the sizing, booting while the trace is read (large traces only: it
  // takes tens of ms to start, and a small trace is sized sooner than that)
  const threads = opts.threads ?? 'auto';
  const helper = threads !== 'auto' || (src.size ?? 0) >= HELPER_MIN_BYTES ? startPlanHelper(threads) : null;
  try {
    return await plan(src, opts, helper);
  } finally {
    helper?.close();
  }
}

async function plan(src: TraceSource, opts: PlanOptions, helper: PlanHelper | null): Promise<PlanResult> {
  const failed = opts.failed ?? 'transient';
  const col = sequenceCollector(failed);
  const annotated: AnnotatedArea[] = [];
  const stats = await readPlanEvents(src, col.onEvent, (a) => annotated.push(a));
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
  // what to size: every order_per_bit of every area with requests left
  const sized: WorkloadSequence[] = [];
  const tasks: SizeTask[] = [];
  const perSpec = specs.map((spec, k) => {
    let seq = seqs.get(spec.name) ?? emptySequence(spec.name);
    const setAside = opts.includeOversize ? [] : setAsideOversize(seq, spec.count);
    // an area named twice is sized, each time, with the requests set aside so far
    if (specs.some((o, j) => j > k && o.name === spec.name)) seq = { ...seq, kind: seq.kind.slice() };
    let active = 0;
    for (let i = 0; i < seq.length; i++) if (seq.kind[i] === OP_ALLOC) active++;
    const first = tasks.length;
    if (active > 0) {
      sized.push(seq);
      for (const opb of opbs) tasks.push({ seq: sized.length - 1, basePfn: spec.basePfn, orderPerBit: opb });
    }
    return { spec, seq, setAside, active, first, end: tasks.length };
  });
  const answers = await sizeAll(sized, tasks, opts.bitmapFactory ?? indexedBitmapFactory, helper);
  const areas: AreaPlan[] = [];
  for (const { spec, seq, setAside, active, first, end } of perSpec) {
    const choices: PlanChoice[] = [];
    for (let t = first; t < end; t++) {
      const c = answers[t];
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

/** A sentence saying why no size was found. */
function whyNoSize(seq: WorkloadSequence, active: number, opbs: readonly number[], setAside: number): string {
  if (active === 0)
    return setAside > 0
      ? 'every request of this area was set aside: nothing left to size'
      : 'the trace holds no requests for this area: nothing to size';
  let biggest = -1;
  for (let i = 0; i < seq.length; i++)
    if (seq.kind[i] === OP_ALLOC && (biggest < 0 || seq.pages[i]! > seq.pages[biggest]!)) biggest = i;
  const big = seq.bigCounts.get(biggest);
  const pages = big ?? seq.pages[biggest]!;
  if (opbs.length === 0) return 'no order_per_bit value to try';
  return `no size up to 2^31 bits (order_per_bit ${opbs.join(',')}) works: the largest request, ${pages} pages at line ${seq.line[biggest]}, or the requests held at once need more; --failed skip leaves out the requests that failed in the recording`;
}
