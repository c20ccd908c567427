// Area configuration: `--area name=reserved,size=16M` strings and `{"areas": [...]}` files,
// validated into AreaSpecs with a clear message for every problem.

import { ConfigSchema } from '../schema/config.ts';
import { validate } from '../schema/issues.ts';
import type { AreaSpec, BusyRange } from './cma.ts';
import type { MachineMemory } from './machine.ts';
import { pcMachine, placeArea, placeMultiRange } from './machine.ts';
import type { BusyOwner } from './page-owner.ts';
import type { KernelProfile } from './profile.ts';

/** Page size of the emulated machine (4 KiB, x86_64 and arm64-4K). */
export const PAGE_SIZE = 4096;
/** pageblock_nr_pages on x86_64: CMA bases are aligned to it. */
export const PAGEBLOCK_PAGES = 512;
/** CMA_MAX_NAME - 1. */
export const CMA_MAX_NAME_LEN = 63;
/** Where unplaced areas are put, top-down: the end of usable RAM of a 512 MiB x86_64 guest. */
const DEFAULT_TOP_PFN = 130048;

/**
 * One past the largest pfn a kernel can have: MAX_PHYSMEM_BITS is 52 on x86_64 (5-level paging)
 * and arm64 (52-bit PA), so pfns stay below 2^(52 - PAGE_SHIFT).
 */
const MAX_PFN = 2 ** 40;
/**
 * Most bits one range's bitmap may have here. The kernel's bitmap_zalloc() takes an unsigned
 * int; the emulator keeps bit numbers in int32 arithmetic, so it stops at 2^31 (8 TiB of pages
 * at order_per_bit 0).
 */
const MAX_RANGE_BITS = 2 ** 31;
/** Most bitmap bits a whole emulated system may hold (512 MiB of bitmaps in memory). */
const MAX_SYSTEM_BITS = 2 ** 32;
/** Largest order_per_bit accepted (hugetlb's gigantic pages use 18 on x86_64 with 1 GiB pages). */
const MAX_ORDER_PER_BIT = 30;

/** First pfn above 4 GiB, where areas too large for low memory are placed. */
const HIGH_START_PFN = 0x100000;

/** The system a 6.1 x86_64 kernel with `cma=16M` and 512 MiB creates. */
export const DEFAULT_AREAS: readonly AreaSpec[] = [
  { name: 'reserved', orderPerBit: 0, ranges: [{ basePfn: 125952, count: 4096 }] },
];

/** A configuration problem, with a message naming it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A requested area before placement: ranges may lack a base. */
export interface AreaRequest {
  readonly name: string;
  readonly orderPerBit: number;
  readonly ranges: readonly { readonly basePfn?: number; readonly count: number }[];
  /** Pinned pages: allocations covering them fail migration with `error` (-16 EBUSY: retried). */
  readonly busy?: readonly BusyRange[];
  /** `cma=SIZE@BASE-LIMIT`: placed within [lo, hi) (pfns) on a known machine. */
  readonly window?: { readonly lo: number; readonly hi: number };
}

