// The trace events around a busy CMA page, from a text trace (`trace`, `trace_pipe`,
// `trace-cmd report`; the binary formats through mm-events-read.ts): cma_alloc_start / cma_alloc_busy_retry / cma_alloc_finish (the attempt),
// test_pages_isolated (page_isolation: fin_pfn is the first page that stayed in use),
// mm_migrate_pages (migrate: nr_failed) and mm_alloc_contig_migrate_range_info (kmem, 6.9+).

/** One event line's header and fields. */
export interface MmEvent {
  readonly comm: string;
  readonly pid: number;
  /** Seconds, as printed. */
  readonly time: number;
  readonly event: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly line: number;
}

const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[\d+\]\s+(?:\S{4,5}\s+)?(\d+\.\d+): (\w+): (.*)$/;
/** The events blame and the allocation table read (cma, page_isolation, migrate, kmem). */
export const MM_EVENT_NAMES: ReadonlySet<string> = new Set([
  'cma_alloc_start',
  'cma_alloc_busy_retry',
  'cma_alloc_finish',
  'cma_release',
  'test_pages_isolated',
  'mm_migrate_pages',
  'mm_alloc_contig_migrate_range_info',
  'cma_alloc_info',
]);
const WANTED = MM_EVENT_NAMES;

/** `k=v k=v` into a record (values end at the next space; the kernel prints none with spaces). */
function fieldsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)=(\S*)/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Reads one trace line; null for headers, comments and events blame does not use. */
export function parseMmEventLine(text: string, line: number): MmEvent | null {
  const m = LINE.exec(text);
  if (!m || !WANTED.has(m[4]!)) return null;
  return { comm: m[1]!, pid: Number(m[2]), time: Number(m[3]), event: m[4]!, fields: fieldsOf(m[5]!), line };
}

