// A device's files as a source, without debugfs: a directory that mirrors the device's paths
// (`adb pull` of /sys/kernel/mm/cma and /proc files, `dmesg > DIR/dmesg`), or a /sys root whose
// debugfs is not mounted (then /proc and the kernel log come from this machine when it is live,
// or from a mount's `.cma-debug/` directory).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CmaSource } from './source.ts';
import type { CmaTree, DeviceFiles, TreeEntry } from './tree.ts';
import { DEBUGFS_CMA, makeTree, SYSFS_CMA } from './tree.ts';

const PROC_FILES = ['meminfo', 'vmstat', 'zoneinfo', 'pagetypeinfo'];

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'missing';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (e as Error).message;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** True when DIR mirrors a device's paths: `sys/kernel/mm/cma`, `proc/meminfo` or `dmesg`. */
export function isDeviceDir(dir: string): boolean {
  return (
    isDir(path.join(dir, 'sys', SYSFS_CMA)) ||
    fs.existsSync(path.join(dir, 'proc/meminfo')) ||
    fs.existsSync(path.join(dir, 'dmesg'))
  );
}

/** Reads a tree below `root` into entries (paths relative to /sys), recording what failed. */
function walk(fsPath: string, rel: string, depth: number, out: [string, TreeEntry][]): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(fsPath);
  } catch (e) {
    out.push([rel, { type: 'unreadable', error: reason(e) }]);
    return;
  }
  if (st.isSymbolicLink()) {
    out.push([rel, { type: 'symlink', target: fs.readlinkSync(fsPath) }]);
    return;
  }
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = fs.readdirSync(fsPath).sort();
    } catch (e) {
      out.push([rel, { type: 'unreadable', error: reason(e) }]);
      return;
    }
    out.push([rel, { type: 'dir' }]);
    if (depth > 0) for (const n of names) walk(path.join(fsPath, n), `${rel}/${n}`, depth - 1, out);
    return;
  }
  const base = path.basename(fsPath);
  if (base === 'alloc' || base === 'free') {
    out.push([rel, { type: 'writeonly' }]);
    return;
  }
  try {
    out.push([rel, { type: 'file', text: fs.readFileSync(fsPath, 'latin1') }]);
  } catch (e) {
    out.push([rel, { type: 'unreadable', error: reason(e) }]);
  }
}

/** Reads `files` (name → path) into device files, recording why any could not be read. */
function readFiles(files: [string, string][]): DeviceFiles {
  const out: Record<string, string> = {};
  const unreadable: Record<string, string> = {};
  for (const [name, p] of files) {
    try {
      out[name] = fs.readFileSync(p, 'latin1');
    } catch (e) {
      unreadable[name] = reason(e);
    }
  }
  return { files: out, unreadable };
}

/** A directory mirroring a device (`DIR/sys/kernel/mm/cma/…`, `DIR/proc/…`, `DIR/dmesg`). */
export function readDeviceDir(dir: string, label = dir): CmaTree {
  const out: [string, TreeEntry][] = [];
  const sys = path.join(dir, 'sys');
  if (isDir(path.join(sys, DEBUGFS_CMA))) walk(path.join(sys, DEBUGFS_CMA), DEBUGFS_CMA, 4, out);
  if (fs.existsSync(path.join(sys, SYSFS_CMA))) walk(path.join(sys, SYSFS_CMA), SYSFS_CMA, 2, out);
  const device = readFiles([
    ...PROC_FILES.map((f): [string, string] => [`proc/${f}`, path.join(dir, 'proc', f)]),
    ['dmesg', path.join(dir, 'dmesg')],
  ]);
  let release: string | null = null;
  try {
    release = fs.readFileSync(path.join(dir, 'proc/sys/kernel/osrelease'), 'latin1').trim() || null;
  } catch {
    release = null;
  }
  return makeTree(label, out, release, undefined, device);
}

/** The kernel log of this machine (`dmesg`), or why it could not be read. */
function liveDmesg(): { text?: string; error?: string } {
  const r = spawnSync('dmesg', [], { encoding: 'latin1', maxBuffer: 64 << 20 });
  if (r.error)
    return { error: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : r.error.message };
  if (r.status !== 0) return { error: 'permission denied' };
  return { text: r.stdout };
}

/**
 * The device files that go with a /sys root: this machine's /proc and `dmesg` for the live /sys;
 * `ROOT/.cma-debug/{meminfo,vmstat,zoneinfo,pagetypeinfo,dmesg}` for a mount of the emulator
 * (its vmstat holds only the cma_alloc_* lines); nothing otherwise.
 */
function deviceFilesFor(root: string, live: boolean): DeviceFiles | undefined {
  const emu = path.join(root, '.cma-debug');
  if (isDir(emu))
    return readFiles([
      ...PROC_FILES.map((f): [string, string] => [`proc/${f}`, path.join(emu, f)]),
      ['dmesg', path.join(emu, 'dmesg')],
    ]);
  if (!live) return undefined;
  const d = readFiles(PROC_FILES.map((f): [string, string] => [`proc/${f}`, `/proc/${f}`]));
  const log = liveDmesg();
  return {
    files: { ...d.files, ...(log.text !== undefined ? { dmesg: log.text } : {}) },
    unreadable: { ...d.unreadable, ...(log.error !== undefined ? { dmesg: log.error } : {}) },
  };
}

/** A /sys root without debugfs: its sysfs CMA tree and the device files that go with it. */
export function readSysfsOnly(root: string, live: boolean, label = root): CmaTree {
  const out: [string, TreeEntry][] = [];
  if (isDir(path.join(root, 'kernel/debug'))) out.push(['kernel/debug', { type: 'dir' }]);
  if (fs.existsSync(path.join(root, SYSFS_CMA))) walk(path.join(root, SYSFS_CMA), SYSFS_CMA, 2, out);
  let release: string | null = null;
  if (live) {
    try {
      release = fs.readFileSync('/proc/sys/kernel/osrelease', 'latin1').trim();
    } catch {
      release = null;
    }
  }
  return makeTree(label, out, release, undefined, deviceFilesFor(root, live));
}

/** A copied device directory as a source. */
export function deviceDirSource(dir: string): CmaSource {
  return { label: dir, capture: async () => readDeviceDir(dir) };
}
