// A kernel log (dmesg, journal, console capture) holding the free-area dump the kernel prints
// after an allocation failure (cma_debug_show_areas() in mm/cma.c): the free runs are rebuilt into
// a bitmap. 6.x prints one line `N@bit+…=> X free of Y total pages`; 7.x a block of
// `range N: +run@bit…` lines and a `=> X free of Y total pages` continuation.

import { createArea } from '../core/cma.ts';
import { plainBitmapFactory } from '../core/cma-bitmap.ts';
import { formatU32Array } from '../core/u32-array.ts';
import { readNamedFile } from './safe-read.ts';
import type { CmaSource } from './source.ts';
import type { CmaTree, TreeEntry } from './tree.ts';
import { DEBUGFS_CMA, makeTree, SourceError } from './tree.ts';

/** What a log cannot tell; given by the user or guessed (hugetlb* → order 9, else 0). */
export interface KernelLogOptions {
  readonly orderPerBit?: number;
  readonly basePfn?: number;
}

/** One dump as printed. */
export interface FreeAreaDump {
  readonly name: string;
  /** Free runs per range: pages and first bit. One range for the 6.x line. */
  readonly ranges: { pages: number; bit: number }[][];
  readonly multiRange: boolean;
  /** `=> X free`: free pages (7.x: available_count). */
  readonly free: number;
  readonly total: number;
}

function stripPrefix(line: string): string {
  return line
    .replace(/\r$/, '')
    .replace(/^<\d+>/, '')
    .replace(/^.*?kernel: /, '')
    .replace(/^\[\s*[\d.]+\]\s?/, '');
}

function parseRuns(text: string, where: string): { pages: number; bit: number }[] {
  const t = text.trim();
  if (t === '') return [];
  return t
    .replace(/^\+/, '')
    .split('+')
    .map((r) => {
      const m = /^(\d+)@(\d+)$/.exec(r);
      if (!m) throw new SourceError(`${where}: '${r}' is not <pages>@<bit> in the free-area dump`);
      return { pages: Number(m[1]), bit: Number(m[2]) };
    });
}

/** Every free-area dump in a log, in order, with the area named by the failure line before it. */
export function parseFreeAreaDumps(
  text: string,
  where = 'log',
): {
  dumps: FreeAreaDump[];
  reserved: { pages: number; basePfn: number }[];
} {
  const dumps: FreeAreaDump[] = [];
  const reserved: { pages: number; basePfn: number }[] = [];
  let name = 'unknown';
  let block: { pages: number; bit: number }[][] | null = null;
  let unnamed = 0;
  text.split('\n').forEach((raw, i) => {
    const line = stripPrefix(raw);
    const at = `${where}:${i + 1}`;
    let m = /^cma: Reserved (\d+) MiB at 0x([0-9a-f]+)/.exec(line);
    if (m) reserved.push({ pages: Number(m[1]) * 256, basePfn: Number.parseInt(m[2]!, 16) / 4096 });
    m = /^cma: \S+: (.+): alloc failed, req-size: \d+ pages, ret: -?\d+/.exec(line);
    if (m) {
      name = m[1]!;
      return;
    }
    m = /^cma: number of available pages: ?(.*?)(?:=> (\d+) free of (\d+) total pages)?$/.exec(line);
    if (m) {
      if (m[2] !== undefined) {
        dumps.push({
          name: name === 'unknown' ? `unknown${unnamed++ || ''}` : name,
          ranges: [parseRuns(m[1]!, at)],
          multiRange: false,
          free: Number(m[2]),
          total: Number(m[3]),
        });
        name = 'unknown';
      } else block = [];
      return;
    }
    if (block) {
      m = /^cma: range (\d+): ?(.*)$/.exec(line);
      if (m) {
        if (Number(m[1]) !== block.length)
          throw new SourceError(`${at}: range ${m[1]} out of order in the dump`);
        block.push(parseRuns(m[2]!, at));
        return;
      }
      m = /^=> (\d+) free of (\d+) total pages/.exec(line);
      if (m) {
        dumps.push({
          name: name === 'unknown' ? `unknown${unnamed++ || ''}` : name,
          ranges: block,
          multiRange: true,
          free: Number(m[1]),
          total: Number(m[2]),
        });
        block = null;
        name = 'unknown';
      }
    }
  });
  return { dumps, reserved };
}

