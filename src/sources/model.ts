// From a captured tree to areas: layout detection by what is present, parsing and checking of
// every file (named in each error), and core CmaArea objects loaded with the captured bitmaps.

import { bitmapWeight } from '../core/bitmap.ts';
import type { CmaArea } from '../core/cma.ts';
import { createArea } from '../core/cma.ts';
import { plainBitmapFactory, setBitsFromWords } from '../core/cma-bitmap.ts';
import { checkAreaLimits } from '../core/config.ts';
import type { KernelProfile } from '../core/profile.ts';
import { PROFILE_6_1, PROFILE_6_12, PROFILE_7_3 } from '../core/profile.ts';
import { scanU32Array } from '../core/u32-array.ts';
import type { CmaTree } from './tree.ts';
import {
  childNames,
  DEBUGFS_CMA,
  isTreeDir,
  optionalTreeFile,
  readTreeFile,
  resolveEntry,
  SourceError,
  SYSFS_CMA,
} from './tree.ts';

/**
 * How the kernel laid the area out: `cma-index` (`cma-0`, ≈v4.1–4.13), `cma-name` (`cma-<name>`
 * with 11 name characters, ≈v4.14–5.19), `named` (`<name>`, v6.0–6.14), `ranges` (`ranges/N/`
 * with base_pfn/bitmap symlinks to range 0, v6.15+).
 */
export type CmaLayout = 'cma-index' | 'cma-name' | 'named' | 'ranges';

/** One captured area. */
export interface AreaModel {
  readonly name: string;
  /** Its debugfs directory, relative to /sys. */
  readonly dir: string;
  readonly layout: CmaLayout;
  /** The core's area, bitmaps loaded (availableCount from sysfs or `used` when known). */
  readonly area: CmaArea;
  /** What the kernel's own files said (null when the file is absent, e.g. old kernels). */
  readonly reported: { readonly used: number | null; readonly maxchunk: number | null };
  /** /sys/kernel/mm/cma/<name>/ counters (file name → value), empty without CONFIG_CMA_SYSFS. */
  readonly sysfs: Readonly<Record<string, bigint>>;
  /** Things worth knowing that are not errors. */
  readonly notes: readonly string[];
}

/** The emulator profile whose behaviour matches a layout (allocation rules, `used` mode). */
export function profileForLayout(layout: CmaLayout): KernelProfile {
  return layout === 'ranges' ? PROFILE_7_3 : PROFILE_6_1;
}

/** Where a copied tree keeps the cma_alloc_finish format file (when tracefs was copied too). */
const FINISH_FORMAT = [
  'kernel/tracing/events/cma/cma_alloc_finish/format',
  'kernel/debug/tracing/events/cma/cma_alloc_finish/format',
];

/**
 * The profile of a captured kernel, by what is present (never by a version string): `ranges/`
 * → 7.3; `release_pages_success` in an area's sysfs (6.12's mm/cma_sysfs.c) or `errorno` in
 * the cma_alloc_finish format file → 6.12; otherwise 6.1.
 */
export function profileForTree(tree: CmaTree, models: readonly AreaModel[]): KernelProfile {
  if (models.some((m) => m.layout === 'ranges')) return PROFILE_7_3;
  if (models.some((m) => m.sysfs.release_pages_success !== undefined)) return PROFILE_6_12;
  for (const p of FINISH_FORMAT) {
    const text = resolveEntry(tree, p) ? optionalTreeFile(tree, p) : undefined;
    if (text !== undefined && /\berrorno\b/.test(text)) return PROFILE_6_12;
  }
  return PROFILE_6_1;
}

function parseNumberFile(tree: CmaTree, p: string): number {
  const text = readTreeFile(tree, p);
  if (text === '') throw new SourceError(`${tree.source}: ${p}: empty (truncated copy?)`);
  if (!/^\d+\n?$/.test(text))
    throw new SourceError(
      `${tree.source}: ${p}: expected a decimal number, got '${text.slice(0, 40).trim()}'`,
    );
  const v = Number(text.trim());
  if (!Number.isSafeInteger(v)) throw new SourceError(`${tree.source}: ${p}: ${text.trim()} is too large`);
  return v;
}

function optionalNumber(tree: CmaTree, p: string): number | null {
  return resolveEntry(tree, p) ? parseNumberFile(tree, p) : null;
}

