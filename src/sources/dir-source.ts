// Local directory trees: the live /sys (default), any directory mirroring /sys (`--root`, e.g.
// a FUSE mount of the emulator), and copies (`cp -r` / `adb pull` of /sys/kernel/debug/cma, of
// one area directory, or of /sys/kernel/debug).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSysfsOnly } from './device-source.ts';
import { readRegularFileSync } from './safe-read.ts';
import type { CmaSource } from './source.ts';
import type { CmaTree, TreeEntry } from './tree.ts';
import { DEBUGFS_CMA, makeTree, SourceError, SYSFS_CMA } from './tree.ts';

/** How a directory maps onto /sys. */
export interface DirShape {
  /** 'sys': DIR is /sys; 'debugfs': DIR is /sys/kernel/debug; 'cma': DIR is …/debug/cma; 'area': one area. */
  readonly kind: 'sys' | 'debugfs' | 'cma' | 'area';
  readonly dir: string;
}

const AREA_FILES = ['bitmap', 'count', 'base_pfn', 'order_per_bit', 'ranges'];

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'no such file or directory';
    case 'ENOTDIR':
      return 'not a directory';
    default:
      return err.code ?? err.message;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p).sort();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint =
      err.code === 'EACCES' || err.code === 'EPERM' ? ' (debugfs is readable by root only: run as root)' : '';
    throw new SourceError(`cannot read directory ${p}: ${errnoText(e)}${hint}`);
  }
}

function looksLikeArea(p: string): boolean {
  return AREA_FILES.some((f) => fs.existsSync(path.join(p, f)));
}

/** Decides what a directory is a copy of; throws a SourceError that says what is missing. */
export function dirShape(dir: string, isLive = false): DirShape {
  if (!fs.existsSync(dir)) throw new SourceError(`${dir}: no such file or directory`);
  if (!isDir(dir)) throw new SourceError(`${dir}: not a directory`);
  const debug = path.join(dir, 'kernel/debug');
  if (isDir(path.join(dir, DEBUGFS_CMA))) return { kind: 'sys', dir };
  if (isDir(debug)) {
    const names = listDir(debug);
    if (names.length === 0)
      throw new SourceError(
        `debugfs is not mounted on ${debug} (as root: mount -t debugfs none ${isLive ? '/sys/kernel/debug' : debug})`,
      );
    const sysfs = isDir(path.join(dir, SYSFS_CMA))
      ? ` (${path.join(dir, SYSFS_CMA)} exists: CONFIG_CMA_DEBUGFS is off)`
      : '';
    throw new SourceError(`no CMA in this kernel: ${path.join(dir, DEBUGFS_CMA)} does not exist${sysfs}`);
  }
  if (isDir(path.join(dir, 'kernel'))) throw new SourceError(`${debug} does not exist: no debugfs`);
  if (isDir(path.join(dir, 'cma')) && !looksLikeArea(path.join(dir, 'cma'))) return { kind: 'debugfs', dir };
  if (looksLikeArea(dir)) return { kind: 'area', dir };
  const children = listDir(dir).filter((n) => isDir(path.join(dir, n)));
  if (children.length > 0 && children.every((n) => looksLikeArea(path.join(dir, n))))
    return { kind: 'cma', dir };
  if (children.length === 0 && listDir(dir).length === 0) return { kind: 'cma', dir };
  throw new SourceError(
    `${dir} does not look like /sys, a copy of /sys/kernel/debug/cma or an area directory (no bitmap/count files found)`,
  );
}

/** Reads one node into tree entries (recursing into directories up to `depth`). */
function walk(fsPath: string, treePathOf: string, depth: number, out: [string, TreeEntry][]): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(fsPath);
  } catch (e) {
    out.push([treePathOf, { type: 'unreadable', error: errnoText(e) }]);
    return;
  }
  if (st.isSymbolicLink()) {
    out.push([treePathOf, { type: 'symlink', target: fs.readlinkSync(fsPath) }]);
    return;
  }
  if (st.isDirectory()) {
    out.push([treePathOf, { type: 'dir' }]);
    if (depth <= 0) return;
    for (const name of listDir(fsPath))
      walk(path.join(fsPath, name), `${treePathOf}/${name}`, depth - 1, out);
    return;
  }
  const base = path.basename(fsPath);
  if (base === 'alloc' || base === 'free') {
    out.push([treePathOf, { type: 'writeonly' }]);
    return;
  }
  try {
    // size-0 debugfs/sysfs files are read until EOF; FIFOs, devices and trace_pipe are not read
    const r = readRegularFileSync(fsPath);
    out.push([
      treePathOf,
      'refused' in r
        ? { type: 'unreadable', error: r.refused }
        : { type: 'file', text: r.toString('latin1') },
    ]);
  } catch (e) {
    out.push([treePathOf, { type: 'unreadable', error: errnoText(e) }]);
  }
}

/** Reads a local directory tree (live or copied) into a CmaTree. */
export function readDirTree(dir: string, opts: { live?: boolean; label?: string } = {}): CmaTree {
  const shape = dirShape(dir, opts.live ?? false);
  const out: [string, TreeEntry][] = [];
  const label = opts.label ?? dir;
  if (shape.kind === 'sys') {
    walk(path.join(dir, DEBUGFS_CMA), DEBUGFS_CMA, 4, out);
    if (isDir(path.join(dir, SYSFS_CMA))) walk(path.join(dir, SYSFS_CMA), SYSFS_CMA, 2, out);
  } else if (shape.kind === 'debugfs') walk(path.join(dir, 'cma'), DEBUGFS_CMA, 4, out);
  else if (shape.kind === 'cma') walk(dir, DEBUGFS_CMA, 4, out);
  else walk(dir, `${DEBUGFS_CMA}/${path.basename(path.resolve(dir))}`, 3, out);
  let release: string | null = null;
  if (opts.live) {
    try {
      release = fs.readFileSync('/proc/sys/kernel/osrelease', 'latin1').trim();
    } catch {
      release = null;
    }
  }
  return makeTree(label, out, release);
}

/** The live tree: `/sys` (or a directory mirroring it, e.g. a FUSE mount of the emulator). */
export function liveSource(root = '/sys'): CmaSource {
  const live = root === '/sys';
  return {
    label: root,
    capture: async () => {
      try {
        return readDirTree(root, { live, label: root });
      } catch (e) {
        // no debugfs: what a production kernel still offers (sysfs, /proc, the kernel log)
        if (e instanceof SourceError && isDir(path.join(root, SYSFS_CMA)))
          return readSysfsOnly(root, live, root);
        throw e;
      }
    },
  };
}

/** A copied directory: /sys-like root, debugfs root, the cma directory or one area directory. */
export function copiedDirSource(dir: string): CmaSource {
  return { label: dir, capture: async () => readDirTree(dir, { label: dir }) };
}

/** Writes a tree as a /sys-like directory (symlinks kept; write-only and unreadable files left out). */
export function writeTreeDir(tree: CmaTree, dir: string): void {
  for (const [p, e] of [...tree.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const target = path.join(dir, p);
    if (e.type === 'dir') fs.mkdirSync(target, { recursive: true });
    else if (e.type === 'file') {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, e.text, 'latin1');
    } else if (e.type === 'symlink') {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.rmSync(target, { force: true });
      fs.symlinkSync(e.target, target);
    }
  }
}
