// /sys/kernel/debug/page_owner (mm/page_owner.c, print_page_owner()): one record per allocated
// page block, "Page allocated via order …, pid …, tgid … (comm), ts … ns" then "PFN … type …
// Block … type … Flags …", the allocation stack, a blank line. Also page_owner_stacks/show_stacks
// (stack, then "nr_base_pages: N"). Read line by line so a dump of hundreds of MB streams.

/** One page_owner record. */
export interface PageOwnerRecord {
  /** First pfn of the allocated block. */
  readonly pfn: number;
  /** Allocation order: the record covers 2^order pages. */
  readonly order: number;
  readonly gfpMask: number;
  /** The mask's flag names as printed (%pGg), e.g. "GFP_HIGHUSER_MOVABLE|__GFP_COMP". */
  readonly gfpFlags: string;
  readonly pid: number;
  readonly tgid: number | null;
  readonly comm: string | null;
  /** Allocation time, ns since boot (local_clock). */
  readonly tsNs: number | null;
  readonly freeTsNs: number | null;
  /** Migratetype of the allocation ("type" after PFN) and of its pageblock ("Block N type"). */
  readonly migratetype: string | null;
  readonly blockMigratetype: string | null;
  /** Page flags as printed (%pGp). */
  readonly flags: string | null;
  readonly lastMigrateReason: string | null;
  /** Stack frames, innermost first, as printed ("handle_mm_fault+0x113/0x1a9"). */
  readonly stack: string[];
  /** 1-based line of the record's first line. */
  readonly line: number;
}

/** One page_owner_stacks/show_stacks entry. */
export interface PageOwnerStack {
  readonly stack: string[];
  readonly nrBasePages: number;
  readonly line: number;
}

/** A line that could not be read, kept so bad input is reported, never fatal. */
export interface SkippedLine {
  readonly line: number;
  readonly reason: string;
}

const HEAD =
  /^Page allocated via order (\d+), mask (0x[0-9a-f]+)(?:\(([^)]*)\))?, pid (-?\d+)(?:, tgid (-?\d+) \((.*)\))?(?:, ts (\d+) ns)?(?:, free_ts (\d+) ns)?\s*$/;
const PFN = /^PFN (0x[0-9a-f]+|\d+) type (\S+) Block (\d+) type (\S+) Flags (0x[0-9a-f]+(?:\([^)]*\))?)/;
const MIGRATED = /^Page has been migrated, last migrate reason: (.*)$/;
const FRAME = /^\s+(\S.*)$/;
const NR_BASE = /^nr_base_pages: (\d+)$/;

interface Partial {
  line: number;
  order: number;
  gfpMask: number;
  gfpFlags: string;
  pid: number;
  tgid: number | null;
  comm: string | null;
  tsNs: number | null;
  freeTsNs: number | null;
  pfn: number | null;
  migratetype: string | null;
  blockMigratetype: string | null;
  flags: string | null;
  lastMigrateReason: string | null;
  stack: string[];
}

/** A pfn filter: keep records whose block overlaps one of these [start, end) ranges. */
export type PfnRanges = readonly { readonly start: number; readonly end: number }[];

/** A streaming page_owner reader: feed lines, get records through `onRecord`. */
export interface PageOwnerParser {
  line(text: string): void;
  end(): void;
  readonly skipped: SkippedLine[];
  /** Records seen (kept or filtered out) and stacks seen. */
  readonly counts: { records: number; stacks: number };
}

