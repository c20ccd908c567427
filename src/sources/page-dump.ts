// What a kernel log says about busy CMA pages: dump_page() blocks (mm/debug.c, "page dumped
// because: migration failure", printed by alloc_contig_dump_pages() with dynamic debug on, with
// the page's page_owner record when page_owner is on), __cma_alloc()'s "memory range at pfn … is
// busy, retrying" (pr_debug in mm/cma.c; 6.1 prints the page pointer, not the pfn), the older
// "alloc_contig_range: [s, e) PFNs busy" lines, and the allocation and failure lines around them.

import type { PageOwnerRecord, SkippedLine } from './page-owner.ts';

/**
 * The page_owner part of a dump_page block ("page last allocated via …"): the fields of a
 * page_owner record that __dump_page_owner prints, the migratetype always present.
 */
type DumpOwner = Pick<
  PageOwnerRecord,
  'order' | 'gfpMask' | 'gfpFlags' | 'pid' | 'tgid' | 'comm' | 'tsNs' | 'stack'
> & { readonly migratetype: string };

/** One dump_page block. */
export interface PageDump {
  readonly pfn: number;
  readonly refcount: number;
  readonly mapcount: number;
  /** anon (flags line starts "anon"), shmem (swap-backed file page, e.g. memfd), file, or unknown. */
  readonly kind: 'anon' | 'shmem' | 'file' | 'unknown';
  readonly flags: string | null;
  readonly reason: string | null;
  readonly owner: DumpOwner | null;
  /** Seconds since boot from the log prefix, when the log has one. */
  readonly time: number | null;
  readonly line: number;
}

/** One cma_alloc as the log shows it (pr_debug of mm/cma.c, or its failure line). */
interface LogAlloc {
  readonly area: string | null;
  readonly count: number;
  readonly align: number;
  /** One entry per "is busy, retrying" line: the pfn, or null when the kernel printed a pointer. */
  readonly busy: (number | null)[];
  /** Per busy line: the pfn of the page dumped (migration failure) just before it, if any. */
  readonly dumped: (number | null)[];
  /** 'ok' (returned a page), 'fail' (failure line or NULL), or null when the log ends first. */
  result: 'ok' | 'fail' | null;
  ret: number | null;
  readonly time: number | null;
  readonly line: number;
}

/** Everything about busy pages a kernel log holds. */
export interface BusyLog {
  readonly dumps: PageDump[];
  readonly allocs: LogAlloc[];
  /** "alloc_contig_range: [s, e) PFNs busy" ranges (kernels before 6.x's pr_debug). */
  readonly busyRanges: { start: number; end: number; line: number }[];
  readonly skipped: SkippedLine[];
}

const PREFIX = /^(?:<\d+>)?(?:.*?kernel: )?(?:\[\s*(\d+\.\d+)\]\s?)?/;
const PAGE =
  /^page:\s*(?:\(?[0-9a-fx_]*ptrval_*\)?|[0-9a-fx]+)?\s*refcount:(-?\d+) mapcount:(-?\d+) .*?pfn:(0x[0-9a-f]+)/;
const FLAGS = /^(anon |ksm |)flags: (0x[0-9a-f]+(?:\([^)]*\))?)/;
const OWNER =
  /^page last allocated via order (\d+), migratetype (\S+), gfp_mask (0x[0-9a-f]+)(?:\(([^)]*)\))?, pid (-?\d+)(?:, tgid (-?\d+) \((.*?)\))?(?:, ts (\d+))?/;
// 7.3 names the function __cma_alloc_frozen and prints the busy line from cma_range_alloc
const START = /^cma: (?:__)?cma_alloc(?:_frozen)?\(cma \S+,(?: name: (\S+),)? count (\d+), align (\d+)\)/;
// 6.12: "memory range at pfn 0x1cc00 (____ptrval____) is busy"; 6.1: "at (____ptrval____) is busy"
const BUSY =
  /^cma: (?:(?:__)?cma_alloc|cma_range_alloc)\(\): memory range at (?:pfn (0x[0-9a-f]+)(?: \S+)?|\S+) is busy, retrying/;
