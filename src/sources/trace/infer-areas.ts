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
 *
 * A 7.x trace prints the area's total_count. When the pfns span more than that, the area has
 * several ranges (cma_declare_contiguous_multi: ranges aligned to the area's alignment, 1 GiB
 * for x86's gigantic pages): the ranges are the runs of aligned units the events touch, for the
 * largest unit whose runs add up to total_count exactly, tried first-placed first (the index
 * order the allocator walks: an empty area's first allocation lands in range 0, and a range
 * is first used when the ones before it are full). No unit adding up: the single span.
 */
export async function inferAreas(source: TraceSource): Promise<ReplayAreaSpec[]> {
  const seen = new Map<string, Seen>();
  const entry = (name: string): Seen => {
    let s = seen.get(name);
    if (s === undefined) {
      s = { lo: Infinity, hi: -Infinity, pfnBits: 0, countBits: 0, total: -1, blocks: new Map() };
      seen.set(name, s);
    }
    return s;
  };
  let seq = 0;
  await readTraceEvents(source, (ev) => {
    seq++;
    const name = ev.name === '' ? 'cma' : ev.name;
    if (ev.kind === EV_START) {
      if (ev.totalCount > 0) entry(name).total = ev.totalCount;
      return;
    }
    if (ev.kind === EV_INFO || !(ev.pfn >= 0)) return;
    const placed = ev.kind === EV_FINISH || ev.kind === EV_ALLOC;
    if (placed && !ev.hasPage) return;
    const end = ev.pfn + (ev.countBig === null ? ev.count : 1);
    const s = entry(name);
    if (ev.pfn < s.lo) s.lo = ev.pfn;
    if (end > s.hi) s.hi = end;
    if (s.total > 0) {
      // (7.x only) the 512-page blocks the event touches, from its first block: the furthest end
      // and the first event
      const a = Math.floor(ev.pfn / 512);
      const b = Math.ceil(Math.max(end, ev.pfn + 1) / 512);
      const t = s.blocks.get(a);
      if (t === undefined) s.blocks.set(a, { end: b, first: seq });
      else if (b > t.end) t.end = b;
    }
    if (placed && ev.countBig === null && ev.count > 0) {
      s.pfnBits |= ev.pfn & 511;
      s.countBits |= ev.count & 511;
    }
  });
  return [...seen].flatMap(([name, { lo, hi, pfnBits, countBits, total, blocks }]) => {
    if (!(lo < hi)) return [];
    const base = Math.floor(lo / 512) * 512;
    let k = 0;
    while (k < 9 && (pfnBits & (1 << k)) === 0) k++;
    const evidence = /^hugetlb/.test(name) ? k === 9 : (countBits & ((1 << k) - 1)) !== 0;
    const count = Math.ceil(hi / 512) * 512 - base;
    const ranges = total > 0 && count > total ? rangesOf(blocks, total) : null;
    const spec: ReplayAreaSpec = {
      name,
      basePfn: ranges ? ranges[0]!.basePfn : base,
      count: ranges ? total : count,
      orderPerBit: evidence ? k : 0,
      ...(ranges ? { ranges } : {}),
    };
    checkAreaLimits({ ...spec, ranges: spec.ranges ?? [spec] }, (m) => {
      throw new Error(
        `${source.label}: the area its pfns and counts give is impossible (${m}): give the real areas (--area, --from-snapshot)`,
      );
    });
    return [spec];
  });
}

/** What the events of one area name showed. */
interface Seen {
  lo: number;
  hi: number;
  pfnBits: number;
  countBits: number;
  /** total_count of its 7.x cma_alloc_start events; -1 when none. */
  total: number;
  /** 7.x: by the first 512-page block of events, the furthest block end and the first event. */
  blocks: Map<number, { end: number; first: number }>;
}

/** Range alignments tried, largest first: 1 GiB down to 2 MiB (4 KiB pages). */
const UNITS = [262144, 131072, 65536, 32768, 16384, 8192, 4096, 2048, 1024, 512];

/**
 * The ranges of a multi-range area: for the largest unit whose runs of touched units add up to
 * `total` pages (and make more than one range), those runs in the order events first touched
 * them; null when no unit does.
 */
function rangesOf(
  blocks: ReadonlyMap<number, { end: number; first: number }>,
  total: number,
): { basePfn: number; count: number }[] | null {
  // the touched 512-page blocks as disjoint runs [a, b), each with its first event
  const touched: { a: number; b: number; first: number }[] = [];
  for (const a of [...blocks.keys()].sort((x, y) => x - y)) {
    const { end, first } = blocks.get(a)!;
    const last = touched[touched.length - 1];
    if (last && a <= last.b) {
      last.b = Math.max(last.b, end);
      last.first = Math.min(last.first, first);
    } else touched.push({ a, b: end, first });
  }
  for (const unit of UNITS) {
    if (total % unit !== 0) continue;
    // the runs of touched units: a touched run rounded out to units, merged when they meet
    const runs: { basePfn: number; count: number; first: number }[] = [];
    for (const t of touched) {
      const lo = Math.floor((t.a * 512) / unit) * unit;
      const hi = Math.ceil((t.b * 512) / unit) * unit;
      const last = runs[runs.length - 1];
      if (last && lo <= last.basePfn + last.count) {
        last.count = Math.max(last.count, hi - last.basePfn);
        last.first = Math.min(last.first, t.first);
      } else runs.push({ basePfn: lo, count: hi - lo, first: t.first });
    }
    const sum = runs.reduce((n, r) => n + r.count, 0);
    if (sum > total) continue;
    if (sum < total || runs.length < 2) return null;
    return runs.sort((x, y) => x.first - y.first).map(({ basePfn, count }) => ({ basePfn, count }));
  }
  return null;
}
