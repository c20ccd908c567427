// Free runs of an area's bitmaps: where they are, how big, and what alignment leaves of them.

import { alignUp, forEachZeroRun } from '../core/bitmap.ts';
import type { CmaArea } from '../core/cma.ts';
import { cmaBitmapAlignedMask, cmaBitmapAlignedOffset } from '../core/cma.ts';

/** A maximal run of clear bits in one range. */
export interface FreeRun {
  /** Range index (0 for single-range areas). */
  readonly range: number;
  readonly startBit: number;
  readonly bits: number;
  /** First pfn of the run. */
  readonly pfn: number;
  /** Pages (bits << order_per_bit). */
  readonly pages: number;
}

/** Every free run, range by range in index order, then by bit. */
export function freeRuns(area: CmaArea): FreeRun[] {
  const unit = 2 ** area.orderPerBit;
  const runs: FreeRun[] = [];
  area.ranges.forEach((r, range) => {
    forEachZeroRun(r.bitmap.words, r.bitmap.maxno, (startBit, bits) => {
      runs.push({ range, startBit, bits, pfn: r.basePfn + startBit * unit, pages: bits * unit });
    });
  });
  return runs;
}

/** Free pages as the bitmap shows them (clear bits << order_per_bit). */
export function freePagesFromBitmap(area: CmaArea): number {
  let bits = 0;
  for (const r of area.ranges) bits += r.bitmap.maxno - r.bitmap.weight();
  return bits * 2 ** area.orderPerBit;
}

/** Used pages as 6.1 computes them (set bits << order_per_bit). */
export function usedPagesFromBitmap(area: CmaArea): number {
  let bits = 0;
  for (const r of area.ranges) bits += r.bitmap.weight();
  return bits * 2 ** area.orderPerBit;
}

/** One bucket of the run-size histogram: runs of [minPages, maxPages] pages. */
export interface HistogramBucket {
  readonly minPages: number;
  readonly maxPages: number;
  readonly runs: number;
  /** Pages in those runs. */
  readonly pages: number;
}

/** Histogram of free-run sizes in power-of-two page buckets (1, 2–3, 4–7, …); empty buckets kept between. */
export function runHistogram(runs: readonly FreeRun[]): HistogramBucket[] {
  if (runs.length === 0) return [];
  const counts: { runs: number; pages: number }[] = [];
  for (const r of runs) {
    const k = Math.floor(Math.log2(r.pages));
    while (counts.length <= k) counts.push({ runs: 0, pages: 0 });
    counts[k]!.runs++;
    counts[k]!.pages += r.pages;
  }
  return counts.map((c, k) => ({ minPages: 2 ** k, maxPages: 2 ** (k + 1) - 1, ...c }));
}

/**
 * The largest request (pages) an allocation aligned to 2^align pages can get: in each run the
 * first position the kernel accepts ((bit + offset) & mask == 0, absolute-pfn alignment as
 * cma_bitmap_aligned_mask/offset give it), and the room from there to the run's end.
 */
export function largestUsablePages(area: CmaArea, align: number, runs = freeRuns(area)): number {
  const opb = area.orderPerBit;
  let best = 0;
  for (const run of runs) {
    const range = area.ranges[run.range]!;
    const mask = cmaBitmapAlignedMask(opb, align);
    const offset = cmaBitmapAlignedOffset(range.basePfn, opb, align);
    const start = alignUp(run.startBit + offset, mask) - offset;
    const room = run.startBit + run.bits - start;
    if (room > best) best = room;
  }
  return best * 2 ** opb;
}

/** largestUsablePages for every alignment order from 0 to log2(area count). */
export function largestUsableByOrder(
  area: CmaArea,
  runs = freeRuns(area),
): { order: number; pages: number }[] {
  const top = Math.max(0, Math.floor(Math.log2(Math.max(1, area.count))));
  const out: { order: number; pages: number }[] = [];
  for (let order = 0; order <= top; order++)
    out.push({ order, pages: largestUsablePages(area, order, runs) });
  return out;
}
