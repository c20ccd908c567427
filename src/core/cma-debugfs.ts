// /sys/kernel/debug/cma/<name>/ (mm/cma_debug.c): the file table, defined once as data, and the
// alloc/free writes with their LIFO record list.

import type { CmaArea, KernelHooks } from './cma.ts';
import { cmaAlloc, cmaMaxchunkPages, cmaRelease, cmaUsedPages } from './cma.ts';
import type { Result } from './errno.ts';
import { fail } from './errno.ts';
import { intToULong, toCInt } from './kstrtox.ts';
import type { TaskContext } from './trace.ts';
import { formatU32Array } from './u32-array.ts';
import type { DirNode, VfsNode } from './vfs.ts';
import { attrFile, dir, snapshotFile, symlink } from './vfs.ts';

/** A debugfs allocation record (`struct cma_mem`): first pfn and pages (u64). */
interface CmaMemRecord {
  pfn: number;
  count: bigint;
}

/** An area with its debugfs record list (the list lives in cma_debug.c, not in struct cma). */
export interface AreaState {
  readonly area: CmaArea;
  /** The LIFO list: the newest record is the last element. */
  readonly records: CmaMemRecord[];
}

/** What the debugfs layer needs from the kernel beyond the allocator hooks. */
export interface DebugfsHost extends KernelHooks {
  /** Set once the emulated kernel is corrupted (by the 6.1 zero-bit allocation: the zero-bit quirk in cmaAlloc, cma.ts): every later write fails with EIO. */
  corruption: string | null;
  /** Runs `fn` as the task `task` (trace lines carry its comm and pid). */
  asTask<T>(task: TaskContext, fn: () => T): T;
  /** Something changed: views update. */
  changed(area: string): void;
}

/** cma_alloc_mem: cma_alloc(count, align 0); on success push {pfn, count} on the list head. */
function cmaAllocMem(host: DebugfsHost, st: AreaState, pages: number): Result<object> {
  const count = intToULong(pages);
  const r = cmaAlloc(host, st.area, count, 0);
  if (!r) return fail('ENOMEM');
  st.records.push({ pfn: r.pfn, count });
  return { ok: true };
}

/**
 * cma_free_mem: pop records newest first; release whole records while they fit in `pages`
 * (compared as unsigned 64-bit, so a negative count frees everything); a partial release takes
 * the first pages of the record when order_per_bit is 0, otherwise the record stays and freeing
 * stops. Never fails.
 */
function cmaFreeMem(host: DebugfsHost, st: AreaState, pages: number): Result<object> {
  let count = pages;
  while (count !== 0) {
    const mem = st.records.pop();
    if (!mem) break;
    const ucount = BigInt.asUintN(64, BigInt(count));
    if (mem.count <= ucount) {
      if (mem.count > BigInt(st.area.count)) {
        // releasing the bogus zero-bit record (the zero-bit quirk in cmaAlloc, cma.ts) frees pages the kernel never had
        host.corruption = `released ${mem.count} pages at pfn 0x${mem.pfn.toString(16)}: bad page state`;
        host.log(`BUG: Bad page state in process sh  pfn:${mem.pfn.toString(16)}`);
        return { ok: true };
      }
      cmaRelease(host, st.area, mem.pfn, mem.count);
      count = toCInt(BigInt(count) - mem.count);
    } else if (st.area.orderPerBit === 0) {
      cmaRelease(host, st.area, mem.pfn, ucount);
      mem.pfn += count;
      mem.count -= ucount;
      count = 0;
      st.records.push(mem);
    } else {
      // pr_debug("cma: cannot release partial block when order_per_bit != 0")
      st.records.push(mem);
      break;
    }
  }
  return { ok: true };
}

/** One entry of the debugfs file table. */
export interface DebugfsFileSpec {
  readonly name: string;
  readonly mode: number;
  /** 'area': in the area directory; 'range': per range (ranges/N/ in the 7.x layout). */
  readonly scope: 'area' | 'range';
  readonly kind: 'attr' | 'u32array';
  readonly get?: (host: DebugfsHost, st: AreaState, range: number) => bigint;
  readonly set?: (host: DebugfsHost, st: AreaState, value: bigint) => Result<object>;
}

function guarded(fn: (host: DebugfsHost, st: AreaState, pages: number) => Result<object>) {
  return (host: DebugfsHost, st: AreaState, value: bigint): Result<object> => {
    if (host.corruption) return fail('EIO');
    const r = fn(host, st, toCInt(value));
    host.changed(st.area.name);
    return r;
  };
}

