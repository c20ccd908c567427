// Replays a cma trace on emulated areas: places every request with the kernel's formulas,
// compares with the recorded pfn, resyncs on divergence, rebuilds the allocation table and
// explains every failure. The model is 6.1's cma_alloc (docs/ARCHITECTURE.md, "Replay model"); 7.x
// traces (`available_count=` in cma_alloc_start) and multi-range areas follow the 7.x
// cma_alloc (mm/cma.c after "mm/cma: support multiple contiguous ranges, if requested"): ranges tried in index order, first fit in each, a block never spans
// two ranges, `count > available_count` stops the search, `used` counts exact pages.

import { createHash } from 'node:crypto';
import type { AreaSpec } from '../../core/cma.ts';
import { AlignmentTable, cmaBitmapPagesToBits } from '../../core/cma.ts';
import type { CmaBitmap, CmaBitmapFactory } from '../../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../../core/indexed-bitmap.ts';
import { formatU32Array } from '../../core/u32-array.ts';
import type { AnnotatedArea, MalformedLine, TraceEvent } from './events.ts';
import { EV_ALLOC, EV_BUSY, EV_FINISH, EV_INFO, EV_RELEASE, EV_START, EVENT_NAMES } from './events.ts';
import type { TraceSource } from './input.ts';
import { memorySource } from './input.ts';
import { type ParallelParse, startParallelParse } from './parallel.ts';
import type { ParseOptions, ParseStats } from './parse.ts';
import { readTraceEvents, sourceFormat } from './read-events.ts';

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

/** Why an allocation failed. */
export type FailureClass = 'exhaustion' | 'fragmentation' | 'oversize' | 'migration';

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

/** Nearest-rank percentiles of the finite values (not changed). */
function latencySummary(values: ArrayLike<number>): LatencySummary | null {
  // a typed array sorts numerically without a comparator: ~5× faster than Array#sort's callback
  // on the 330k latencies of a 1M-event trace
  const all = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isFinite(x)) all[n++] = x;
  }
  if (n === 0) return null;
  const v = all.subarray(0, n).sort();
  const at = (q: number): number => v[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  return { count: n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: v[n - 1]! };
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
  /** Called for every allocation when it is completely released, and for live ones at the end. */
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
}

/** Files from this size on are parsed on a worker thread by default (ReplayOptions.parallel). */
const PARALLEL_MIN_BYTES = 8 << 20;

/** One range of an area (7.x `struct cma_memrange`). */
interface RangeState {
  index: number;
  base: number;
  /** Pages. */
  count: number;
  maxno: number;
  bitmap: CmaBitmap;
  /** Its aligned offsets (its mask is the area's). */
  aligned: AlignmentTable;
}

interface AreaState {
  spec: ReplayAreaSpec;
  index: number;
  /** Range 0 (the whole area on 6.1): base, bitmap, offsets; maxno is the total of all ranges. */
  base: number;
  opb: number;
  unit: number;
  maxno: number;
  bitmap: CmaBitmap;
  usedBits: number;
  peakUsedBits: number;
  /** Range 0's aligned masks and offsets. */
  aligned: AlignmentTable;
  live: LiveTable;
  /** Latencies (µs) of the successful allocations. */
  lat: number[];
  /** Every range, index order; ranges[0].bitmap === bitmap. */
  ranges: RangeState[];
  /** More than one range: every event goes through the range-aware (7.x) path. */
  multi: boolean;
  /** The largest range, in bits (a request needing more is larger than every range). */
  maxRangeBits: number;
  /** Exact pages not handed out (7.x available_count). */
  avail: number;
  /** A 7.x cma_alloc_start of this area was seen: `used` is exact. */
  exact: boolean;
  /** Highest count - avail. */
  peakExact: number;
  /** total_count of the trace was checked against the area. */
  totalChecked: boolean;
  r: Omit<
    AreaResult,
    | 'used'
    | 'usedMode'
    | 'availablePages'
    | 'maxchunk'
    | 'peakUsed'
    | 'bitmapText'
    | 'bitmapSha256'
    | 'words'
    | 'ranges'
    | 'liveAllocations'
    | 'latencyUs'
  >;
}

interface Pending {
  area: AreaState;
  count: number;
  align: number;
  bits: number;
  mask: number;
  offset: number;
  /** Bit of the placement we hold (bits set), or -1. */
  held: number;
  oversize: boolean;
  startTs: number;
  busy: number;
  lastBusyPfn: number;
  /** Range-aware (7.x) call: the range of `held` (null: the 6.1 single-range path). */
  rng: RangeState | null;
  /** Pages taken from available_count while held (0 for absurd counts, as the kernel). */
  pages: number;
  /** 7.x start: the allocator stops when count > available_count. */
  v7: boolean;
}

/**
 * The live allocations of an area (the allocation table's open rows), by first pfn: typed
 * columns and a free list, no object per allocation (a 1M-event trace makes 330k of them, and
 * objects that live for thousands of events are what the garbage collector pays for). Rows
 * become AllocationRecord objects only when they are handed out (onAllocation, the end).
 */
class LiveTable {
  private readonly slotOf = new Map<number, number>();
  private cap = 0;
  pfn = new Float64Array(0);
  pages = new Float64Array(0);
  private pid = new Float64Array(0);
  private startTs = new Float64Array(0);
  private finishTs = new Float64Array(0);
  private busy = new Float64Array(0);
  private line = new Float64Array(0);
  private task: string[] = [];
  /** Counts of 2^53 pages or more (exact), by slot. */
  private readonly big = new Map<number, bigint>();
  private readonly freeSlots: number[] = [];
  private used = 0;

  constructor(private readonly area: string) {}

  /** The slot of the row starting at pfn, or -1. */
  at(pfn: number): number {
    return this.slotOf.get(pfn) ?? -1;
  }

  isBig(slot: number): boolean {
    return this.big.size > 0 && this.big.has(slot);
  }