/** Parses a non-negative integer (decimal or 0x hex); throws ConfigError naming `what`. */
export function parseNumber(text: string, what: string): number {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new ConfigError(`${what}: '${text}' is not a number`);
  const v = Number(t);
  if (!Number.isSafeInteger(v))
    throw new ConfigError(`${what}: '${text}' is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  return v;
}

/** Parses a size with an optional K/M/G/T suffix (bytes) into pages. */
export function parseSizeToPages(text: string, what: string): number {
  const m = /^\s*(\d+)\s*([kmgt]?)i?b?\s*$/i.exec(text);
  if (!m) throw new ConfigError(`${what}: '${text}' is not a size (use e.g. 16M, 1G, 4096K)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1;
  const bytes = Number(m[1]) * mult;
  if (bytes % PAGE_SIZE !== 0)
    throw new ConfigError(`${what}: '${text}' is not a whole number of 4 KiB pages`);
  return bytes / PAGE_SIZE;
}

/** Parses one `--area` value: `name=N,size=S|count=C[,base_pfn=B][,order_per_bit=K][,range=B:C…]`. */
export function parseAreaOption(text: string): AreaRequest {
  const fields = new Map<string, string[]>();
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new ConfigError(`--area '${text}': '${part}' is not key=value`);
    const key = part.slice(0, eq).trim().replaceAll('-', '_');
    fields.set(key, [...(fields.get(key) ?? []), part.slice(eq + 1)]);
  }
  const known = ['name', 'size', 'count', 'base_pfn', 'order_per_bit', 'range', 'busy'];
  for (const k of fields.keys()) {
    if (!known.includes(k))
      throw new ConfigError(`--area '${text}': unknown key '${k}' (known: ${known.join(', ')})`);
  }
  const one = (k: string): string | undefined => {
    const v = fields.get(k);
    if (v && v.length > 1) throw new ConfigError(`--area '${text}': '${k}' given twice`);
    return v?.[0];
  };
  return areaRequest(
    {
      name: one('name'),
      size: one('size'),
      count: one('count'),
      base_pfn: one('base_pfn'),
      order_per_bit: one('order_per_bit'),
      range: fields.get('range')?.map((r) => {
        const [b, c, extra] = r.split(':');
        if (b === undefined || c === undefined || extra !== undefined)
          throw new ConfigError(`--area '${text}': range '${r}' is not BASE_PFN:COUNT`);
        return { base_pfn: b, count: c };
      }),
      busy: fields.get('busy')?.map((b) => {
        const m = /^([^+:@]+)\+([^+:@]+)(?::(-?\d+))?(?:@(\d+):([^:@]+)(?::(anon|shmem|file))?)?$/.exec(b);
        if (!m)
          throw new ConfigError(
            `--area '${text}': busy '${b}' is not PFN+COUNT[:ERROR][@PID:COMM[:anon|shmem|file]]`,
          );
        return {
          pfn: m[1]!,
          count: m[2]!,
          error: m[3],
          ...(m[4] !== undefined
            ? { owner: { pid: Number(m[4]), comm: m[5]!, kind: (m[6] ?? 'anon') as BusyOwner['kind'] } }
            : {}),
        };
      }),
    },
    `--area '${text}'`,
  );
}

type Raw = string | number | undefined;

function num(v: Raw, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new ConfigError(`${what}: ${v} is not a non-negative integer`);
    return v;
  }
  return parseNumber(v, what);
}

