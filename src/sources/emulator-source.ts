// The emulator as a source: a CmaSystem read through its own file API, exactly as user space
// would read the /sys it emulates.

import type { CmaSystem } from '../core/system.ts';
import type { CmaSource } from './source.ts';
import type { CmaTree, TreeEntry } from './tree.ts';
import { DEBUGFS_CMA, makeTree, SYSFS_CMA } from './tree.ts';

function walk(sys: CmaSystem, p: string, out: [string, TreeEntry][]): void {
  const st = sys.stat(p, false);
  if (!st.ok) return;
  if (st.stat.type === 'symlink') {
    const l = sys.readlink(p);
    if (l.ok) out.push([p, { type: 'symlink', target: l.target }]);
    return;
  }
  if (st.stat.type === 'dir') {
    out.push([p, { type: 'dir' }]);
    const r = sys.readdir(p);
    if (r.ok) for (const n of r.names) walk(sys, `${p}/${n}`, out);
    return;
  }
  const name = p.slice(p.lastIndexOf('/') + 1);
  if (name === 'alloc' || name === 'free') {
    out.push([p, { type: 'writeonly' }]);
    return;
  }
  const r = sys.readFile(p);
  out.push([p, r.ok ? { type: 'file', text: r.text } : { type: 'unreadable', error: r.errno }]);
}

/** Captures an emulated system's CMA tree. */
export function treeFromSystem(sys: CmaSystem, label = `emulator (${sys.profile.id})`): CmaTree {
  const out: [string, TreeEntry][] = [];
  walk(sys, DEBUGFS_CMA, out);
  walk(sys, SYSFS_CMA, out);
  return makeTree(label, out, sys.profile.release);
}

/**
 * What an emulated system offers without debugfs, as a device does: its sysfs CMA tree, the CMA
 * lines of /proc/{meminfo,vmstat,zoneinfo,pagetypeinfo} and its kernel log (for deviceReport).
 */
export function deviceTreeOfSystem(sys: CmaSystem, label = `emulator (${sys.profile.id})`): CmaTree {
  const out: [string, TreeEntry][] = [];
  walk(sys, SYSFS_CMA, out);
  const files: Record<string, string> = { dmesg: sys.dmesg() };
  for (const f of ['meminfo', 'vmstat', 'zoneinfo', 'pagetypeinfo'] as const)
    files[`proc/${f}`] = sys.procFile(f);
  return makeTree(label, out, sys.profile.release, undefined, { files, unreadable: {} });
}

/** An emulated system as a source. */
export function emulatorSource(sys: CmaSystem, label?: string): CmaSource {
  return { label: label ?? `emulator (${sys.profile.id})`, capture: async () => treeFromSystem(sys, label) };
}
