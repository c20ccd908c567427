// Who holds the pages that make cma_alloc retry or fail: busy retries (trace or log) joined with
// the page that blocked each one (test_pages_isolated's fin_pfn, or the dump_page of a page that
// failed to migrate), that page's state and its page_owner record, grouped by owner and stack.

import type { PageDump } from '../sources/page-dump.ts';
import type { PageOwnerRecord } from '../sources/page-owner.ts';
import type { MmEvent } from '../sources/trace/mm-events.ts';
import { pfnField } from '../sources/trace/mm-events.ts';
import { frameName, pageKindFromStack, topFrames } from './owner-stack.ts';

/** An area's pfn span, to place busy pages (from a tree, snapshot or log). */
export interface BlameArea {
  readonly name: string;
  readonly basePfn: number;
  readonly count: number;
}

/** One cma_alloc: how long it was delayed, by how many busy retries, and how it ended. */
interface BlameAlloc {
  readonly area: string;
  readonly count: number;
  readonly align: number;
  readonly time: number | null;
  readonly retries: number;
  /** Where it landed, or null when it failed or the source ends first. */
  readonly pfn: number | null;
  readonly result: 'ok' | 'fail' | null;
  readonly errorno: number | null;
  readonly seconds: number | null;
}

/** The owner of a page, as page_owner or dump_page tells it. */
interface BlameOwner {
  readonly pid: number;
  readonly tgid: number | null;
  readonly comm: string | null;
  readonly tsNs: number | null;
  readonly gfpFlags: string;
  readonly stack: string[];
}

/** One page that blocked allocations. */
interface BusyPage {
  readonly pfn: number;
  readonly area: string;
  readonly retries: number;
  /** Indexes into the area's allocs that this page delayed (or failed). */
  readonly allocs: number[];
  readonly firstTime: number | null;
  readonly lastTime: number | null;
  readonly refcount: number | null;
  readonly mapcount: number | null;
  readonly flags: string | null;
  readonly migratetype: string | null;
  readonly kind: string;
  /** true when the page is held beyond its mappings (refcount − mapcount ≥ 2, or never isolated). */
  readonly pinned: boolean | null;
  readonly evidence: string[];
  readonly owner: BlameOwner | null;
  /** Index into the area's holders, or null when no owner is known. */
  readonly holder: number | null;
}

/** Busy pages of one owner and stack. */
interface Holder {
  readonly pid: number | null;
  readonly tgid: number | null;
  readonly comm: string | null;
  readonly pages: number;
  readonly retries: number;
  /** retries / all busy retries of the area, 0..1. */
  readonly share: number;
  readonly pinned: boolean | null;
  readonly kind: string;
  readonly stack: string[];
}

/** The answer for one area. */
export interface AreaBlame {
  readonly name: string;
  readonly busy: BusyPage[];
  readonly holders: Holder[];
  readonly allocs: BlameAlloc[];
  /** Busy retries whose blocking page nobody named. */
  readonly unattributed: number;
  readonly retries: number;
  readonly verdict: string;
}

/** Everything blame joins. Each part may be empty. */
export interface BlameInput {
  readonly areas?: readonly BlameArea[];
  /** Trace events in order (parseMmEventLine). */
  readonly events?: readonly MmEvent[];
  /** The log's allocations, when there is no trace. */
  readonly logAllocs?: readonly {
    area: string | null;
    count: number;
    align: number;
    busy: (number | null)[];
    /** Per busy line, the page dumped just before it (dump_page of a migration failure). */
    dumped?: (number | null)[];
    result: 'ok' | 'fail' | null;
    ret: number | null;
    time: number | null;
  }[];
  readonly dumps?: readonly PageDump[];
  /** "PFNs busy" ranges of older kernels' logs. */
  readonly busyRanges?: readonly { start: number; end: number }[];
  /** page_owner records by first pfn. */
  readonly owners?: ReadonlyMap<number, PageOwnerRecord>;
  /** pageblock order (9 on x86-64 with 4 KiB pages): isolation covers whole pageblocks. */
  readonly pageblockOrder?: number;
}

interface Retry {
  area: string;
  pfn: number | null;
  count: number;
  blocker: number | null;
  migrateFailed: boolean;
  time: number | null;
  alloc: number;
}

/** The page_owner record whose block holds `pfn`. */
function ownerRecord(
  owners: ReadonlyMap<number, PageOwnerRecord> | undefined,
  pfn: number,
): PageOwnerRecord | null {
  if (!owners) return null;
  for (let order = 0; order <= 18; order++) {
    const head = pfn - (pfn % 2 ** order);
    const r = owners.get(head);
    if (r && r.order >= order) return r;
  }
  return null;
}

