// The machine CMA areas are placed in: the RAM of an x86_64 qemu `-machine pc` guest booted as
// the reference oracles boot it (kernel and a ~2 MiB initramfs), and how memblock places an area
// without a fixed base in it (cma_declare_contiguous_nid). A model, not an emulation of the
// firmware: it reproduces the placements and refusals measured on the oracles
// (test/fixtures/ram-placement/).

/** Pages per MiB (4 KiB pages). */
const MIB = 256;
/** Pages per GiB. */
const GIB = 1024 * MIB;
/** RAM of the machine when none is given: the oracles' default `qemu -m 512M`. */
export const DEFAULT_MEM_PAGES = 512 * MIB;
/** First pfn above 4 GiB. */
const PFN_4G = 4 * GIB;

/** A half-open pfn interval [start, end). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** The RAM of a machine and what is taken in it before the CMA areas are declared. */
export interface MachineMemory {
  /** Guest RAM in pages (qemu -m). */
  readonly pages: number;
  /** memblock's RAM ranges, ascending. */
  readonly ram: readonly Span[];
  /** Ranges reserved before CMA: kernel image, initramfs, early page tables. */
  readonly reserved: readonly Span[];
  /** memblock_end_of_DRAM(): one past the last RAM pfn. */
  readonly end: number;
  /** Of `reserved`, what stays taken after boot (the initramfs is freed once unpacked). */
  readonly permanent: readonly Span[];
}

/**
 * RAM of qemu `-machine pc` with `pages` of memory, without the `holes` (`memmap=SIZE$ADDR`): below 4 GiB it keeps min(RAM, 3 GiB when RAM
 * is at least 3.5 GiB, else all of it), the rest starts at 4 GiB; the firmware keeps the top
 * 128 KiB of low memory (ACPI tables). What Linux reserves first: the kernel at 16 MiB (the first
 * 32 MiB here), the ~2 MiB initramfs qemu loads at the top of low memory below 2 GiB (the bzImage's
 * initrd_addr_max), and memblock's early top-down allocations (page tables, 128 KiB here) at the
 * end of RAM.
 */
export function pcMachine(pages: number, holes: readonly Span[] = []): MachineMemory {
  const below4g = pages >= 3.5 * GIB ? 3 * GIB : pages;
  const lowEnd = below4g - 32; // 128 KiB of ACPI tables
  const firmware: Span[] = [{ start: 0, end: lowEnd }];
  if (pages > below4g) firmware.push({ start: PFN_4G, end: PFN_4G + pages - below4g });
  // `memmap=SIZE$ADDR` marks its range reserved in the e820 map: memblock never sees it as RAM
  const ram = subtract(firmware, holes);
  if (ram.length === 0) throw new RangeError('memmap= holes cover all of RAM');
  const end = ram[ram.length - 1]!.end;
  const initrdEnd = Math.min(2 * GIB, lowEnd);
  const initrd: Span = { start: initrdEnd - 2 * MIB, end: initrdEnd };
  const reserved: Span[] = [{ start: 0, end: Math.min(32 * MIB, lowEnd) }, initrd];
  // early allocations go top-down below whatever is already reserved at the end of RAM
  const early = topDown(subtract(ram, reserved), 32, 1, 0, end);
  if (early !== null) reserved.push({ start: early, end: early + 32 });
  const permanent = reserved.filter((r) => r !== initrd);
  return { pages, ram, reserved, end, permanent };
}

/**
 * The 1 GiB pages hugetlb can take from ordinary memory once its CMA areas fail
 * (alloc_contig_pages(): per zone, highest first, 1 GiB-aligned candidates from the zone's
 * start): the aligned GiBs wholly in RAM, above the first (the kernel's), clear of what stays
 * reserved after boot and of every CMA range, those from 4 GiB (ZONE_NORMAL) first. Measured on
 * the oracles: 1 with 6 GiB, 7 with 12 GiB (hugetlb0 at 5 GiB), none with 3 GiB (its second GiB
 * holds hugetlb0); with `memmap=` holes and areas elsewhere, as the boots of
 * test/fixtures/ram-placement/cmdline/ show: a GiB with a hole is not whole RAM, and the GiB where
 * ZONE_NORMAL's lowest free page lies holds the boot's own allocations (`cma=16M@1G` on 9 GiB
 * gives 4, not 5).
 */
export function giganticFallback(machine: MachineMemory, cma: readonly Span[]): number[] {
  // what the kernel allocates while it boots (a few MiB, unmovable) comes from the lowest free
  // pages of ZONE_NORMAL: pages freed at boot go to the free lists' tails in address order
  const normalFree = subtract(
    machine.ram.filter((r) => r.start >= PFN_4G),
    [...machine.permanent, ...cma],
  );
  const bootUse =
    normalFree.length > 0 ? [{ start: normalFree[0]!.start, end: normalFree[0]!.start + 1 }] : [];
  const out: number[] = [];
  for (const r of machine.ram) {
    for (let u = Math.max(GIB, Math.ceil(r.start / GIB) * GIB); u + GIB <= r.end; u += GIB) {
      const hit = (t: Span) => t.start < u + GIB && u < t.end;
      if (!machine.permanent.some(hit) && !cma.some(hit) && !bootUse.some(hit)) out.push(u);
    }
  }
  return [...out.filter((u) => u >= PFN_4G), ...out.filter((u) => u < PFN_4G)];
}

/** `from` without the `taken` spans (any order), ascending. */
function subtract(from: readonly Span[], taken: readonly Span[]): Span[] {
  let out = from.slice();
  for (const t of taken) {
    const next: Span[] = [];
    for (const s of out) {
      if (t.end <= s.start || t.start >= s.end) next.push(s);
      else {
        if (s.start < t.start) next.push({ start: s.start, end: t.start });
        if (t.end < s.end) next.push({ start: t.end, end: s.end });
      }
    }
    out = next;
  }
  return out.sort((a, b) => a.start - b.start);
}

