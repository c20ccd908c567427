// Parsers of the /proc files a production kernel offers without debugfs: meminfo (CmaTotal,
// CmaFree), vmstat (nr_free_cma, cma_alloc_success/fail), zoneinfo (nr_free_cma and cma pages per
// zone) and pagetypeinfo (free blocks per order of the CMA migrate type, CMA pageblocks).
// Every parser is lenient about lines it does not know and strict about the ones it reads:
// a malformed line it needs is an error naming the file and the line.

import { SourceError } from './tree.ts';

/** /proc/meminfo: every `Key: value [kB]` line, values in kB (HugePages_* are counts). */
export function parseMeminfo(text: string, where = 'proc/meminfo'): Record<string, number> {
  const out: Record<string, number> = {};
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?: kB)?\s*$/.exec(line);
    if (!m) throw new SourceError(`${where}:${i + 1}: '${line.slice(0, 60)}' is not 'Key: value'`);
    out[m[1]!] = Number(m[2]);
  });
  return out;
}

/** The CMA figures of /proc/meminfo in pages (4 KiB), or null when the kernel has no CMA lines. */
export function meminfoCma(text: string, where = 'proc/meminfo'): { total: number; free: number } | null {
  const m = parseMeminfo(text, where);
  if (m.CmaTotal === undefined || m.CmaFree === undefined) return null;
  return { total: m.CmaTotal / 4, free: m.CmaFree / 4 };
}

/** /proc/vmstat: `name value` per line. */
export function parseVmstat(text: string, where = 'proc/vmstat'): Record<string, number> {
  const out: Record<string, number> = {};
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^(\w+) (-?\d+)$/.exec(line.trim());
    if (!m) throw new SourceError(`${where}:${i + 1}: '${line.slice(0, 60)}' is not 'name value'`);
    out[m[1]!] = Number(m[2]);
  });
  return out;
}

/** The CMA lines of /proc/vmstat (null where the kernel does not print them). */
export interface VmstatCma {
  readonly nrFreeCma: number | null;
  readonly allocSuccess: number | null;
  readonly allocFail: number | null;
}

export function vmstatCma(text: string, where = 'proc/vmstat'): VmstatCma {
  const v = parseVmstat(text, where);
  return {
    nrFreeCma: v.nr_free_cma ?? null,
    allocSuccess: v.cma_alloc_success ?? null,
    allocFail: v.cma_alloc_fail ?? null,
  };
}

/** One zone of /proc/zoneinfo. */
export interface ZoneInfo {
  readonly node: number;
  readonly zone: string;
  /** `pages free`. */
  readonly free: number | null;
  /** `managed`, `present`, `spanned` pages. */
  readonly managed: number | null;
  /** `cma`: pages of CMA areas in the zone (zone_cma_pages; absent on old kernels). */
  readonly cma: number | null;
  /** `nr_free_cma`: free CMA pages of the zone (absent for empty zones). */
  readonly nrFreeCma: number | null;
  readonly startPfn: number | null;
}

/** /proc/zoneinfo: the zones with their CMA figures. */
export function parseZoneinfo(text: string, where = 'proc/zoneinfo'): ZoneInfo[] {
  const zones: ZoneInfo[] = [];
  let cur: { -readonly [K in keyof ZoneInfo]: ZoneInfo[K] } | null = null;
  const num = (v: string, i: number) => {
    if (!/^\d+$/.test(v)) throw new SourceError(`${where}:${i + 1}: '${v}' is not a number`);
    return Number(v);
  };
  text.split('\n').forEach((line, i) => {
    const h = /^Node (\d+), zone\s+(\S+)\s*$/.exec(line);
    if (h) {
      cur = {
        node: Number(h[1]),
        zone: h[2]!,
        free: null,
        managed: null,
        cma: null,
        nrFreeCma: null,
        startPfn: null,
      };
      zones.push(cur);
      return;
    }
    if (!cur) {
      if (line.trim() !== '')
        throw new SourceError(`${where}:${i + 1}: expected 'Node N, zone NAME', got '${line.slice(0, 60)}'`);
      return;
    }
    const m = /^\s+(pages free|managed|cma|nr_free_cma|start_pfn:)\s+(\S+)\s*$/.exec(line);
    if (!m) return;
    const v = num(m[2]!, i);
    const z: { -readonly [K in keyof ZoneInfo]: ZoneInfo[K] } = cur;
    if (m[1] === 'pages free') z.free = v;
    else if (m[1] === 'managed') z.managed = v;
    else if (m[1] === 'cma') z.cma = v;
    else if (m[1] === 'nr_free_cma') z.nrFreeCma = v;
    else z.startPfn = v;
  });
  return zones;
}

