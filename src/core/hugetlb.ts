// 1 GiB hugetlb pages taken from the hugetlb_cma areas: the part of
// /sys/kernel/mm/hugepages/hugepages-1048576kB/ that touches CMA.
//
// Observed on the 7.3 oracle (golden-7.3/multirange-*.txt): `echo N > nr_hugepages` makes one
// cma_alloc(hugetlbN, 262144 pages, align 18) per page — trace start/finish with align=18,
// counted in vmstat and in the area's alloc_pages_success — and `echo 0 > nr_hugepages` gives one
// cma_release per page, in allocation order, counted in release_pages_success. The debugfs `free`
// list does not see these pages. A failed attempt (areas full) traces start + finish errorno=-16
// and counts as a failure, with no log line (no_warn); 6.1 the same, its finish with
// pfn=0xffffffffffffffff (the fuzz of test/fixtures/hostile-writes/runs/1G-hp-*). What the emulator
// leaves out: surplus/overcommit/demote and per-node files. Pages from ordinary memory come from
// the machine when it is known (`mem`: machine.ts giganticFallback), else the pool stops at the
// areas' capacity.

import type { CmaArea, KernelHooks } from './cma.ts';
import { cmaAlloc, cmaRelease } from './cma.ts';
import type { Result } from './errno.ts';
import { kstrtoull } from './kstrtox.ts';
import type { KernelProfile } from './profile.ts';
import type { TaskContext } from './trace.ts';
import type { DirNode, VfsNode } from './vfs.ts';
import { dir, sysfsFile } from './vfs.ts';

/** Pages of one 1 GiB page (x86_64, 4 KiB pages) and its order. */
const GIGANTIC_PAGES = 262144;
const GIGANTIC_ORDER = 18;

/** A hugetlb_cma area's node (`hugetlbN` → N), or undefined for other areas. */
export function hugetlbNode(area: CmaArea): number | undefined {
  const m = /^hugetlb(\d+)$/.exec(area.name);
  return m ? Number(m[1]) : undefined;
}

/**
 * The pool of 1 GiB pages as the kernel's free list, head first. Shrinking frees from the head.
 * One `nr_hugepages` write adds its new pages at the head: on 6.12 and 7.3 as a batch in
 * allocation order, so a batch is freed oldest first and the newest batch before older ones
 * (oracle: 3 pages then `1` freed the first two; 1 + 1 then `1` freed the second); on 6.1 one by
 * one, so the newest page is freed first (KernelProfile.hugetlbPoolEnqueue).
 */
export class GiganticPool {
  /** The pool, head first; `area` null: a page of ordinary memory. */
  pages: { area: CmaArea | null; pfn: number }[] = [];
  private nextArea = 0;

  /**
   * @param ordinary the 1 GiB pages ordinary memory can give once the areas fail, in the order
   *   alloc_contig_pages() finds them (machine.ts giganticFallback)
   */
  constructor(
    private readonly hooks: KernelHooks,
    private readonly areas: () => readonly CmaArea[],
    private readonly ordinary: readonly number[] = [],
    private readonly enqueue: KernelProfile['hugetlbPoolEnqueue'] = 'batch',
  ) {}

  /** The hugetlb areas by node number. */
  private hugetlbAreas(): CmaArea[] {
    return this.areas()
      .filter((a) => hugetlbNode(a) !== undefined)
      .sort((a, b) => hugetlbNode(a)! - hugetlbNode(b)!);
  }

  /**
   * One page: the areas are tried round-robin from the node after the last success, then
   * ordinary memory (alloc_gigantic_folio: cma_alloc, else alloc_contig_pages; neither traced
   * nor counted by CMA).
   */
  private grow(batch: { area: CmaArea | null; pfn: number }[]): boolean {
    const areas = this.hugetlbAreas();
    for (let i = 0; i < areas.length; i++) {
      const k = (this.nextArea + i) % areas.length;
      const area = areas[k]!;
      const r = cmaAlloc(this.hooks, area, BigInt(GIGANTIC_PAGES), GIGANTIC_ORDER, true);
      if (r) {
        batch.push({ area, pfn: r.pfn });
        this.nextArea = (k + 1) % areas.length;
        return true;
      }
    }
    const held = new Set([...this.pages, ...batch].filter((p) => p.area === null).map((p) => p.pfn));
    const pfn = this.ordinary.find((u) => !held.has(u));
    if (pfn === undefined) return false;
    batch.push({ area: null, pfn });
    return true;
  }

  /** nr_hugepages = count: grows until the areas are full, shrinks from the free list's head. */
  resize(count: bigint): void {
    const batch: { area: CmaArea | null; pfn: number }[] = [];
    while (BigInt(this.pages.length + batch.length) < count) if (!this.grow(batch)) break;
    this.pages = [...(this.enqueue === 'batch' ? batch : batch.reverse()), ...this.pages];
    while (BigInt(this.pages.length) > count) {
      const page = this.pages.shift()!;
      if (page.area) cmaRelease(this.hooks, page.area, page.pfn, BigInt(GIGANTIC_PAGES));
    }
  }
}

/**
 * kstrtoul(buf, 10). kernfs hands the store a NUL-terminated copy of the write, so a NUL ends the
 * text (oracle: `2147483647\0 0x10` is 2147483647 on 6.1, 6.12 and 7.3), and an overflow is
 * ERANGE before trailing bytes are looked at (`4097000000000000000000000000001\t\n` on 7.3).
 */
function parseDecimal(write: string): Result<{ value: bigint }> {
  return kstrtoull(new TextEncoder().encode(write), 10);
}

/** /sys/kernel/mm/hugepages: the 1 GiB size only. */
export function hugepagesSysfsRoot(
  pool: GiganticPool,
  asTask: <T>(task: TaskContext, fn: () => T) => T,
  changed: () => void,
): DirNode {
  const nr = sysfsFile(
    () => `${pool.pages.length}\n`,
    (text, task) => {
      const v = parseDecimal(text);
      if (!v.ok) return v;
      asTask(task, () => pool.resize(v.value));
      changed();
      return { ok: true };
    },
  );
  const free = sysfsFile(() => `${pool.pages.length}\n`, null);
  const zero = sysfsFile(() => '0\n', null);
  return dir(() => [
    [
      'hugepages-1048576kB',
      dir((): [string, VfsNode][] => [
        ['free_hugepages', free],
        ['nr_hugepages', nr],
        ['resv_hugepages', zero],
        ['surplus_hugepages', zero],
      ]),
    ],
  ]);
}