function collectFromTrace(
  events: readonly MmEvent[],
  allocs: (BlameAlloc & { start: number })[],
  retries: Retry[],
) {
  // per task: the open allocation and what happened since its last retry
  const open = new Map<number, { alloc: number; blocker: number | null; migrateFailed: boolean }>();
  for (const e of events) {
    const f = e.fields;
    switch (e.event) {
      case 'cma_alloc_start': {
        allocs.push({
          area: f.name ?? '?',
          count: Number(f.count ?? f.request_count), // 7.x start: request_count
          align: Number(f.align ?? 0),
          time: e.time,
          start: e.time,
          retries: 0,
          pfn: null,
          result: null,
          errorno: null,
          seconds: null,
        });
        open.set(e.pid, { alloc: allocs.length - 1, blocker: null, migrateFailed: false });
        break;
      }
      case 'test_pages_isolated': {
        const o = open.get(e.pid);
        if (o && f.ret === 'fail') o.blocker = pfnField(f.fin_pfn);
        break;
      }
      case 'mm_migrate_pages': {
        const o = open.get(e.pid);
        if (o && Number(f.nr_failed ?? 0) > 0 && f.reason === 'contig_range') o.migrateFailed = true;
        break;
      }
      case 'cma_alloc_busy_retry': {
        let o = open.get(e.pid);
        if (!o) {
          allocs.push({
            area: f.name ?? '?',
            count: Number(f.count ?? f.request_count), // 7.x start: request_count
            align: Number(f.align ?? 0),
            time: null,
            start: e.time,
            retries: 0,
            pfn: null,
            result: null,
            errorno: null,
            seconds: null,
          });
          o = { alloc: allocs.length - 1, blocker: null, migrateFailed: false };
          open.set(e.pid, o);
        }
        retries.push({
          area: f.name ?? allocs[o.alloc]!.area,
          pfn: pfnField(f.pfn),
          count: Number(f.count ?? f.request_count), // 7.x start: request_count
          blocker: o.blocker,
          migrateFailed: o.migrateFailed,
          time: e.time,
          alloc: o.alloc,
        });
        o.blocker = null;
        o.migrateFailed = false;
        break;
      }
      case 'cma_alloc_finish': {
        const o = open.get(e.pid);
        if (!o) break;
        const a = allocs[o.alloc]!;
        const pfn = pfnField(f.pfn);
        const errorno = f.errorno !== undefined ? Number(f.errorno) : null;
        const ok = errorno !== null ? errorno === 0 : pfn !== null && !/^0+$/.test(f.page ?? '');
        allocs[o.alloc] = {
          ...a,
          pfn: ok ? pfn : null,
          result: ok ? 'ok' : 'fail',
          errorno,
          seconds: Math.round((e.time - a.start) * 1e6) / 1e6,
        };
        open.delete(e.pid);
        break;
      }
    }
  }
}

/** The lowest candidate pfn inside [start, end), or null. */
function lowestIn(sorted: readonly number[], start: number, end: number): number | null {
  for (const p of sorted) if (p >= start && p < end) return p;
  return null;
}

