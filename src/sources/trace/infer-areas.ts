// Area inference: guesses the areas of a trace that does not describe them (no `# cma_area:`
// annotation, no areas given) from the pfns its events print.

import { checkAreaLimits } from '../../core/config.ts';
import { EV_ALLOC, EV_FINISH, EV_INFO, EV_START } from './events.ts';
import type { TraceSource } from './input.ts';
import { readTraceEvents } from './read-events.ts';
import type { ReplayAreaSpec } from './replay-types.ts';

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
    const spec = {
      name,
      basePfn: base,
      count: Math.ceil(hi / 512) * 512 - base,
      orderPerBit: evidence ? k : 0,
    };
    checkAreaLimits({ ...spec, ranges: [spec] }, (m) => {
      throw new Error(
        `${source.label}: the area its pfns and counts give is impossible (${m}): give the real areas (--area, --from-snapshot)`,
      );
    });
    return spec;
  });
}
