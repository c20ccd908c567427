// What the HTTP API shows of a CmaSystem as data: area summaries, bitmap buckets for drawing,
// free runs and their histogram, "would N pages fit, where?" and the Prometheus metrics text.
//
// This file is the one source of the API's response types: every route answers one of the
// `…View` types below, and the dashboard (src/frontends/web) imports them from here.
//
// Everything here reads the system without changing it; free runs and explain come from
// src/analysis (the core allocator run on a copy of the area).

import type { Explanation } from '../../analysis/explain.ts';
import { explainAlloc } from '../../analysis/explain.ts';
import type { HistogramBucket } from '../../analysis/free-runs.ts';
import { freeRuns, largestUsableByOrder, runHistogram } from '../../analysis/free-runs.ts';
import { popcount32 } from '../../core/bitmap.ts';
import { cmaMaxchunkPages, cmaUsedPages } from '../../core/cma.ts';
import type { AreaState } from '../../core/cma-debugfs.ts';
import { cmaSysfsCounters } from '../../core/cma-sysfs.ts';
import type { ErrnoName } from '../../core/errno.ts';
import type { LogRecord } from '../../core/printk.ts';
import type { KernelProfile } from '../../core/profile.ts';
import type { CmaSystem } from '../../core/system.ts';
import type { DeviceFailure, DeviceReport } from '../../sources/device-model.ts';
import { deviceAreaJson, showsFailures } from '../../sources/device-model.ts';

export type { HistogramBucket } from '../../analysis/free-runs.ts';
export type { LogRecord } from '../../core/printk.ts';

// ---- answers of every route ----

/** The body of every refused request: a short code and one sentence. */
export interface ApiErrorView {
  readonly ok: false;
  /** BAD_PATH, BAD_PARAM, NO_AREA, NO_RANGE, NOT_FOUND, NOT_AVAILABLE, READ_ONLY, UNAUTHORIZED… */
  readonly error: string;
  readonly message: string;
}

/** The body of a request the kernel's file operation refused (an errno). */
export interface ErrnoErrorBody extends ApiErrorView {
  readonly path: string;
  readonly errno: ErrnoName;
  /** The errno's number. */
  readonly code: number;
}

/** One entry of a directory listing (GET /sys/<dir>). */
export interface DirEntryView {
  readonly name: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'unknown';
  /** Octal, `0644`. */
  readonly mode?: string;
  readonly size?: number;
  /** Where a symlink points. */
  readonly target?: string;
}

/** GET /sys/<dir>. */
export interface DirListingView {
  readonly path: string;
  readonly type: 'dir';
  readonly entries: readonly DirEntryView[];
}

/** PUT|POST /sys/<path>. */
export interface WriteView {
  readonly ok: true;
  readonly path: string;
  /** Bytes the write took. */
  readonly written: number;
  /** A write to debugfs `alloc` that succeeded: the allocation it made. */
  readonly allocated?: { readonly pfn: number; readonly count: number };
}

/** GET /api. */
export interface EndpointsView {
  readonly endpoints: Readonly<Record<string, string>>;
}

/** GET /api/info. */
export interface InfoView {
  readonly name: 'cma-debug';
  readonly version: string;
  readonly source: { readonly kind: 'emulator' | 'snapshot' | 'tree' | 'capture'; readonly label: string };
  readonly profile: { readonly id: string; readonly release: string; readonly layout: string } | null;
  readonly writable: boolean;
  /** Whether areas, analysis, explain and metrics are available (a modelled system). */
  readonly modelled: boolean;
  readonly features: { readonly log: boolean; readonly trace: boolean };
  /** Whether GET /api/device answers (the source offers sysfs CMA, /proc files or a kernel log). */
  readonly device: boolean;
  /**
   * Whether the modelled system has debugfs mounted; false for the emulator with --no-debugfs
   * (then the dashboard shows the device report, as a production kernel's files tell it).
   */
  readonly debugfs: boolean;
}

/** GET /api/areas/<name>/records: what debugfs `free` releases, newest last. */
export interface RecordsView {
  readonly records: readonly { readonly pfn: number; readonly count: number }[];
}

/** GET /api/analysis. */
export interface AnalysesView {
  readonly areas: readonly AnalysisView[];
}

/** GET /api/log. */
export interface LogView {
  readonly records: readonly LogRecord[];
  /** The records as `dmesg` prints them. */
  readonly dmesg: string;
}

/** GET /api/trace. */
export interface TraceView {
  readonly tracingOn: boolean;
  /** Enabled events, sorted (`cma/cma_alloc_start`). */
  readonly enabled: readonly string[];
  /** Events written since boot (also those the buffer dropped). */
  readonly written: number;
  readonly inBuffer: number;
  /** The newest lines, as the trace file prints them. */
  readonly lines: readonly string[];
}

