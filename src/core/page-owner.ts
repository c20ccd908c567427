// The emulator's page_owner (mm/page_owner.c): who allocated each busy page, printed as the
// profile's kernel prints /sys/kernel/debug/page_owner records and dump_page()'s block for a page
// that failed to migrate (mm/debug.c, with the page_owner part of __dump_page_owner()).

import type { CmaArea } from './cma.ts';
import type { KernelProfile } from './profile.ts';

/** Who holds a busy page, and how (`busy=PFN+COUNT@PID:COMM[:anon|shmem|file]`). */
export interface BusyOwner {
  readonly pid: number;
  readonly comm: string;
  /** anon: pinned, never isolated (no dump_page); shmem/file: isolated, migration fails (dump_page). */
  readonly kind: 'anon' | 'shmem' | 'file';
  readonly refcount?: number;
  readonly mapcount?: number;
  /** Allocation stack, innermost first; a user-fault stack of the kind by default. */
  readonly stack?: readonly string[];
  /** Allocation time, ns since boot. */
  readonly tsNs?: number;
}

const USER_FAULT = [
  '__handle_mm_fault',
  'handle_mm_fault',
  'do_user_addr_fault',
  'exc_page_fault',
  'asm_exc_page_fault',
];

/** The stack page_owner shows for a page of this kind when none was given. */
function ownerStack(o: BusyOwner): readonly string[] {
  if (o.stack && o.stack.length > 0) return o.stack;
  const alloc = [
    'get_page_from_freelist',
    '__alloc_pages_noprof',
    'alloc_pages_mpol_noprof',
    'folio_alloc_mpol_noprof',
  ];
  if (o.kind === 'anon') return [...alloc, 'vma_alloc_folio_noprof', ...USER_FAULT];
  if (o.kind === 'shmem')
    return [...alloc, 'shmem_get_folio_gfp', 'shmem_fault', '__do_fault', ...USER_FAULT];
  return [
    ...alloc,
    'filemap_alloc_folio_noprof',
    '__filemap_get_folio',
    'filemap_fault',
    '__do_fault',
    ...USER_FAULT,
  ];
}

/** refcount and mapcount of a pinned page of this kind (seen on 6.12: shmem spliced 4/1). */
function counts(o: BusyOwner): { refcount: number; mapcount: number } {
  return { refcount: o.refcount ?? (o.kind === 'anon' ? 3 : 4), mapcount: o.mapcount ?? 1 };
}

const GFP = '0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)';

function flagsOf(o: BusyOwner): string {
  return o.kind === 'anon'
    ? '0x2082c(referenced|uptodate|lru|owner_2|swapbacked|node=0|zone=0)'
    : o.kind === 'shmem'
      ? '0x20118(uptodate|dirty|active|swapbacked|node=0|zone=0)'
      : '0x2002c(referenced|uptodate|lru|node=0|zone=0)';
}

/** print_page_owner()'s record of one page. */
function pageOwnerRecordText(pfn: number, o: BusyOwner, profile: KernelProfile): string {
  const pfnText = profile.pageOwnerPfnHex ? `0x${pfn.toString(16)}` : String(pfn);
  return [
    `Page allocated via order 0, mask ${GFP}, pid ${o.pid}, tgid ${o.pid} (${o.comm}), ts ${o.tsNs ?? 1_000_000_000} ns`,
    `PFN ${pfnText} type Movable Block ${Math.floor(pfn / 512)} type CMA Flags ${flagsOf(o)}`,
    ...ownerStack(o).map((f) => ` ${f}+0x0/0x0`),
    '',
    '',
  ].join('\n');
}

/** /sys/kernel/debug/page_owner: the records of every busy page that has an owner, in pfn order. */
export function pageOwnerText(areas: readonly CmaArea[], profile: KernelProfile): string {
  const pages: { pfn: number; owner: BusyOwner }[] = [];
  for (const a of areas)
    for (const b of a.busy)
      if (b.owner) for (let i = 0; i < b.count; i++) pages.push({ pfn: b.pfn + i, owner: b.owner });
  pages.sort((x, y) => x.pfn - y.pfn);
  return pages.map((p) => pageOwnerRecordText(p.pfn, p.owner, profile)).join('');
}

/**
 * dump_page()'s lines for a page that failed to migrate (alloc_contig_dump_pages()), or none for
 * an anonymous page: a pinned anonymous page is never isolated, so it is never dumped.
 */
export function pageDumpLines(pfn: number, o: BusyOwner): string[] {
  if (o.kind === 'anon') return [];
  const { refcount, mapcount } = counts(o);
  return [
    `page: refcount:${refcount} mapcount:${mapcount} mapping:(____ptrval____) index:0x0 pfn:0x${pfn.toString(16)}`,
    `aops:shmem_aops ino:2 dentry name(?):"${o.kind === 'shmem' ? `memfd:${o.comm}` : o.comm}"`,
    `flags: ${flagsOf(o)}`,
    'page dumped because: migration failure',
    'page_owner tracks the page as allocated',
    `page last allocated via order 0, migratetype Movable, gfp_mask ${GFP}, pid ${o.pid}, tgid ${o.pid} (${o.comm}), ts ${o.tsNs ?? 1_000_000_000}, free_ts 0`,
    ...ownerStack(o).map((f) => ` ${f}+0x0/0x0`),
  ];
}
