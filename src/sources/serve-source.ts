// The sources `serve` builds from real-kernel material (src/sources): a /sys-like directory
// served file by file with a read-only model that follows it by polling, and an emulator
// continuing from a snapshot file or a copied tree.

import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setBitsFromWords } from '../core/cma-bitmap.ts';
import type { Result } from '../core/errno.ts';
import type { CmaSystem } from '../core/system.ts';
import { CapturedTree } from './capture-tree.ts';
import { parseDeviceLog } from './device-log.ts';
import { hasDeviceData } from './device-model.ts';
import { isDeviceDir, readDeviceDir, readSysfsOnly } from './device-source.ts';
import { dirShape, readDirTree } from './dir-source.ts';
import { DirectoryTree } from './dir-tree.ts';
import type { FileTree, ServeSource } from './file-tree.ts';
import { readAreas } from './model.ts';
import { fileKind, openSource } from './open.ts';
import { readNamedFile } from './safe-read.ts';
import { systemFromSnapshot } from './snapshot.ts';
import type { CmaTree } from './tree.ts';
import { DEBUGFS_CMA, isTreeDir, makeTree, SourceError, SYSFS_CMA } from './tree.ts';

/** A source problem, in one line. */
export class SourceSetupError extends Error {
  override readonly name = 'SourceSetupError';
}

function isLive(dir: string): boolean {
  try {
    return realpathSync(dir) === '/sys';
  } catch {
    return false;
  }
}

/**
 * Copies the state of `dir` into the model `sys` (same areas): bitmaps, available counts, sysfs
 * counters; announces the areas that changed. Returns the names of changed areas.
 */
export function refreshModel(sys: CmaSystem, dir: string): string[] {
  const models = readAreas(readDirTree(dir, { live: isLive(dir) }));
  const changed: string[] = [];
  for (const m of models) {
    const st = sys.area(m.name);
    if (!st || st.area.ranges.length !== m.area.ranges.length) continue;
    let differs = st.area.availableCount !== m.area.availableCount;
    st.area.ranges.forEach((r, i) => {
      const src = m.area.ranges[i]!.bitmap.words;
      const dst = r.bitmap.words;
      for (let w = 0; w < dst.length && !differs; w++) if (dst[w] !== src[w]) differs = true;
      if (differs) {
        r.bitmap.clear(0, r.bitmap.maxno);
        setBitsFromWords(r.bitmap, src);
      }
    });
    const s = st.area.sysfs;
    const next = {
      allocPagesSuccess: m.sysfs.alloc_pages_success ?? 0n,
      allocPagesFail: m.sysfs.alloc_pages_fail ?? 0n,
      releasePagesSuccess: m.sysfs.release_pages_success ?? 0n,
    };
    if (
      s.allocPagesSuccess !== next.allocPagesSuccess ||
      s.allocPagesFail !== next.allocPagesFail ||
      s.releasePagesSuccess !== next.releasePagesSuccess
    )
      differs = true;
    Object.assign(s, next);
    st.area.availableCount = m.area.availableCount;
    if (differs) {
      changed.push(m.name);
      sys.changed(m.name);
    }
  }
  return changed;
}

/**
 * A /sys-like directory (the live /sys or a copy): files served as they are, writes only with
 * `allowWrite`; areas, analysis, explain and metrics from a model re-read every `pollMs`.
 */
export function directorySource(dir: string, opts: { allowWrite: boolean; pollMs: number }): ServeSource {
  let shape: ReturnType<typeof dirShape>;
  try {
    shape = dirShape(dir, isLive(dir));
  } catch (e) {
    const device = deviceDirectorySource(dir, opts.allowWrite, (e as Error).message);
    if (device) return device;
    throw new SourceSetupError((e as Error).message);
  }
  if (shape.kind !== 'sys')
    throw new SourceSetupError(
      `--root ${dir}: expected a /sys-like directory (with kernel/debug/cma); ` +
        `for a copy of the cma directory or of one area use --from-snapshot ${dir}`,
    );
  const tree = new DirectoryTree(dir);
  let system: CmaSystem | null = null;
  let note = '';
  try {
    system = systemFromSnapshot(readDirTree(dir, { live: isLive(dir) }));
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    note = ` (files only: ${e.message})`;
  }
  let timer: NodeJS.Timeout | null = null;
  const refresh = () => {
    if (!system) return;
    try {
      refreshModel(system, dir);
    } catch {
      // a half-written copy or a transient read error: keep the last good state
    }
  };
  if (system && opts.pollMs > 0) {
    timer = setInterval(refresh, opts.pollMs);
    timer.unref();
  }
  return {
    kind: 'tree',
    label: `directory ${tree.root}${opts.allowWrite ? '' : ' (read-only)'}${note}`,
    tree,
    system,
    writable: opts.allowWrite,
    features: { log: false, trace: false },
    deviceTree: () => readSysfsOnly(dir, isLive(dir)),
    afterWrite: refresh,
    close: () => {
      if (timer) clearInterval(timer);
    },
  };
}

