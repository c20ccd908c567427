// The cma tracepoints (include/trace/events/cma.h) as structured records.
//
// Counts and pfns are u64 in the kernel and can be absurd (2^64 - 1), so they are bigints here.

/** cma_alloc_start. 7.x adds the area's available and total pages before the attempt. */
interface CmaAllocStart {
  readonly event: 'cma_alloc_start';
  readonly name: string;
  readonly count: bigint;
  readonly align: number;
  readonly availableCount?: bigint;
  readonly totalCount?: bigint;
}

/** cma_alloc_finish (and cma_alloc_busy_retry, same fields; errorno only on finish, 6.12+). */
interface CmaAllocFinish {
  readonly event: 'cma_alloc_finish' | 'cma_alloc_busy_retry';
  readonly name: string;
  /** The pfn printed; u64 (6.1 prints 0xffffffffffffffff when nothing was tried). */
  readonly pfn: bigint;
  /** Whether `page` is a real page (false → NULL, printed as 16 zeros). */
  readonly hasPage: boolean;
  readonly count: bigint;
  readonly align: number;
  readonly errorno?: number;
}

/** cma_release. */
interface CmaRelease {
  readonly event: 'cma_release';
  readonly name: string;
  readonly pfn: bigint;
  readonly hasPage: boolean;
  readonly count: bigint;
}

/** Any cma tracepoint record. */
export type CmaTraceEvent = CmaAllocStart | CmaAllocFinish | CmaRelease;