/** The area files a dump implies (the newest dump of each area wins). */
export function treeFromKernelLog(text: string, label: string, opts: KernelLogOptions = {}): CmaTree {
  const { dumps, reserved } = parseFreeAreaDumps(text, label);
  if (dumps.length === 0)
    throw new SourceError(
      `${label}: no CMA free-area dump ("cma: number of available pages: …") in the log; 6.1 prints it only with CONFIG_CMA_DEBUG`,
    );
  const latest = new Map<string, FreeAreaDump>();
  for (const d of dumps) latest.set(d.name, d);
  const entries: [string, TreeEntry][] = [];
  for (const d of latest.values()) {
    const opb = opts.orderPerBit ?? (d.name.startsWith('hugetlb') ? 9 : 0);
    const unit = 2 ** opb;
    const where = `${label}: area ${d.name}`;
    const nr = d.ranges.length;
    if (nr === 0) throw new SourceError(`${where}: the dump lists no range`);
    const totalBits = Math.floor(d.total / unit);
    if (totalBits % nr !== 0)
      throw new SourceError(
        `${where}: cannot split ${d.total} pages into ${nr} equal ranges; range sizes unknown`,
      );
    const rangeBits = totalBits / nr;
    const match = reserved.filter((r) => r.pages === d.total);
    const base0 = opts.basePfn ?? (match.length === 1 ? match[0]!.basePfn : 0);
    const area = createArea(
      {
        name: d.name,
        orderPerBit: opb,
        ranges: d.ranges.map((_r, i) => ({ basePfn: base0 + i * rangeBits * unit, count: rangeBits * unit })),
      },
      plainBitmapFactory,
    );
    area.ranges.forEach((r, i) => {
      r.bitmap.set(0, r.bitmap.maxno);
      for (const run of d.ranges[i]!) {
        if (run.pages % unit !== 0)
          throw new SourceError(
            `${where}: a run of ${run.pages} pages is not a whole number of 2^${opb}-page bits (use --order-per-bit)`,
          );
        const bits = run.pages / unit;
        if (run.bit + bits > r.bitmap.maxno)
          throw new SourceError(
            `${where}: run ${run.pages}@${run.bit} ends past the range (${r.bitmap.maxno} bits)`,
          );
        r.bitmap.clear(run.bit, bits);
      }
    });
    const freeBits = area.ranges.reduce((s, r) => s + r.bitmap.maxno - r.bitmap.weight(), 0);
    const dir = `${DEBUGFS_CMA}/${d.name}`;
    const maxchunk = Math.max(...area.ranges.map((r) => r.bitmap.longestZeroRun())) * unit;
    const used = d.multiRange ? d.total - d.free : (totalBits - freeBits) * unit;
    const bitmapOf = (i: number) =>
      formatU32Array(area.ranges[i]!.bitmap.words, Math.ceil(area.ranges[i]!.bitmap.maxno / 32));
    const put = (p: string, text: string) => entries.push([`${dir}/${p}`, { type: 'file', text }]);
    put('count', `${d.total}\n`);
    put('order_per_bit', `${opb}\n`);
    put('used', `${used}\n`);
    put('maxchunk', `${maxchunk}\n`);
    if (d.multiRange) {
      area.ranges.forEach((r, i) => {
        put(`ranges/${i}/base_pfn`, `${r.basePfn}\n`);
        put(`ranges/${i}/bitmap`, bitmapOf(i));
      });
      entries.push([`${dir}/base_pfn`, { type: 'symlink', target: 'ranges/0/base_pfn' }]);
      entries.push([`${dir}/bitmap`, { type: 'symlink', target: 'ranges/0/bitmap' }]);
    } else {
      put('base_pfn', `${area.ranges[0]!.basePfn}\n`);
      put('bitmap', bitmapOf(0));
    }
  }
  return makeTree(label, entries, null);
}

/** A kernel log file as a source. */
export function kernelLogSource(file: string, opts: KernelLogOptions = {}): CmaSource {
  const label = `dmesg ${file}`;
  return {
    label,
    capture: async () => {
      const text = readNamedFile(file).toString('utf8');
      return treeFromKernelLog(text, label, opts);
    },
  };
}