/** A tree with nothing in it but /sys (a device copy without a sys/ directory). */
const EMPTY_SYS: FileTree = {
  readFile: () => ({ ok: false, errno: 'ENOENT' }),
  writeFile: () => ({ ok: false, errno: 'ENOENT' }),
  stat: (p): Result<{ stat: { type: 'dir'; mode: number; size: number; nlink: number } }> =>
    p.replace(/\/+$/, '') === '/sys'
      ? { ok: true, stat: { type: 'dir', mode: 0o755, size: 0, nlink: 2 } }
      : { ok: false, errno: 'ENOENT' },
  readdir: (p) =>
    p.replace(/\/+$/, '') === '/sys' ? { ok: true, names: [] } : { ok: false, errno: 'ENOENT' },
  readlink: () => ({ ok: false, errno: 'ENOENT' }),
};

/**
 * A source without debugfs (a production kernel's /sys, a mount of the emulator with
 * --no-debugfs, a copied device directory `DIR/{sys/kernel/mm/cma,proc,dmesg}`): its files served
 * as they are, no model; what it tells comes from the device report (GET /api/device, /metrics).
 * Null when `dir` is none of these.
 */
function deviceDirectorySource(dir: string, allowWrite: boolean, why: string): ServeSource | null {
  const live = isLive(dir);
  const note = why.replace(/^.*?: /, '');
  if (statSync(join(dir, SYSFS_CMA), { throwIfNoEntry: false })?.isDirectory()) {
    const tree = new DirectoryTree(dir);
    return {
      kind: 'tree',
      label: `directory ${tree.root}${allowWrite ? '' : ' (read-only)'} without debugfs (${note}): the device report`,
      tree,
      system: null,
      writable: allowWrite,
      features: { log: false, trace: false },
      deviceTree: () => readSysfsOnly(dir, live),
    };
  }
  if (!isDeviceDir(dir)) return null;
  const sys = join(dir, 'sys');
  const tree = statSync(sys, { throwIfNoEntry: false })?.isDirectory() ? new DirectoryTree(sys) : EMPTY_SYS;
  return {
    kind: 'tree',
    label: `device copy ${realpathSync(dir)} (read-only; no debugfs): the device report`,
    tree,
    system: null,
    writable: false,
    readOnlyReason: `${dir} is a copy of a device's files, served read-only: nothing in it can be written`,
    features: { log: false, trace: false },
    deviceTree: () => readDeviceDir(dir),
  };
}

/**
 * A capture without debugfs (a device snapshot, a bug report, a copied device directory, a kernel
 * log) served as the device showed it: its files read-only, no model;
 * the dashboard and /metrics tell what the device report tells. Writes are refused (405).
 */
function captureSource(tree: CmaTree, what: string): ServeSource {
  return {
    kind: 'capture',
    label: `${what} (read-only capture${tree.kernelRelease ? `, kernel ${tree.kernelRelease}` : ''}; no debugfs): the device report`,
    tree: new CapturedTree(tree),
    system: null,
    writable: false,
    readOnlyReason: `${what} is a capture of a device, served read-only: nothing in it can be written (the emulator, serve --profile/--area, takes allocations)`,
    features: { log: false, trace: false },
    deviceTree: () => tree,
  };
}

/**
 * A kernel log as a capture of its device: the boot lines, failures and free-range dumps the
 * device report reads (serve does not rebuild an emulator from a dump: the area at one failure is
 * a moment of the device, not a state to continue from).
 */
function kernelLogCapture(file: string): CmaTree {
  const label = `dmesg ${file}`;
  const text = readNamedFile(file).toString('latin1');
  const log = parseDeviceLog(text, label);
  if (log.reservations.length + log.hugetlb.length + log.failures.length === 0)
    throw new SourceError(
      `${label}: no CMA lines (no "cma: Reserved", hugetlb_cma or failure line): not the kernel log of a CMA device`,
    );
  // the boot banner names the kernel (dmesg's `[ time]` or Android's `[time][Tpid]` prefixes allowed)
  const release = /^(?:\[[^\]\n]*\]\s*)*Linux version (\S+)/m.exec(text)?.[1] ?? null;
  return makeTree(label, [], release, undefined, { files: { dmesg: text }, unreadable: {} });
}

/**
 * What `serve --from-snapshot PATH` (or `serve PATH`) serves: an emulator continuing from the
 * capture when it holds the debugfs areas (a snapshot, a copied /sys tree), else the capture
 * itself read-only when it holds what a device without debugfs offers (captureSource): a device
 * snapshot, a bug report, a copied device directory, a kernel log. Throws SourceSetupError in one
 * line otherwise.
 */
export async function openCapture(
  path: string,
): Promise<{ kind: 'emulator'; system: CmaSystem } | { kind: 'capture'; source: ServeSource }> {
  const setup = (e: unknown): never => {
    if (e instanceof SourceError || (e as NodeJS.ErrnoException).code !== undefined)
      throw new SourceSetupError(`--from-snapshot ${path}: ${(e as Error).message}`);
    throw e;
  };
  let tree: CmaTree;
  let what: string;
  try {
    if (fileKind(path) === 'log')
      return { kind: 'capture', source: captureSource(kernelLogCapture(path), `dmesg ${path}`) };
    const src = openSource({ kind: 'path', path });
    tree = await src.capture();
    what = src.label.startsWith('bugreport ') ? src.label : path;
  } catch (e) {
    return setup(e);
  }
  try {
    return { kind: 'emulator', system: systemFromSnapshot(tree) };
  } catch (e) {
    // only a capture without debugfs is a device capture; a broken debugfs file stays an error
    if (!(e instanceof SourceError) || isTreeDir(tree, DEBUGFS_CMA) || !hasDeviceData(tree)) return setup(e);
  }
  return { kind: 'capture', source: captureSource(tree, what) };
}
