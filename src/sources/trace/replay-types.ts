// The replay's vocabulary: the areas it replays on, the options, and everything it reports
// (the allocation table, failures, mismatches, anomalies, the final state of every area).

import type { AreaSpec } from '../../core/cma.ts';
import type { CmaBitmapFactory } from '../../core/cma-bitmap.ts';
import type { AnnotatedArea, MalformedLine } from './events.ts';
import type { MmEventsOption } from './mm-events.ts';

/** An area to replay on: one range (6.1 style), or several (7.x) given in `ranges`. */
export interface ReplayAreaSpec {
  readonly name: string;
  /** Range 0's base pfn (what the kernel's top-level `base_pfn` shows). */
  readonly basePfn: number;
  /** Pages (of all ranges). */
  readonly count: number;
  readonly orderPerBit: number;
  /**
   * 7.x multi-range areas: the ranges in the kernel's INDEX order (not address order; the
   * allocator tries them in this order). Absent or one entry: a single range basePfn/count.
   */
  readonly ranges?: readonly { readonly basePfn: number; readonly count: number }[];
}

/**
 * Why an allocation failed: no room with too few free pages (exhaustion) or enough but no run
 * (fragmentation); no room after at least one busy retry (busy: a fitting run was found, and its
 * pages could not be migrated); larger than the area (oversize); a migration error other than
 * -EBUSY (migration).
 */
export type FailureClass = 'exhaustion' | 'fragmentation' | 'busy' | 'oversize' | 'migration';

/** One row of the rebuilt allocation table. */
export interface AllocationRecord {
  area: string;
  /** First pfn as the kernel recorded it (shrinks from the front on partial releases). */
  pfn: number;
  /** Pages still held (as requested: a bigint, exact, for a u64 count of 2^53 or more). */
  pages: number | bigint;
  task: string;
  pid: number;
  /** µs (trace timestamps), NaN if the trace had none. */
  startTs: number;
  finishTs: number;
  /** finish - start, µs. */
  latencyUs: number;
  busyRetries: number;
  /** When it was released (completely), or null while live. */
  releaseTs: number | null;
  /** Line of the finish event. */
  line: number;
}

/** One failed cma_alloc() and its explanation. */
export interface FailureRecord {
  area: string;
  line: number;
  ts: number;
  task: string;
  pid: number;
  /** Pages requested: a bigint (exact u64) when the count is 2^53 or more. */
  pages: number | bigint;
  align: number;
  class: FailureClass;
  /** Free pages in the area at that moment (bitmap-rounded). */
  freePages: number;
  /** Pages the request needs in the bitmap (rounded up to 2^order_per_bit; bigint as pages). */
  neededPages: number | bigint;
  busyRetries: number;
  /** The pfn the finish event printed (-1 = 0xffffffffffffffff), or null (no finish: oversize). */
  tracePfn: number | null;
  /** Android cma_alloc_info counters, when the trace had them. */
  info?: { nrMigrated: number; errIso: number; errMig: number; errTest: number };
}

/** A placement that disagrees with the trace. */
export interface Mismatch {
  line: number;
  event: string;
  area: string;
  pid: number;
  /** What the kernel recorded: pfn, -1 for none, or null for a NULL page. */
  tracePfn: number;
  traceOk: boolean;
  /** Where our allocator put it (-1: nowhere). */
  ourPfn: number;
}

/** An event that cannot be paired or applied. */
export interface Anomaly {
  line: number;
  event: string;
  reason: string;
}

/** Final state of one range of an area (`ranges/N/` on 7.x). */
export interface RangeResult {
  basePfn: number;
  /** Pages. */
  count: number;
  /** Bits in this range's bitmap. */
  maxno: number;
  /** Set bits << order_per_bit. */
  usedBitsPages: number;
  /** Longest free run of this range (pages). */
  maxchunk: number;
  /** `ranges/N/bitmap` text and its sha256. */
  bitmapText: string;
  bitmapSha256: string;
  words: Uint32Array;
}

/** Final state and counters of one area. */
export interface AreaResult {
  name: string;
  /** Range 0's base pfn. */
  basePfn: number;
  /** Pages of all ranges. */
  count: number;
  orderPerBit: number;
  /** Bits in the bitmaps (all ranges). */
  maxno: number;
  /**
   * debugfs `used` (pages): set bits << order_per_bit (6.1), or count - available_count in
   * exact pages when the trace is 7.x (usedMode 'exact').
   */
  used: number;
  /** 'exact' once a 7.x cma_alloc_start (with available_count) of this area was replayed. */
  usedMode: 'bits' | 'exact';
  /** Exact pages not handed out (7.x available_count; meaningful in 'exact' mode). */
  availablePages: number;
  /** debugfs `maxchunk` (pages): the longest free run of any one range. */
  maxchunk: number;
  /** Highest `used` seen during the replay (in the same mode as `used`). */
  peakUsed: number;
  /** debugfs `bitmap` text of range 0 (with the kernel's lost-newline quirk) and its sha256. */
  bitmapText: string;
  bitmapSha256: string;
  /** The final bitmap words of range 0 (u32 view). */
  words: Uint32Array;
  /** Every range in index order (one for 6.1 areas). */
  ranges: RangeResult[];
  allocStarts: number;
  allocsOk: number;
  allocsFailed: number;
  failedNoSpace: number;
  failedMigration: number;
  failedOversize: number;
  busyRetries: number;
  releases: number;
  mismatches: number;
  /** Allocations still held at the end (when the table is built). */
  liveAllocations: number;
  /** cma_alloc() latency of the successful allocations (start → finish, µs), or null (none, no table). */
  latencyUs: LatencySummary | null;
}

