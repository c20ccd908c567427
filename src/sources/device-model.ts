// A device without debugfs (a production kernel, `adb shell` without root, a bug report): what can
// still be known about each CMA area, and how. Names and counters come from
// /sys/kernel/mm/cma/<area>/ (CONFIG_CMA_SYSFS); geometry from the boot log lines matched to the
// areas; free memory from /proc/meminfo, vmstat, zoneinfo and its order distribution from
// /proc/pagetypeinfo; the last failure and, since 6.12, its free runs from the kernel log. Every
// figure says whether it is known (read from a file that states it), inferred (derived or
// matched) or unknown.

import type { CmaArea } from '../core/cma.ts';
import { createArea } from '../core/cma.ts';
import { plainBitmapFactory } from '../core/cma-bitmap.ts';
import type { DeviceLog, LogDump, LogFailure } from './device-log.ts';
import { parseDeviceLog } from './device-log.ts';
import type { Pagetypeinfo, VmstatCma, ZoneInfo } from './proc-files.ts';
import { cmaFreeOrders, meminfoCma, parsePagetypeinfo, parseZoneinfo, vmstatCma } from './proc-files.ts';
import type { CmaTree } from './tree.ts';
import { childNames, isTreeDir, optionalTreeFile, resolveEntry, SourceError, SYSFS_CMA } from './tree.ts';

/** How a figure is known. */
export type Provenance = 'known' | 'inferred' | 'unknown';

/** The fields whose provenance is stated. */
export type DeviceField = 'name' | 'basePfn' | 'count' | 'orderPerBit' | 'used' | 'free' | 'counters';

/** The last failure of an area, from the kernel log. */
export interface DeviceFailure {
  /** Pages asked for (null when only the dump survived the ratelimit). */
  readonly request: number | null;
  /** The error the kernel printed (-12 ENOMEM, -16 EBUSY). */
  readonly ret: number | null;
  /** Free pages at that moment (from the dump), or null without a dump. */
  readonly free: number | null;
  /** Longest free run in pages at that moment (from the dump), or null. */
  readonly maxchunk: number | null;
  /**
   * exhaustion: fewer free pages than asked; fragmentation: enough free pages, no run long enough;
   * other: a run was long enough at align 0 (an aligned request or a page that would not migrate);
   * unknown: no free-range dump.
   */
  readonly verdict: 'exhaustion' | 'fragmentation' | 'other' | 'unknown';
  /** Largest request (align 0) that would have fit: requests of 1..fitsUpTo pages. */
  readonly fitsUpTo: number | null;
  /** Free runs per range: pages and first bit, as printed. */
  readonly runs: readonly (readonly { pages: number; bit: number }[])[] | null;
  /**
   * Bits of each range at that moment (for a picture of the runs), or null without a dump; a
   * range is null when the log does not settle its size (7.x prints no range sizes).
   */
  readonly rangeBits: readonly (number | null)[] | null;
  /** 1-based line in the log. */
  readonly line: number;
  /** One sentence. */
  readonly reason: string;
}

/** One area as a device without debugfs shows it. */
export interface DeviceArea {
  readonly name: string;
  readonly basePfn: number | null;
  readonly count: number | null;
  readonly orderPerBit: number | null;
  /** 7.x: how many ranges the boot line says. */
  readonly ranges: number | null;
  readonly used: number | null;
  readonly free: number | null;
  readonly source: Readonly<Record<DeviceField, Provenance>>;
  /** /sys/kernel/mm/cma/<area>/ files and values (pages). */
  readonly counters: Readonly<Record<string, number>>;
  /** Failure lines of this area in the log (suppressed ones not counted). */
  readonly failures: number;
  readonly lastFailure: DeviceFailure | null;
  /** The area rebuilt from the last failure's dump (bitmap at that moment), for pictures. */
  readonly atLastFailure: CmaArea | null;
  readonly notes: readonly string[];
}