/** The data of one `change` event of GET /api/events (server-sent events). */
export interface ChangeEvent {
  /** Increases with every event. */
  readonly version: number;
  /** Areas whose state changed. */
  readonly areas: string[];
  /** New lines of the trace buffer, oldest first (at most 500; `traceDropped` more). */
  readonly trace: string[];
  readonly traceDropped: number;
  /** New kernel log lines. */
  readonly log: string[];
  readonly logDropped: number;
}

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
  readonly busy: readonly BusyView[];
}

/** A page range the allocator could not migrate (busy), with its owner when known. */
export interface BusyView {
  readonly pfn: number;
  readonly count: number;
  /** The errno of the failed migration (a negative number, -16 EBUSY). */
  readonly error: number;
  readonly owner?: { readonly pid: number; readonly comm: string; readonly kind: string };
  /** A pageblock a 6.1/6.12 zero-bit allocation left isolated (busy for one allocation). */
  readonly isolated?: true;
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
    busy: a.busy.map((b) => ({
      pfn: b.pfn,
      count: b.count,
      error: b.error,
      ...(b.owner ? { owner: { pid: b.owner.pid, comm: b.owner.comm, kind: b.owner.kind } } : {}),
      ...(b.once ? { isolated: true as const } : {}),
    })),
  };
}

/** Every area, with the profile and the vmstat counters. */
export interface SystemView {
  readonly profile: { readonly id: string; readonly release: string; readonly layout: string };
  readonly areas: AreaView[];
  /** cma_alloc_success / cma_alloc_fail of /proc/vmstat (calls). */
  readonly vmstat: { readonly cma_alloc_success: number; readonly cma_alloc_fail: number };
  /** Set when the model found its state inconsistent (a bug), else null. */
  readonly corruption: string | null;
}

/** GET /api/areas: the system view and the version of the last change event. */
export interface AreasView extends SystemView {
  readonly version: number;
}