  /** Adds the row of a finished allocation; returns the slot of the row it displaced (same pfn), or -1. */
  add(pfn: number, ev: TraceEvent, startTs: number, busy: number): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      if (this.used === this.cap) this.grow();
      s = this.used++;
    }
    this.pfn[s] = pfn;
    this.pages[s] = ev.count;
    if (ev.countBig !== null) this.big.set(s, ev.countBig);
    this.pid[s] = ev.pid;
    this.startTs[s] = startTs;
    this.finishTs[s] = ev.ts;
    this.busy[s] = busy;
    this.line[s] = ev.line;
    this.task[s] = ev.comm();
    const old = this.slotOf.get(pfn);
    this.slotOf.set(pfn, s);
    // (free(old) leaves pfn mapped: it is this row's now)
    return old ?? -1;
  }

  /** A partial release of the first `count` pages (a number-sized row). */
  shrinkFront(slot: number, count: number): void {
    const pfn = this.pfn[slot]!;
    if (this.slotOf.get(pfn) === slot) this.slotOf.delete(pfn);
    this.pfn[slot] = pfn + count;
    this.pages[slot] = this.pages[slot]! - count;
    this.slotOf.set(pfn + count, slot);
  }

  /** Drops a row. */
  free(slot: number): void {
    const pfn = this.pfn[slot]!;
    if (this.slotOf.get(pfn) === slot) this.slotOf.delete(pfn);
    this.big.delete(slot);
    this.task[slot] = '';
    this.freeSlots.push(slot);
  }

  /** A row as a record (releaseTs null while live). */
  record(slot: number, releaseTs: number | null): AllocationRecord {
    const startTs = this.startTs[slot]!;
    const finishTs = this.finishTs[slot]!;
    return {
      area: this.area,
      pfn: this.pfn[slot]!,
      pages: this.big.get(slot) ?? this.pages[slot]!,
      task: this.task[slot]!,
      pid: this.pid[slot]!,
      startTs,
      finishTs,
      latencyUs: finishTs - startTs,
      busyRetries: this.busy[slot]!,
      releaseTs,
      line: this.line[slot]!,
    };
  }

  /** Every live row as a record. */
  records(): AllocationRecord[] {
    return [...this.slotOf.values()].map((s) => this.record(s, null));
  }

  private grow(): void {
    const cap = Math.max(256, this.cap * 2);
    const more = (old: Float64Array): Float64Array<ArrayBuffer> => {
      const n = new Float64Array(cap);
      n.set(old);
      return n;
    };
    this.pfn = more(this.pfn);
    this.pages = more(this.pages);
    this.pid = more(this.pid);
    this.startTs = more(this.startTs);
    this.finishTs = more(this.finishTs);
    this.busy = more(this.busy);
    this.line = more(this.line);
    this.cap = cap;
  }
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

const toSpec = toReplaySpec;

/**
 * Values keyed by pid: a plain array for the usual pids (below 65536), a Map above. Iteration
 * order is not kept (the replay only counts and searches the values).
 */
class PidTable<T> {
  private readonly small: (T | undefined)[] = [];
  /** Small pids that may hold a value (each once: inLive), so values() does not scan 65536. */
  private live: number[] = [];
  private readonly inLive = new Uint8Array(65536);
  private readonly big = new Map<number, T>();
  private static isSmall(pid: number): boolean {
    return pid >= 0 && pid < 65536 && Number.isInteger(pid);
  }
  get(pid: number): T | undefined {
    return PidTable.isSmall(pid) ? this.small[pid] : this.big.get(pid);
  }
  set(pid: number, v: T): void {
    if (PidTable.isSmall(pid)) {
      // grow densely (no holes: the array stays a fast packed one)
      while (this.small.length <= pid) this.small.push(undefined);
      this.small[pid] = v;
      if (this.inLive[pid] === 0) {
        this.inLive[pid] = 1;
        this.live.push(pid);
      }
    } else this.big.set(pid, v);
  }
  delete(pid: number): void {
    if (PidTable.isSmall(pid)) {
      if (pid < this.small.length) this.small[pid] = undefined;
    } else this.big.delete(pid);
  }
  *values(): IterableIterator<T> {
    const kept: number[] = [];
    for (const pid of this.live) {
      if (this.small[pid] !== undefined) kept.push(pid);
      else this.inLive[pid] = 0;
    }
    this.live = kept;
    for (const pid of kept) yield this.small[pid]!;
    yield* this.big.values();
  }
}

/**
 * The replay engine. Feed it events (from TraceLineParser) with `event(ev)`, then call
 * `finish(stats)`. Use replayTrace() unless you drive the parser yourself.
 */
class TraceReplayer {
  private readonly areas: AreaState[];
  private readonly byName = new Map<string, AreaState>();
  private lastName = '\u0000';
  private lastArea: AreaState | undefined;
  private readonly pending = new PidTable<Pending>();
  /** Pending objects of finished 6.1 calls, reused (fewer allocations per event). */
  private readonly freePending: Pending[] = [];

  /** A 6.1 single-range call: nothing held yet. */
  private newPending(
    area: AreaState,
    count: number,
    align: number,
    bits: number,
    mask: number,
    offset: number,
    startTs: number,
  ): Pending {
    const p = this.freePending.pop();
    if (p === undefined)
      return {
        area,
        count,
        align,
        bits,
        mask,
        offset,
        held: -1,
        oversize: false,
        startTs,
        busy: 0,
        lastBusyPfn: -1,
        rng: null,
        pages: 0,
        v7: false,
      };
    p.area = area;
    p.count = count;
    p.align = align;
    p.bits = bits;
    p.mask = mask;
    p.offset = offset;
    p.held = -1;
    p.oversize = false;
    p.startTs = startTs;
    p.busy = 0;
    p.lastBusyPfn = -1;
    p.rng = null;
    p.pages = 0;
    p.v7 = false;
    return p;
  }
  private readonly resync: boolean;
  private readonly table: boolean;
  private readonly maxKept: number;
  /** The last finished call (for Android's cma_alloc_info that follows it): pid (-1: none) and failure. */
  private lastPid = -1;
  private lastFail: FailureRecord | null = null;
  private readonly res: Omit<
    ReplayResult,
    | 'events'
    | 'lines'
    | 'otherLines'
    | 'malformed'
    | 'malformedLines'
    | 'joinedSplitLines'
    | 'areas'
    | 'allocations'
    | 'pendingAtEnd'
    | 'timeline'
    | 'format'
    | 'kernelRelease'
    | 'lostEvents'
    | 'lostEventPages'
  >;
  private nEvents = 0;
  private readonly timelineMax: number;
  private timeline: TimelineSample[] = [];
  private sampleStep = 1;