/** CMA figures of the whole system (all areas together). */
export interface DeviceSystem {
  /** meminfo CmaTotal / CmaFree in pages. */
  readonly cmaTotal: number | null;
  readonly cmaFree: number | null;
  readonly vmstat: VmstatCma | null;
  readonly zones: readonly Pick<ZoneInfo, 'node' | 'zone' | 'cma' | 'nrFreeCma'>[];
  /** Free buddy blocks of the CMA migrate type by order (pagetypeinfo), summed over zones. */
  readonly freeBlocksByOrder: readonly number[] | null;
  readonly pageblockOrder: number | null;
  /** CMA pageblocks (pagetypeinfo "Number of blocks type"). */
  readonly cmaPageblocks: number | null;
}

/** What a device without debugfs tells. */
export interface DeviceReport {
  readonly source: string;
  readonly capturedAt: string;
  readonly kernelRelease: string | null;
  readonly areas: DeviceArea[];
  readonly system: DeviceSystem;
  /** Files read (relative to `/`). */
  readonly read: readonly string[];
  /** Files that could not be read, and why (`missing`, `permission denied`, a parse error). */
  readonly unreadable: Readonly<Record<string, string>>;
  /** Lines for the user: missing files, ambiguities. */
  readonly warnings: readonly string[];
  /** The CMA lines of the kernel log (the newest LOG_LINES_MAX), with their 1-based line numbers. */
  readonly logLines: readonly { readonly line: number; readonly text: string }[];
}

/** How many CMA lines of the kernel log a report keeps. */
const LOG_LINES_MAX = 400;

/** The lines of a kernel log about CMA: `cma:`, `hugetlb_cma:`, the `=> N free` line, CmaTotal. */
function cmaLogLines(text: string | undefined): { line: number; text: string }[] {
  if (text === undefined) return [];
  const out: { line: number; text: string }[] = [];
  text.split('\n').forEach((l, i) => {
    if (/\bcma\b|hugetlb_cma|CMA|^(?:\[[^\]]*\]\s*)*=> \d+ free/.test(l))
      out.push({ line: i + 1, text: l.replace(/\r$/, '') });
  });
  return out.slice(-LOG_LINES_MAX);
}

/** The device files worth reading (relative to `/`). */
const DEVICE_FILES = ['proc/meminfo', 'proc/vmstat', 'proc/zoneinfo', 'proc/pagetypeinfo', 'dmesg'] as const;

/** True when the tree has something a device report can use (sysfs areas or device files). */
export function hasDeviceData(tree: CmaTree): boolean {
  if (isTreeDir(tree, SYSFS_CMA) && childNames(tree, SYSFS_CMA).length > 0) return true;
  return tree.device !== undefined && Object.keys(tree.device.files).length > 0;
}

const WHAT_WOULD_TELL =
  'where the pages are is unknown: a cma trace (echo 1 > /sys/kernel/tracing/events/cma/enable; cma-debug replay) or debugfs (CONFIG_CMA_DEBUGFS, as root) would say';

function sysfsCounters(
  tree: CmaTree,
  dir: string,
  unreadable: Record<string, string>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of childNames(tree, dir)) {
    const p = `${dir}/${f}`;
    const e = resolveEntry(tree, p);
    if (!e) continue;
    if (e.entry.type === 'unreadable') {
      unreadable[`sys/${p}`] = e.entry.error;
      continue;
    }
    const text = optionalTreeFile(tree, p);
    if (text === undefined) continue;
    if (!/^\d+\n?$/.test(text)) {
      unreadable[`sys/${p}`] = `not a number: '${text.slice(0, 20).trim()}'`;
      continue;
    }
    out[f] = Number(text.trim());
  }
  return out;
}

function parseOr<T>(
  files: Readonly<Record<string, string>>,
  path: string,
  parse: (text: string, where: string) => T,
  unreadable: Record<string, string>,
  read: string[],
): T | null {
  const text = files[path];
  if (text === undefined) return null;
  try {
    const v = parse(text, path);
    read.push(path);
    return v;
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    unreadable[path] = e.message;
    return null;
  }
}

/**
 * The bits of each range of `last`, an area's newest dump. One range is the whole area. The
 * kernel prints no range sizes (cma_debug_show_areas), but a range is at least as long as its last
 * free run reaches and the ranges add up to the area: when the farthest ends seen in any of the
 * area's dumps (`dumps`) add up to the whole area, they are the sizes. Otherwise each is null.
 */