/** Every area, with the profile and the vmstat counters. */
export function systemView(sys: CmaSystem): SystemView {
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
export interface FreeRunView {
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
  readonly histogram: readonly HistogramBucket[];
  /** The largest runs, largest first (at most `top`). */
  readonly largest: readonly FreeRunView[];
  /** Largest request that succeeds at each alignment order (pages). */
  readonly largestAligned: readonly { align: number; pages: number }[];
}

/** Free runs, histogram and fragmentation of an area (src/analysis does the work). */
export function analyzeArea(st: AreaState, profile: KernelProfile, top = 16): AnalysisView {
  const a = st.area;
  const runs = freeRuns(a);
  const used = cmaUsedPages(a, profile);
  const free = a.count - used;
  const maxchunk = cmaMaxchunkPages(a);
  const sorted = [...runs].sort((x, y) => y.pages - x.pages || x.pfn - y.pfn);
  return {
    name: a.name,
    count: a.count,
    used,
    free,
    maxchunk,
    freeRuns: runs.length,
    fragmentation: free > 0 ? 1 - maxchunk / free : 0,
    histogram: runHistogram(runs),
    largest: sorted
      .slice(0, top)
      .map((r) => ({ range: r.range, bit: r.startBit, bits: r.bits, pfn: r.pfn, pages: r.pages })),
    largestAligned: largestUsableByOrder(a, runs).map((x) => ({ align: x.order, pages: x.pages })),
  };
}

/** The answer to "would an allocation of N pages fit, and where?". */
export interface ExplainView extends Explanation {
  readonly area: string;
  /** Pages free and the longest free run, as the debugfs files say. */
  readonly free: number;
  readonly maxchunk: number;
  /** One line for people. */
  readonly message: string;
}

/**
 * The kernel's next cma_alloc(pages, align) on this area, run by the core allocator on a copy
 * (src/analysis/explain.ts): where it lands or why it fails; the system is not touched.
 */
export function explainView(
  st: AreaState,
  profile: KernelProfile,
  pages: number,
  align: number,
): ExplainView {
  const a = st.area;
  const e = explainAlloc(a, profile, pages, align);
  const message = e.ok
    ? `fits: ${pages} pages at pfn ${e.pfn} (0x${e.pfn!.toString(16)}), range ${e.range} bit ${e.bit}`
    : `fails (${e.verdict}): ${e.reason}`;
  return {
    ...e,
    area: a.name,
    free: a.count - cmaUsedPages(a, profile),
    maxchunk: cmaMaxchunkPages(a),
    message,
  };
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

// ---- a device without debugfs (GET /api/device) ----

/** How a figure of a device report is known. */
export type ProvenanceView = 'known' | 'inferred' | 'unknown';

/**
 * The last failure of an area, from the kernel log and, since 6.12, its free-range dump: the
 * request, the verdict (exhaustion, fragmentation, other, unknown without a dump), the free pages,
 * longest run and largest fitting request at that moment, the free runs per range and each range's
 * bits (null where the log does not settle a range's size). The same fields as `analyze --json`.
 */
export type DeviceFailureView = DeviceFailure;

/** One area of a device without debugfs (pages); null figures are unknown. */
export interface DeviceAreaView {
  readonly name: string;
  readonly basePfn: number | null;
  readonly count: number | null;
  readonly orderPerBit: number | null;
  /** 7.x: how many ranges the boot line says. */
  readonly ranges: number | null;
  readonly used: number | null;
  readonly free: number | null;
  /** How each figure is known. */
  readonly source: Readonly<
    Record<'name' | 'basePfn' | 'count' | 'orderPerBit' | 'used' | 'free' | 'counters', ProvenanceView>
  >;
  /** /sys/kernel/mm/cma/<area>/ files and their values. */
  readonly counters: Readonly<Record<string, number>>;
  /** Failure lines of this area in the kernel log (the ratelimit may have suppressed more). */
  readonly failures: number;
  readonly lastFailure: DeviceFailureView | null;
  readonly notes: readonly string[];
}

/** CMA figures of the whole device (all areas together), null when unknown. */
export interface DeviceSystemView {
  /** meminfo CmaTotal / CmaFree in pages. */
  readonly cmaTotal: number | null;
  readonly cmaFree: number | null;
  /** /proc/vmstat: nr_free_cma (pages), cma_alloc_success / cma_alloc_fail (calls). */
  readonly vmstat: {
    readonly nrFreeCma: number | null;
    readonly allocSuccess: number | null;
    readonly allocFail: number | null;
  } | null;
  readonly zones: readonly {
    readonly node: number;
    readonly zone: string;
    readonly cma: number | null;
    readonly nrFreeCma: number | null;
  }[];
  /** Free buddy blocks of the CMA migrate type by order, summed over zones (pagetypeinfo): k → count of 2^k-page blocks. */
  readonly freeBlocksByOrder: readonly number[] | null;
  readonly pageblockOrder: number | null;
  readonly cmaPageblocks: number | null;
}

/** GET /api/device: what the device tells without debugfs. */
export interface DeviceView {
  readonly source: string;
  readonly capturedAt: string;
  readonly kernelRelease: string | null;
  /** Whether this source offers debugfs too (then /api/areas shows the bitmaps). */
  readonly debugfs: boolean;
  /** Whether the report shows a failed allocation (what makes `analyze` exit 1). */
  readonly failing: boolean;
  readonly areas: readonly DeviceAreaView[];
  readonly system: DeviceSystemView;
  /** Files read, relative to `/`. */
  readonly read: readonly string[];
  /** Files that could not be read, and why (`missing`, `permission denied`, a parse error). */
  readonly unreadable: Readonly<Record<string, string>>;
  readonly warnings: readonly string[];
  /** The CMA lines of the kernel log (the newest 400), with their 1-based line numbers. */
  readonly logLines: readonly { readonly line: number; readonly text: string }[];
}

/** The device report as the API shows it. */
export function deviceView(r: DeviceReport, debugfs: boolean): DeviceView {
  return {
    source: r.source,
    capturedAt: r.capturedAt,
    kernelRelease: r.kernelRelease,
    debugfs,
    failing: showsFailures(r),
    areas: r.areas.map(deviceAreaJson),
    system: r.system,
    read: r.read,
    unreadable: r.unreadable,
    warnings: r.warnings,
    logLines: r.logLines,
  };
}

/**
 * /metrics of a device without debugfs: every figure with a `source` label saying how it is
 * known (`known`, `inferred`; an `unknown` one is NaN), per area and for the whole device.
 */
export function deviceMetrics(r: DeviceReport): string {
  const out: string[] = [];
  const num = (v: number | null) => (v === null ? 'NaN' : String(v));
  const family = (name: string, type: 'gauge' | 'counter', help: string, lines: string[]) => {
    if (lines.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const areaFigure = (
    name: string,
    help: string,
    value: (a: DeviceReport['areas'][number]) => number | null,
    field: 'count' | 'used' | 'free' | 'basePfn',
  ) =>
    family(
      name,
      'gauge',
      help,
      r.areas.map((a) => {
        const v = value(a);
        const src = v === null ? 'unknown' : a.source[field];
        return `${name}{area="${escapeLabel(a.name)}",source="${src}"} ${src === 'unknown' ? 'NaN' : num(v)}`;
      }),
    );
  areaFigure('cma_area_total_pages', 'Pages in the CMA area.', (a) => a.count, 'count');
  areaFigure('cma_area_used_pages', 'Pages in use.', (a) => a.used, 'used');
  areaFigure('cma_area_free_pages', 'Pages not in use.', (a) => a.free, 'free');
  areaFigure('cma_area_base_pfn', 'First page frame of the area.', (a) => a.basePfn, 'basePfn');
  family(
    'cma_area_maxchunk_pages',
    'gauge',
    'Largest free run in pages: unknown without debugfs (where the pages are needs the bitmap).',
    r.areas.map((a) => `cma_area_maxchunk_pages{area="${escapeLabel(a.name)}",source="unknown"} NaN`),
  );
  const counter = (name: string, file: string, help: string) =>
    family(
      name,
      'counter',
      help,
      r.areas
        .filter((a) => a.counters[file] !== undefined)
        .map((a) => `${name}{area="${escapeLabel(a.name)}",source="known"} ${a.counters[file]}`),
    );
  counter(
    'cma_area_alloc_pages_success_total',
    'alloc_pages_success',
    'Pages allocated successfully (sysfs alloc_pages_success).',
  );
  counter(
    'cma_area_alloc_pages_fail_total',
    'alloc_pages_fail',
    'Pages whose allocation failed (sysfs alloc_pages_fail).',
  );
  counter(
    'cma_area_release_pages_success_total',
    'release_pages_success',
    'Pages released (sysfs release_pages_success).',
  );
  family(
    'cma_area_log_failures',
    'gauge',
    'Failure lines of the area in the kernel log (the ratelimit may have suppressed more).',
    r.areas.map((a) => `cma_area_log_failures{area="${escapeLabel(a.name)}",source="known"} ${a.failures}`),
  );
  const failed = r.areas.filter((a) => a.lastFailure !== null);
  const lastFailure = (name: string, help: string, value: (f: DeviceFailure) => number | null) =>
    family(
      name,
      'gauge',
      help,
      failed.map((a) => {
        const f = a.lastFailure!;
        const v = value(f);
        return `${name}{area="${escapeLabel(a.name)}",verdict="${f.verdict}",source="${v === null ? 'unknown' : 'known'}"} ${num(v)}`;
      }),
    );
  lastFailure(
    'cma_area_last_failure_request_pages',
    'Pages the newest failed allocation in the kernel log asked for.',
    (f) => f.request,
  );
  lastFailure(
    'cma_area_last_failure_free_pages',
    'Free pages at the newest failure (its free-range dump, 6.12+).',
    (f) => f.free,
  );
  lastFailure(
    'cma_area_last_failure_maxchunk_pages',
    'Longest free run in pages at the newest failure (its free-range dump, 6.12+).',
    (f) => f.maxchunk,
  );
  const s = r.system;
  const sys = (name: string, type: 'gauge' | 'counter', help: string, v: number | null | undefined) =>
    family(name, type, help, [
      `${name}{source="${v == null ? 'unknown' : 'known'}"} ${v == null ? 'NaN' : v}`,
    ]);
  sys('cma_meminfo_total_pages', 'gauge', 'CmaTotal of /proc/meminfo in pages.', s.cmaTotal);
  sys('cma_meminfo_free_pages', 'gauge', 'CmaFree of /proc/meminfo in pages.', s.cmaFree);
  sys('cma_nr_free_cma_pages', 'gauge', 'nr_free_cma of /proc/vmstat.', s.vmstat?.nrFreeCma);
  sys('cma_alloc_success_total', 'counter', 'cma_alloc_success of /proc/vmstat.', s.vmstat?.allocSuccess);
  sys('cma_alloc_fail_total', 'counter', 'cma_alloc_fail of /proc/vmstat.', s.vmstat?.allocFail);
  if (s.freeBlocksByOrder)
    family(
      'cma_free_blocks',
      'gauge',
      'Free buddy blocks of the CMA migrate type of each order, 2^order pages each (/proc/pagetypeinfo).',
      s.freeBlocksByOrder.map((n, o) => `cma_free_blocks{order="${o}",source="known"} ${n}`),
    );
  sys('cma_pageblocks', 'gauge', 'CMA pageblocks (/proc/pagetypeinfo).', s.cmaPageblocks);
  family('cma_device_unreadable_files', 'gauge', 'Files of the device report that could not be read.', [
    `cma_device_unreadable_files ${Object.keys(r.unreadable).length}`,
  ]);
  return `${out.join('\n')}\n`;
}
