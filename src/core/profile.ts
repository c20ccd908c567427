// Kernel profiles: what differs between kernel versions, kept as data (a set of switches).
//
// Nothing else in the core compares versions; it asks the profile for a capability.

import { SKELETON_6_1, SKELETON_6_12, SKELETON_7_3 } from './sys-skeleton.ts';

/**
 * What cma_alloc_start records (include/trace/events/cma.h): `count align` (6.1, 6.12), or
 * `request_count available_count total_count align` (7.x).
 */
export type AllocStartFields = 'count-align' | 'request-available-total';

/**
 * The boot line announcing an area: `Reserved 16 MiB at 0x…` (6.1), the same with ` on node N`
 * (6.12: -1 for areas on no particular node), or `Reserved 1024 MiB in 1 range` for hugetlb
 * areas (7.x cma_declare_contiguous_multi).
 */
export type ReservedLogStyle = 'at-address' | 'at-address-on-node' | 'in-ranges';

/** A set of kernel behaviours an emulated system follows. */
export interface KernelProfile {
  /** Short id used on the command line (`--profile 6.1`). */
  readonly id: string;
  /** What `uname -r` says on the reference kernel. */
  readonly release: string;
  /** The preemption model latency-format's header names (`M:server`, `M:PREEMPTLAZY`). */
  readonly preemptModel: string;
  /**
   * With the hash-ptr trace option off, 6.1 prints the events' strings empty (`name=`; its
   * trace_event_printf path): test/fixtures/trace-options/.
   */
  readonly hashPtrOffDropsStrings: boolean;
  /** The `fields` option prints 8-byte fields as 16 hex digits (7.3: `count=0x0000000000000002 (2)`). */
  readonly fieldsPad64: boolean;
  /** What saved_cmdlines_size reads at boot (its writes are not modelled). */
  readonly savedCmdlinesSize: number;
  /** 'classic': base_pfn/bitmap files per area; 'ranges': ranges/N/ with top-level symlinks. */
  readonly layout: 'classic' | 'ranges';
  /** How many physical ranges an area may have (CMA_MAX_RANGES; 1 before multi-range). */
  readonly maxRanges: number;
  /** 'bitmap': used = set bits << opb; 'exact': used = count - available_count. */
  readonly usedMode: 'bitmap' | 'exact';
  /** The fields of cma_alloc_start (its format file and its text). */
  readonly allocStartFields: AllocStartFields;
  /** cma_alloc_finish ends with ` errorno=%d` (0 or the error cma_alloc returns). */
  readonly finishErrorno: boolean;
  /**
   * cma_alloc_start is traced before the count and inactive-area checks, so `count=0` gets a
   * start event (and no finish); without it a zero count returns before any event.
   */
  readonly traceZeroCountStart: boolean;
  /** Tracepoint ids as printed in events/cma/<event>/format on the reference build. */
  readonly traceEventIds: Readonly<Record<TraceEventName, number>>;
  /** The `signed:` value of the `__data_loc char[] name` field in the format files. */
  readonly nameFieldSigned: 0 | 1;
  /** 6.1: count 0 / inactive area / too-large requests still reach the accounting step. */
  readonly accountEarlyFailures: boolean;
  /** 7.x: a request larger than the area still gets cma_alloc_finish and the failure log. */
  readonly finishOnOversize: boolean;
  /** 7.x: `count > available_count` stops the search (rejects absurd negative counts). */
  readonly checkAvailableCount: boolean;
  /** What cma_alloc returns internally when no room is found: -ENOMEM (6.1) or -EBUSY (7.x). */
  readonly noRoomError: -12 | -16;
  /** pfn printed by cma_alloc_finish when no page was obtained and no pfn was tried. */
  readonly finishPfnOnFailure: 'minus-one' | 'zero';
  /** Function name in the allocation failure log line. */
  readonly allocFuncName: string;
  /** Whether the free-area dump (cma_debug_show_areas) follows every failure log line. */
  readonly dumpOnFailure: boolean;
  /** Files of /sys/kernel/mm/cma/<name>/, in `ls` order. */
  readonly sysfsFiles: readonly SysfsFile[];
  /** The boot log line announcing an area. */
  readonly reservedLogStyle: ReservedLogStyle;
  /**
   * Alignment (order, in pages) of a hugetlb_cma area (hugetlb_cma_reserve): 9 (2 MiB, a
   * huge page) on 6.1; 18 (1 GiB, a gigantic page) since 6.12, so such areas are placed on
   * 1 GiB boundaries.
   */
  readonly hugetlbAlignOrder: number;
  /**
   * How one `nr_hugepages` write puts its new 1 GiB pages on the pool's free list, which
   * shrinking empties from its head: 6.1 enqueues each page as it is made, so the newest is
   * freed first ('each'); 6.12 and 7.3 enqueue the write's pages as one batch, its first page
   * at the head, so a batch is freed oldest first ('batch'). (Oracle runs: 6.1 with a CMA page
   * and two of ordinary memory freed an ordinary one, test/fixtures/hostile-writes/runs/.)
   */
  readonly hugetlbPoolEnqueue: 'each' | 'batch';
  /**
   * A `trace_marker` write as the trace shows it: the ip of tracing_mark_write (a raw address:
   * the reference builds have no kallsyms), the flags column, and the most bytes one write
   * takes (the rest is a short write: 6.1's TRACE_BUF_SIZE, 1024; 4054 since 6.12).
   */
  readonly traceMarker: {
    readonly ip: string;
    readonly flags: string;
    readonly maxBytes: number;
    /** The least text a print entry is sized for: 9 since 6.12 (room for "<faulted>"), else 0. */
    readonly minBytes: number;
  };
  /**
   * The text buffer a `trace_pipe` read prints into (struct trace_seq's): 4096 bytes on 6.1, 8156
   * on 6.12 and 7.3 (8155 bytes of lines fit, 8156 do not). A read returns at most this less
   * one, in whole lines (test/fixtures/trace-pipe/).
   */
  readonly traceSeqBytes: number;
  /** sizeof(struct page) on the reference build: `page=` of raw trace pointers is vmemmap + pfn * this. */
  readonly structPageSize: number;
  /** page_owner prints `PFN 0x1cc00` (6.12) rather than `PFN 117760` (6.1). */
  readonly pageOwnerPfnHex: boolean;
  /**
   * Where free_contig_range's WARN ("%lu pages are still in use!") sits on the reference build
   * (`file:line address`, as the oracle's log printed it without kallsyms): the zero-bit
   * allocation of 2^64 - k pages (cmaAlloc, cma.ts) frees the k pages before its pfn and trips
   * it when some of them are free. null where that allocation cannot happen.
   */
  readonly contigFreeWarnAt: string | null;
  /**
   * What the reference build shows under /sys around the CMA files (sys-skeleton.ts): the other
   * debugfs and tracefs entries, /sys/kernel's, their modes, readdir order and boot-time text.
   */
  readonly sysSkeleton: string;
  /**
   * tracefs's events/ is an eventfs (6.6+): its directories report st_nlink 1 whatever they
   * hold (before, each counted 2 + its subdirectories, as any tracefs directory).
   */
  readonly eventfs: boolean;
}