/** Joins busy retries, dumps and page_owner records into one answer per area. */
export function blame(input: BlameInput): AreaBlame[] {
  const allocs: (BlameAlloc & { start: number })[] = [];
  const retries: Retry[] = [];
  // 6.1's log lines do not name the area: one known area is the one
  const areaNames = new Set((input.areas ?? []).map((a) => a.name));
  const soleArea = areaNames.size === 1 ? [...areaNames][0]! : null;
  if (input.events && input.events.length > 0) collectFromTrace(input.events, allocs, retries);
  else
    for (const a of input.logAllocs ?? []) {
      const i = allocs.length;
      allocs.push({
        area: a.area ?? soleArea ?? '?',
        count: a.count,
        align: a.align,
        time: a.time,
        start: a.time ?? 0,
        retries: 0,
        pfn: null,
        result: a.result,
        errorno: a.ret,
        seconds: null,
      });
      a.busy.forEach((pfn, k) => {
        retries.push({
          area: a.area ?? soleArea ?? '?',
          pfn,
          count: a.count,
          blocker: a.dumped?.[k] ?? null,
          // the log names the dumped page itself; no dump before a busy line: no migration failure seen
          migrateFailed: false,
          time: a.time,
          alloc: i,
        });
      });
    }
  const pbPages = 2 ** (input.pageblockOrder ?? 9);
  const dumpPfns = [...new Set((input.dumps ?? []).map((d) => d.pfn))].sort((a, b) => a - b);
  const isolatedFails = [
    ...new Set(retries.map((r) => r.blocker).filter((p): p is number => p !== null)),
  ].sort((a, b) => a - b);
  const rangeStarts = (input.busyRanges ?? []).map((r) => r.start).sort((a, b) => a - b);
  // a retry without its own blocker: a page that failed to migrate (dump_page) in its range, else a
  // page that stayed unisolated in another attempt, else an older kernel's "PFNs busy" range
  // without migrate events in the trace, any retry may have been a migration failure
  const migrateTraced = (input.events ?? []).some((e) => e.event === 'mm_migrate_pages');
  for (const r of retries) {
    if (r.blocker !== null || r.pfn === null) continue;
    const end = r.pfn + r.count;
    const lo = r.pfn - (r.pfn % pbPages);
    const dumped =
      r.migrateFailed || (!migrateTraced && input.events !== undefined && input.events.length > 0);
    r.blocker =
      (dumped ? (lowestIn(dumpPfns, r.pfn, end) ?? lowestIn(dumpPfns, lo, end)) : null) ??
      lowestIn(isolatedFails, r.pfn, end) ??
      lowestIn(rangeStarts, lo, end);
  }
  const areaOf = (pfn: number | null, fallback: string): string => {
    if (pfn !== null)
      for (const a of input.areas ?? []) if (pfn >= a.basePfn && pfn < a.basePfn + a.count) return a.name;
    return fallback;
  };
  const names = new Set<string>([
    ...(input.areas ?? []).map((a) => a.name),
    ...retries.map((r) => r.area),
    ...allocs.map((a) => a.area),
  ]);
  const latestDump = new Map<number, PageDump>();
  for (const d of input.dumps ?? []) latestDump.set(d.pfn, d);
  const out: AreaBlame[] = [];
  for (const name of names) {
    const areaAllocs = allocs.filter((a) => a.area === name);
    const allocIndex = new Map(areaAllocs.map((a, i) => [allocs.indexOf(a), i]));
    const mine = retries.filter((r) => areaOf(r.blocker, r.area) === name);
    const byPfn = new Map<number, Retry[]>();
    let unattributed = 0;
    for (const r of mine) {
      if (r.blocker === null) unattributed++;
      else byPfn.set(r.blocker, [...(byPfn.get(r.blocker) ?? []), r]);
    }
    // a page known to have failed migration but never tied to a retry is still shown
    for (const d of input.dumps ?? [])
      if (areaOf(d.pfn, '') === name && !byPfn.has(d.pfn) && d.reason === 'migration failure')
        byPfn.set(d.pfn, []);
    const busy: (Omit<BusyPage, 'holder'> & { key: string | null })[] = [];
    for (const [pfn, rs] of [...byPfn].sort((a, b) => b[1].length - a[1].length || a[0] - b[0])) {
      const dump = latestDump.get(pfn) ?? null;
      const rec = ownerRecord(input.owners, pfn);
      const owner: BlameOwner | null = rec
        ? {
            pid: rec.pid,
            tgid: rec.tgid,
            comm: rec.comm,
            tsNs: rec.tsNs,
            gfpFlags: rec.gfpFlags,
            stack: rec.stack,
          }
        : dump?.owner
          ? {
              pid: dump.owner.pid,
              tgid: dump.owner.tgid,
              comm: dump.owner.comm,
              tsNs: dump.owner.tsNs,
              gfpFlags: dump.owner.gfpFlags,
              stack: dump.owner.stack,
            }
          : null;
      const evidence: string[] = [];
      let pinned: boolean | null = null;
      if (dump) {
        const extra = dump.refcount - dump.mapcount;
        pinned = extra >= 2;
        evidence.push(
          `dump_page: refcount ${dump.refcount}, mapcount ${dump.mapcount} (${pinned ? 'held beyond its mappings: pinned' : 'only referenced'})`,
        );
      }
      if (rs.some((r) => r.migrateFailed && r.blocker === pfn && dump))
        evidence.push('isolated, but migration failed (mm_migrate_pages nr_failed, reason=contig_range)');
      if (isolatedFails.includes(pfn)) {
        evidence.push('never isolated: test_pages_isolated stopped here (referenced beyond its mappings)');
        if (pinned === null) pinned = true;
      }
      const kindFromStack = owner
        ? pageKindFromStack(owner.stack, dump?.flags ?? rec?.flags ?? null)
        : 'unknown';
      const kind = dump && dump.kind !== 'unknown' ? dump.kind : kindFromStack;
      const times = rs.map((r) => r.time).filter((t): t is number => t !== null);
      busy.push({
        pfn,
        area: name,
        retries: rs.length,
        allocs: [
          ...new Set(rs.map((r) => allocIndex.get(r.alloc)).filter((x): x is number => x !== undefined)),
        ],
        firstTime: times.length ? Math.min(...times) : null,
        lastTime: times.length ? Math.max(...times) : null,
        refcount: dump?.refcount ?? null,
        mapcount: dump?.mapcount ?? null,
        flags: dump?.flags ?? rec?.flags ?? null,
        migratetype: rec?.migratetype ?? dump?.owner?.migratetype ?? null,
        kind,
        pinned,
        evidence,
        owner,
        key: owner
          ? `${owner.pid}|${owner.tgid}|${owner.comm}|${owner.stack.map(frameName).join(';')}`
          : null,
      });
    }
    const total = mine.length;
    const groups = new Map<string, Holder & { members: number }>();
    for (const b of busy) {
      if (b.key === null || !b.owner) continue;
      const g = groups.get(b.key);
      const pinned = g ? (g.pinned === true || b.pinned === true ? true : (g.pinned ?? b.pinned)) : b.pinned;
      groups.set(b.key, {
        pid: b.owner.pid,
        tgid: b.owner.tgid,
        comm: b.owner.comm,
        pages: (g?.pages ?? 0) + 1,
        retries: (g?.retries ?? 0) + b.retries,
        share: 0,
        pinned,
        kind: g && g.kind !== b.kind ? 'mixed' : b.kind,
        stack: b.owner.stack,
        members: 0,
      });
    }
    const holders = [...groups.entries()]
      .map(([key, h]) => ({ key, h: { ...h, share: total > 0 ? h.retries / total : 0 } }))
      .sort((a, b) => b.h.retries - a.h.retries || b.h.pages - a.h.pages);
    const holderIndex = new Map(holders.map((x, i) => [x.key, i]));
    const busyOut: BusyPage[] = busy.map(({ key, ...b }) => ({
      ...b,
      holder: key !== null ? (holderIndex.get(key) ?? null) : null,
    }));
    const holdersOut: Holder[] = holders.map(({ h }) => {
      const { members: _m, ...rest } = h;
      return rest;
    });
    const allocsOut = areaAllocs.map(({ start: _s, ...a }) => ({ ...a }));
    for (const r of retries) {
      const i = allocIndex.get(r.alloc);
      if (i !== undefined) allocsOut[i] = { ...allocsOut[i]!, retries: allocsOut[i]!.retries + 1 };
    }
    out.push({
      name,
      busy: busyOut,
      holders: holdersOut,
      allocs: allocsOut,
      unattributed,
      retries: total,
      verdict: verdictOf(name, total, holdersOut, busyOut, allocsOut, unattributed),
    });
  }
  return out;
}