  constructor(
    areas: readonly ReplayAreaSpec[],
    areaSource: ReplayResult['areaSource'],
    private readonly opts: ReplayOptions = {},
  ) {
    const factory = opts.bitmapFactory ?? indexedBitmapFactory;
    this.resync = opts.resync ?? true;
    this.table = opts.allocations ?? true;
    this.maxKept = opts.maxKept ?? 1000;
    this.timelineMax = opts.timelinePoints ?? 0;
    this.areas = areas.map((spec, index) => {
      const opb = spec.orderPerBit;
      const geo =
        spec.ranges !== undefined && spec.ranges.length > 0
          ? spec.ranges
          : [{ basePfn: spec.basePfn, count: spec.count }];
      const ranges = geo.map((g, i): RangeState => {
        const rmaxno = Math.floor(g.count / 2 ** opb);
        return {
          index: i,
          base: g.basePfn,
          count: g.count,
          maxno: rmaxno,
          bitmap: factory(rmaxno),
          aligned: new AlignmentTable(g.basePfn, opb),
        };
      });
      const maxno = ranges.reduce((s, r) => s + r.maxno, 0);
      const total = geo.reduce((s, g) => s + g.count, 0);
      const st: AreaState = {
        spec,
        index,
        base: ranges[0]!.base,
        opb,
        unit: 2 ** opb,
        maxno,
        bitmap: ranges[0]!.bitmap,
        usedBits: 0,
        peakUsedBits: 0,
        aligned: ranges[0]!.aligned,
        live: new LiveTable(spec.name),
        lat: [],
        ranges,
        multi: ranges.length > 1,
        maxRangeBits: Math.max(...ranges.map((r) => r.maxno)),
        avail: total,
        exact: false,
        peakExact: 0,
        totalChecked: false,
        r: {
          name: spec.name,
          basePfn: ranges[0]!.base,
          count: total,
          orderPerBit: opb,
          maxno,
          allocStarts: 0,
          allocsOk: 0,
          allocsFailed: 0,
          failedNoSpace: 0,
          failedMigration: 0,
          failedOversize: 0,
          busyRetries: 0,
          releases: 0,
          mismatches: 0,
        },
      };
      if (this.byName.has(spec.name)) throw new Error(`area ${spec.name} given twice`);
      this.byName.set(spec.name, st);
      return st;
    });
    this.res = {
      allocStarts: 0,
      zeroCountStarts: 0,
      allocs: { ok: 0, failed: 0 },
      failedBy: { noSpace: 0, migration: 0, oversize: 0 },
      failureClasses: { exhaustion: 0, fragmentation: 0, oversize: 0, migration: 0 },
      busyRetries: 0,
      releases: 0,
      mismatches: 0,
      mismatchList: [],
      anomalies: 0,
      anomalyList: [],
      releasesOfFreeBits: 0,
      skippedOtherArea: 0,
      infoEvents: 0,
      areaSource,
      failures: [],
      failureEvents: [],
    };
  }

  /** Replays one event (the parser's reused object). */
  event(ev: TraceEvent): void {
    this.nEvents++;
    switch (ev.kind) {
      case EV_START:
        this.start(ev);
        break;
      case EV_FINISH:
        // where the event has errorno, it says whether the call failed (whatever page printed)
        if (ev.errorno !== null && ev.errorno !== 0 && ev.hasPage) ev.hasPage = false;
        this.finishEv(ev);
        break;
      case EV_RELEASE:
        this.release(ev);
        break;
      case EV_BUSY:
        this.busy(ev);
        break;
      case EV_ALLOC:
        this.legacyAlloc(ev);
        break;
      case EV_INFO:
        this.info(ev);
        break;
    }
    if (this.timelineMax > 0 && this.nEvents % this.sampleStep === 0) this.sample(ev.ts);
  }

  // ---------------------------------------------------------------- helpers

  /** byName.has(name), without the lookup for the name of the last area looked up. */
  private known(name: string): boolean {
    return (name === this.lastName && this.lastArea !== undefined) || this.byName.has(name);
  }

  private area(ev: TraceEvent): AreaState | undefined {
    const name = ev.name;
    if (name === this.lastName) return this.lastArea;
    let a = this.byName.get(name);
    if (a === undefined && name === '') {
      // 4.x events carry no name: the only area, or the one holding the pfn
      if (this.areas.length === 1) a = this.areas[0];
      else if (ev.pfn >= 0) a = this.areas.find((x) => this.rangeOf(x, ev.pfn) !== null);
      if (a === undefined) {
        this.res.skippedOtherArea++;
        return undefined;
      }
      return a;
    }
    this.lastName = name;
    this.lastArea = a;
    return a;
  }

  private bitsOf(a: AreaState, ev: TraceEvent): number {
    if (ev.countBig !== null) return Number(cmaBitmapPagesToBits(ev.countBig, a.opb));
    return Math.floor((ev.count + a.unit - 1) / a.unit);
  }

  private setBits(a: AreaState, bit: number, n: number): void {
    if (n <= 0) return;
    a.usedBits += a.bitmap.set(bit, n);
    if (a.usedBits > a.peakUsedBits) a.peakUsedBits = a.usedBits;
  }

  private clearBits(a: AreaState, bit: number, n: number): number {
    if (n <= 0) return 0;
    const was = a.bitmap.clear(bit, n);
    a.usedBits -= was;
    return was;
  }

  private anomaly(ev: TraceEvent, reason: string): void {
    this.res.anomalies++;
    if (this.res.anomalyList.length < this.maxKept)
      this.res.anomalyList.push({ line: ev.line, event: EVENT_NAMES[ev.kind], reason });
  }

  private mismatch(ev: TraceEvent, a: AreaState, ourPfn: number): void {
    this.res.mismatches++;
    a.r.mismatches++;
    if (this.res.mismatchList.length < this.maxKept)
      this.res.mismatchList.push({
        line: ev.line,
        event: EVENT_NAMES[ev.kind],
        area: a.spec.name,
        pid: ev.pid,
        tracePfn: ev.pfn,
        traceOk: ev.hasPage,
        ourPfn,
      });
  }