function dumpRangeBits(dumps: readonly LogDump[], last: LogDump, opb: number): (number | null)[] {
  const unit = 2 ** opb;
  const nr = last.ranges.length;
  const totalBits = Math.floor(last.total / unit);
  if (nr === 1) return [totalBits];
  const ends = new Array<number>(nr).fill(0);
  for (const d of dumps) {
    if (d.ranges.length !== nr || d.total !== last.total) continue;
    d.ranges.forEach((runs, i) => {
      for (const r of runs) ends[i] = Math.max(ends[i]!, r.bit + Math.ceil(r.pages / unit));
    });
  }
  return ends.reduce((a, b) => a + b, 0) === totalBits ? ends : ends.map(() => null);
}

/** The free runs of a dump as an area (bitmap at that moment), when every range's size is known. */
function areaFromDump(
  name: string,
  dump: LogDump,
  opb: number,
  basePfn: number,
  rangeBits: readonly (number | null)[],
): CmaArea | null {
  const unit = 2 ** opb;
  const nr = dump.ranges.length;
  const bits = rangeBits.filter((b): b is number => b !== null);
  if (nr === 0 || bits.length !== nr || bits.some((b) => b <= 0)) return null;
  // pfns after range 0 are not printed: the ranges are laid end to end
  let next = basePfn;
  const area = createArea(
    {
      name,
      orderPerBit: opb,
      ranges: bits.map((b) => {
        const r = { basePfn: next, count: b * unit };
        next += b * unit;
        return r;
      }),
    },
    plainBitmapFactory,
  );
  for (let i = 0; i < nr; i++) {
    const r = area.ranges[i]!;
    r.bitmap.set(0, r.bitmap.maxno);
    for (const run of dump.ranges[i]!) {
      if (run.pages % unit !== 0) return null;
      const n = run.pages / unit;
      if (run.bit + n > r.bitmap.maxno) return null;
      r.bitmap.clear(run.bit, n);
    }
  }
  area.availableCount = dump.free;
  return area;
}

function failureOf(
  f: LogFailure,
  count: number | null,
  rangeBits: DeviceFailure['rangeBits'],
): DeviceFailure {
  const base = { request: f.request, ret: f.ret, line: f.line };
  if (!f.dump) {
    return {
      ...base,
      free: null,
      maxchunk: null,
      verdict: 'unknown',
      fitsUpTo: null,
      runs: null,
      rangeBits: null,
      reason: `no free-range dump after the failure line (6.1 prints one only with CONFIG_CMA_DEBUG); ${WHAT_WOULD_TELL}`,
    };
  }
  const d = f.dump;
  const maxchunk = Math.max(0, ...d.ranges.flat().map((r) => r.pages));
  const free = d.free;
  const req = f.request;
  let verdict: DeviceFailure['verdict'];
  let reason: string;
  if (req === null) {
    verdict = 'unknown';
    reason = `the failure line was suppressed by the ratelimit; at that moment ${free} pages were free, the longest run ${maxchunk}`;
  } else if (req > free) {
    verdict = 'exhaustion';
    reason = `needs ${req} pages but only ${free} were free${count !== null && req > count ? ` (the area has ${count})` : ''}`;
  } else if (req > maxchunk) {
    verdict = 'fragmentation';
    reason = `${free} pages were free, but the longest free run was ${maxchunk} pages`;
  } else {
    verdict = 'other';
    reason = `a free run of ${maxchunk} pages was long enough at align 0: the request was aligned, or a page in the way could not be migrated (ret ${f.ret})`;
  }
  return { ...base, free, maxchunk, verdict, fitsUpTo: maxchunk, runs: d.ranges, rangeBits, reason };
}

