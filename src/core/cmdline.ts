// The kernel command line's words that decide the CMA areas of an x86_64 boot: `cma=` (the
// `reserved` area, kernel/dma/contiguous.c), `hugetlb_cma=` (the hugetlbN areas) and
// `memmap=SIZE$ADDR` (RAM the e820 map marks reserved, so no area can use it). Other words are
// left to the kernel (console=, tsc=…), except those that move memory in ways the machine model
// does not know (NUMA, boot-time huge pages, crash kernels): those are refused, so a placement is
// never silently wrong. Measured on the three oracles: test/fixtures/ram-placement/cmdline/.

import type { AreaRequest, RefusedArea } from './config.ts';
import { ConfigError, PAGE_SIZE, PAGEBLOCK_PAGES } from './config.ts';
import type { MachineMemory, Span } from './machine.ts';
import { DEFAULT_MEM_PAGES } from './machine.ts';
import type { KernelProfile } from './profile.ts';

/** HUGETLB_PAGE_ORDER on x86_64: a hugetlb_cma area's order_per_bit. */
const HUGETLB_PAGE_ORDER = 9;
/** A gigantic page (PUD) in bytes: hugetlb_cma's unit. */
const GIGANTIC = 2n ** 30n;
const MIB = 2n ** 20n;
const PAGE = BigInt(PAGE_SIZE);

/** Words that change memory or CMA in ways the model does not follow. */
const NOT_MODELLED: Readonly<Record<string, string>> = {
  numa: 'NUMA nodes',
  cma_pernuma: 'per-node CMA areas',
  numa_cma: 'per-node CMA areas',
  mem: 'a RAM limit',
  memmap_exactmap: 'a RAM map',
  hugepages: 'boot-time huge pages',
  hugepagesz: 'boot-time huge pages',
  default_hugepagesz: 'boot-time huge pages',
  crashkernel: 'a crash kernel reservation',
  kernelcore: 'a movable zone',
  movablecore: 'a movable zone',
};

/** `cma=SIZE[@BASE[-LIMIT]]` in bytes (early_cma): SIZE@BASE alone is a fixed base. */
interface CmaWord {
  /** The word as given, for messages. */
  readonly word: string;
  readonly size: bigint;
  readonly base: bigint;
  /** 0: none (placed anywhere below the direct map's end). */
  readonly limit: bigint;
}

/** `hugetlb_cma=SIZE`, `=0:SIZE` (a node's size: no announcement) or, on 7.x, `=N%` of RAM. */
type HugetlbWord =
  | { readonly bytes: bigint; readonly perNode: boolean }
  | { readonly percent: number; readonly perNode: false }
  | { readonly invalid: string };

/** What a command line says about the CMA areas and the RAM. */
export interface BootParams {
  /** The line as given (dmesg prints it as `Command line:` and `Kernel command line:`). */
  readonly cmdline: string;
  readonly cma: CmaWord | null;
  readonly hugetlb: HugetlbWord | null;
  /** RAM taken out by memmap= (pfns). */
  readonly holes: readonly Span[];
}

/** The boot lines a command line adds to those of the areas (system.ts bootLog). */
export interface BootLogInfo {
  readonly cmdline: string;
  /** What reading the command line printed (right after `Command line:`). */
  readonly early?: readonly string[];
  /** 7.x prints `cma=`'s size as asked (17 MiB), not as reserved (18). */
  readonly reservedMiB?: number;
  /** hugetlb_cma's first line (null: none, as for `=0:SIZE`); absent: made from the areas. */
  readonly hugetlbAnnounce?: string | null;
  /** hugetlb_cma's warning when it reserves nothing (too small, not whole gigantic pages). */
  readonly hugetlbWarning?: string;
}

/** The areas a command line asks for on a machine, those refused before placement, its lines. */
export interface BootPlan {
  readonly requests: AreaRequest[];
  readonly refused: RefusedArea[];
  readonly log: BootLogInfo;
}

/**
 * memparse(): a number as simple_strtoull(s, 0) reads it (0x hex, 0 octal, else decimal), then an
 * optional K/M/G/T/P/E suffix. Returns the value and the rest, or null when no digit starts `s`.
 */
export function memparse(s: string): { value: bigint; rest: string } | null {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))/.exec(s);
  if (!m) return null;
  let value =
    m[1] !== undefined
      ? BigInt(`0x${m[1]}`)
      : m[2] !== undefined
        ? BigInt(`0o${m[2] || '0'}`)
        : BigInt(m[3]!);
  let rest = s.slice(m[0].length);
  const shift = { k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n }[rest[0]?.toLowerCase() ?? ''];
  if (shift !== undefined) {
    value <<= shift;
    rest = rest.slice(1);
  }
  return { value: BigInt.asUintN(64, value), rest };
}

/**
 * Reads a kernel command line for `profile`. Throws ConfigError for a CMA word it cannot read
 * and for words the model does not follow (NOT_MODELLED). The last `cma=` and `hugetlb_cma=`
 * win, as the kernel's early_param handlers overwrite what an earlier one set.
 */