  /** The bit of a traced pfn inside the area, or -1. */
  private bitOfPfn(a: AreaState, pfn: number): number {
    if (!(pfn >= a.base && pfn < a.base + a.spec.count)) return -1;
    const bit = Math.floor((pfn - a.base) / a.unit);
    return bit < a.maxno ? bit : -1;
  }

  private search(a: AreaState, p: Pending, start: number): number {
    const bit = a.bitmap.findArea(start, p.bits, p.mask, p.offset);
    if (bit >= a.maxno) return -1;
    this.setBits(a, bit, p.bits);
    return bit;
  }

  // ---------------------------------------------------------------- events

  private start(ev: TraceEvent): void {
    const a = this.area(ev);
    if (a === undefined) {
      this.res.skippedOtherArea++;
      return;
    }
    const old = this.pending.get(ev.pid);
    if (old !== undefined) {
      if (!old.oversize) {
        this.anomaly(ev, `pid ${ev.pid} starts a cma_alloc while its previous one has no finish`);
        if (old.held >= 0) this.dropHeld(old);
      }
      this.pending.delete(ev.pid);
    }
    if (ev.count === 0) {
      // 6.12 __cma_alloc traces the start, then returns NULL for count 0: no finish follows
      this.res.zeroCountStarts++;
      return;
    }
    if (a.multi || ev.availableCount >= 0) {
      this.startRanges(ev, a);
      return;
    }
    a.r.allocStarts++;
    this.res.allocStarts++;
    const align = Math.max(ev.align, 0);
    const bits = this.bitsOf(a, ev);
    const p = this.newPending(
      a,
      ev.count,
      align,
      bits,
      a.aligned.mask(align),
      a.aligned.offset(align),
      ev.ts,
    );
    p.oversize = bits > a.maxno;
    if (p.oversize) {
      // 6.1: cma_alloc_start then `goto out`: no finish (7.x prints one, paired below)
      a.r.failedOversize++;
      a.r.allocsFailed++;
      this.res.failedBy.oversize++;
      this.res.allocs.failed++;
      this.fail(ev, a, p, 'oversize', null);
    } else {
      p.held = this.search(a, p, 0);
    }
    this.pending.set(ev.pid, p);
  }

  private pendingFor(ev: TraceEvent): Pending | undefined {
    const p = this.pending.get(ev.pid);
    if (p === undefined) {
      this.anomaly(ev, `no cma_alloc_start of pid ${ev.pid} before it`);
      return undefined;
    }
    if (p.count !== ev.count || (ev.align >= 0 && p.align !== ev.align) || p.area.spec.name !== ev.name) {
      this.anomaly(ev, `does not match the pending cma_alloc_start of pid ${ev.pid} (count/align/name)`);
      this.pending.delete(ev.pid);
      if (p.held >= 0) this.dropHeld(p);
      return undefined;
    }
    return p;
  }

  private busy(ev: TraceEvent): void {
    if (!this.known(ev.name)) {
      this.res.skippedOtherArea++;
      return;
    }
    const p = this.pendingFor(ev);
    if (p === undefined) return;
    if (p.rng !== null) {
      this.busyRanges(ev, p);
      return;
    }
    const a = p.area;
    a.r.busyRetries++;
    this.res.busyRetries++;
    p.busy++;
    p.lastBusyPfn = ev.pfn;
    const ours = p.held >= 0 ? a.base + p.held * a.unit : -1;
    let bit = p.held;
    if (ours !== ev.pfn) {
      this.mismatch(ev, a, ours);
      if (this.resync) {
        const tb = this.bitOfPfn(a, ev.pfn);
        if (tb < 0) this.anomaly(ev, 'busy pfn outside the area');
        else bit = tb;
      }
    }
    if (p.held >= 0) this.clearBits(a, p.held, p.bits);
    p.held = bit < 0 ? -1 : this.search(a, p, bit + p.mask + 1);
  }

  private finishEv(ev: TraceEvent): void {
    if (!this.known(ev.name)) {
      this.res.skippedOtherArea++;
      return;
    }
    const p = this.pendingFor(ev);
    if (p === undefined) return;
    this.pending.delete(ev.pid);
    if (p.rng !== null) {
      this.finishRanges(ev, p);
      return;
    }
    this.finish61(ev, p);
    // the call is over and nothing refers to p any more: reuse it for a later start
    if (this.freePending.length < 1024) this.freePending.push(p);
  }

  private finish61(ev: TraceEvent, p: Pending): void {
    const a = p.area;
    if (p.oversize) {
      // 7.x: finish(pfn=0, errorno=-16) after an oversize start; 6.1 never gets here
      if (ev.hasPage) this.mismatch(ev, a, -1);
      return;
    }
    const ours = p.held >= 0 ? a.base + p.held * a.unit : -1;
    if (ev.hasPage) {
      if (ours !== ev.pfn) {
        this.mismatch(ev, a, ours);
        if (this.resync) {
          if (p.held >= 0) this.clearBits(a, p.held, p.bits);
          const tb = this.bitOfPfn(a, ev.pfn);
          if (tb < 0) this.anomaly(ev, 'allocated pfn outside the area');
          else this.setBits(a, tb, Math.min(p.bits, a.maxno - tb));
        }
      }
      a.r.allocsOk++;
      this.res.allocs.ok++;
      if (this.table) this.recordAlloc(ev, a, ev.pfn, p);
      this.lastPid = ev.pid;
      this.lastFail = null;
      return;
    }
    a.r.allocsFailed++;
    this.res.allocs.failed++;
    if (p.held >= 0) {
      // alloc_contig_range failed with another error than -EBUSY at the placement
      // (7.x prints pfn 0 for every failure: no information)
      if (ours !== ev.pfn && !(ev.pfn === 0 && ev.errorno !== null)) this.mismatch(ev, a, ours);
      this.clearBits(a, p.held, p.bits);
      p.held = -1;
      a.r.failedMigration++;
      this.res.failedBy.migration++;
      this.fail(ev, a, p, 'migration', ev.pfn);
      return;
    }
    // no zero area: the pfn is -1, the last busy pfn, or 0 (7.x prints 0 on failure)
    const okPfn = ev.pfn === -1 || ev.pfn === p.lastBusyPfn || (ev.pfn === 0 && ev.errorno !== null);
    if (!okPfn) this.mismatch(ev, a, -1);
    a.r.failedNoSpace++;
    this.res.failedBy.noSpace++;
    const free = (a.maxno - a.usedBits) * a.unit;
    this.fail(ev, a, p, free >= p.bits * a.unit ? 'fragmentation' : 'exhaustion', ev.pfn);
  }