function areaRequest(
  raw: {
    name: Raw;
    size: Raw;
    count: Raw;
    base_pfn: Raw;
    order_per_bit: Raw;
    range: { base_pfn: Raw; count: Raw }[] | undefined;
    busy?: { pfn: Raw; count: Raw; error: Raw; owner?: BusyOwner }[] | undefined;
  },
  where: string,
): AreaRequest {
  const busy = (raw.busy ?? []).map((b, i): BusyRange => {
    const error = b.error === undefined ? -16 : Number(b.error);
    if (!Number.isInteger(error) || error >= 0 || error < -4095)
      throw new ConfigError(`${where}: busy ${i}: error ${b.error} is not a negative errno (e.g. -16)`);
    const count = num(b.count, `${where}: busy ${i} count`)!;
    if (count === 0) throw new ConfigError(`${where}: busy ${i}: count is zero`);
    return {
      pfn: num(b.pfn, `${where}: busy ${i} pfn`)!,
      count,
      error,
      ...(b.owner ? { owner: b.owner } : {}),
    };
  });
  const withBusy = (r: AreaRequest): AreaRequest => (busy.length > 0 ? { ...r, busy } : r);
  if (raw.name === undefined || String(raw.name) === '')
    throw new ConfigError(`${where}: an area needs a name`);
  const name = String(raw.name);
  const orderPerBit = num(raw.order_per_bit, `${where}: order_per_bit`) ?? 0;
  if (orderPerBit > MAX_ORDER_PER_BIT)
    throw new ConfigError(`${where}: order_per_bit ${orderPerBit} is out of range (0..${MAX_ORDER_PER_BIT})`);
  if (raw.range && raw.range.length > 0) {
    if (raw.size !== undefined || raw.count !== undefined || raw.base_pfn !== undefined)
      throw new ConfigError(
        `${where}: give either range=BASE:COUNT entries or size/count/base_pfn, not both`,
      );
    return withBusy({
      name,
      orderPerBit,
      ranges: raw.range.map((r, i) => {
        const count = num(r.count, `${where}: range ${i} count`);
        if (count === undefined) throw new ConfigError(`${where}: range ${i} needs a count`);
        const basePfn = num(r.base_pfn, `${where}: range ${i} base`);
        return basePfn === undefined ? { count } : { basePfn, count };
      }),
    });
  }
  let count: number | undefined;
  if (raw.size !== undefined && raw.count !== undefined)
    throw new ConfigError(`${where}: give size or count, not both`);
  if (raw.size !== undefined)
    count =
      typeof raw.size === 'number'
        ? num(raw.size, `${where}: size`)! / PAGE_SIZE
        : parseSizeToPages(raw.size, `${where}: size`);
  else count = num(raw.count, `${where}: count`);
  if (count === undefined) throw new ConfigError(`${where}: area '${name}' needs size=… or count=…`);
  const basePfn = num(raw.base_pfn, `${where}: base_pfn`);
  return withBusy({ name, orderPerBit, ranges: [basePfn === undefined ? { count } : { basePfn, count }] });
}