/** Builds the per-area report of a device from a tree (sysfs) and its device files. */
export function deviceReport(tree: CmaTree): DeviceReport {
  const unreadable: Record<string, string> = { ...(tree.device?.unreadable ?? {}) };
  const read: string[] = [];
  const warnings: string[] = [];
  const files = tree.device?.files ?? {};

  // sysfs: the names and counters
  const sysfsEntry = resolveEntry(tree, SYSFS_CMA);
  if (sysfsEntry?.entry.type === 'unreadable') unreadable[`sys/${SYSFS_CMA}`] = sysfsEntry.entry.error;
  else if (!sysfsEntry) unreadable[`sys/${SYSFS_CMA}`] = 'missing';
  const sysfsNames = isTreeDir(tree, SYSFS_CMA)
    ? childNames(tree, SYSFS_CMA).filter((n) => isTreeDir(tree, `${SYSFS_CMA}/${n}`))
    : [];
  if (isTreeDir(tree, SYSFS_CMA)) read.push(`sys/${SYSFS_CMA}`);

  const log: DeviceLog | null = parseOr(files, 'dmesg', parseDeviceLog, unreadable, read);
  const mem = parseOr(files, 'proc/meminfo', meminfoCma, unreadable, read);
  const vm = parseOr(files, 'proc/vmstat', vmstatCma, unreadable, read);
  const zones = parseOr(files, 'proc/zoneinfo', parseZoneinfo, unreadable, read);
  const pti: Pagetypeinfo | null = parseOr(files, 'proc/pagetypeinfo', parsePagetypeinfo, unreadable, read);
  for (const f of DEVICE_FILES)
    if (files[f] === undefined && unreadable[f] === undefined) unreadable[f] = 'missing';

  // the names: sysfs (known), else the log (inferred)
  const names: { name: string; known: boolean }[] = sysfsNames.map((n) => ({
    name: n.replaceAll('!', '/'),
    known: true,
  }));
  if (names.length === 0 && log) {
    const seen = new Set<string>();
    const add = (n: string) => {
      if (!seen.has(n)) names.push({ name: n, known: false });
      seen.add(n);
    };
    for (const r of log.reservations) if (r.name) add(r.name);
    for (const h of log.hugetlb) add(h.name);
    for (const f of log.failures) if (f.area) add(f.area);
    const unnamed = log.reservations.filter((r) => r.name === null && !isHugetlbReservation(log, r.line));
    if (unnamed.length === 1 && !seen.has('reserved') && names.every((n) => /^hugetlb\d+$/.test(n.name)))
      add('reserved');
    if (names.length > 0) warnings.push('no /sys/kernel/mm/cma: area names are taken from the kernel log');
  }

  // geometry from the boot log
  const geometry = matchGeometry(
    names.map((n) => n.name),
    log,
    (n) => counterOf(tree, n, 'total_pages'),
    warnings,
  );

  const single = names.length === 1;
  const areas = names.map(({ name, known }): DeviceArea => {
    const counters = sysfsCounters(tree, `${SYSFS_CMA}/${name.replaceAll('/', '!')}`, unreadable);
    const g = geometry.get(name);
    const notes: string[] = [];
    const source: Record<DeviceField, Provenance> = {
      name: known ? 'known' : 'inferred',
      basePfn: 'unknown',
      count: 'unknown',
      orderPerBit: 'unknown',
      used: 'unknown',
      free: 'unknown',
      counters: Object.keys(counters).length > 0 ? 'known' : 'unknown',
    };
    let count: number | null = null;
    if (counters.total_pages !== undefined) {
      count = counters.total_pages;
      source.count = 'known';
    } else if (g?.count != null) {
      count = g.count;
      source.count = 'inferred';
    }
    let basePfn: number | null = null;
    if (g?.basePfn != null) {
      basePfn = g.basePfn;
      source.basePfn = 'inferred';
    }
    // hugetlb_cma_reserve uses order_per_bit = HUGETLB_PAGE_ORDER (9 with 4 KiB pages);
    // dma_contiguous_reserve and reserved-memory pools use 0
    const orderPerBit = /^hugetlb\d+$/.test(name) ? 9 : 0;
    source.orderPerBit = 'inferred';
    // free and used
    let free: number | null = null;
    let used: number | null = null;
    if (counters.available_pages !== undefined) {
      free = counters.available_pages;
      source.free = 'known';
    } else if (single && mem) {
      free = mem.free;
      source.free = 'inferred';
      notes.push(
        'free pages: CmaFree of /proc/meminfo (the only area; pages of other CMA users would count too)',
      );
    }
    if (count !== null && counters.available_pages !== undefined) {
      used = count - counters.available_pages;
      source.used = source.count === 'known' ? 'known' : 'inferred';
    } else if (counters.release_pages_success !== undefined && counters.alloc_pages_success !== undefined) {
      used = counters.alloc_pages_success - counters.release_pages_success;
      source.used = 'inferred';
      notes.push(
        `used pages: alloc_pages_success - release_pages_success${orderPerBit > 0 ? ' (exact pages; debugfs used counts whole bits of 2^order_per_bit pages)' : ''}`,
      );
    } else if (count !== null && free !== null) {
      used = count - free;
      source.used = 'inferred';
    }
    if (free === null && count !== null && used !== null) {
      free = count - used;
      source.free = 'inferred';
    }
    if (single && mem && count === null && mem.total > 0) {
      count = mem.total;
      source.count = 'inferred';
      notes.push('size: CmaTotal of /proc/meminfo (the only area)');
    }
    // the last failure
    const mine = (log?.failures ?? []).filter(
      (f) =>
        f.area === name ||
        (f.area === null && f.func !== null && single) ||
        (f.area === null &&
          f.func === null &&
          f.dump !== null &&
          (single || (count !== null && f.dump.total === count))),
    );
    const last = mine[mine.length - 1];
    const dumps = mine.flatMap((f) => (f.dump ? [f.dump] : []));
    const rangeBits = last?.dump ? dumpRangeBits(dumps, last.dump, orderPerBit) : null;
    const lastFailure = last ? failureOf(last, count, rangeBits) : null;
    let atLastFailure: CmaArea | null = null;
    if (last?.dump && rangeBits) {
      atLastFailure = areaFromDump(name, last.dump, orderPerBit, basePfn ?? 0, rangeBits);
      if (rangeBits.length > 1 && rangeBits.includes(null))
        notes.push(
          `the ${rangeBits.length} ranges' sizes are not in the log (the kernel prints only their free runs): each range is drawn up to its last free run`,
        );
      if (count === null) {
        count = last.dump.total;
        source.count = 'inferred';
      }
    }
    // without a dump nothing says where the pages are (6.1's failure reason says it already)
    if (!last) notes.push(WHAT_WOULD_TELL);
    return {
      name,
      basePfn,
      count,
      orderPerBit,
      ranges: g?.ranges ?? null,
      used,
      free,
      source,
      counters,
      failures: mine.filter((f) => f.func !== null).length,
      lastFailure,
      atLastFailure,
      notes,
    };
  });

  if (log && log.suppressed > 0)
    warnings.push(`the ratelimit suppressed ${log.suppressed} failure line(s): counts from the log are low`);
  if (names.length === 0)
    warnings.push('no CMA area found: no /sys/kernel/mm/cma and no CMA lines in the kernel log');
  const orders = pti ? cmaFreeOrders(pti) : null;
  const blocks = pti?.zones.map((z) => z.cmaBlocks).filter((b): b is number => b !== null) ?? [];
  return {
    source: tree.source,
    capturedAt: tree.capturedAt,
    kernelRelease: tree.kernelRelease,
    areas,
    system: {
      cmaTotal: mem?.total ?? null,
      cmaFree: mem?.free ?? null,
      vmstat: vm,
      zones: (zones ?? []).map((z) => ({ node: z.node, zone: z.zone, cma: z.cma, nrFreeCma: z.nrFreeCma })),
      freeBlocksByOrder: orders?.blocksByOrder ?? null,
      pageblockOrder: pti?.pageblockOrder ?? null,
      cmaPageblocks: blocks.length > 0 ? blocks.reduce((s, b) => s + b, 0) : null,
    },
    read,
    unreadable,
    warnings,
    logLines: cmaLogLines(files.dmesg),
  };
}