  private fail(ev: TraceEvent, a: AreaState, p: Pending, cls: FailureClass, tracePfn: number | null): void {
    this.res.failureClasses[cls]++;
    if (this.res.failureEvents.length < 20000) this.res.failureEvents.push(this.nEvents);
    const keep = this.res.failures.length < this.maxKept;
    if (!keep && !this.opts.onFailure) return;
    const rec: FailureRecord = {
      area: a.spec.name,
      line: ev.line,
      ts: ev.ts,
      task: ev.comm(),
      pid: ev.pid,
      pages: ev.countBig ?? ev.count,
      align: p.align,
      class: cls,
      freePages: (a.maxno - a.usedBits) * a.unit,
      neededPages:
        ev.countBig !== null ? cmaBitmapPagesToBits(ev.countBig, a.opb) << BigInt(a.opb) : p.bits * a.unit,
      busyRetries: p.busy,
      tracePfn,
    };
    if (keep) this.res.failures.push(rec);
    this.opts.onFailure?.(rec);
    this.lastPid = ev.pid;
    this.lastFail = rec;
  }

  private recordAlloc(ev: TraceEvent, a: AreaState, pfn: number, p: Pending): void {
    a.lat.push(ev.ts - p.startTs);
    const old = a.live.add(pfn, ev, p.startTs, p.busy);
    if (old >= 0) {
      if (this.opts.onAllocation) this.opts.onAllocation(a.live.record(old, null));
      a.live.free(old);
    }
  }

  private release(ev: TraceEvent): void {
    const a = this.area(ev);
    if (a === undefined) {
      if (ev.name !== '') this.res.skippedOtherArea++;
      return;
    }
    a.r.releases++;
    this.res.releases++;
    // available_count += count (exact pages; only read in 7.x mode)
    a.avail = Math.min(a.spec.count, a.avail + ev.count);
    if (a.multi) {
      this.releaseRanges(ev, a);
      return;
    }
    const bit = this.bitOfPfn(a, ev.pfn);
    if (bit < 0) {
      this.anomaly(ev, `release of pfn 0x${ev.pfn.toString(16)} outside the area`);
      return;
    }
    let bits = this.bitsOf(a, ev);
    if (bit + bits > a.maxno) {
      this.anomaly(ev, 'release runs past the end of the area (clamped)');
      bits = a.maxno - bit;
    }
    const was = this.clearBits(a, bit, bits);
    if (was !== bits) this.res.releasesOfFreeBits++;
    this.releaseRecord(ev, a);
  }

  /** The allocation table's side of a release. */
  private releaseRecord(ev: TraceEvent, a: AreaState): void {
    if (this.table) {
      const t = a.live;
      const slot = t.at(ev.pfn);
      if (slot >= 0) {
        if (!t.isBig(slot) && ev.count < t.pages[slot]!) {
          // debugfs partial free: the first pages of the record go
          t.shrinkFront(slot, ev.count);
        } else {
          if (this.opts.onAllocation) this.opts.onAllocation(t.record(slot, ev.ts));
          t.free(slot);
        }
      }
    }
  }

  /** 4.x/5.x `cma_alloc`: one event after the whole call; placed atomically. */
  private legacyAlloc(ev: TraceEvent): void {
    const a = this.area(ev);
    if (a === undefined) return;
    if (a.multi) {
      this.anomaly(ev, `a 4.x/5.x cma_alloc event on the multi-range area ${a.spec.name} (not replayed)`);
      return;
    }
    a.r.allocStarts++;
    this.res.allocStarts++;
    const align = Math.max(ev.align, 0);
    const p: Pending = {
      area: a,
      count: ev.count,
      align,
      bits: this.bitsOf(a, ev),
      mask: a.aligned.mask(align),
      offset: a.aligned.offset(align),
      held: -1,
      oversize: false,
      startTs: ev.ts,
      busy: 0,
      lastBusyPfn: -1,
      rng: null,
      pages: 0,
      v7: false,
    };
    p.oversize = p.bits > a.maxno;
    if (!p.oversize) p.held = this.search(a, p, 0);
    const ours = p.held >= 0 ? a.base + p.held * a.unit : -1;
    if (ev.hasPage) {
      if (ours !== ev.pfn) {
        this.mismatch(ev, a, ours);
        if (this.resync) {
          if (p.held >= 0) this.clearBits(a, p.held, p.bits);
          const tb = this.bitOfPfn(a, ev.pfn);
          if (tb >= 0) this.setBits(a, tb, Math.min(p.bits, a.maxno - tb));
        }
      }
      a.r.allocsOk++;
      this.res.allocs.ok++;
      if (this.table) this.recordAlloc(ev, a, ev.pfn, p);
      return;
    }
    if (p.held >= 0) {
      // we found room, the kernel did not (busy pages we cannot see)
      this.mismatch(ev, a, ours);
      if (this.resync) this.clearBits(a, p.held, p.bits);
    }
    a.r.allocsFailed++;
    this.res.allocs.failed++;
    if (p.oversize) {
      a.r.failedOversize++;
      this.res.failedBy.oversize++;
      this.fail(ev, a, p, 'oversize', ev.pfn);
    } else {
      a.r.failedNoSpace++;
      this.res.failedBy.noSpace++;
      const free = (a.maxno - a.usedBits) * a.unit;
      this.fail(ev, a, p, free >= p.bits * a.unit ? 'fragmentation' : 'exhaustion', ev.pfn);
    }
  }

  // ------------------------------------------- range-aware path (7.x traces, multi-range areas)

  /** Releases a held placement of either path (bits, and available_count on the 7.x path). */
  private dropHeld(p: Pending): void {
    if (p.rng === null) this.clearBits(p.area, p.held, p.bits);
    else {
      this.clearBitsR(p.area, p.rng, p.held, p.bits);
      p.area.avail += p.pages;
    }
    p.held = -1;
  }