/** Parses a config file's JSON text: `{"profile"?: "6.1", "areas": [...]}`. */
export function parseConfigJson(
  text: string,
  file = 'config',
): { profile?: string; mem?: string | number; cmdline?: string; areas: AreaRequest[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const d = validate(ConfigSchema, doc, (m) => {
    throw new ConfigError(`${file}: ${m}`);
  });
  if (d.areas === undefined && d.cmdline === undefined)
    throw new ConfigError(`${file}: areas is missing: expected {"areas": [...]} or {"cmdline": "..."}`);
  const areas = (d.areas ?? []).map((o, i) =>
    areaRequest(
      {
        name: o.name,
        size: o.size,
        count: o.count,
        base_pfn: o.base_pfn ?? o.basePfn,
        order_per_bit: o.order_per_bit ?? o.orderPerBit,
        range: o.ranges?.map((r) => ({ base_pfn: r.base_pfn ?? r.basePfn, count: r.count })),
        busy: o.busy?.map((b) => ({
          pfn: b.pfn,
          count: b.count,
          error: b.error,
          ...(b.owner
            ? { owner: { pid: b.owner.pid, comm: b.owner.comm, kind: b.owner.kind ?? 'anon' } }
            : {}),
        })),
      },
      `${file}: areas[${i}]`,
    ),
  );
  return {
    ...(d.profile === undefined ? {} : { profile: d.profile }),
    ...(d.mem === undefined ? {} : { mem: d.mem }),
    ...(d.cmdline === undefined ? {} : { cmdline: d.cmdline }),
    areas,
  };
}

/** Parses a machine RAM size (`512M`, `6G`, bytes); throws ConfigError naming `what`. */
export function parseMem(value: string | number, what = '--mem'): number {
  const pages = typeof value === 'number' ? value / PAGE_SIZE : parseSizeToPages(value, what);
  if (!Number.isSafeInteger(pages) || pages % 256 !== 0)
    throw new ConfigError(`${what}: '${value}' is not a whole number of MiB`);
  if (pages < 128 * 256) throw new ConfigError(`${what}: '${value}' is less than 128M`);
  if (pages > 2 ** 28) throw new ConfigError(`${what}: '${value}' is more than 1T`);
  return pages;
}

/**
 * An area the kernel did not create (cma_declare_contiguous_nid failed): it prints why and goes
 * on booting without it.
 */
export interface RefusedArea {
  readonly name: string;
  readonly count: number;
  /** Its place among the requested areas (creation order). */
  readonly position: number;
  /** -EINVAL: larger than the limit (or a misaligned fixed base); -ENOMEM: no aligned free range; -EBUSY: a fixed base on reserved memory. */
  readonly error: -22 | -12 | -16;
  /** The limit the size was checked against (pfn). */
  readonly limitPfn: number;
  /** Where the search started (pfn; 0 when not given). */
  readonly basePfn?: number;
  /** The kernel's lines, when they are not the usual ones (cmdline.ts), and why in words. */
  readonly lines?: readonly string[];
  readonly why?: string;
}

/**
 * Checks an area's numbers against what a kernel (and this emulator) can have, before any
 * bitmap is allocated; `fail` gets one line naming the value and its limit (and must throw).
 */
export function checkAreaLimits(
  spec: {
    readonly name: string;
    readonly orderPerBit: number;
    readonly ranges: readonly { basePfn?: number; count: number }[];
  },
  fail: (message: string) => never,
): number {
  const where = `area '${spec.name}'`;
  if (!Number.isSafeInteger(spec.orderPerBit) || spec.orderPerBit < 0 || spec.orderPerBit > MAX_ORDER_PER_BIT)
    fail(`${where}: order_per_bit ${spec.orderPerBit} is out of range (0..${MAX_ORDER_PER_BIT})`);
  let bits = 0;
  spec.ranges.forEach((r, i) => {
    const rw = spec.ranges.length > 1 ? `${where}: range ${i}` : where;
    if (!Number.isSafeInteger(r.count) || r.count < 0 || r.count > MAX_PFN)
      fail(`${rw}: count ${r.count} pages is more than a kernel can have (at most 2^40 = ${MAX_PFN} pages)`);
    if (
      r.basePfn !== undefined &&
      (!Number.isSafeInteger(r.basePfn) || r.basePfn < 0 || r.basePfn + r.count > MAX_PFN)
    )
      fail(
        `${rw}: base_pfn ${r.basePfn} + count ${r.count} ends past the largest pfn a kernel can have (2^40 = ${MAX_PFN})`,
      );
    const rb = Math.floor(r.count / 2 ** spec.orderPerBit);
    if (rb > MAX_RANGE_BITS)
      fail(
        `${rw}: count ${r.count} pages is ${rb} bitmap bits at order_per_bit ${spec.orderPerBit}, more than one bitmap can hold (at most 2^31 = ${MAX_RANGE_BITS} bits)`,
      );
    bits += rb;
  });
  return bits;
}

/** checkAreaLimits over a whole system, plus the total of bitmap bits; returns that total. */
export function checkSystemLimits(
  specs: readonly {
    readonly name: string;
    readonly orderPerBit: number;
    readonly ranges: readonly { basePfn?: number; count: number }[];
  }[],
  fail: (message: string) => never,
): number {
  let total = 0;
  for (const s of specs) total += checkAreaLimits(s, fail);
  if (total > MAX_SYSTEM_BITS)
    fail(
      `the areas need ${total} bitmap bits in all, more than the emulator holds (at most 2^32 = ${MAX_SYSTEM_BITS} bits, 512 MiB)`,
    );
  return total;
}

/**
 * Places areas without a base top-down below DEFAULT_TOP_PFN (as the kernel places `cma=` on a
 * 512 MiB x86_64 machine; `hugetlbN` areas on the profile's hugetlbAlignOrder boundary) and
 * validates the whole set for the profile. With `memPages` (the machine's RAM), areas are placed
 * and refused as the kernel does on that machine (placeAreas); refused ones are left out.
 */
export function resolveAreas(
  requests: readonly AreaRequest[],
  profile: KernelProfile,
  memPages?: number,
): AreaSpec[] {
  return placeAreas(requests, profile, memPages === undefined ? null : pcMachine(memPages)).specs;
}

/**
 * resolveAreas, with the areas the kernel would refuse. Without a `machine`: the 512 MiB
 * machine, where an area too large for it goes above 4 GiB (as if the machine had the RAM) and
 * none is refused. With one: the RAM of an x86_64 qemu `-machine pc` guest (machine.ts), areas
 * placed one after the other as cma_declare_contiguous_nid does, aligned to a pageblock, their
 * bits and, for hugetlbN, the profile's hugetlb page; one that does not fit is refused.
 */
export function placeAreas(
  requests: readonly AreaRequest[],
  profile: KernelProfile,
  machine: MachineMemory | null = null,
): { specs: AreaSpec[]; refused: RefusedArea[] } {
  const fail = (m: string): never => {
    throw new ConfigError(m);
  };
  checkSystemLimits(requests, fail);
  const names = new Set<string>();
  for (const r of requests) {
    if (new TextEncoder().encode(r.name).length > CMA_MAX_NAME_LEN)
      throw new ConfigError(`area '${r.name}': name longer than ${CMA_MAX_NAME_LEN} bytes`);
    if (r.name.includes('/') || r.name === '.' || r.name === '..')
      throw new ConfigError(`area '${r.name}': a name cannot contain '/' or be '.' or '..'`);
    if (names.has(r.name)) throw new ConfigError(`area '${r.name}' is defined twice`);
    names.add(r.name);
    if (r.ranges.length > profile.maxRanges)
      throw new ConfigError(
        `area '${r.name}': ${r.ranges.length} ranges, but profile ${profile.id} allows ${profile.maxRanges} per area`,
      );
    if (r.ranges.length > 1) {
      // cma_declare_contiguous_multi: every range is pageblock-aligned and whole bits
      const unit = 2 ** r.orderPerBit;
      r.ranges.forEach((rg, i) => {
        if (rg.count % unit !== 0)
          throw new ConfigError(
            `area '${r.name}': range ${i} has ${rg.count} pages, not a multiple of 2^${r.orderPerBit} (order_per_bit)`,
          );
        if (rg.basePfn !== undefined && rg.basePfn % Math.max(PAGEBLOCK_PAGES, unit) !== 0)
          throw new ConfigError(
            `area '${r.name}': range ${i} base_pfn ${rg.basePfn} is not aligned to ${Math.max(PAGEBLOCK_PAGES, unit)} pages`,
          );
      });
    }
    for (const rg of r.ranges) {
      if (rg.count === 0) throw new ConfigError(`area '${r.name}': size is zero`);
      if (rg.count < 2 ** r.orderPerBit)
        throw new ConfigError(
          `area '${r.name}': ${rg.count} pages is less than one bit (2^${r.orderPerBit} pages)`,
        );
    }
  }
  const placed: { name: string; basePfn: number; count: number }[] = [];
  for (const r of requests)
    for (const rg of r.ranges)
      if (rg.basePfn !== undefined) placed.push({ name: r.name, basePfn: rg.basePfn, count: rg.count });
  const refused: RefusedArea[] = [];
  const taken = () => placed.map((p) => ({ start: p.basePfn, end: p.basePfn + p.count }));
  let top = DEFAULT_TOP_PFN;
  for (const p of placed)
    if (p.basePfn < top && p.basePfn + p.count > top - 1) top = Math.min(top, p.basePfn);
  const specs: AreaSpec[] = [];
  requests.forEach((r, position) => {
    // hugetlb_cma_reserve aligns its areas to a huge page (6.1) or a gigantic page (6.12+)
    const hugetlb = /^hugetlb\d+$/.test(r.name);
    const hugeAlign = hugetlb ? 2 ** profile.hugetlbAlignOrder : 1;
    const align = Math.max(PAGEBLOCK_PAGES, 2 ** r.orderPerBit, hugeAlign);
    const ranges: { basePfn: number; count: number }[] = [];
    for (const rg of r.ranges) {
      if (rg.basePfn !== undefined) {
        ranges.push({ basePfn: rg.basePfn, count: rg.count });
        continue;
      }
      if (machine) {
        let limit = hugetlb ? machine.end : directMapEnd(machine);
        let lo = 0;
        if (r.window) {
          // cma_declare_contiguous_nid: the window's ends aligned inwards
          lo = Math.ceil(r.window.lo / align) * align;
          limit = Math.min(limit, Math.floor(r.window.hi / align) * align);
        }
        const at = placeArea(machine, taken(), rg.count, align, limit, lo);
        if (!at.ok) {
          // 7.x hugetlb_cma (cma_declare_contiguous_multi): when no one range fits, several may
          const multi =
            at.error === -12 && hugetlb && profile.maxRanges > 1 && r.ranges.length === 1
              ? placeMultiRange(machine, taken(), rg.count, align, profile.maxRanges)
              : null;
          if (multi === null) {
            refused.push({
              name: r.name,
              count: rg.count,
              position,
              error: at.error,
              limitPfn: at.limitPfn,
              ...(lo > 0 ? { basePfn: lo } : {}),
            });
            return;
          }
          for (const m of multi) placed.push({ name: r.name, ...m });
          ranges.push(...multi);
          continue;
        }
        placed.push({ name: r.name, basePfn: at.basePfn, count: rg.count });
        ranges.push({ basePfn: at.basePfn, count: rg.count });
        continue;
      }
      let base = Math.floor((top - rg.count) / align) * align;
      for (;;) {
        const clash = placed.find((p) => base < p.basePfn + p.count && p.basePfn < base + rg.count);
        if (!clash) break;
        base = Math.floor((clash.basePfn - rg.count) / align) * align;
      }
      if (base < 0) {
        // too big for the low 512 MiB: bottom-up from 4 GiB, as x86 does on large machines
        base = Math.ceil(Math.max(HIGH_START_PFN, ...placed.map((p) => p.basePfn + p.count)) / align) * align;
        placed.push({ name: r.name, basePfn: base, count: rg.count });
        ranges.push({ basePfn: base, count: rg.count });
        continue;
      }
      placed.push({ name: r.name, basePfn: base, count: rg.count });
      top = base;
      ranges.push({ basePfn: base, count: rg.count });
    }
    specs.push({ name: r.name, orderPerBit: r.orderPerBit, ...(r.busy ? { busy: r.busy } : {}), ranges });
  });
  for (const spec of specs) {
    for (const b of spec.busy ?? []) {
      const inside = spec.ranges.some(
        (rg) => b.pfn >= rg.basePfn && b.pfn + b.count <= rg.basePfn + rg.count,
      );
      if (!inside)
        throw new ConfigError(
          `area '${spec.name}': busy pages [${b.pfn}, ${b.pfn + b.count}) are outside the area`,
        );
    }
  }
  const all = placed.slice().sort((a, b) => a.basePfn - b.basePfn);
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1]!;
    const b = all[i]!;
    if (a.basePfn + a.count > b.basePfn)
      throw new ConfigError(
        a.name === b.name
          ? `area '${a.name}': ranges [${a.basePfn}, ${a.basePfn + a.count}) and [${b.basePfn}, ${b.basePfn + b.count}) overlap`
          : `areas '${a.name}' [${a.basePfn}, ${a.basePfn + a.count}) and '${b.name}' [${b.basePfn}, ${b.basePfn + b.count}) overlap`,
      );
  }
  checkSystemLimits(specs, fail); // placement may have pushed a base past the largest pfn
  return { specs, refused };
}

/**
 * The limit `cma=` is placed below (dma_contiguous_reserve's max_pfn_mapped): the end of RAM
 * rounded down to 2 MiB, the direct mapping's granule (0x1fe00000 on a 512 MiB guest).
 */
function directMapEnd(machine: MachineMemory): number {
  return Math.floor(machine.end / PAGEBLOCK_PAGES) * PAGEBLOCK_PAGES;
}