/** Parses a bitmap file's text into words, with a message naming the first bad word. */
export function parseBitmapText(text: string, where: string): Uint32Array {
  const r = scanU32Array(text);
  if ('badWord' in r)
    throw new SourceError(
      `${where}: word ${r.badWord} is '${r.field.slice(0, 20)}', not a u32 (garbage in the bitmap)`,
    );
  if (r.truncated) throw new SourceError(`${where}: no final newline: the file is truncated`);
  return r.words;
}

function checkBitmap(words: Uint32Array, maxno: number, where: string): void {
  const expected = Math.ceil(maxno / 32);
  if (words.length !== expected)
    throw new SourceError(
      `${where}: bitmap of the wrong length: ${words.length} words, expected ${expected} for ${maxno} bits (${words.length > expected ? 'longer than count allows' : 'shorter than count needs'}: the files contradict each other)`,
    );
  if (maxno % 32 !== 0) {
    const last = words[expected - 1]! >>> (maxno % 32);
    if (last !== 0)
      throw new SourceError(`${where}: bits set past the end of the area (bit ${maxno} or later)`);
  }
}

function detectLayout(tree: CmaTree, dirs: string[]): (name: string) => CmaLayout {
  const old = dirs.length > 0 && dirs.every((d) => d.startsWith('cma-'));
  return (d) => {
    if (isTreeDir(tree, `${DEBUGFS_CMA}/${d}/ranges`)) return 'ranges';
    if (old) return /^cma-\d+$/.test(d) ? 'cma-index' : 'cma-name';
    return 'named';
  };
}

function areaName(dir: string, layout: CmaLayout): string {
  return layout === 'cma-name' ? dir.slice(4) : dir;
}

function readSysfs(tree: CmaTree, name: string): Record<string, bigint> {
  const dir = `${SYSFS_CMA}/${name.replaceAll('/', '!')}`;
  const out: Record<string, bigint> = {};
  for (const f of childNames(tree, dir)) {
    const text = optionalTreeFile(tree, `${dir}/${f}`);
    if (text !== undefined && /^\d+\n?$/.test(text)) out[f] = BigInt(text.trim());
  }
  return out;
}

/** The names of the debugfs area directories, sorted. */
function areaDirs(tree: CmaTree): string[] {
  if (!isTreeDir(tree, DEBUGFS_CMA)) {
    const e = resolveEntry(tree, DEBUGFS_CMA);
    if (e?.entry.type === 'unreadable')
      throw new SourceError(`${tree.source}: /sys/${DEBUGFS_CMA}: ${e.entry.error} (run as root)`);
    if (resolveEntry(tree, 'kernel/debug')?.entry.type === 'unreadable')
      throw new SourceError(
        `${tree.source}: /sys/kernel/debug: permission denied (debugfs is root-only: run as root)`,
      );
    if (!resolveEntry(tree, 'kernel/debug'))
      throw new SourceError(`${tree.source}: /sys/kernel/debug is missing or debugfs is not mounted`);
    throw new SourceError(`${tree.source}: no CMA in this kernel (/sys/${DEBUGFS_CMA} does not exist)`);
  }
  return childNames(tree, DEBUGFS_CMA).filter((n) => isTreeDir(tree, `${DEBUGFS_CMA}/${n}`));
}