export function parseCmdline(cmdline: string, profile: KernelProfile): BootParams {
  let cma: CmaWord | null = null;
  let hugetlb: HugetlbWord | null = null;
  const holes: Span[] = [];
  for (const word of cmdline.trim().split(/\s+/)) {
    if (word === '') continue;
    const eq = word.indexOf('=');
    const key = (eq < 0 ? word : word.slice(0, eq)).replaceAll('-', '_');
    const value = eq < 0 ? '' : word.slice(eq + 1);
    const why = NOT_MODELLED[key === 'memmap' && value === 'exactmap' ? 'memmap_exactmap' : key];
    if (why !== undefined)
      throw new ConfigError(`--cmdline: '${word}' sets ${why}, which the emulated machine does not model`);
    if (key === 'cma') cma = parseCma(value, word);
    else if (key === 'hugetlb_cma') hugetlb = parseHugetlbCma(value, word, profile);
    else if (key === 'memmap') holes.push(...parseMemmap(value, word));
  }
  return { cmdline: cmdline.trim(), cma, hugetlb, holes };
}

/**
 * The RAM the oracles' run.sh gives a boot (qemu -m), in pages: 512 MiB, or, when hugetlb_cma=
 * is on the line, 3 GiB for 6.1 and 6 GiB for 6.12 and 7.x (a 1 GiB-aligned area needs it).
 */
export function defaultMemPages(params: BootParams, profile: KernelProfile): number {
  if (!params.cmdline.includes('hugetlb_cma')) return DEFAULT_MEM_PAGES;
  return (profile.hugetlbAlignOrder >= 18 ? 6 : 3) * 1024 * 256;
}

/** The areas `params` ask for on `machine`, in declaration order: `reserved`, then hugetlb0. */
export function planBoot(params: BootParams, profile: KernelProfile, machine: MachineMemory): BootPlan {
  const requests: AreaRequest[] = [];
  const refused: RefusedArea[] = [];
  let log: BootLogInfo = { cmdline: params.cmdline };
  const onNode = profile.reservedLogStyle === 'at-address-on-node' ? ' on node -1' : '';
  const cma = params.cma;
  if (cma !== null && cma.size > 0n) {
    // cma_declare_contiguous_nid: the size rounded up to a pageblock; 7.x logs it as asked
    const align = BigInt(PAGEBLOCK_PAGES) * PAGE;
    const count = pages(((cma.size + align - 1n) / align) * align);
    const askedMiB = Number(cma.size / MIB);
    if (profile.reservedLogStyle === 'in-ranges') log = { ...log, reservedMiB: askedMiB };
    const fixed = cma.limit !== 0n && cma.base + cma.size === cma.limit;
    const hex = (b: bigint) => `0x${b.toString(16).padStart(16, '0')}`;
    const refuse = (error: -22 | -16, why: string, lines: string[]) =>
      refused.push({ name: 'reserved', count, position: 0, error, limitPfn: 0, lines, why });
    if (fixed && cma.base % align !== 0n)
      refuse(-22, 'its base is not aligned to 2 MiB', [
        `cma: Region at ${hex(cma.base)} must be aligned to ${hex(align)} bytes`,
        `cma: Failed to reserve ${askedMiB} MiB${onNode}`,
      ]);
    else if (fixed) {
      const base = pages(cma.base);
      // the limit is the direct map's end (RAM's, 2 MiB-aligned down)
      const limit = Math.floor(machine.end / PAGEBLOCK_PAGES) * PAGEBLOCK_PAGES;
      const inRam = machine.ram.some((r) => r.start <= base && base + count <= r.end);
      // the 7.3 oracle oopses at boot on `cma=16M@3G` with 12 GiB (activating pages that have no
      // struct page): not a system to emulate
      if (!inRam && base + count <= limit)
        throw new ConfigError(
          `--cmdline: '${cma.word}' is not all RAM on this machine: the kernel crashes at boot activating it`,
        );
      if (base + count > limit)
        refuse(-22, 'it ends past the direct map', [
          `cma: Size (${hex(BigInt(count) * PAGE)}) of region at ${hex(cma.base)} exceeds limit (${hex(BigInt(limit) * PAGE)})`,
          `cma: Failed to reserve ${askedMiB} MiB${onNode}`,
        ]);
      // memblock_is_region_reserved(): the kernel, the initrd, the early page tables
      else if (machine.reserved.some((r) => r.start < base + count && base < r.end))
        refuse(-16, 'its base is in memory the kernel has reserved', [
          `cma: Failed to reserve ${askedMiB} MiB${onNode}`,
        ]);
      else requests.push({ name: 'reserved', orderPerBit: 0, ranges: [{ basePfn: base, count }] });
    } else
      requests.push({
        name: 'reserved',
        orderPerBit: 0,
        ranges: [{ count }],
        ...(cma.limit !== 0n ? { window: { lo: pages(cma.base), hi: pages(cma.limit) } } : {}),
      });
  }
  const h = params.hugetlb;
  if (h !== null && 'invalid' in h) log = { ...log, early: [h.invalid] };
  else if (h !== null) {
    const sized = hugetlbSize(h, profile, machine);
    if ('warning' in sized) log = { ...log, hugetlbWarning: sized.warning };
    else if (sized.bytes > 0n) {
      log = { ...log, hugetlbAnnounce: sized.announce };
      requests.push({
        name: 'hugetlb0',
        orderPerBit: HUGETLB_PAGE_ORDER,
        ranges: [{ count: pages(sized.bytes) }],
      });
    }
  }
  return { requests, refused, log };
}

