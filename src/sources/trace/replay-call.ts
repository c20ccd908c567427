// One cma_alloc() in flight: the request, the placement it holds while the kernel migrates
// (bits set under cma->lock until cma_alloc_finish), and the search that finds it with the core's
// first fit (RangeFirstFit) over the area's ranges.

import { cmaBitmapPagesToBits } from '../../core/cma.ts';
import type { TraceEvent } from './events.ts';
import type { AreaState } from './replay-area.ts';
import { clearBits, setBits, take } from './replay-area.ts';

/** One cma_alloc() in flight (a pid's). */
export interface Pending {
  area: AreaState;
  count: number;
  align: number;
  bits: number;
  mask: number;
  /** Bit of the placement we hold (bits set) in range `range`, or -1. */
  held: number;
  range: number;
  oversize: boolean;
  startTs: number;
  busy: number;
  lastBusyPfn: number;
  /** Placements take `pages` from available_count (a 7.x start, or a multi-range area). */
  counts: boolean;
  /** Pages taken from available_count while held (0 for absurd counts, as the kernel). */
  pages: number;
  /** 7.x start: the allocator stops when count > available_count. */
  v7: boolean;
}

/** cma_bitmap_pages_to_bits of the event's count on the area. */
export function bitsOf(a: AreaState, ev: TraceEvent): number {
  if (ev.countBig !== null) return Number(cmaBitmapPagesToBits(ev.countBig, a.opb));
  return Math.floor((ev.count + a.unit - 1) / a.unit);
}

/** A call that holds nothing yet (an object of `pool` when one is free: fewer allocations per event). */
export function newCall(pool: Pending[], a: AreaState, ev: TraceEvent, v7: boolean): Pending {
  return newCallOf(pool, a, ev.count, bitsOf(a, ev), ev.align, ev.ts, v7);
}

/** newCall of a request's numbers: `count` pages (`bits` of the area's), alignment order, start time. */
export function newCallOf(
  pool: Pending[],
  a: AreaState,
  count: number,
  bits: number,
  alignOrder: number,
  ts: number,
  v7: boolean,
): Pending {
  const align = Math.max(alignOrder, 0);
  const counts = v7 || a.multi;
  const pages = counts && count <= a.spec.count ? count : 0;
  const p = pool.pop();
  if (p === undefined)
    return {
      area: a,
      count,
      align,
      bits,
      mask: a.fit.mask(align),
      held: -1,
      range: 0,
      oversize: false,
      startTs: ts,
      busy: 0,
      lastBusyPfn: -1,
      counts,
      pages,
      v7,
    };
  p.area = a;
  p.count = count;
  p.align = align;
  p.bits = bits;
  p.mask = a.fit.mask(align);
  p.held = -1;
  p.range = 0;
  p.oversize = false;
  p.startTs = ts;
  p.busy = 0;
  p.lastBusyPfn = -1;
  p.counts = counts;
  p.pages = pages;
  p.v7 = v7;
  return p;
}

/**
 * cma_alloc's search from range `from`, bit `start` (first fit, range by range); a 7.x call
 * stops when count > available_count. Holds the placement (bits set, available_count taken) in
 * p.range/p.held, or sets p.held = -1.
 */
export function place(p: Pending, from: number, start: number): void {
  const a = p.area;
  if ((p.v7 && p.count > a.avail) || !a.fit.find(from, start, p.bits, p.align)) {
    p.held = -1;
    return;
  }
  const ri = a.fit.range;
  const bit = a.fit.bit;
  setBits(a, a.ranges[ri]!, bit, p.bits);
  if (p.counts) take(a, p.pages);
  p.range = ri;
  p.held = bit;
}

/** Releases a held placement (its bits, and what it took from available_count). */
export function dropHeld(p: Pending): void {
  const a = p.area;
  clearBits(a, a.ranges[p.range]!, p.held, p.bits);
  a.avail += p.pages;
  p.held = -1;
}

/** The first pfn of the held placement, or -1. */
export function pfnOf(p: Pending): number {
  const a = p.area;
  return p.held >= 0 ? a.ranges[p.range]!.base + p.held * a.unit : -1;
}