  /** The range holding a pfn (inside its bitmap), or null. */
  private rangeOf(a: AreaState, pfn: number): RangeState | null {
    for (const r of a.ranges) {
      if (pfn >= r.base && pfn < r.base + r.count)
        return Math.floor((pfn - r.base) / a.unit) < r.maxno ? r : null;
    }
    return null;
  }

  private setBitsR(a: AreaState, r: RangeState, bit: number, n: number): void {
    if (n <= 0) return;
    a.usedBits += r.bitmap.set(bit, n);
    if (a.usedBits > a.peakUsedBits) a.peakUsedBits = a.usedBits;
  }

  private clearBitsR(a: AreaState, r: RangeState, bit: number, n: number): number {
    if (n <= 0) return 0;
    const was = r.bitmap.clear(bit, n);
    a.usedBits -= was;
    return was;
  }

  /** Takes `pages` from available_count (a placement the kernel made). */
  private take(a: AreaState, pages: number): void {
    a.avail -= pages;
    const used = a.spec.count - a.avail;
    if (used > a.peakExact) a.peakExact = used;
  }

  /**
   * The 7.x allocator from range `ri`, bit `start`: ranges in index order, first fit in each
   * (cma_range_alloc), the next range only when this one has no room; a range too small for
   * the request is skipped; count > available_count stops the search. Holds the placement
   * (bits set, available_count taken) in p.rng/p.held, or sets p.held = -1.
   */
  private placeRanges(a: AreaState, p: Pending, ri: number, start: number): void {
    const ranges = a.ranges;
    for (; ri < ranges.length; ri++, start = 0) {
      const r = ranges[ri]!;
      if (p.bits > r.maxno) continue;
      if (p.v7 && p.count > a.avail) break;
      const bit = r.bitmap.findArea(start, p.bits, p.mask, r.aligned.offset(p.align));
      if (bit >= r.maxno) continue;
      this.setBitsR(a, r, bit, p.bits);
      this.take(a, p.pages);
      p.rng = r;
      p.held = bit;
      return;
    }
    p.held = -1;
  }

  private startRanges(ev: TraceEvent, a: AreaState): void {
    const v7 = ev.availableCount >= 0;
    if (v7) this.checkCounters(ev, a);
    a.r.allocStarts++;
    this.res.allocStarts++;
    const align = Math.max(ev.align, 0);
    const bits = this.bitsOf(a, ev);
    const p: Pending = {
      area: a,
      count: ev.count,
      align,
      bits,
      mask: a.aligned.mask(align),
      offset: 0,
      held: -1,
      // larger than every range; or (7.x) more pages than the area, e.g. a count that wraps to 0 bits
      oversize: bits > a.maxRangeBits || (v7 && ev.count > a.spec.count),
      startTs: ev.ts,
      busy: 0,
      lastBusyPfn: -1,
      rng: a.ranges[0]!,
      pages: ev.count <= a.spec.count ? ev.count : 0,
      v7,
    };
    if (p.oversize) {
      a.r.failedOversize++;
      a.r.allocsFailed++;
      this.res.failedBy.oversize++;
      this.res.allocs.failed++;
      this.fail(ev, a, p, 'oversize', null);
    } else this.placeRanges(a, p, 0, 0);
    this.pending.set(ev.pid, p);
  }

  /**
   * 7.x start: total_count must be the area's size (once), and available_count ours whenever
   * no other call of the area is in flight (in-flight calls may or may not have taken theirs).
   */
  private checkCounters(ev: TraceEvent, a: AreaState): void {
    a.exact = true;
    if (!a.totalChecked) {
      a.totalChecked = true;
      if (ev.totalCount >= 0 && ev.totalCount !== a.spec.count)
        this.anomaly(
          ev,
          `total_count=${ev.totalCount} but area ${a.spec.name} has ${a.spec.count} pages: the areas do not match the trace`,
        );
    }
    if (ev.availableCount === a.avail) return;
    for (const q of this.pending.values()) if (q.area === a && !q.oversize) return;
    this.anomaly(
      ev,
      `available_count=${ev.availableCount} but the replay has ${a.avail}${this.resync ? ' (following the trace)' : ''}`,
    );
    if (this.resync) a.avail = ev.availableCount;
  }

  private pfnOf(a: AreaState, p: Pending): number {
    return p.held >= 0 ? p.rng!.base + p.held * a.unit : -1;
  }

  private busyRanges(ev: TraceEvent, p: Pending): void {
    const a = p.area;
    a.r.busyRetries++;
    this.res.busyRetries++;
    p.busy++;
    p.lastBusyPfn = ev.pfn;
    const ours = this.pfnOf(a, p);
    let r: RangeState | null = p.held >= 0 ? p.rng : null;
    let bit = p.held;
    if (ours !== ev.pfn) {
      this.mismatch(ev, a, ours);
      if (this.resync) {
        r = this.rangeOf(a, ev.pfn);
        if (r === null) this.anomaly(ev, 'busy pfn outside the area');
        else bit = Math.floor((ev.pfn - r.base) / a.unit);
      }
    }
    if (p.held >= 0) this.dropHeld(p);
    // EBUSY: the search goes on in the same range after the block, then the next ranges
    if (r !== null && bit >= 0) this.placeRanges(a, p, r.index, bit + p.mask + 1);
  }