/** The CMA part of /proc/pagetypeinfo for one zone. */
export interface PagetypeZone {
  readonly node: number;
  readonly zone: string;
  /** Free blocks of the CMA migrate type per order (index = order), or null without a CMA row. */
  readonly cmaFreeByOrder: number[] | null;
  /** Pageblocks of the CMA migrate type, or null when the table has no CMA column. */
  readonly cmaBlocks: number | null;
}

/** /proc/pagetypeinfo: page block order and the CMA rows of both tables. */
export interface Pagetypeinfo {
  readonly pageblockOrder: number | null;
  readonly zones: PagetypeZone[];
}

export function parsePagetypeinfo(text: string, where = 'proc/pagetypeinfo'): Pagetypeinfo {
  let pageblockOrder: number | null = null;
  const zones = new Map<
    string,
    { node: number; zone: string; cmaFreeByOrder: number[] | null; cmaBlocks: number | null }
  >();
  const zoneOf = (node: number, zone: string) => {
    const key = `${node}/${zone}`;
    let z = zones.get(key);
    if (!z) {
      z = { node, zone, cmaFreeByOrder: null, cmaBlocks: null };
      zones.set(key, z);
    }
    return z;
  };
  let blockTypes: string[] | null = null;
  let sawFreeHeader = false;
  text.split('\n').forEach((line, i) => {
    let m = /^Page block order: (\d+)/.exec(line);
    if (m) {
      pageblockOrder = Number(m[1]);
      return;
    }
    if (/^Free pages count per migrate type at order/.test(line)) {
      sawFreeHeader = true;
      blockTypes = null;
      return;
    }
    m = /^Number of blocks type\s+(.*)$/.exec(line);
    if (m) {
      blockTypes = m[1]!.trim().split(/\s+/);
      return;
    }
    if (/^Number of mixed blocks/.test(line)) {
      blockTypes = null;
      return;
    }
    m = /^Node\s+(\d+), zone\s+(\S+), type\s+(\S+)\s+(.*)$/.exec(line);
    if (m) {
      if (m[3] !== 'CMA') return;
      const counts = m[4]!.trim().split(/\s+/);
      if (!counts.every((c) => /^\d+$/.test(c)))
        throw new SourceError(
          `${where}:${i + 1}: free block counts are not numbers: '${m[4]!.trim().slice(0, 60)}'`,
        );
      zoneOf(Number(m[1]), m[2]!).cmaFreeByOrder = counts.map(Number);
      return;
    }
    m = /^Node\s+(\d+), zone\s+(\S+)\s+([\d\s]+)$/.exec(line);
    if (m && blockTypes) {
      const counts = m[3]!.trim().split(/\s+/).map(Number);
      const k = blockTypes.indexOf('CMA');
      const z = zoneOf(Number(m[1]), m[2]!);
      if (k >= 0) {
        if (counts[k] === undefined)
          throw new SourceError(`${where}:${i + 1}: no CMA column in '${line.trim().slice(0, 60)}'`);
        z.cmaBlocks = counts[k]!;
      }
    }
  });
  if (!sawFreeHeader && pageblockOrder === null)
    throw new SourceError(`${where}: not a pagetypeinfo file (no 'Page block order' line)`);
  return { pageblockOrder, zones: [...zones.values()] };
}

/** Free CMA pages held in blocks of each order (summed over zones), and their total. */
export function cmaFreeOrders(p: Pagetypeinfo): { blocksByOrder: number[]; pages: number } | null {
  const rows = p.zones.map((z) => z.cmaFreeByOrder).filter((r): r is number[] => r !== null);
  if (rows.length === 0) return null;
  const n = Math.max(...rows.map((r) => r.length));
  const blocksByOrder = Array.from({ length: n }, (_, o) => rows.reduce((s, r) => s + (r[o] ?? 0), 0));
  return { blocksByOrder, pages: blocksByOrder.reduce((s, c, o) => s + c * 2 ** o, 0) };
}