/** Reads one area directory; throws SourceError naming the file and the problem. */
function readArea(tree: CmaTree, d: string, layout: CmaLayout): AreaModel {
  const dir = `${DEBUGFS_CMA}/${d}`;
  const e = resolveEntry(tree, dir);
  if (e?.entry.type === 'unreadable') throw new SourceError(`${tree.source}: ${dir}: ${e.entry.error}`);
  const name = areaName(d, layout);
  const where = (f: string) => `${tree.source}: ${dir}/${f}`;
  const count = parseNumberFile(tree, `${dir}/count`);
  const orderPerBit = parseNumberFile(tree, `${dir}/order_per_bit`);
  if (orderPerBit > 30) throw new SourceError(`${where('order_per_bit')}: ${orderPerBit} is out of range`);
  const notes: string[] = [];
  const ranges: { basePfn: number; count: number; words: Uint32Array; where: string }[] = [];
  if (layout === 'ranges') {
    const ids = childNames(tree, `${dir}/ranges`).filter((n) => /^\d+$/.test(n));
    ids.sort((a, b) => Number(a) - Number(b)); // index order, never by address
    if (ids.length === 0) throw new SourceError(`${where('ranges')}: no range directories`);
    ids.forEach((id, i) => {
      if (Number(id) !== i) throw new SourceError(`${where('ranges')}: range ${i} is missing`);
      const rp = `${dir}/ranges/${id}`;
      const words = parseBitmapText(readTreeFile(tree, `${rp}/bitmap`), `${tree.source}: ${rp}/bitmap`);
      ranges.push({
        basePfn: parseNumberFile(tree, `${rp}/base_pfn`),
        count: 0,
        words,
        where: `${tree.source}: ${rp}/bitmap`,
      });
    });
    // No per-range count file: a range's size is implied by its bitmap length (whole words).
    const totalBits = Math.floor(count / 2 ** orderPerBit);
    if (ranges.length === 1) ranges[0]!.count = count;
    else {
      const wordBits = ranges.map((r) => r.words.length * 32);
      const sum = wordBits.reduce((s, b) => s + b, 0);
      const short = sum - totalBits;
      if (short < 0 || short >= 32)
        throw new SourceError(
          `${where('ranges')}: bitmap of the wrong length: the ranges' bitmaps hold ${sum} bits, count ${count} needs ${totalBits}`,
        );
      if (short > 0)
        notes.push(`range sizes are not whole bitmap words; assumed the last range is ${short} bits short`);
      ranges.forEach((r, i) => {
        r.count = (wordBits[i]! - (i === ranges.length - 1 ? short : 0)) * 2 ** orderPerBit;
      });
    }
  } else {
    const words = parseBitmapText(readTreeFile(tree, `${dir}/bitmap`), where('bitmap'));
    ranges.push({ basePfn: parseNumberFile(tree, `${dir}/base_pfn`), count, words, where: where('bitmap') });
  }
  const spec = { name, orderPerBit, ranges: ranges.map((r) => ({ basePfn: r.basePfn, count: r.count })) };
  // what a kernel can have, before a bitmap is allocated for it
  checkAreaLimits(spec, (m) => {
    throw new SourceError(`${tree.source}: ${dir}: ${m.replace(/^area '[^']*': /, '')}`);
  });
  const area = createArea(spec, plainBitmapFactory);
  let setBits = 0;
  area.ranges.forEach((r, i) => {
    const src = ranges[i]!;
    checkBitmap(src.words, r.bitmap.maxno, src.where);
    setBitsFromWords(r.bitmap, src.words);
    setBits += bitmapWeight(src.words, r.bitmap.maxno);
  });
  const used = optionalNumber(tree, `${dir}/used`);
  if (used !== null && used > count)
    throw new SourceError(
      `${where('used')}: ${used} pages used but count is ${count}: the files contradict each other`,
    );
  const maxchunk = optionalNumber(tree, `${dir}/maxchunk`);
  const sysfs = readSysfs(tree, name);
  const fromBits = setBits * 2 ** orderPerBit;
  // available_count: exact on 7.x (sysfs available_pages, or count - used); else from the bitmap
  if (sysfs.available_pages !== undefined) area.availableCount = Number(sysfs.available_pages);
  else if (layout === 'ranges' && used !== null) area.availableCount = count - used;
  else area.availableCount = count - Math.min(count, fromBits);
  return { name, dir, layout, area, reported: { used, maxchunk }, sysfs, notes };
}

/** Every area of a tree, in name order; throws SourceError on the first bad file. */
export function readAreas(tree: CmaTree): AreaModel[] {
  const dirs = areaDirs(tree);
  const layoutOf = detectLayout(tree, dirs);
  return dirs.map((d) => readArea(tree, d, layoutOf(d)));
}

/** Picks one area by name (or the only one); throws with the list of names otherwise. */
export function pickArea(areas: readonly AreaModel[], name: string | undefined, where: string): AreaModel {
  if (areas.length === 0) throw new SourceError(`${where}: no CMA areas`);
  if (name === undefined) {
    if (areas.length === 1) return areas[0]!;
    throw new SourceError(
      `${where}: several areas, choose one with --area (${areas.map((a) => a.name).join(', ')})`,
    );
  }
  const a = areas.find((x) => x.name === name || x.dir.endsWith(`/${name}`));
  if (!a) throw new SourceError(`${where}: no area '${name}' (have: ${areas.map((x) => x.name).join(', ')})`);
  return a;
}
