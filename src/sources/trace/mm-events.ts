// The trace events around a busy CMA page, from a text trace (`trace`, `trace_pipe`,
// `trace-cmd report`): cma_alloc_start / cma_alloc_busy_retry / cma_alloc_finish (the attempt),
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
const WANTED = new Set([
  'cma_alloc_start',
  'cma_alloc_busy_retry',
  'cma_alloc_finish',
  'cma_release',
  'test_pages_isolated',
  'mm_migrate_pages',
  'mm_alloc_contig_migrate_range_info',
]);

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