/** A latency distribution (µs). */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One sample of the used/maxchunk timeline. */
export interface TimelineSample {
  event: number;
  ts: number;
  /** Per area, in `areas` order. */
  used: number[];
  maxchunk: number[];
}

/** Everything a replay found. */
export interface ReplayResult {
  /** cma events replayed (parsed cma events). */
  events: number;
  lines: number;
  otherLines: number;
  malformed: number;
  malformedLines: MalformedLine[];
  joinedSplitLines: number;
  allocStarts: number;
  /**
   * cma_alloc_start events with count=0 (6.12 traces them before returning NULL; no finish
   * follows): not allocations, not counted in allocStarts or failures.
   */
  zeroCountStarts: number;
  allocs: { ok: number; failed: number };
  failedBy: { noSpace: number; migration: number; oversize: number };
  failureClasses: Record<FailureClass, number>;
  busyRetries: number;
  releases: number;
  mismatches: number;
  /** The first `maxKept` mismatches. */
  mismatchList: Mismatch[];
  anomalies: number;
  anomalyList: Anomaly[];
  /** Releases of bits that were not set (double free or untraced allocation). */
  releasesOfFreeBits: number;
  /** Events of areas that were not replayed. */
  skippedOtherArea: number;
  /** Android cma_alloc_info events seen. */
  infoEvents: number;
  /** Calls still inside cma_alloc() at the end of the trace. */
  pendingAtEnd: number;
  /** Where the areas came from; 'inferred' is a guess (min/max pfn rounded to 512 pages). */
  areaSource: 'options' | 'annotation' | 'inferred';
  areas: AreaResult[];
  /** The first `maxKept` failures (all of them are counted in failureClasses). */
  failures: FailureRecord[];
  /** Allocations live at the end, by area then pfn (when the table is built). */
  allocations: AllocationRecord[];
  timeline: TimelineSample[] | null;
  /** Event numbers (1-based, cma events) of failures, for the timeline (capped). */
  failureEvents: number[];
  /** What was read: 'text', 'trace.dat v6', 'trace.dat v7 (zstd)', 'perfetto'. */
  format: string;
  /** The kernel release the trace records (binary formats), or the one given, or null. */
  kernelRelease: string | null;
  /** Events the kernel's ring buffer lost (counted), and pages/bundles marked as after a loss. */
  lostEvents: number;
  lostEventPages: number;
  /**
   * Perfetto only: events replayed out of timestamp order (they arrived later than the reader's
   * reorder window holds).
   */
  lateEvents?: number;
}

/** Replay options. */
export interface ReplayOptions {
  /**
   * The areas: a list, or 'auto' (default: the trace's `# cma_area:` annotations, else
   * inferred), or 'infer' (always guess from the pfns: base rounded down and end rounded up to
   * 512 pages, order_per_bit 0; mismatches are then expected).
   */
  areas?: readonly (ReplayAreaSpec | AreaSpec)[] | 'auto' | 'infer';
  /** Bitmap implementation (default: the index; plainBitmapFactory is the kernel's own scan). */
  bitmapFactory?: CmaBitmapFactory;
  /** After a mismatch, follow the trace (default true) or keep our own placement. */
  resync?: boolean;
  /** Build the allocation table (default true). */
  allocations?: boolean;
  /**
   * Called for every allocation when it is completely released, and for live ones at the end.
   * Read at each call: it may be set while the replay runs (the allocations handed out before
   * are not seen).
   */
  onAllocation?: (rec: AllocationRecord) => void;
  /** Called for every failure. */
  onFailure?: (rec: FailureRecord) => void;
  /** Sample used/maxchunk over time, at most this many points (0/undefined: off). */
  timelinePoints?: number;
  /** Mismatches, anomalies and failures kept in the result (default 1000 each). */
  maxKept?: number;
  /** Progress in input bytes (compressed bytes for .gz are not known: decompressed bytes). */
  onProgress?: (bytes: number) => void;
  /**
   * Parse on a worker thread while this thread replays (same events, same order, same
   * result). Only for plain files (TraceSource.path, not gzip); otherwise ignored.
   * 'auto' (default): for files of 8 MiB or more.
   */
  parallel?: boolean | 'auto';
  /** The kernel release to report when a binary trace does not record one. */
  kernelRelease?: string;
  /**
   * Other events read in the same pass as the cma events, e.g. the migrate counts
   * (COST_EVENT_NAMES): a binary trace's records, a text trace's lines. Each arrives before the
   * cma events after it.
   */
  mmEvents?: MmEventsOption;
}

/** A replay area from the core's AreaSpec, a ReplayAreaSpec or an annotation. */
export function toReplaySpec(a: ReplayAreaSpec | AreaSpec | AnnotatedArea): ReplayAreaSpec {
  const ranges = 'ranges' in a ? a.ranges : undefined;
  if (ranges === undefined || ranges.length === 0) {
    if (!('basePfn' in a)) throw new Error(`area ${a.name}: no ranges`);
    return { name: a.name, basePfn: a.basePfn, count: a.count, orderPerBit: a.orderPerBit };
  }
  for (const r of ranges)
    if (!Number.isSafeInteger(r.basePfn) || !Number.isSafeInteger(r.count) || r.basePfn < 0 || r.count <= 0)
      throw new Error(`area ${a.name}: bad range ${r.basePfn}:${r.count}`);
  const r0 = ranges[0]!;
  const count = ranges.reduce((s, r) => s + r.count, 0);
  if (ranges.length === 1) return { name: a.name, basePfn: r0.basePfn, count, orderPerBit: a.orderPerBit };
  return {
    name: a.name,
    basePfn: r0.basePfn,
    count,
    orderPerBit: a.orderPerBit,
    ranges: ranges.map((r) => ({ basePfn: r.basePfn, count: r.count })),
  };
}
