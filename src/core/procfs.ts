// The CMA lines of /proc/meminfo, /proc/vmstat, /proc/zoneinfo and /proc/pagetypeinfo as the
// emulated kernel would print them for its areas (a "shipping device" view: what user space sees
// without debugfs). Only CMA lines are emulated: the rest of the machine is not.
//
// Free CMA pages are exact pages (available_count): an allocation of 1000 pages in an
// order_per_bit 9 area sets two bits but leaves 24 pages with the page allocator (meminfo_proc_show
// counts them in CmaFree). The buddy free lists are the free ranges split into maximal aligned
// power-of-two blocks, as __free_one_page merges buddies, up to MAX_PAGE_ORDER 10.

import type { CmaArea } from './cma.ts';
import type { AreaState } from './cma-debugfs.ts';

/** MAX_PAGE_ORDER (x86_64 and arm64 with 4 KiB pages). */
const MAX_PAGE_ORDER = 10;
/** pageblock_order (x86_64: HUGETLB_PAGE_ORDER = 9). */
const PAGEBLOCK_ORDER = 9;

/** The x86_64 zone of a pfn: DMA below 16 MiB, DMA32 below 4 GiB, Normal above. */
function zoneOfPfn(pfn: number): 'DMA' | 'DMA32' | 'Normal' {
  if (pfn < 0x1000) return 'DMA';
  if (pfn < 0x100000) return 'DMA32';
  return 'Normal';
}

/** The node of an area: hugetlbN on node N, others on node 0. */
function nodeOf(area: CmaArea): number {
  const m = /^hugetlb(\d+)$/.exec(area.name);
  return m ? Number(m[1]) : 0;
}

/** Free page ranges [pfn, pfn + pages) of an area: clear bits, plus the unused tail of each record's last bit. */
function freePageRanges(st: AreaState): { pfn: number; pages: number }[] {
  const { area } = st;
  const unit = 2 ** area.orderPerBit;
  const out: { pfn: number; pages: number }[] = [];
  for (const r of area.ranges) {
    const { bitmap } = r;
    let pos = 0;
    while (pos < bitmap.maxno) {
      const start = bitmap.findArea(pos, 1, 0, 0);
      if (start >= bitmap.maxno) break;
      const end = bitmap.findNextSet(start, bitmap.maxno);
      out.push({ pfn: r.basePfn + start * unit, pages: (end - start) * unit });
      pos = end;
    }
  }
  if (unit > 1)
    for (const rec of st.records) {
      const pages = Number(rec.count);
      const tail = Math.ceil(pages / unit) * unit - pages;
      if (tail > 0) out.push({ pfn: rec.pfn + pages, pages: tail });
    }
  return out.sort((a, b) => a.pfn - b.pfn);
}

/** Free blocks per order of the ranges, as the buddy allocator holds them. */
function buddyBlocks(ranges: readonly { pfn: number; pages: number }[]): number[] {
  const counts = new Array<number>(MAX_PAGE_ORDER + 1).fill(0);
  // merge touching ranges first: buddies merge across them
  const merged: { pfn: number; end: number }[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && last.end === r.pfn) last.end += r.pages;
    else merged.push({ pfn: r.pfn, end: r.pfn + r.pages });
  }
  for (const r of merged) {
    let p = r.pfn;
    while (p < r.end) {
      let o = MAX_PAGE_ORDER;
      while (o > 0 && (p % 2 ** o !== 0 || p + 2 ** o > r.end)) o--;
      counts[o]!++;
      p += 2 ** o;
    }
  }
  return counts;
}

interface ZoneCma {
  node: number;
  zone: string;
  cma: number;
  free: number;
  blocks: number[];
  ranges: { pfn: number; pages: number }[];
}

function zones(states: readonly AreaState[]): ZoneCma[] {
  const out = new Map<string, ZoneCma>();
  for (const st of states) {
    const node = nodeOf(st.area);
    const free = freePageRanges(st);
    for (const r of st.area.ranges) {
      const zone = zoneOfPfn(r.basePfn);
      const key = `${node}/${zone}`;
      let z = out.get(key);
      if (!z) {
        z = { node, zone, cma: 0, free: 0, blocks: [], ranges: [] };
        out.set(key, z);
      }
      z.cma += r.count;
      const mine = free.filter((f) => f.pfn >= r.basePfn && f.pfn < r.basePfn + r.count);
      z.ranges.push(...mine);
    }
  }
  const order = ['DMA', 'DMA32', 'Normal'];
  const list = [...out.values()].sort(
    (a, b) => a.node - b.node || order.indexOf(a.zone) - order.indexOf(b.zone),
  );
  for (const z of list) {
    z.ranges.sort((a, b) => a.pfn - b.pfn);
    z.free = z.ranges.reduce((s, r) => s + r.pages, 0);
    z.blocks = buddyBlocks(z.ranges);
  }
  return list;
}

/** Exact free CMA pages of all areas (Σ available_count). */
function cmaFreePages(states: readonly AreaState[]): number {
  return states.reduce((s, st) => s + st.area.availableCount, 0);
}

/** The CmaTotal and CmaFree lines of /proc/meminfo (show_val_kb: 16-character label, width 8, kB). */
export function procMeminfo(states: readonly AreaState[]): string {
  const total = states.reduce((s, st) => s + st.area.count, 0);
  const kb = (label: string, pages: number) => `${label.padEnd(16)}${String(pages * 4).padStart(8)} kB\n`;
  return kb('CmaTotal:', total) + kb('CmaFree:', cmaFreePages(states));
}

/** The CMA lines of /proc/vmstat, in the kernel's order. */
export function procVmstat(
  states: readonly AreaState[],
  counters: { cma_alloc_success: number; cma_alloc_fail: number },
): string {
  return `nr_free_cma ${cmaFreePages(states)}\ncma_alloc_success ${counters.cma_alloc_success}\ncma_alloc_fail ${counters.cma_alloc_fail}\n`;
}

/** /proc/zoneinfo reduced to the zones holding CMA and their `cma` and `nr_free_cma` lines. */
export function procZoneinfo(states: readonly AreaState[]): string {
  return zones(states)
    .map(
      (z) =>
        `Node ${z.node}, zone ${z.zone.padStart(8)}\n        ${'cma'.padEnd(8)} ${z.cma}\n      ${'nr_free_cma'.padEnd(12)} ${z.free}\n`,
    )
    .join('');
}

/** /proc/pagetypeinfo reduced to the CMA migrate type: free blocks per order and CMA pageblocks. */
export function procPagetypeinfo(states: readonly AreaState[]): string {
  const zs = zones(states);
  const orders = Array.from({ length: MAX_PAGE_ORDER + 1 }, (_, o) => `${String(o).padStart(6)} `).join('');
  const lines = [
    `Page block order: ${PAGEBLOCK_ORDER}`,
    `Pages per block:  ${2 ** PAGEBLOCK_ORDER}`,
    '',
    `${'Free pages count per migrate type at order'.padEnd(43)} ${orders}`,
    ...zs.map(
      (z) =>
        `Node ${String(z.node).padStart(4)}, zone ${z.zone.padStart(8)}, type ${'CMA'.padStart(12)} ${z.blocks.map((c) => String(c).padStart(6)).join(' ')} `,
    ),
    '',
    `${'Number of blocks type '.padEnd(23)}${'CMA'.padStart(12)} `,
    ...zs.map(
      (z) =>
        `Node ${z.node}, zone ${z.zone.padStart(8)} ${String(Math.floor(z.cma / 2 ** PAGEBLOCK_ORDER)).padStart(12)} `,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