  private finishRanges(ev: TraceEvent, p: Pending): void {
    const a = p.area;
    if (p.oversize) {
      // 7.x: finish(pfn=0, errorno=-16); a page here is a mismatch
      if (ev.hasPage) this.mismatch(ev, a, -1);
      return;
    }
    const ours = this.pfnOf(a, p);
    if (ev.hasPage) {
      if (ours !== ev.pfn) {
        this.mismatch(ev, a, ours);
        if (this.resync) {
          if (p.held >= 0) this.dropHeld(p);
          const r = this.rangeOf(a, ev.pfn);
          if (r === null) this.anomaly(ev, 'allocated pfn outside the area');
          else {
            const tb = Math.floor((ev.pfn - r.base) / a.unit);
            this.setBitsR(a, r, tb, Math.min(p.bits, r.maxno - tb));
            this.take(a, p.pages);
          }
        }
      }
      a.r.allocsOk++;
      this.res.allocs.ok++;
      if (this.table) this.recordAlloc(ev, a, ev.pfn, p);
      this.lastPid = ev.pid;
      this.lastFail = null;
      return;
    }
    a.r.allocsFailed++;
    this.res.allocs.failed++;
    const zero = ev.pfn === 0 && ev.errorno !== null; // 7.x prints pfn 0 for every failure
    if (p.held >= 0) {
      // the migration failed with another error than -EBUSY at the placement
      if (ours !== ev.pfn && !zero) this.mismatch(ev, a, ours);
      this.dropHeld(p);
      a.r.failedMigration++;
      this.res.failedBy.migration++;
      this.fail(ev, a, p, 'migration', ev.pfn);
      return;
    }
    if (!(ev.pfn === -1 || ev.pfn === p.lastBusyPfn || zero)) this.mismatch(ev, a, -1);
    a.r.failedNoSpace++;
    this.res.failedBy.noSpace++;
    const free = (a.maxno - a.usedBits) * a.unit;
    this.fail(ev, a, p, free >= p.bits * a.unit ? 'fragmentation' : 'exhaustion', ev.pfn);
  }

  /** cma_release on a multi-range area: the range that holds the pfn. */
  private releaseRanges(ev: TraceEvent, a: AreaState): void {
    const r = this.rangeOf(a, ev.pfn);
    if (r === null) {
      this.anomaly(ev, `release of pfn 0x${ev.pfn.toString(16)} outside the area's ranges`);
      return;
    }
    const bit = Math.floor((ev.pfn - r.base) / a.unit);
    let bits = this.bitsOf(a, ev);
    if (bit + bits > r.maxno) {
      this.anomaly(ev, `release runs past the end of range ${r.index} (clamped)`);
      bits = r.maxno - bit;
    }
    if (this.clearBitsR(a, r, bit, bits) !== bits) this.res.releasesOfFreeBits++;
    this.releaseRecord(ev, a);
  }

  private usedPages(a: AreaState): number {
    return a.exact ? a.spec.count - a.avail : a.usedBits * a.unit;
  }

  private maxchunkBits(a: AreaState): number {
    if (!a.multi) return a.bitmap.longestZeroRun();
    let best = 0;
    for (const r of a.ranges) best = Math.max(best, r.bitmap.longestZeroRun());
    return best;
  }

  private info(ev: TraceEvent): void {
    this.res.infoEvents++;
    const fail = this.lastFail;
    if (this.lastPid === ev.pid && fail !== null && ev.pfn === -1) {
      fail.info = {
        nrMigrated: ev.nrMigrated,
        errIso: ev.errIso,
        errMig: ev.errMig,
        errTest: ev.errTest,
      };
    }
  }

  private sample(ts: number): void {
    this.timeline.push({
      event: this.nEvents,
      ts,
      used: this.areas.map((a) => this.usedPages(a)),
      maxchunk: this.areas.map((a) => this.maxchunkBits(a) * a.unit),
    });
    if (this.timeline.length >= 2 * this.timelineMax) {
      this.timeline = this.timeline.filter((_, i) => i % 2 === 1);
      this.sampleStep *= 2;
    }
  }

  /** Ends the replay: final state of every area, live allocations, counters. */
  finish(stats: ParseStats): ReplayResult {
    if (this.timelineMax > 0 && (this.timeline.length === 0 || this.timeline.at(-1)!.event !== this.nEvents))
      this.sample(Number.NaN);
    const allocations: AllocationRecord[] = [];
    const areas = this.areas.map((a): AreaResult => {
      const ranges = a.ranges.map((r): RangeResult => {
        const text = formatU32Array(r.bitmap.words, Math.ceil(r.maxno / 32));
        return {
          basePfn: r.base,
          count: r.count,
          maxno: r.maxno,
          usedBitsPages: r.bitmap.weight() * a.unit,
          maxchunk: r.bitmap.longestZeroRun() * a.unit,
          bitmapText: text,
          bitmapSha256: createHash('sha256').update(text).digest('hex'),
          words: r.bitmap.words,
        };
      });
      const r0 = ranges[0]!;
      const live = a.live.records().sort((x, y) => x.pfn - y.pfn);
      for (const rec of live) {
        allocations.push(rec);
        this.opts.onAllocation?.(rec);
      }
      const bitsPages = ranges.reduce((s, r) => s + r.usedBitsPages, 0);
      return {
        ...a.r,
        used: a.exact ? a.spec.count - a.avail : bitsPages,
        usedMode: a.exact ? 'exact' : 'bits',
        availablePages: a.avail,
        maxchunk: ranges.reduce((m, r) => Math.max(m, r.maxchunk), 0),
        peakUsed: a.exact ? a.peakExact : a.peakUsedBits * a.unit,
        bitmapText: r0.bitmapText,
        bitmapSha256: r0.bitmapSha256,
        words: r0.words,
        ranges,
        liveAllocations: live.length,
        latencyUs: latencySummary(a.lat),
      };
    });
    return {
      events: stats.events,
      lines: stats.lines,
      otherLines: stats.otherLines + stats.otherCmaEvents,
      malformed: stats.malformed,
      malformedLines: stats.malformedLines,
      joinedSplitLines: stats.joinedSplitLines,
      format: stats.format ?? 'text',
      kernelRelease: stats.kernelRelease ?? this.opts.kernelRelease ?? null,
      lostEvents: stats.lostEvents ?? 0,
      lostEventPages: stats.lostEventPages ?? 0,
      ...this.res,
      pendingAtEnd: [...this.pending.values()].filter((p) => !p.oversize).length,
      areas,
      allocations,
      timeline: this.timelineMax > 0 ? this.timeline : null,
    };
  }
}

/**
 * Guesses areas from a trace: per name, [min pfn, max pfn+count) rounded out to 512 pages, and
 * order_per_bit: 9 when every placement is 512-aligned and either the name is `hugetlb*`
 * (hugetlb_cma_reserve() declares its areas with order_per_bit HUGETLB_PAGE_ORDER) or some
 * request was not a multiple of 2^k pages yet its neighbour still started on a 2^k boundary
 * (then the largest such k ≤ 9); else 0.
 */