/** A pfn field ("0x1cc00" or decimal) as a number; null for the -1 of a failed allocation. */
export function pfnField(v: string | undefined): number | null {
  if (v === undefined) return null;
  if (/^0xf{16}$/i.test(v) || v === '-1') return null;
  const n = v.startsWith('0x') ? Number.parseInt(v.slice(2), 16) : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** mm_alloc_contig_migrate_range_info's counts, decoded. */
export interface ContigRangeInfo {
  readonly start: number | null;
  readonly end: number | null;
  readonly migratetype: number;
  readonly nrMigrated: number;
  readonly nrReclaimed: number;
  readonly nrMapped: number;
}

/**
 * Decodes mm_alloc_contig_migrate_range_info. Seen on 6.12.118: __alloc_contig_migrate_range()
 * passes (start, end, nr_mapped, migratetype, nr_migrated, nr_reclaimed) to a prototype of (start,
 * end, migratetype, nr_migrated, nr_reclaimed, nr_mapped), so each printed field holds the next
 * argument. `shifted` says whether the trace came from such a kernel.
 */
export function decodeContigRangeInfo(
  f: Readonly<Record<string, string>>,
  shifted: boolean,
): ContigRangeInfo {
  const n = (k: string) => Number(f[k] ?? 'NaN');
  const base = { start: pfnField(f.start), end: pfnField(f.end) };
  if (shifted)
    return {
      ...base,
      nrMapped: n('migratetype'),
      migratetype: n('nr_migrated'),
      nrMigrated: n('nr_reclaimed'),
      nrReclaimed: n('nr_mapped'),
    };
  return {
    ...base,
    migratetype: n('migratetype'),
    nrMigrated: n('nr_migrated'),
    nrReclaimed: n('nr_reclaimed'),
    nrMapped: n('nr_mapped'),
  };
}

/** Whether a kernel release prints mm_alloc_contig_migrate_range_info shifted (seen on 6.12). */
export function contigRangeInfoShifted(release: string | null): boolean {
  const m = release ? /^(\d+)\.(\d+)/.exec(release) : null;
  if (!m) return false;
  const v = Number(m[1]) * 1000 + Number(m[2]);
  return v >= 6009 && v <= 6012;
}

/** Whether text looks like a text trace with events blame reads. */
export function looksLikeMmTrace(head: string): boolean {
  return /^# tracer:/m.test(head) || head.split('\n').some((l, i) => parseMmEventLine(l, i + 1) !== null);
}

/**
 * Whether a trace's mm_alloc_contig_migrate_range_info events are printed shifted: by the kernel
 * release when known, else by the content (a cma_alloc() always isolates MIGRATE_CMA, 4: the
 * field that is 4 in every event is the migratetype).
 */
function guessContigRangeInfoShifted(events: readonly MmEvent[], release: string | null): boolean {
  if (release !== null && /^\d+\.\d+/.test(release)) return contigRangeInfoShifted(release);
  const infos = events.filter((e) => e.event === 'mm_alloc_contig_migrate_range_info');
  if (infos.length === 0) return false;
  if (infos.every((e) => e.fields.migratetype === '4')) return false;
  return infos.every((e) => e.fields.nr_migrated === '4');
}

/** What one cma_alloc() cost in migration, from the events of its task during the call. */
export interface AllocationCost {
  /** mm_alloc_contig_migrate_range_info (6.9+) or Android's cma_alloc_info (5.10–6.0). */
  readonly source: 'migrate_range_info' | 'cma_alloc_info';
  /** alloc_contig_range() calls seen (one per retry window). */
  readonly calls: number;
  readonly migrated: number;
  readonly reclaimed: number;
  readonly mapped: number;
  /** cma_alloc_info's failure counts (isolation, migration, test_pages_isolated), else 0. */
  readonly errIso: number;
  readonly errMig: number;
  readonly errTest: number;
}

interface Stamped {
  readonly us: number;
  readonly e: MmEvent;
}

/**
 * Joins the migrate counts to the allocation table: a task's mm_alloc_contig_migrate_range_info
 * events between its cma_alloc_start and cma_alloc_finish add up to that allocation's cost;
 * Android's cma_alloc_info follows its finish with the same pfn. Times are µs as the replay's
 * allocation records carry them.
 */
export class AllocationCosts {
  private readonly byPid = new Map<number, Stamped[]>();
  readonly shifted: boolean;
  /** The cost events read. */
  readonly events: number;
  /** Whether they include Android's cma_alloc_info. */
  readonly hasAndroidInfo: boolean;

  constructor(events: readonly MmEvent[], release: string | null) {
    this.shifted = guessContigRangeInfoShifted(events, release);
    let n = 0;
    for (const e of events) {
      if (e.event !== 'mm_alloc_contig_migrate_range_info' && e.event !== 'cma_alloc_info') continue;
      n++;
      let l = this.byPid.get(e.pid);
      if (l === undefined) {
        l = [];
        this.byPid.set(e.pid, l);
      }
      l.push({ us: Math.round(e.time * 1e6), e });
    }
    for (const l of this.byPid.values()) l.sort((a, b) => a.us - b.us);
    this.events = n;
    this.hasAndroidInfo = events.some((e) => e.event === 'cma_alloc_info');
  }

  /** The cost of the allocation of `pid` from startUs to finishUs at `pfn`, or null (no events). */
  lookup(pid: number, startUs: number, finishUs: number, pfn: number): AllocationCost | null {
    const l = this.byPid.get(pid);
    if (l === undefined || Number.isNaN(finishUs)) return null;
    let lo = 0;
    let hi = l.length;
    const from = Number.isNaN(startUs) ? finishUs : startUs;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid]!.us < from) lo = mid + 1;
      else hi = mid;
    }
    let calls = 0;
    let migrated = 0;
    let reclaimed = 0;
    let mapped = 0;
    for (let i = lo; i < l.length; i++) {
      const { us, e } = l[i]!;
      if (e.event === 'cma_alloc_info') {
        if (us < finishUs) continue;
        if (pfnField(e.fields.pfn) !== pfn) break;
        const n = (k: string) => Number(e.fields[k] ?? 0) || 0;
        return {
          source: 'cma_alloc_info',
          calls: 1,
          migrated: n('nr_migrated'),
          reclaimed: n('nr_reclaimed'),
          mapped: n('nr_mapped'),
          errIso: n('err_iso'),
          errMig: n('err_mig'),
          errTest: n('err_test'),
        };
      }
      if (us > finishUs) break;
      const c = decodeContigRangeInfo(e.fields, this.shifted);
      calls++;
      migrated += c.nrMigrated || 0;
      reclaimed += c.nrReclaimed || 0;
      mapped += c.nrMapped || 0;
    }
    if (calls === 0) return null;
    return {
      source: 'migrate_range_info',
      calls,
      migrated,
      reclaimed,
      mapped,
      errIso: 0,
      errMig: 0,
      errTest: 0,
    };
  }
}