export type TraceEventName = 'cma_alloc_busy_retry' | 'cma_alloc_finish' | 'cma_alloc_start' | 'cma_release';

export type SysfsFile =
  | 'alloc_pages_fail'
  | 'alloc_pages_success'
  | 'available_pages'
  | 'release_pages_success'
  | 'total_pages';

/** Linux 6.1 (the reference): one range per area, bitmap-rounded `used`. */
export const PROFILE_6_1: KernelProfile = {
  id: '6.1',
  release: '6.1.192',
  preemptModel: 'server',
  hashPtrOffDropsStrings: true,
  fieldsPad64: false,
  savedCmdlinesSize: 818,
  layout: 'classic',
  maxRanges: 1,
  usedMode: 'bitmap',
  allocStartFields: 'count-align',
  finishErrorno: false,
  traceZeroCountStart: false,
  traceEventIds: { cma_alloc_busy_retry: 225, cma_alloc_finish: 226, cma_alloc_start: 227, cma_release: 228 },
  nameFieldSigned: 1,
  accountEarlyFailures: true,
  finishOnOversize: false,
  checkAvailableCount: false,
  noRoomError: -12,
  finishPfnOnFailure: 'minus-one',
  allocFuncName: 'cma_alloc',
  pageOwnerPfnHex: false,
  dumpOnFailure: false,
  sysfsFiles: ['alloc_pages_fail', 'alloc_pages_success'],
  reservedLogStyle: 'at-address',
  hugetlbAlignOrder: 9,
  hugetlbPoolEnqueue: 'each',
  traceMarker: { ip: '0xffffffff8109926f', flags: '.....', maxBytes: 1024, minBytes: 0 },
  traceSeqBytes: 4096,
  structPageSize: 56,
  contigFreeWarnAt: 'mm/page_alloc.c:9508 0xffffffff810ff3b3',
  sysSkeleton: SKELETON_6_1,
  eventfs: false,
};

