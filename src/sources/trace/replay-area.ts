// One replayed area: its ranges (a 6.1 area is one range; 7.x areas may have several, in the
// kernel's index order), their bitmaps, the placement search (the core's RangeFirstFit, the same
// first fit as the emulator's cma_alloc), `used` in both of the kernel's modes, and its final
// debugfs state.

import { createHash } from 'node:crypto';
import { RangeFirstFit } from '../../core/cma.ts';
import type { CmaBitmap, CmaBitmapFactory } from '../../core/cma-bitmap.ts';
import { checkAreaLimits } from '../../core/config.ts';
import { formatU32ArrayBytes, formatU32ArrayChunks } from '../../core/u32-array.ts';
import type { TraceEvent } from './events.ts';
import { LatencyCounts } from './latency.ts';
import { LiveTable, type RowTable } from './live-table.ts';
import type { AllocationRecord, AreaResult, RangeResult, ReplayAreaSpec } from './replay-types.ts';

/** One range of an area (7.x `struct cma_memrange`). */
export interface RangeState {
  readonly index: number;
  readonly base: number;
  /** Pages. */
  readonly count: number;
  readonly maxno: number;
  readonly bitmap: CmaBitmap;
}

/** The counters of AreaResult kept while replaying. */
type AreaCounters = Omit<
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

export interface AreaState {
  readonly spec: ReplayAreaSpec;
  readonly index: number;
  /** Range 0's base pfn. */
  readonly base: number;
  readonly opb: number;
  /** 2^order_per_bit pages. */
  readonly unit: number;
  /** Bits of all ranges. */
  readonly maxno: number;
  /** Every range, index order. */
  readonly ranges: readonly RangeState[];
  /** First fit over `ranges` (the core's allocator). */
  readonly fit: RangeFirstFit;
  /** More than one range (releases name the range in their anomalies). */
  readonly multi: boolean;
  /** The largest range, in bits (a request needing more is larger than every range). */
  readonly maxRangeBits: number;
  usedBits: number;
  peakUsedBits: number;
  /** Exact pages not handed out (7.x available_count). */
  avail: number;
  /** A 7.x cma_alloc_start of this area was seen: `used` is exact. */
  exact: boolean;
  /** Highest count - avail. */
  peakExact: number;
  /** total_count of the trace was checked against the area. */
  totalChecked: boolean;
  /** The allocation table (the wasm lane's while it has one: replay-lane.ts). */
  live: RowTable;
  /** Latencies (µs) of the successful allocations, counted by value (bounded memory, exact percentiles). */
  readonly lat: LatencyCounts;
  readonly r: AreaCounters;
}

/**
 * An empty area (every range's bitmap made by `factory`). An area no kernel can have (past the
 * largest pfn, more bitmap bits than one bitmap holds) is an Error naming the value and its
 * limit, before any bitmap is allocated.
 */