/** Creates a reader; `keep` filters records before they are handed on (e.g. to a pfn range). */
export function createPageOwnerParser(handlers: {
  onRecord?: (r: PageOwnerRecord) => void;
  onStack?: (s: PageOwnerStack) => void;
  keep?: (pfn: number, order: number) => boolean;
}): PageOwnerParser {
  const skipped: SkippedLine[] = [];
  const counts = { records: 0, stacks: 0 };
  let n = 0;
  let cur: Partial | null = null;
  let frames: string[] = [];
  let framesLine = 0;
  const skip = (line: number, reason: string) => {
    if (skipped.length < 1000) skipped.push({ line, reason });
  };
  const flush = () => {
    if (cur) {
      if (cur.pfn === null) skip(cur.line, 'page_owner record without its "PFN" line (truncated?)');
      else {
        counts.records++;
        if (!handlers.keep || handlers.keep(cur.pfn, cur.order)) {
          const { pfn, ...rest } = cur;
          handlers.onRecord?.({ pfn, ...rest });
        }
      }
      cur = null;
    }
    frames = [];
  };
  return {
    skipped,
    counts,
    line(raw: string) {
      n++;
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (text.trim() === '') {
        if (!cur && frames.length > 0) skip(framesLine, 'stack without a record or nr_base_pages line');
        flush();
        return;
      }
      const h = HEAD.exec(text);
      if (h) {
        flush();
        cur = {
          line: n,
          order: Number(h[1]),
          gfpMask: Number.parseInt(h[2]!.slice(2), 16),
          gfpFlags: h[3] ?? '',
          pid: Number(h[4]),
          tgid: h[5] !== undefined ? Number(h[5]) : null,
          comm: h[6] ?? null,
          tsNs: h[7] !== undefined ? Number(h[7]) : null,
          freeTsNs: h[8] !== undefined ? Number(h[8]) : null,
          pfn: null,
          migratetype: null,
          blockMigratetype: null,
          flags: null,
          lastMigrateReason: null,
          stack: [],
        };
        return;
      }
      if (cur) {
        const p = PFN.exec(text);
        if (p) {
          cur.pfn = p[1]!.startsWith('0x') ? Number.parseInt(p[1]!.slice(2), 16) : Number(p[1]);
          cur.migratetype = p[2]!;
          cur.blockMigratetype = p[4]!;
          cur.flags = p[5]!;
          return;
        }
        const f = FRAME.exec(text);
        if (f) {
          cur.stack.push(f[1]!);
          return;
        }
        const m = MIGRATED.exec(text);
        if (m) {
          cur.lastMigrateReason = m[1]!;
          return;
        }
        if (/^Charged |^Slab cache page|^memcg/.test(text)) return;
        skip(n, `unexpected line in a page_owner record: '${text.slice(0, 60)}'`);
        return;
      }
      const f = FRAME.exec(text);
      if (f) {
        if (frames.length === 0) framesLine = n;
        frames.push(f[1]!);
        return;
      }
      const nb = NR_BASE.exec(text);
      if (nb && frames.length > 0) {
        counts.stacks++;
        handlers.onStack?.({ stack: frames, nrBasePages: Number(nb[1]), line: framesLine });
        frames = [];
        return;
      }
      skip(n, `not page_owner text: '${text.slice(0, 60)}'`);
    },
    end() {
      if (cur && (cur as Partial).pfn !== null && (cur as Partial).stack.length === 0)
        skip((cur as Partial).line, 'page_owner record cut off before its stack');
      flush();
    },
  };
}

/** Reads a whole page_owner (or show_stacks) text. */
export function parsePageOwnerText(
  text: string,
  keep?: (pfn: number, order: number) => boolean,
): { records: PageOwnerRecord[]; stacks: PageOwnerStack[]; skipped: SkippedLine[] } {
  const records: PageOwnerRecord[] = [];
  const stacks: PageOwnerStack[] = [];
  const p = createPageOwnerParser({
    onRecord: (r) => records.push(r),
    onStack: (s) => stacks.push(s),
    ...(keep ? { keep } : {}),
  });
  for (const l of text.split('\n')) p.line(l);
  p.end();
  return { records, stacks, skipped: p.skipped };
}

/** Whether a block of 2^order pages at `pfn` overlaps one of the ranges. */
export function overlapsRanges(ranges: PfnRanges, pfn: number, order: number): boolean {
  const end = pfn + 2 ** order;
  return ranges.some((r) => pfn < r.end && end > r.start);
}

/** Whether text looks like page_owner output (a record head or a show_stacks total). */
export function looksLikePageOwner(head: string): boolean {
  return /^Page allocated via order \d+/m.test(head) || /^nr_base_pages: \d+$/m.test(head);
}

/** The page_owner text of one record, as print_page_owner() lays it out (for emulators and tests). */
export function formatPageOwnerRecord(r: Omit<PageOwnerRecord, 'line'>): string {
  const head =
    `Page allocated via order ${r.order}, mask 0x${r.gfpMask.toString(16)}(${r.gfpFlags}), pid ${r.pid}` +
    (r.tgid !== null ? `, tgid ${r.tgid} (${r.comm ?? ''})` : '') +
    (r.tsNs !== null ? `, ts ${r.tsNs} ns` : '') +
    (r.freeTsNs !== null ? `, free_ts ${r.freeTsNs} ns` : '');
  const pfnLine = `PFN 0x${r.pfn.toString(16)} type ${r.migratetype ?? 'Movable'} Block ${Math.floor(r.pfn / 512)} type ${r.blockMigratetype ?? 'CMA'} Flags ${r.flags ?? '0x0()'}`;
  const migrated = r.lastMigrateReason
    ? [`Page has been migrated, last migrate reason: ${r.lastMigrateReason}`]
    : [];
  return [head, pfnLine, ...r.stack.map((f) => ` ${f}`), ...migrated, '', ''].join('\n');
}