export async function inferAreas(source: TraceSource): Promise<ReplayAreaSpec[]> {
  const seen = new Map<string, { lo: number; hi: number; pfnBits: number; countBits: number }>();
  await readTraceEvents(source, (ev) => {
    if (ev.kind === EV_START || ev.kind === EV_INFO || !(ev.pfn >= 0)) return;
    const placed = ev.kind === EV_FINISH || ev.kind === EV_ALLOC;
    if (placed && !ev.hasPage) return;
    const name = ev.name === '' ? 'cma' : ev.name;
    const end = ev.pfn + (ev.countBig === null ? ev.count : 1);
    let s = seen.get(name);
    if (s === undefined) {
      s = { lo: ev.pfn, hi: end, pfnBits: 0, countBits: 0 };
      seen.set(name, s);
    } else {
      if (ev.pfn < s.lo) s.lo = ev.pfn;
      if (end > s.hi) s.hi = end;
    }
    if (placed && ev.countBig === null && ev.count > 0) {
      s.pfnBits |= ev.pfn & 511;
      s.countBits |= ev.count & 511;
    }
  });
  return [...seen].map(([name, { lo, hi, pfnBits, countBits }]) => {
    const base = Math.floor(lo / 512) * 512;
    let k = 0;
    while (k < 9 && (pfnBits & (1 << k)) === 0) k++;
    const evidence = /^hugetlb/.test(name) ? k === 9 : (countBits & ((1 << k) - 1)) !== 0;
    return {
      name,
      basePfn: base,
      count: Math.ceil(hi / 512) * 512 - base,
      orderPerBit: evidence ? k : 0,
    };
  });
}

class NeedAreas extends Error {}

/**
 * Replays a cma trace (ftrace `trace`/`trace_pipe`/`trace-cmd report` text, any era) on
 * emulated areas, streaming, in constant memory apart from live allocations. 6.1-era events use
 * the 6.1 allocator; 7.x events (`available_count=`) and multi-range areas (`ranges`, in the
 * kernel's index order) the 7.x one, with exact `used`.
 *
 * ```ts
 * const r = await replayTrace(fileSource('gpu.trace'), {
 *   areas: [{ name: 'reserved', basePfn: 0x80000, count: 262144, orderPerBit: 0 }],
 *   bitmapFactory: (maxno) => new PlainBitmap(maxno),   // or an indexed CmaBitmap
 *   allocations: false,                                   // skip the table for speed
 * });
 * r.events; r.allocs.ok; r.allocs.failed; r.releases; r.mismatches;
 * r.areas[0].used; r.areas[0].maxchunk; r.areas[0].bitmapSha256;
 * // 7.x: { name: 'hugetlb0', orderPerBit: 9, ranges: [{ basePfn: 0x240000, count: 262144 }, …] }
 * // (as toReplaySpec() builds it); r.areas[0].ranges[i].bitmapText, .usedMode === 'exact'
 * ```
 *
 * `source` is a TraceSource (fileSource, memorySource, openTraceSource), a string/bytes, or a
 * function returning a fresh AsyncIterable<Uint8Array>. Areas default to the trace's
 * `# cma_area:` lines, else they are inferred (a guess, see ReplayOptions.areas), which needs
 * a source that can be read twice.
 */
export async function replayTrace(
  source: TraceSource | string | Uint8Array | (() => AsyncIterable<Uint8Array>),
  opts: ReplayOptions = {},
): Promise<ReplayResult> {
  const src: TraceSource =
    typeof source === 'string' || source instanceof Uint8Array
      ? memorySource(source)
      : typeof source === 'function'
        ? { open: source, size: null, gzip: false, label: '<stream>', dispose: () => {} }
        : source;
  const mode = opts.areas ?? 'auto';
  if (mode === 'infer') return run(src, await inferAreas(src), 'inferred', opts);
  if (mode !== 'auto') return run(src, mode.map(toSpec), 'options', opts);
  try {
    return await run(src, null, 'annotation', opts);
  } catch (e) {
    if (!(e instanceof NeedAreas)) throw e;
    return run(src, await inferAreas(src), 'inferred', opts);
  }
}

async function run(
  src: TraceSource,
  areas: ReplayAreaSpec[] | null,
  areaSource: ReplayResult['areaSource'],
  opts: ReplayOptions,
): Promise<ReplayResult> {
  const annotated: AnnotatedArea[] = [];
  const parseOpts: ParseOptions = {
    onAnnotation: (a) => {
      annotated.push(a);
    },
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  // the parse worker boots while this thread builds the areas (a 64 GiB index takes a while)
  const par = opts.parallel ?? 'auto';
  let parallel: ParallelParse | null = null;
  if (
    par !== false &&
    src.path !== undefined &&
    !src.gzip &&
    (par === true || (src.size ?? 0) >= PARALLEL_MIN_BYTES) &&
    sourceFormat(src)?.format === 'text'
  ) {
    try {
      parallel = startParallelParse(src.path, parseOpts);
    } catch {
      // no worker script, or the file cannot be opened: the stream path reports it as before
      parallel = null;
    }
  }
  let replayer: TraceReplayer | null;
  try {
    replayer = areas === null ? null : new TraceReplayer(areas, areaSource, opts);
  } catch (e) {
    parallel?.cancel();
    throw e;
  }
  const onEvent = (ev: TraceEvent): void => {
    if (replayer === null) {
      if (annotated.length === 0) throw new NeedAreas();
      replayer = new TraceReplayer(annotated.map(toSpec), 'annotation', opts);
    }
    replayer.event(ev);
  };
  let stats: ParseStats;
  if (parallel !== null) {
    stats = await parallel.run(onEvent);
  } else {
    stats = await readTraceEvents(src, onEvent, {
      ...parseOpts,
      ...(opts.kernelRelease !== undefined ? { kernelRelease: opts.kernelRelease } : {}),
    });
  }
  if (replayer === null) {
    if (annotated.length === 0 && areas === null) {
      // no cma event at all: an empty replay on no area
      replayer = new TraceReplayer([], areaSource, opts);
    } else replayer = new TraceReplayer((areas ?? annotated).map(toSpec), areaSource, opts);
  }
  return (replayer as TraceReplayer).finish(stats);
}