/**
 * Linux 6.12 (Debian 13, Android 16 GKI android16-6.12): 6.1's layout, allocator and `used`,
 * with release_pages_success, errorno on cma_alloc_finish, a start event for count 0, the
 * `__cma_alloc:` failure line and free-range dump, `on node N` boot lines and 1 GiB-aligned
 * hugetlb areas.
 */
export const PROFILE_6_12: KernelProfile = {
  id: '6.12',
  release: '6.12.118',
  preemptModel: 'server',
  hashPtrOffDropsStrings: false,
  fieldsPad64: false,
  savedCmdlinesSize: 6552,
  layout: 'classic',
  maxRanges: 1,
  usedMode: 'bitmap',
  allocStartFields: 'count-align',
  finishErrorno: true,
  traceZeroCountStart: true,
  traceEventIds: { cma_alloc_busy_retry: 264, cma_alloc_finish: 265, cma_alloc_start: 266, cma_release: 267 },
  nameFieldSigned: 0,
  accountEarlyFailures: false,
  finishOnOversize: false,
  checkAvailableCount: false,
  noRoomError: -12,
  finishPfnOnFailure: 'minus-one',
  allocFuncName: '__cma_alloc',
  pageOwnerPfnHex: true,
  dumpOnFailure: true,
  sysfsFiles: ['alloc_pages_fail', 'alloc_pages_success', 'release_pages_success'],
  reservedLogStyle: 'at-address-on-node',
  hugetlbAlignOrder: 18,
  hugetlbPoolEnqueue: 'batch',
  traceMarker: { ip: '0xffffffff810ad587', flags: '.....', maxBytes: 4054, minBytes: 9 },
  traceSeqBytes: 8156,
  structPageSize: 64,
  contigFreeWarnAt: 'mm/page_alloc.c:6945 0xffffffff8111dc5b',
  sysSkeleton: SKELETON_6_12,
  eventfs: true,
};

/** Linux 7.3: multi-range areas, exact `used`, EBUSY inside the kernel, new sysfs files. */
export const PROFILE_7_3: KernelProfile = {
  id: '7.3',
  release: '7.3.4',
  preemptModel: 'PREEMPTLAZY',
  hashPtrOffDropsStrings: false,
  fieldsPad64: true,
  savedCmdlinesSize: 6552,
  layout: 'ranges',
  maxRanges: 8,
  usedMode: 'exact',
  allocStartFields: 'request-available-total',
  finishErrorno: true,
  traceZeroCountStart: false,
  traceEventIds: { cma_alloc_busy_retry: 257, cma_alloc_finish: 258, cma_alloc_start: 259, cma_release: 260 },
  nameFieldSigned: 0,
  accountEarlyFailures: false,
  finishOnOversize: true,
  checkAvailableCount: true,
  noRoomError: -16,
  finishPfnOnFailure: 'zero',
  allocFuncName: '__cma_alloc_frozen',
  pageOwnerPfnHex: true,
  dumpOnFailure: true,
  sysfsFiles: [
    'alloc_pages_fail',
    'alloc_pages_success',
    'available_pages',
    'release_pages_success',
    'total_pages',
  ],
  reservedLogStyle: 'in-ranges',
  hugetlbAlignOrder: 18,
  hugetlbPoolEnqueue: 'batch',
  traceMarker: { ip: '0xffffffff810c0db2', flags: '...2.', maxBytes: 4054, minBytes: 9 },
  traceSeqBytes: 8156,
  structPageSize: 64,
  contigFreeWarnAt: null,
  sysSkeleton: SKELETON_7_3,
  eventfs: true,
};

/** Every profile by id. */
export const PROFILES: Readonly<Record<string, KernelProfile>> = {
  '6.1': PROFILE_6_1,
  '6.12': PROFILE_6_12,
  '7.3': PROFILE_7_3,
};

/** Looks a profile up by id (`6.1`, `6.12`, `7.3`); undefined when unknown. */
export function findProfile(id: string): KernelProfile | undefined {
  return Object.hasOwn(PROFILES, id) ? PROFILES[id] : undefined;
}