const RETURNED = /^cma: (?:__)?cma_alloc(?:_frozen)?\(\): returned (\S+)/;
const FAILED = /^cma: (?:__)?cma_alloc(?:_frozen)?: (.+): alloc failed, req-size: (\d+) pages, ret: (-?\d+)/;
const PFNS_BUSY = /^alloc_contig_range: \[([0-9a-f]+), ([0-9a-f]+)\) PFNs busy/;

/** Reads a kernel log (dmesg, console capture, journal lines). Unreadable dump lines are skipped. */
export function parseBusyLog(text: string): BusyLog {
  const dumps: PageDump[] = [];
  const allocs: LogAlloc[] = [];
  const busyRanges: { start: number; end: number; line: number }[] = [];
  const skipped: SkippedLine[] = [];
  let dump: {
    pfn: number;
    refcount: number;
    mapcount: number;
    kind: PageDump['kind'];
    flags: string | null;
    reason: string | null;
    owner: DumpOwner | null;
    time: number | null;
    line: number;
    aops: boolean;
    memfd: boolean;
  } | null = null;
  let stackOf: string[] | null = null;
  const open: LogAlloc[] = [];
  let lastDump: number | null = null;
  const finish = () => {
    if (dump) {
      const { aops, memfd, ...d } = dump;
      const swapbacked = /swapbacked/.test(d.flags ?? '');
      const kind =
        d.kind !== 'unknown' ? d.kind : memfd || (aops && swapbacked) ? 'shmem' : aops ? 'file' : 'unknown';
      dumps.push({ ...d, kind });
      if (d.reason === 'migration failure') lastDump = d.pfn;
    }
    dump = null;
    stackOf = null;
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const n = i + 1;
    const pm = PREFIX.exec(raw)!;
    const time = pm[1] !== undefined ? Number(pm[1]) : null;
    const line = raw.slice(pm[0].length).replace(/\r$/, '');
    if (stackOf && /^\s+\S/.test(line)) {
      stackOf.push(line.trim());
      return;
    }
    stackOf = null;
    let m = PAGE.exec(line);
    if (m) {
      finish();
      dump = {
        pfn: Number.parseInt(m[3]!.slice(2), 16),
        refcount: Number(m[1]),
        mapcount: Number(m[2]),
        kind: 'unknown',
        flags: null,
        reason: null,
        owner: null,
        time,
        line: n,
        aops: false,
        memfd: false,
      };
      return;
    }
    if (line.startsWith('page:') && !m) {
      skipped.push({
        line: n,
        reason: `dump_page line without refcount/mapcount/pfn: '${line.slice(0, 60)}'`,
      });
      finish();
      return;
    }
    if (dump) {
      const d = dump as NonNullable<typeof dump>;
      const f = FLAGS.exec(line);
      if (f) {
        d.flags = f[2]!;
        if (f[1] === 'anon ') d.kind = 'anon';
        return;
      }
      if (/^aops:/.test(line)) {
        d.aops = true;
        if (/memfd:|shmem/.test(line)) d.memfd = true;
        return;
      }
      const r = /^page dumped because: (.*)$/.exec(line);
      if (r) {
        d.reason = r[1]!;
        return;
      }
      const o = OWNER.exec(line);
      if (o) {
        const stack: string[] = [];
        d.owner = {
          order: Number(o[1]),
          migratetype: o[2]!,
          gfpMask: Number.parseInt(o[3]!.slice(2), 16),
          gfpFlags: o[4] ?? '',
          pid: Number(o[5]),
          tgid: o[6] !== undefined ? Number(o[6]) : null,
          comm: o[7] ?? null,
          tsNs: o[8] !== undefined ? Number(o[8]) : null,
          stack,
        };
        stackOf = stack;
        return;
      }
      if (/^page last free/.test(line)) {
        stackOf = []; // the free stack is read and dropped
        return;
      }
      if (/^(raw|head|page_owner|memcg|page_type|mapping|page does not match|dentry|ino|anon_vma)/.test(line))
        return;
      if (line.startsWith('page last allocated'))
        skipped.push({ line: n, reason: `page_owner line not understood: '${line.slice(0, 60)}'` });
      finish();
    }
    m = START.exec(line);
    if (m) {
      const a: LogAlloc = {
        area: m[1] ?? null,
        count: Number(m[2]),
        align: Number(m[3]),
        busy: [],
        dumped: [],
        result: null,
        ret: null,
        time,
        line: n,
      };
      allocs.push(a);
      lastDump = null;
      open.push(a);
      return;
    }
    m = BUSY.exec(line);
    if (m) {
      const cur = open[open.length - 1];
      const pfn = m[1] !== undefined ? Number.parseInt(m[1].slice(2), 16) : null;
      if (cur) {
        cur.busy.push(pfn);
        cur.dumped.push(lastDump);
      } else skipped.push({ line: n, reason: 'busy retry outside an allocation (log starts mid-way?)' });
      lastDump = null;
      return;
    }
    m = RETURNED.exec(line);
    if (m) {
      const cur = open.pop();
      if (cur) cur.result = /^0+$|^\(null\)$/.test(m[1]!) ? 'fail' : 'ok';
      return;
    }
    m = FAILED.exec(line);
    if (m) {
      const cur = open[open.length - 1];
      if (cur && cur.result === null) {
        cur.result = 'fail';
        cur.ret = Number(m[3]);
      } else {
        allocs.push({
          area: m[1]!,
          count: Number(m[2]),
          align: 0,
          busy: [],
          dumped: [],
          result: 'fail',
          ret: Number(m[3]),
          time,
          line: n,
        });
      }
      return;
    }
    m = PFNS_BUSY.exec(line);
    if (m) busyRanges.push({ start: Number.parseInt(m[1]!, 16), end: Number.parseInt(m[2]!, 16), line: n });
  });
  finish();
  return { dumps, allocs, busyRanges, skipped };
}