export function newAreaState(spec: ReplayAreaSpec, index: number, factory: CmaBitmapFactory): AreaState {
  const opb = spec.orderPerBit;
  const geo =
    spec.ranges !== undefined && spec.ranges.length > 0
      ? spec.ranges
      : [{ basePfn: spec.basePfn, count: spec.count }];
  checkAreaLimits({ name: spec.name, orderPerBit: opb, ranges: geo }, (m) => {
    throw new Error(m);
  });
  const ranges = geo.map((g, i): RangeState => {
    const maxno = Math.floor(g.count / 2 ** opb);
    return { index: i, base: g.basePfn, count: g.count, maxno, bitmap: factory(maxno) };
  });
  const maxno = ranges.reduce((s, r) => s + r.maxno, 0);
  const total = geo.reduce((s, g) => s + g.count, 0);
  return {
    spec,
    index,
    base: ranges[0]!.base,
    opb,
    unit: 2 ** opb,
    maxno,
    ranges,
    fit: new RangeFirstFit(
      ranges.map((r) => ({ basePfn: r.base, bitmap: r.bitmap })),
      opb,
    ),
    multi: ranges.length > 1,
    maxRangeBits: Math.max(...ranges.map((r) => r.maxno)),
    usedBits: 0,
    peakUsedBits: 0,
    avail: total,
    exact: false,
    peakExact: 0,
    totalChecked: false,
    live: new LiveTable(spec.name),
    lat: new LatencyCounts(),
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
}

/** The range holding a pfn (inside its bitmap), or null. */
export function rangeOf(a: AreaState, pfn: number): RangeState | null {
  for (const r of a.ranges) {
    if (pfn >= r.base && pfn < r.base + r.count)
      return Math.floor((pfn - r.base) / a.unit) < r.maxno ? r : null;
  }
  return null;
}

/** bitmap_set on a range, with the area's weight and its peak. */
export function setBits(a: AreaState, r: RangeState, bit: number, n: number): void {
  if (n <= 0) return;
  a.usedBits += r.bitmap.set(bit, n);
  if (a.usedBits > a.peakUsedBits) a.peakUsedBits = a.usedBits;
}

/** bitmap_clear on a range; returns how many of the bits were set. */
export function clearBits(a: AreaState, r: RangeState, bit: number, n: number): number {
  if (n <= 0) return 0;
  const was = r.bitmap.clear(bit, n);
  a.usedBits -= was;
  return was;
}

/** Takes `pages` from available_count (a placement the kernel made). */
export function take(a: AreaState, pages: number): void {
  a.avail -= pages;
  const used = a.spec.count - a.avail;
  if (used > a.peakExact) a.peakExact = used;
}

/** debugfs `used` now (pages). */
export function usedPages(a: AreaState): number {
  return a.exact ? a.spec.count - a.avail : a.usedBits * a.unit;
}

/** The longest free run of any one range (bits). */
export function maxchunkBits(a: AreaState): number {
  let best = 0;
  for (const r of a.ranges) best = Math.max(best, r.bitmap.longestZeroRun());
  return best;
}

/** The live allocations of an area at the end, by pfn (built from the table's rows). */
export function liveRecords(a: AreaState): AllocationRecord[] {
  return a.live.records().sort((x, y) => x.pfn - y.pfn);
}

/** The final state of an area (its live allocations counted; liveRecords lists them). */
export function areaResult(a: AreaState): AreaResult {
  const ranges = a.ranges.map((r): RangeResult => {
    const elements = Math.ceil(r.maxno / 32);
    // the sha256 from the text in small pieces; the text itself is made when first read
    // (`--json` reads the sha256 only: a 64 GiB area's text is 4.8 MB)
    const sha = createHash('sha256');
    formatU32ArrayChunks(r.bitmap.words, elements, (chunk) => sha.update(chunk));
    let text: string | null = null;
    return {
      basePfn: r.base,
      count: r.count,
      maxno: r.maxno,
      usedBitsPages: r.bitmap.weight() * a.unit,
      maxchunk: r.bitmap.longestZeroRun() * a.unit,
      get bitmapText(): string {
        // (ASCII: one byte a character, copied into a one-byte string)
        if (text === null) {
          const bytes = formatU32ArrayBytes(r.bitmap.words, elements);
          text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
        }
        return text;
      },
      bitmapSha256: sha.digest('hex'),
      words: r.bitmap.words,
    };
  });
  const r0 = ranges[0]!;
  const bitsPages = ranges.reduce((s, r) => s + r.usedBitsPages, 0);
  return {
    ...a.r,
    used: a.exact ? a.spec.count - a.avail : bitsPages,
    usedMode: a.exact ? 'exact' : 'bits',
    availablePages: a.avail,
    maxchunk: ranges.reduce((m, r) => Math.max(m, r.maxchunk), 0),
    peakUsed: a.exact ? a.peakExact : a.peakUsedBits * a.unit,
    get bitmapText(): string {
      return r0.bitmapText;
    },
    bitmapSha256: r0.bitmapSha256,
    words: r0.words,
    ranges,
    liveAllocations: a.live.size,
    latencyUs: a.lat.summary(),
  };
}

/** The allocation table's row for a successful call (a row at the same pfn is handed out first). */
export function recordAlloc(
  a: AreaState,
  ev: TraceEvent,
  startTs: number,
  busyRetries: number,
  onAllocation: ((rec: AllocationRecord) => void) | undefined,
): void {
  a.lat.add(ev.ts - startTs);
  dropDisplaced(a, a.live.add(ev.pfn, ev, startTs, busyRetries), onAllocation);
}

/** recordAlloc of a finish's numbers (the fast lane's rows; the task name's cell at int32 `cell` of `comm`). */
export function recordAllocRow(
  a: AreaState,
  pfn: number,
  count: number,
  pid: number,
  startTs: number,
  ts: number,
  busyRetries: number,
  line: number,
  comm: Int32Array,
  cell: number,
  commLen: number,
  onAllocation: ((rec: AllocationRecord) => void) | undefined,
): void {
  a.lat.add(ts - startTs);
  const old = a.live.addRow(pfn, count, pid, startTs, ts, busyRetries, line, comm, cell, commLen);
  dropDisplaced(a, old, onAllocation);
}

/** The row a new one displaced at its pfn (slot `old`, -1: none): handed out first, then dropped. */
function dropDisplaced(
  a: AreaState,
  old: number,
  onAllocation: ((rec: AllocationRecord) => void) | undefined,
): void {
  if (old < 0) return;
  if (onAllocation) onAllocation(a.live.record(old, null));
  a.live.dropRow(old);
}

/** The allocation table's side of a release (a partial one shrinks the row from the front). */
export function releaseRecord(
  a: AreaState,
  ev: TraceEvent,
  onAllocation: ((rec: AllocationRecord) => void) | undefined,
): void {
  releaseRow(a, ev.pfn, ev.count, ev.ts, onAllocation);
}

/** releaseRecord of a release's numbers (the fast lane's rows). */
export function releaseRow(
  a: AreaState,
  pfn: number,
  count: number,
  ts: number,
  onAllocation: ((rec: AllocationRecord) => void) | undefined,
): void {
  const t = a.live;
  const slot = t.take(pfn);
  if (slot < 0) return;
  if (!t.isBig(slot) && count < t.pages(slot)) {
    // debugfs partial free: the first pages of the record go
    t.shrinkFront(slot, count);
  } else {
    if (onAllocation) onAllocation(t.record(slot, ts));
    t.dropRow(slot);
  }
}
