// Allocation stacks as people read them: the allocator's own frames dropped, offsets cut, and a
// guess at the page's kind (anon, shmem, file) from the frames that faulted it in.

/** Frames of the page allocator itself, never the answer to "who allocated this". */
const ALLOCATOR =
  /^(get_page_from_freelist|__alloc_pages|alloc_pages|__folio_alloc|folio_alloc|vma_alloc_folio|alloc_pages_mpol|folio_alloc_mpol|prep_new_page|post_alloc_hook|__alloc_frozen_pages|alloc_frozen_pages|alloc_anon_folio|__page_cache_alloc|filemap_alloc_folio|shmem_alloc_folio|alloc_slab_page|new_slab|asm_exc_page_fault|exc_page_fault|entry_SYSCALL_64|do_syscall_64)/;

/** A frame without its "+0x…/0x…" offset. */
export function frameName(frame: string): string {
  return frame.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+.*$/, '').trim();
}

/** The first `n` frames that say who wanted the page (allocator frames skipped). */
export function topFrames(stack: readonly string[], n = 3): string[] {
  const names = stack.map(frameName);
  const useful = names.filter(
    (f) => !ALLOCATOR.test(f) && !/_noprof$/.test(f.replace(/\.(constprop|isra)\..*$/, '')),
  );
  return (useful.length > 0 ? useful : names).slice(0, n);
}

/** The kind of page a user-space fault or syscall made, from its allocation stack. */
export function pageKindFromStack(
  stack: readonly string[],
  flags: string | null = null,
): 'anon' | 'shmem' | 'file' | 'kernel' | 'unknown' {
  const names = stack.map(frameName).join(' ');
  if (/shmem_/.test(names)) return 'shmem';
  if (
    /do_anonymous_page|alloc_anon_folio|do_wp_page|wp_page_copy|do_huge_pmd_anonymous_page|do_cow_fault/.test(
      names,
    )
  )
    return 'anon';
  // do_anonymous_page() is often inlined: a user fault's folio that is swap-backed and not shmem
  if (
    /vma_alloc_folio/.test(names) &&
    /handle_mm_fault/.test(names) &&
    (flags === null || /swapbacked/.test(flags))
  )
    return 'anon';
  if (/filemap_|page_cache_ra|readahead|__filemap_get_folio/.test(names)) return 'file';
  if (/kmalloc|kmem_cache|alloc_slab|vmalloc|alloc_contig_range|cma_alloc/.test(names)) return 'kernel';
  return 'unknown';
}
