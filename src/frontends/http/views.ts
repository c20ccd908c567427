// What the HTTP API shows of a CmaSystem as data: area summaries, bitmap buckets for drawing,
// free runs and their histogram, "would N pages fit, where?" and the Prometheus metrics text.
//
// Everything here reads the system without changing it (explain works on a copy of the area).

import { forEachZeroRun, popcount32 } from '../../core/bitmap.ts';
import type { CmaArea, KernelHooks } from '../../core/cma.ts';
import { cmaAlloc, cmaMaxchunkPages, cmaUsedPages } from '../../core/cma.ts';
import { PlainBitmap } from '../../core/cma-bitmap.ts';
import type { AreaState } from '../../core/cma-debugfs.ts';
import { cmaSysfsCounters } from '../../core/cma-sysfs.ts';
import type { KernelProfile } from '../../core/profile.ts';
import type { CmaSystem } from '../../core/system.ts';

/** A u64 counter as JSON: a number when exact, else its decimal string. */
export type JsonU64 = number | string;

function u64(v: bigint): JsonU64 {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** One range of an area as the API shows it. */
export interface RangeView {
  readonly index: number;
  readonly basePfn: number;
  /** Pages. */
  readonly count: number;
  /** Bits in the bitmap. */
  readonly bits: number;
  readonly usedBits: number;
  /** Longest clear run, in pages. */
  readonly maxchunk: number;
}

/** One area as the API shows it (numbers in pages unless named bits). */
export interface AreaView {
  readonly name: string;
  readonly basePfn: number;
  readonly count: number;
  readonly orderPerBit: number;
  /** As the debugfs `used` file says. */
  readonly used: number;
  readonly free: number;
  readonly maxchunk: number;
  readonly availableCount: number;
  readonly ranges: readonly RangeView[];
  /** The sysfs counters of the profile (/sys/kernel/mm/cma/<name>/). */
  readonly counters: Readonly<Record<string, JsonU64>>;
  /** Allocations made through debugfs `alloc` that `free` can still release. */
  readonly records: number;
  readonly busy: readonly { pfn: number; count: number; error: number }[];
}

/** The summary of one area. */
export function areaView(st: AreaState, profile: KernelProfile): AreaView {
  const a = st.area;
  const used = cmaUsedPages(a, profile);
  const counters: Record<string, JsonU64> = {};
  for (const [k, v] of Object.entries(cmaSysfsCounters(a, profile))) counters[k] = u64(v);
  const unit = 2 ** a.orderPerBit;
  return {
    name: a.name,
    basePfn: a.ranges[0]?.basePfn ?? 0,
    count: a.count,
    orderPerBit: a.orderPerBit,
    used,
    free: a.count - used,
    maxchunk: cmaMaxchunkPages(a),
    availableCount: a.availableCount,
    ranges: a.ranges.map((r, index) => ({
      index,
      basePfn: r.basePfn,
      count: r.count,
      bits: r.bitmap.maxno,
      usedBits: r.bitmap.weight(),
      maxchunk: r.bitmap.longestZeroRun() * unit,
    })),
    counters,
    records: st.records.length,
    busy: a.busy.map((b) => ({ pfn: b.pfn, count: b.count, error: b.error })),
  };
}

/** Every area, with the profile and the vmstat counters. */
export function systemView(sys: CmaSystem): {
  profile: { id: string; release: string; layout: string };
  areas: AreaView[];
  vmstat: { cma_alloc_success: number; cma_alloc_fail: number };
  corruption: string | null;
} {
  return {
    profile: { id: sys.profile.id, release: sys.profile.release, layout: sys.profile.layout },
    areas: sys.areas.map((st) => areaView(st, sys.profile)),
    vmstat: { ...sys.vmstat },
    corruption: sys.corruption,
  };
}

/** The most buckets one request may ask for. */
export const MAX_BUCKETS = 1 << 21;

/**
 * The fill of bits [from, to) of a bitmap in buckets of `per` bits (the last may be shorter):
 * 0 = all clear, 255 = all set, 1..254 = partly set (proportional, never 0 or 255).
 */
export function bitmapBuckets(words: Uint32Array, from: number, to: number, per: number): Uint8Array {
  const n = Math.ceil((to - from) / per);
  const out = new Uint8Array(Math.max(0, n));
  for (let i = 0; i < n; i++) {
    const a = from + i * per;
    const b = Math.min(to, a + per);
    const set = countSet(words, a, b);
    const len = b - a;
    out[i] = set === 0 ? 0 : set === len ? 255 : 1 + Math.floor((set / len) * 253);
  }
  return out;
}

/** Set bits in [a, b). */
function countSet(words: Uint32Array, a: number, b: number): number {
  let n = 0;
  let i = a;
  while (i < b && i & 31) {
    n += (words[i >>> 5]! >>> (i & 31)) & 1;
    i++;
  }
  while (i + 32 <= b) {
    n += popcount32(words[i >>> 5]!);
    i += 32;
  }
  while (i < b) {
    n += (words[i >>> 5]! >>> (i & 31)) & 1;
    i++;
  }
  return n;
}

/** A free run: a range index, its first bit and its length in bits. */
export interface FreeRun {
  readonly range: number;
  readonly bit: number;
  readonly bits: number;
  readonly pfn: number;
  readonly pages: number;
}

/** What the dashboard's analysis panel shows of an area. */
export interface AnalysisView {
  readonly name: string;
  readonly count: number;
  readonly used: number;
  readonly free: number;
  readonly maxchunk: number;
  readonly freeRuns: number;
  /** 1 - maxchunk / free (0: all free pages in one run; near 1: scattered). */
  readonly fragmentation: number;
  /** Free runs by size in pages: bucket k holds runs of [2^k, 2^(k+1)) pages. */
  readonly histogram: readonly { minPages: number; maxPages: number; runs: number; pages: number }[];
  /** The largest runs, largest first (at most `top`). */
  readonly largest: readonly FreeRun[];
  /** Largest request that fits at each alignment order 0..10 (pages), from the free runs. */
  readonly largestAligned: readonly { align: number; pages: number }[];
}

/** Free runs, histogram and fragmentation of an area. */
export function analyzeArea(st: AreaState, profile: KernelProfile, top = 16): AnalysisView {
  const a = st.area;
  const unit = 2 ** a.orderPerBit;
  const runs: FreeRun[] = [];
  a.ranges.forEach((r, range) => {
    forEachZeroRun(r.bitmap.words, r.bitmap.maxno, (bit, bits) => {
      runs.push({ range, bit, bits, pfn: r.basePfn + bit * unit, pages: bits * unit });
    });
  });
  const hist: { minPages: number; maxPages: number; runs: number; pages: number }[] = [];
  for (const run of runs) {
    const k = Math.floor(Math.log2(run.pages));
    while (hist.length <= k) {
      const j = hist.length;
      hist.push({ minPages: 2 ** j, maxPages: 2 ** (j + 1) - 1, runs: 0, pages: 0 });
    }
    hist[k]!.runs++;
    hist[k]!.pages += run.pages;
  }
  const used = cmaUsedPages(a, profile);
  const free = a.count - used;
  const maxchunk = cmaMaxchunkPages(a);
  const largestAligned: { align: number; pages: number }[] = [];
  for (let align = 0; align <= 10; align++) {
    const step = 2 ** align;
    let best = 0;
    for (const run of runs) {
      const start = Math.ceil(run.pfn / step) * step;
      const end = run.pfn + run.pages;
      if (end > start) best = Math.max(best, end - start);
    }
    largestAligned.push({ align, pages: best });
  }
  const sorted = [...runs].sort((x, y) => y.pages - x.pages || x.pfn - y.pfn);
  return {
    name: a.name,
    count: a.count,
    used,
    free,
    maxchunk,
    freeRuns: runs.length,
    fragmentation: free > 0 ? 1 - maxchunk / free : 0,
    histogram: hist,
    largest: sorted.slice(0, top),
    largestAligned,
  };
}

/** The answer to "would an allocation of N pages fit, and where?". */
export interface ExplainView {
  readonly ok: boolean;
  readonly area: string;
  readonly pages: number;
  readonly align: number;
  /** First pfn the kernel would hand out, or null. */
  readonly pfn: number | null;
  readonly range: number | null;
  /** Bit in that range's bitmap. */
  readonly bit: number | null;
  /** fits | exhaustion | fragmentation | busy | empty-request. */
  readonly verdict: 'fits' | 'exhaustion' | 'fragmentation' | 'busy' | 'empty-request';
  readonly free: number;
  readonly maxchunk: number;
  readonly message: string;
}

function copyArea(a: CmaArea): CmaArea {
  return {
    name: a.name,
    orderPerBit: a.orderPerBit,
    count: a.count,
    ranges: a.ranges.map((r) => {
      const bm = new PlainBitmap(r.bitmap.maxno);
      bm.words.set(r.bitmap.words);
      return { basePfn: r.basePfn, count: r.count, bitmap: bm };
    }),
    availableCount: a.availableCount,
    sysfs: { ...a.sysfs },
    busy: [...a.busy],
  };
}

/**
 * Runs the kernel's cma_alloc(count, align) on a copy of the area: the exact first fit (with
 * busy-page retries) the next allocation would get; the system itself is not touched.
 */
export function explainAlloc(
  st: AreaState,
  profile: KernelProfile,
  pages: number,
  align: number,
): ExplainView {
  const a = st.area;
  const copy = copyArea(a);
  let busyRetries = 0;
  const hooks: KernelHooks = {
    profile,
    trace: (e) => {
      if (e.event === 'cma_alloc_busy_retry') busyRetries++;
    },
    logAllocFailure: () => {},
    log: () => {},
    countVmstat: () => {},
  };
  const used = cmaUsedPages(a, profile);
  const free = a.count - used;
  const maxchunk = cmaMaxchunkPages(a);
  const base = { area: a.name, pages, align, free, maxchunk };
  if (pages === 0)
    return {
      ...base,
      ok: false,
      pfn: null,
      range: null,
      bit: null,
      verdict: 'empty-request',
      message: 'cma_alloc of 0 pages returns NULL',
    };
  const r = cmaAlloc(hooks, copy, BigInt(pages), align);
  if (r) {
    const unit = 2 ** a.orderPerBit;
    const idx = a.ranges.findIndex((g) => r.pfn >= g.basePfn && r.pfn < g.basePfn + g.count);
    const rg = a.ranges[idx]!;
    const bit = (r.pfn - rg.basePfn) / unit;
    return {
      ...base,
      ok: true,
      pfn: r.pfn,
      range: idx,
      bit,
      verdict: 'fits',
      message:
        `fits: ${pages} pages at pfn ${r.pfn} (0x${r.pfn.toString(16)}), range ${idx} bit ${bit}` +
        (busyRetries ? ` after ${busyRetries} busy retr${busyRetries === 1 ? 'y' : 'ies'}` : ''),
    };
  }
  let verdict: ExplainView['verdict'];
  let message: string;
  if (pages > free) {
    verdict = 'exhaustion';
    message = `fails: ${pages} pages requested, only ${free} free (exhaustion)`;
  } else if (busyRetries > 0) {
    verdict = 'busy';
    message = `fails: the runs that fit hold pages that cannot be migrated (${busyRetries} busy retries)`;
  } else {
    verdict = 'fragmentation';
    message =
      pages <= maxchunk
        ? `fails: ${free} pages free, largest run ${maxchunk}, none aligned to 2^${align} pages (fragmentation)`
        : `fails: ${free} pages free but the largest run is ${maxchunk} (fragmentation)`;
  }
  return { ...base, ok: false, pfn: null, range: null, bit: null, verdict, message };
}

/** Escapes a Prometheus label value. */
export function escapeLabel(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/** /metrics in the Prometheus text exposition format (version 0.0.4). */
export function prometheusMetrics(sys: CmaSystem): string {
  const out: string[] = [];
  const views = sys.areas.map((st) => areaView(st, sys.profile));
  const family = (
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    value: (v: AreaView) => JsonU64 | undefined,
  ) => {
    const lines = views
      .map((v) => [v, value(v)] as const)
      .filter(([, x]) => x !== undefined)
      .map(([v, x]) => `${name}{area="${escapeLabel(v.name)}"} ${x}`);
    if (lines.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  family('cma_area_total_pages', 'gauge', 'Pages in the CMA area.', (v) => v.count);
  family('cma_area_used_pages', 'gauge', 'Pages in use, as debugfs used reports.', (v) => v.used);
  family('cma_area_free_pages', 'gauge', 'Pages not in use (total - used).', (v) => v.free);
  family(
    'cma_area_maxchunk_pages',
    'gauge',
    'Largest free run in pages, as debugfs maxchunk reports.',
    (v) => v.maxchunk,
  );
  family(
    'cma_area_alloc_pages_success_total',
    'counter',
    'Pages allocated successfully (sysfs alloc_pages_success).',
    (v) => v.counters.alloc_pages_success,
  );
  family(
    'cma_area_alloc_pages_fail_total',
    'counter',
    'Pages whose allocation failed (sysfs alloc_pages_fail).',
    (v) => v.counters.alloc_pages_fail,
  );
  family(
    'cma_area_release_pages_success_total',
    'counter',
    'Pages released (sysfs release_pages_success).',
    (v) => v.counters.release_pages_success,
  );
  out.push(
    '# HELP cma_alloc_success_total cma_alloc_success of /proc/vmstat.',
    '# TYPE cma_alloc_success_total counter',
    `cma_alloc_success_total ${sys.vmstat.cma_alloc_success}`,
    '# HELP cma_alloc_fail_total cma_alloc_fail of /proc/vmstat.',
    '# TYPE cma_alloc_fail_total counter',
    `cma_alloc_fail_total ${sys.vmstat.cma_alloc_fail}`,
  );
  return `${out.join('\n')}\n`;
}
