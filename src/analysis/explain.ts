// Will the kernel's next cma_alloc(pages, align) succeed, and where? Answered by running the
// core's own allocator on a copy of the captured area (not by a second algorithm), then
// classified: fits, fails for lack of free pages (exhaustion), or fails although enough pages
// are free (fragmentation).

import type { CmaArea, KernelHooks } from '../core/cma.ts';
import { cmaAlloc, cmaBitmapPagesToBits, createArea, findRange } from '../core/cma.ts';
import { plainBitmapFactory } from '../core/cma-bitmap.ts';
import type { KernelProfile } from '../core/profile.ts';
import { freePagesFromBitmap, freeRuns, largestUsablePages, usedPagesFromBitmap } from './free-runs.ts';

/** fits; exhaustion: fewer free pages than asked; fragmentation: enough free, no usable run. */
export type Verdict = 'fits' | 'exhaustion' | 'fragmentation' | 'busy';

/** The answer for one request. */
export interface Explanation {
  readonly ok: boolean;
  /** First pfn the kernel would hand out, or null. */
  readonly pfn: number | null;
  /** Range index and bit of that pfn. */
  readonly range: number | null;
  readonly bit: number | null;
  readonly pages: number;
  readonly align: number;
  /** Bits the request takes (ceil(pages / 2^order_per_bit)). */
  readonly bits: number;
  /** Pages those bits cover (bits << order_per_bit): what `used` grows by. */
  readonly bitmapPages: number;
  /** When it fits: `used` (bitmap pages) and `maxchunk` (pages) right after it; else null. */
  readonly usedAfter: number | null;
  readonly maxchunkAfter: number | null;
  readonly verdict: Verdict;
  /** One sentence saying why. */
  readonly reason: string;
  readonly freePages: number;
  /** Largest request with this alignment that would succeed. */
  readonly largestUsablePages: number;
}

/** A deep copy of an area (bitmaps, counters), so the allocator can run on it. */
export function cloneArea(area: CmaArea): CmaArea {
  const copy = createArea(
    {
      name: area.name,
      orderPerBit: area.orderPerBit,
      ranges: area.ranges.map((r) => ({ basePfn: r.basePfn, count: r.count })),
    },
    plainBitmapFactory,
  );
  area.ranges.forEach((r, i) => {
    copy.ranges[i]!.bitmap.words.set(r.bitmap.words);
  });
  copy.availableCount = area.availableCount;
  copy.busy = [...area.busy];
  return copy;
}

function quietHooks(profile: KernelProfile): KernelHooks {
  return { profile, trace: () => {}, logAllocFailure: () => {}, log: () => {}, countVmstat: () => {} };
}

/**
 * cma_alloc(area, pages, align) on a copy of `area` under `profile`'s rules (6.1: one bitmap;
 * 7.x: ranges in index order, a block never spans two). Assumes page migration succeeds (a
 * pinned page on the device can still make the kernel slide further).
 * @param pages pages requested
 * @param align alignment order in pages (debugfs `alloc` uses 0; 1 GiB hugetlb pages 18 on x86)
 * @param busyPfns pages known to be busy (pinned): a range holding one gets -EBUSY and the kernel
 *   retries at the next aligned bit (__cma_alloc()'s restart after -EBUSY), as on the device
 */
export function explainAlloc(
  area: CmaArea,
  profile: KernelProfile,
  pages: number,
  align = 0,
  busyPfns: readonly number[] = [],
): Explanation {
  const opb = area.orderPerBit;
  const bits = Number(cmaBitmapPagesToBits(BigInt(pages), opb));
  const runs = freeRuns(area);
  const freePages = freePagesFromBitmap(area);
  const usable = largestUsablePages(area, align, runs);
  const copy = cloneArea(area);
  if (busyPfns.length > 0)
    copy.busy = [...copy.busy, ...busyPfns.map((pfn) => ({ pfn, count: 1, error: -16 }))].sort(
      (a, b) => a.pfn - b.pfn,
    );
  let retries = 0;
  const hooks = quietHooks(profile);
  hooks.trace = (e) => {
    if (e.event === 'cma_alloc_busy_retry') retries++;
  };
  const r = pages > 0 ? cmaAlloc(hooks, copy, BigInt(pages), align) : null;
  const base = { pages, align, bits, bitmapPages: bits * 2 ** opb, freePages, largestUsablePages: usable };
  if (r) {
    const after = freeRuns(copy);
    const found = findRange(copy, r.pfn)!;
    const bit = (r.pfn - found.range.basePfn) / 2 ** opb;
    const where = area.ranges.length > 1 ? `range ${found.index} ` : '';
    return {
      ok: true,
      pfn: r.pfn,
      range: found.index,
      bit,
      verdict: 'fits',
      reason: `first fit: ${where}bit ${bit}, pfn 0x${r.pfn.toString(16)}${retries > 0 ? ` after ${retries} busy retr${retries === 1 ? 'y' : 'ies'}` : ''}`,
      usedAfter: usedPagesFromBitmap(copy),
      maxchunkAfter: after.reduce((m, x) => Math.max(m, x.pages), 0),
      ...base,
    };
  }
  const fail = (verdict: Verdict, reason: string): Explanation => ({
    ok: false,
    pfn: null,
    range: null,
    bit: null,
    verdict,
    reason,
    usedAfter: null,
    maxchunkAfter: null,
    ...base,
  });
  if (pages <= 0) return fail('exhaustion', 'a request of 0 pages always fails');
  if (retries > 0)
    return fail(
      'busy',
      `every free range of ${pages} pages holds a busy page (${retries} busy retries, then -EBUSY)`,
    );
  const largestRange = Math.max(...area.ranges.map((x) => x.bitmap.maxno));
  const totalBits = area.ranges.reduce((s, x) => s + x.bitmap.maxno, 0);
  if (bits > totalBits) return fail('exhaustion', `larger than the whole area (${area.count} pages)`);
  if (bits * 2 ** opb > freePages)
    return fail(
      'exhaustion',
      `needs ${bits * 2 ** opb} pages (${bits} bit${bits === 1 ? '' : 's'}) but only ${freePages} are free`,
    );
  if (bits > largestRange)
    return fail('fragmentation', `${freePages} pages are free but no single range holds ${pages} pages`);
  const plain = largestUsablePages(area, 0, runs);
  if (usable < plain)
    return fail(
      'fragmentation',
      `${freePages} pages are free, the largest free run is ${plain} pages, but only ${usable} pages of it are aligned to 2^${align} pages`,
    );
  return fail('fragmentation', `${freePages} pages are free but the largest free run is ${plain} pages`);
}