/** Whether text looks like a kernel log with something for blame in it. */
export function looksLikeBusyLog(head: string): boolean {
  return /(^|\n)(?:\[[\s\d.]+\]\s?)?(page: refcount:|cma: |alloc_contig_range: )/.test(head);
}

/** The dump_page text the kernel prints for a page that failed to migrate (emulator, tests). */
export function formatPageDump(d: Omit<PageDump, 'line' | 'time' | 'reason'>): string {
  const lines = [
    `page: refcount:${d.refcount} mapcount:${d.mapcount} mapping:(____ptrval____) index:0x0 pfn:0x${d.pfn.toString(16)}`,
  ];
  if (d.kind === 'shmem' || d.kind === 'file')
    lines.push(`aops:shmem_aops ino:2 dentry name(?):"${d.kind === 'shmem' ? 'memfd:emulated' : 'file'}"`);
  lines.push(`${d.kind === 'anon' ? 'anon ' : ''}flags: ${d.flags ?? '0x0()'}`);
  lines.push('page dumped because: migration failure');
  if (d.owner) {
    const o = d.owner;
    lines.push('page_owner tracks the page as allocated');
    lines.push(
      `page last allocated via order ${o.order}, migratetype ${o.migratetype}, gfp_mask 0x${o.gfpMask.toString(16)}(${o.gfpFlags}), pid ${o.pid}, tgid ${o.tgid ?? o.pid} (${o.comm ?? ''}), ts ${o.tsNs ?? 0}, free_ts 0`,
    );
    for (const f of o.stack) lines.push(` ${f}`);
  }
  return `${lines.join('\n')}\n`;
}