/** hugetlb_cma_reserve()'s size for node 0 and its first line, or the warning that ends it. */
function hugetlbSize(
  h: Exclude<HugetlbWord, { invalid: string }>,
  profile: KernelProfile,
  machine: MachineMemory,
): { bytes: bigint; announce: string | null } | { warning: string } {
  const unitMiB = GIGANTIC / MIB;
  if ('percent' in h) {
    const ram = BigInt(machine.ram.reduce((n, s) => n + s.end - s.start, 0)) * PAGE;
    const asked = (ram * BigInt(h.percent)) / 100n;
    const bytes = (asked / GIGANTIC) * GIGANTIC;
    if (bytes === 0n)
      return {
        warning: `hugetlb_cma: reservation size rounded down to 0 from ${asked / MIB} MiB (${h.percent}%)`,
      };
    const mib = bytes / MIB;
    return { bytes, announce: `hugetlb_cma: reserve ${mib} MiB (${h.percent}%), up to ${mib} MiB per node` };
  }
  if (h.bytes === 0n) return { bytes: 0n, announce: null };
  // 7.x refuses a size that is not whole gigantic pages; 6.1 and 6.12 refuse less than one and
  // round the rest up
  const of = h.perNode ? ' of node 0' : '';
  if (profile.maxRanges > 1 && h.bytes % GIGANTIC !== 0n)
    return { warning: `hugetlb_cma: cma area${of} must be a multiple of ${unitMiB} MiB` };
  if (h.bytes < GIGANTIC) return { warning: `hugetlb_cma: cma area${of} should be at least ${unitMiB} MiB` };
  const bytes = ((h.bytes + GIGANTIC - 1n) / GIGANTIC) * GIGANTIC;
  return {
    bytes,
    announce: h.perNode
      ? null
      : `hugetlb_cma: reserve ${h.bytes / MIB} MiB, up to ${bytes / MIB} MiB per node`,
  };
}

function pages(bytes: bigint): number {
  const n = Number(bytes / PAGE);
  if (!Number.isSafeInteger(n) || n > 2 ** 40)
    throw new ConfigError(`--cmdline: ${bytes} bytes is too large`);
  return n;
}

function parseCma(value: string, word: string): CmaWord {
  const bad = () => new ConfigError(`--cmdline: '${word}' is not cma=SIZE[@BASE[-LIMIT]] (e.g. cma=64M)`);
  const size = memparse(value);
  if (size === null) throw bad();
  if (size.rest === '') return { word, size: size.value, base: 0n, limit: 0n };
  const base = size.rest[0] === '@' ? memparse(size.rest.slice(1)) : null;
  if (base === null) throw bad();
  if (base.rest === '') return { word, size: size.value, base: base.value, limit: base.value + size.value };
  const limit = base.rest[0] === '-' ? memparse(base.rest.slice(1)) : null;
  if (limit === null || limit.rest !== '') throw bad();
  return { word, size: size.value, base: base.value, limit: limit.value };
}

function parseHugetlbCma(value: string, word: string, profile: KernelProfile): HugetlbWord {
  const node = /^(\d+):(.*)$/.exec(value);
  if (node && node[1] !== '0')
    throw new ConfigError(`--cmdline: '${word}': the emulated machine has one NUMA node, node 0`);
  const pct = /^(\d+)%$/.exec(value);
  if (pct && profile.maxRanges > 1) {
    const percent = Number(pct[1]);
    // 7.3 with 150%: this line, printed while the command line is read, and no hugetlb area
    if (percent < 1 || percent > 100) return { invalid: `hugetlb_cma: invalid percentage ${pct[1]}` };
    return { percent, perNode: false };
  }
  // memparse, the rest ignored as the kernel does (so 6.x reads `20%` as 20 bytes)
  const size = memparse(node ? node[2]! : value);
  if (size === null)
    throw new ConfigError(`--cmdline: '${word}' is not hugetlb_cma=SIZE or hugetlb_cma=0:SIZE`);
  return { bytes: size.value, perNode: node !== null };
}

/** `memmap=SIZE$ADDR` (also `#` and `!`: ACPI and persistent memory), comma-separated. */
function parseMemmap(value: string, word: string): Span[] {
  return value.split(',').map((one) => {
    const size = memparse(one);
    const kind = size?.rest[0];
    const at = size && (kind === '$' || kind === '#' || kind === '!') ? memparse(size.rest.slice(1)) : null;
    if (size === null || at === null || at.rest !== '' || size.value === 0n)
      throw new ConfigError(
        `--cmdline: '${word}': only memmap=SIZE$ADDR (or # or !: RAM taken out) is modelled`,
      );
    return { start: pages(at.value), end: pages(at.value + size.value + PAGE - 1n) };
  });
}