function pct(x: number): string {
  const p = Math.round(x * 1000) / 10;
  return `${p}%`;
}

/** One line a driver engineer can act on. */
function verdictOf(
  area: string,
  total: number,
  holders: readonly Holder[],
  busy: readonly BusyPage[],
  allocs: readonly BlameAlloc[],
  unattributed: number,
): string {
  const failed = allocs.filter((a) => a.result === 'fail').length;
  const ended =
    failed > 0 ? ` (${failed} of ${allocs.length} allocation${allocs.length === 1 ? '' : 's'} failed)` : '';
  if (total === 0 && busy.length === 0) return `no busy retries seen in \`${area}\``;
  const top = holders[0];
  if (!top)
    return busy.length > 0
      ? `${total} busy retries in \`${area}\` hit ${busy.length} page${busy.length === 1 ? '' : 's'} with no owner known (turn page_owner on: page_owner=on)${ended}`
      : `${total} busy retries in \`${area}\`, no blocking page named (enable the page_isolation and migrate events, or dyndbg for alloc_contig_dump_pages)${ended}`;
  const who = `pid ${top.pid}${top.comm ? ` (${top.comm})` : ''}`;
  const via = topFrames(top.stack).join(' < ');
  const state =
    top.pinned === true
      ? 'still referenced: pinned'
      : top.pinned === false
        ? 'only referenced, not pinned'
        : 'state unknown';
  const kind = top.kind === 'unknown' || top.kind === 'mixed' ? '' : `${top.kind} `;
  const rest =
    holders.length > 1 ? `; ${holders.length - 1} other holder${holders.length > 2 ? 's' : ''}` : '';
  const unk = unattributed > 0 ? `; ${unattributed} retries unattributed` : '';
  return `${pct(top.share)} of busy retries in \`${area}\` hit ${top.pages} ${kind}page${top.pages === 1 ? '' : 's'} of ${who} allocated via ${via || 'an unknown stack'}, ${state}${rest}${unk}${ended}`;
}
