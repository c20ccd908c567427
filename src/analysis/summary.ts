// An area at a glance: used, free, maxchunk, a fragmentation figure, the free-run histogram and
// the largest request that fits at each alignment order, with the size thresholds between fits,
// fragmentation and exhaustion.

import type { CmaArea } from '../core/cma.ts';
import type { HistogramBucket } from './free-runs.ts';
import {
  freePagesFromBitmap,
  freeRuns,
  largestUsableByOrder,
  runHistogram,
  usedPagesFromBitmap,
} from './free-runs.ts';

/** The analysis of one area (pages unless a name says bits). */
export interface AreaSummary {
  readonly name: string;
  /** base_pfn of range 0 (what the top-level base_pfn file shows). */
  readonly basePfn: number;
  readonly count: number;
  readonly orderPerBit: number;
  readonly ranges: readonly { basePfn: number; count: number; usedBits: number; maxchunk: number }[];
  /** count - available_count on 7.x (exact pages), set bits << order_per_bit otherwise. */
  readonly used: number;
  readonly usedFromBitmap: number;
  /** Pages the bitmap shows free. */
  readonly free: number;
  /** Longest free run in pages (over all ranges, never across two). */
  readonly maxchunk: number;
  /** 1 - maxchunk / free: 0 = one free run, near 1 = free space in crumbs (0 when nothing is free). */
  readonly fragmentation: number;
  readonly freeRunCount: number;
  readonly histogram: readonly HistogramBucket[];
  /** Largest request that succeeds for each alignment order (2^order pages). */
  readonly largestByOrder: readonly { order: number; pages: number }[];
  /**
   * With align 0: requests of 1..fitsUpTo pages succeed; fitsUpTo+1..free fail by fragmentation;
   * above free they fail by exhaustion.
   */
  readonly fitsUpTo: number;
}

/** Summarises an area; `exactUsed` follows the kernel's `used` (7.x: count - available_count). */
export function summarizeArea(area: CmaArea, exactUsed: boolean): AreaSummary {
  const runs = freeRuns(area);
  const unit = 2 ** area.orderPerBit;
  const free = freePagesFromBitmap(area);
  const maxchunk = runs.reduce((m, r) => Math.max(m, r.pages), 0);
  const byOrder = largestUsableByOrder(area, runs);
  const usedFromBitmap = usedPagesFromBitmap(area);
  return {
    name: area.name,
    basePfn: area.ranges[0]?.basePfn ?? 0,
    count: area.count,
    orderPerBit: area.orderPerBit,
    ranges: area.ranges.map((r) => ({
      basePfn: r.basePfn,
      count: r.count,
      usedBits: r.bitmap.weight(),
      maxchunk: r.bitmap.longestZeroRun() * unit,
    })),
    used: exactUsed ? area.count - area.availableCount : usedFromBitmap,
    usedFromBitmap,
    free,
    maxchunk,
    fragmentation: free === 0 ? 0 : 1 - maxchunk / free,
    freeRunCount: runs.length,
    histogram: runHistogram(runs),
    largestByOrder: byOrder,
    fitsUpTo: byOrder[0]?.pages ?? 0,
  };
}