/** The files of cma_debugfs_add_one, in creation order. */
export const CMA_DEBUGFS_FILES: readonly DebugfsFileSpec[] = [
  { name: 'alloc', mode: 0o200, scope: 'area', kind: 'attr', set: guarded(cmaAllocMem) },
  { name: 'free', mode: 0o200, scope: 'area', kind: 'attr', set: guarded(cmaFreeMem) },
  {
    name: 'base_pfn',
    mode: 0o444,
    scope: 'range',
    kind: 'attr',
    get: (_h, st, r) => BigInt(st.area.ranges[r]?.basePfn ?? 0),
  },
  { name: 'count', mode: 0o444, scope: 'area', kind: 'attr', get: (_h, st) => BigInt(st.area.count) },
  {
    name: 'order_per_bit',
    mode: 0o444,
    scope: 'area',
    kind: 'attr',
    get: (_h, st) => BigInt(st.area.orderPerBit),
  },
  {
    name: 'used',
    mode: 0o444,
    scope: 'area',
    kind: 'attr',
    get: (h, st) => BigInt(cmaUsedPages(st.area, h.profile)),
  },
  {
    name: 'maxchunk',
    mode: 0o444,
    scope: 'area',
    kind: 'attr',
    get: (_h, st) => BigInt(cmaMaxchunkPages(st.area)),
  },
  { name: 'bitmap', mode: 0o444, scope: 'range', kind: 'u32array' },
];

/** The text of a range's `bitmap` file. */
export function bitmapText(st: AreaState, range: number): string {
  const r = st.area.ranges[range];
  if (!r) return '';
  return formatU32Array(r.bitmap.words, Math.ceil(r.bitmap.maxno / 32));
}

function fileNode(host: DebugfsHost, st: AreaState, spec: DebugfsFileSpec, range: number): VfsNode {
  if (spec.kind === 'u32array') return snapshotFile(spec.mode, () => bitmapText(st, range));
  const { get, set } = spec;
  return attrFile(
    spec.mode,
    get ? () => get(host, st, range) : null,
    set ? (value, task) => host.asTask(task, () => set(host, st, value)) : null,
  );
}

/** The directory of one area, in the profile's layout. */
function cmaDebugfsAreaDir(host: DebugfsHost, st: AreaState): DirNode {
  if (host.profile.layout === 'ranges') return rangesAreaDir(host, st);
  return dir(
    () =>
      newestFirst(
        CMA_DEBUGFS_FILES.map((spec): [string, VfsNode] => [spec.name, fileNode(host, st, spec, 0)]),
      ),
    0o755,
    'EACCES',
    'EPERM',
    'given',
  );
}

/** Debugfs readdir lists the newest entry first: the reverse of creation order. */
function newestFirst(created: [string, VfsNode][]): [string, VfsNode][] {
  return created.slice().reverse();
}

/**
 * The 7.x area directory. Creation order (the oracle's `find` shows it reversed): the per-area
 * files, `ranges/` with `0/`, `1/`, … each holding base_pfn then bitmap, and last the
 * `base_pfn` and `bitmap` symlinks to range 0.
 */
function rangesAreaDir(host: DebugfsHost, st: AreaState): DirNode {
  const rangeSpecs = CMA_DEBUGFS_FILES.filter((s) => s.scope === 'range');
  return dir(
    () =>
      newestFirst([
        ...CMA_DEBUGFS_FILES.filter((s) => s.scope === 'area').map((s): [string, VfsNode] => [
          s.name,
          fileNode(host, st, s, 0),
        ]),
        [
          'ranges',
          dir(
            () =>
              newestFirst(
                st.area.ranges.map((_r, i): [string, VfsNode] => [
                  String(i),
                  dir(
                    () =>
                      newestFirst(
                        rangeSpecs.map((s): [string, VfsNode] => [s.name, fileNode(host, st, s, i)]),
                      ),
                    0o755,
                    'EACCES',
                    'EPERM',
                    'given',
                  ),
                ]),
              ),
            0o755,
            'EACCES',
            'EPERM',
            'given',
          ),
        ],
        ...rangeSpecs.map((s): [string, VfsNode] => [s.name, symlink(`ranges/0/${s.name}`)]),
      ]),
    0o755,
    'EACCES',
    'EPERM',
    'given',
  );
}

/** /sys/kernel/debug/cma: one directory per area, newest area first as readdir shows (6.1 and 7.x). */
export function cmaDebugfsRoot(host: DebugfsHost, areas: () => readonly AreaState[]): DirNode {
  const entries = () => areas().map((st): [string, VfsNode] => [st.area.name, cmaDebugfsAreaDir(host, st)]);
  return dir(() => newestFirst(entries()), 0o755, 'EACCES', 'EPERM', 'given');
}