/** One area as JSON (`analyze --json`, GET /api/device): every figure but the rebuilt area. */
export function deviceAreaJson(a: DeviceArea): Omit<DeviceArea, 'atLastFailure'> {
  return {
    name: a.name,
    basePfn: a.basePfn,
    count: a.count,
    orderPerBit: a.orderPerBit,
    ranges: a.ranges,
    used: a.used,
    free: a.free,
    source: { ...a.source },
    counters: { ...a.counters },
    failures: a.failures,
    lastFailure: a.lastFailure,
    notes: a.notes,
  };
}

/**
 * True when the report shows a failed allocation: an area whose sysfs `alloc_pages_fail` is above 0
 * or whose failure the kernel log holds; without any per-area sysfs counters (no
 * CONFIG_CMA_SYSFS), /proc/vmstat's `cma_alloc_fail` above 0. Unreadable files alone are not a
 * finding.
 */
export function showsFailures(r: DeviceReport): boolean {
  if (r.areas.some((a) => (a.counters.alloc_pages_fail ?? 0) > 0 || a.lastFailure !== null)) return true;
  const sysfs = r.areas.some((a) => Object.keys(a.counters).length > 0);
  return !sysfs && (r.system.vmstat?.allocFail ?? 0) > 0;
}

function counterOf(tree: CmaTree, name: string, file: string): number | null {
  const t = optionalTreeFileSafe(tree, `${SYSFS_CMA}/${name.replaceAll('/', '!')}/${file}`);
  return t !== undefined && /^\d+\n?$/.test(t) ? Number(t.trim()) : null;
}