/** memblock's top-down search: the highest aligned base in [lo, hi) where `size` pages are free. */
function topDown(free: readonly Span[], size: number, align: number, lo: number, hi: number): number | null {
  for (let i = free.length - 1; i >= 0; i--) {
    const s = free[i]!;
    const end = Math.min(s.end, hi);
    const base = Math.floor((end - size) / align) * align;
    if (base >= Math.max(s.start, lo) && base + size <= end) return base;
  }
  return null;
}

/** memblock's bottom-up search: the lowest aligned base in [lo, hi) where `size` pages are free. */
function bottomUp(free: readonly Span[], size: number, align: number, lo: number, hi: number): number | null {
  for (const s of free) {
    const base = Math.ceil(Math.max(s.start, lo) / align) * align;
    if (base + size <= Math.min(s.end, hi)) return base;
  }
  return null;
}

/** Where an area goes, or why it cannot be reserved (the errno cma_declare_contiguous_nid returns). */
export type Placement =
  | { readonly ok: true; readonly basePfn: number }
  | { readonly ok: false; readonly error: -22 | -12; readonly limitPfn: number };

/**
 * cma_declare_contiguous_nid without a fixed base, on `machine` with `taken` already placed,
 * in [lo, limit) (limit: the end of RAM; `cma=` passes the end of the direct mapping, or its
 * LIMIT): -EINVAL when the size does not fit between them; bottom-up from 4 GiB when RAM reaches
 * 4 GiB + size (so the area stays clear of DMA32; `lo` is not looked at then); else, or when that
 * fails, top-down in [lo, limit); -ENOMEM when no aligned free range is found.
 */
export function placeArea(
  machine: MachineMemory,
  taken: readonly Span[],
  size: number,
  align: number,
  limit = machine.end,
  lo = 0,
): Placement {
  if (lo + size > limit) return { ok: false, error: -22, limitPfn: limit };
  const free = subtract(machine.ram, [...machine.reserved, ...taken]);
  let base: number | null = null;
  if (machine.end >= PFN_4G + size) base = bottomUp(free, size, align, PFN_4G, limit);
  base ??= topDown(free, size, align, lo, limit);
  return base === null ? { ok: false, error: -12, limitPfn: limit } : { ok: true, basePfn: base };
}

/**
 * Inserts `item` before the first element `e` of `list` for which `before(e, item)` holds, as
 * mm/cma.c's list_insert_sorted() does, including its slip: when no element qualifies the item
 * goes before the last element, not after it (oracle-7.3 README, "Ranges are not always in
 * address order"; test/fixtures/ram-placement/multirange.txt).
 */
function insertSorted<T>(list: T[], item: T, before: (e: T, item: T) => boolean): void {
  const i = list.findIndex((e) => before(e, item));
  if (i >= 0) list.splice(i, 0, item);
  else if (list.length === 0) list.push(item);
  else list.splice(list.length - 1, 0, item);
}

/** A range of a multi-range area: base pfn and pages. */
export interface PlacedRange {
  readonly basePfn: number;
  readonly count: number;
}

/**
 * cma_declare_contiguous_multi() after its single-range attempt failed with -ENOMEM (7.x
 * hugetlb_cma): memblock's free ranges that start at or above 4 GiB, each trimmed to `align` at
 * both ends, listed by size (each before the first larger one; at most `maxRanges`: past that
 * the list's last one is dropped); taken from the list's head until they add up to `size`, and
 * put in "by base" order (each before the first one of a lower base); the area's ranges are
 * those pieces in that order, each whole but the one that reaches `size`, which gives only what
 * is left, from its start. Both lists go through list_insert_sorted() (insertSorted), whose slip
 * makes neither reliably sorted. Null when the pieces fall short: -ENOMEM. The comparisons are
 * the ones that reproduce every boot of test/fixtures/ram-placement/cmdline/ (20 GiB with pieces
 * of 6, 2 and 5 GiB and 13 GiB asked: 15, 5, 12 GiB; 14 GiB with 1, 3 and 2 GiB and 4 GiB asked:
 * 3 GiB at 7 GiB, then 1 GiB at 11 GiB).
 */
export function placeMultiRange(
  machine: MachineMemory,
  taken: readonly Span[],
  size: number,
  align: number,
  maxRanges: number,
): PlacedRange[] | null {
  const bySize: PlacedRange[] = [];
  // the element goes before the first larger one: with the slip, not a sorted list either way
  const larger = (e: PlacedRange, n: PlacedRange) => e.count > n.count;
  for (const s of subtract(machine.ram, [...machine.reserved, ...taken])) {
    if (s.start < PFN_4G) continue;
    const start = Math.ceil(s.start / align) * align;
    const end = Math.floor(s.end / align) * align;
    if (end <= start) continue;
    insertSorted(bySize, { basePfn: start, count: end - start }, larger);
    if (bySize.length > maxRanges) bySize.pop();
  }
  const byBase: PlacedRange[] = [];
  let sum = 0;
  for (const p of bySize) {
    if (sum >= size) break;
    insertSorted(byBase, p, (e, n) => e.basePfn < n.basePfn);
    sum += p.count;
  }
  if (sum < size) return null;
  const out: PlacedRange[] = [];
  let left = size;
  for (const p of byBase) {
    if (left === 0) break;
    const count = Math.min(left, p.count);
    out.push({ basePfn: p.basePfn, count });
    left -= count;
  }
  return out;
}