function optionalTreeFileSafe(tree: CmaTree, p: string): string | undefined {
  const e = resolveEntry(tree, p);
  return e?.entry.type === 'file' ? e.entry.text : undefined;
}

/** True when the reservation at `line` is followed by a `hugetlb_cma: reserved` line (its area). */
function isHugetlbReservation(log: DeviceLog, line: number): boolean {
  return hugetlbOfReservation(log, line) !== undefined;
}

function hugetlbOfReservation(log: DeviceLog, line: number): string | undefined {
  const next = log.reservations.find((r) => r.line > line);
  const h = log.hugetlb.find((x) => x.line > line && (next === undefined || x.line < next.line));
  return h?.name;
}

/** Boot lines matched to area names: hugetlb lines by node, device-tree names, then sizes. */
function matchGeometry(
  names: string[],
  log: DeviceLog | null,
  totalOf: (name: string) => number | null,
  warnings: string[],
): Map<string, { basePfn: number | null; count: number | null; ranges: number | null }> {
  const out = new Map<string, { basePfn: number | null; count: number | null; ranges: number | null }>();
  if (!log) return out;
  const left = [...log.reservations];
  const take = (name: string, i: number) => {
    const r = left.splice(i, 1)[0]!;
    out.set(name, { basePfn: r.basePfn, count: r.pages, ranges: r.ranges });
  };
  for (const name of names) {
    const i = left.findIndex((r) => r.name === name || hugetlbOfReservation(log, r.line) === name);
    if (i >= 0) take(name, i);
  }
  let rest = names.filter((n) => !out.has(n));
  // by size where sysfs says it (7.x total_pages), or by the size a failure dump printed
  for (const name of rest) {
    const dumpTotal = log.failures.find((f) => f.area === name && f.dump)?.dump?.total ?? null;
    const size = totalOf(name) ?? dumpTotal;
    if (size === null) continue;
    const cands = left.filter((r) => r.pages === size && r.name === null);
    if (cands.length === 1) take(name, left.indexOf(cands[0]!));
  }
  rest = names.filter((n) => !out.has(n));
  const unnamed = left.filter((r) => r.name === null && hugetlbOfReservation(log, r.line) === undefined);
  if (rest.length === 1 && unnamed.length === 1) take(rest[0]!, left.indexOf(unnamed[0]!));
  else if (rest.length > 0 && unnamed.length > 0)
    warnings.push(
      `cannot tell which boot line belongs to ${rest.join(', ')}: ${unnamed.length} "cma: Reserved" lines for ${rest.length} areas`,
    );
  for (const h of log.hugetlb)
    if (names.includes(h.name) && !out.has(h.name))
      out.set(h.name, { basePfn: null, count: h.pages, ranges: null });
  return out;
}
