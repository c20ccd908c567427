// Snapshot files: one JSON document holding every CMA file's exact text, the symlinks, the
// sysfs counters, the capture time and the kernel release; and an emulator continuing from one.

import * as fs from 'node:fs';
import type { CmaBitmapFactory } from '../core/cma-bitmap.ts';
import { setBitsFromWords } from '../core/cma-bitmap.ts';
import { CmaSystem } from '../core/system.ts';
import { received, validate } from '../schema/issues.ts';
import { SnapshotSchema } from '../schema/snapshot.ts';
import { profileForTree, readAreas } from './model.ts';
import type { CmaSource } from './source.ts';
import type { CmaTree, TreeEntry } from './tree.ts';
import { makeTree, SourceError } from './tree.ts';

/** The JSON document of a snapshot file (version 1). Paths are relative to /sys. */
export interface Snapshot {
  readonly format: 'cma-debug-snapshot';
  readonly version: 1;
  readonly source: string;
  readonly capturedAt: string;
  readonly kernelRelease: string | null;
  /** path → exact text (bitmap files keep the kernel's missing-newline quirk). */
  readonly files: Record<string, string>;
  readonly symlinks: Record<string, string>;
  readonly dirs: string[];
  /** alloc/free files: present but write-only. */
  readonly writeOnly: string[];
  readonly unreadable: Record<string, string>;
  /**
   * Optional: what the device offers outside /sys (`proc/meminfo`, …, `dmesg`, paths relative to
   * `/`) and what could not be read. Older snapshots have none.
   */
  readonly device?: { readonly files: Record<string, string>; readonly unreadable: Record<string, string> };
}

/** A tree as a snapshot document. */
export function snapshotFromTree(tree: CmaTree): Snapshot {
  const files: Record<string, string> = {};
  const symlinks: Record<string, string> = {};
  const unreadable: Record<string, string> = {};
  const dirs: string[] = [];
  const writeOnly: string[] = [];
  for (const [p, e] of [...tree.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (e.type === 'file') files[p] = e.text;
    else if (e.type === 'symlink') symlinks[p] = e.target;
    else if (e.type === 'dir') dirs.push(p);
    else if (e.type === 'writeonly') writeOnly.push(p);
    else unreadable[p] = e.error;
  }
  return {
    format: 'cma-debug-snapshot',
    version: 1,
    source: tree.source,
    capturedAt: tree.capturedAt,
    kernelRelease: tree.kernelRelease,
    files,
    symlinks,
    dirs,
    writeOnly,
    unreadable,
    ...(tree.device
      ? { device: { files: { ...tree.device.files }, unreadable: { ...tree.device.unreadable } } }
      : {}),
  };
}

/** Parses and checks a snapshot document; throws SourceError naming the file, the JSON path and the problem. */
export function parseSnapshot(text: string, name = 'snapshot'): Snapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SourceError(`${name}: not a snapshot (invalid JSON: ${(e as Error).message})`);
  }
  const d = doc as Partial<Snapshot> | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d) || d.format !== 'cma-debug-snapshot')
    throw new SourceError(
      `${name}: not a cma-debug snapshot (expected an object with "format": "cma-debug-snapshot", ${received(d === null || typeof d !== 'object' || Array.isArray(d) ? d : d.format).replace('missing', 'no "format"')})`,
    );
  if (d.version !== 1)
    throw new SourceError(`${name}: snapshot version ${String(d.version)} is not supported (1 is)`);
  const s = validate(SnapshotSchema, doc, (m) => {
    throw new SourceError(
      m.startsWith('device')
        ? `${name}: "device" must be {"files": {path: text}, "unreadable": {path: reason}} (${m})`
        : `${name}: ${m}`,
    );
  });
  return {
    format: 'cma-debug-snapshot',
    version: 1,
    source: s.source ?? name,
    capturedAt: s.capturedAt ?? '',
    kernelRelease: s.kernelRelease ?? null,
    files: s.files,
    symlinks: s.symlinks ?? {},
    dirs: s.dirs ?? [],
    writeOnly: s.writeOnly ?? [],
    unreadable: s.unreadable ?? {},
    ...(s.device ? { device: { files: s.device.files, unreadable: s.device.unreadable ?? {} } } : {}),
  };
}

/** A snapshot as a tree (labelled with the file name it came from). */
export function treeFromSnapshot(s: Snapshot, label = s.source): CmaTree {
  const entries: [string, TreeEntry][] = [
    ...s.dirs.map((p): [string, TreeEntry] => [p, { type: 'dir' }]),
    ...Object.entries(s.files).map(([p, text]): [string, TreeEntry] => [p, { type: 'file', text }]),
    ...Object.entries(s.symlinks).map(([p, target]): [string, TreeEntry] => [p, { type: 'symlink', target }]),
    ...s.writeOnly.map((p): [string, TreeEntry] => [p, { type: 'writeonly' }]),
    ...Object.entries(s.unreadable).map(([p, error]): [string, TreeEntry] => [
      p,
      { type: 'unreadable', error },
    ]),
  ];
  return makeTree(label, entries, s.kernelRelease, s.capturedAt, s.device);
}

/** Reads a snapshot file; throws SourceError when it cannot be read or is not a snapshot. */
export function readSnapshotFile(file: string): Snapshot {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (e) {
    throw new SourceError(
      `cannot read snapshot ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parseSnapshot(text, file);
}

/** The snapshot text written by `cma-debug snapshot`. */
export function formatSnapshot(s: Snapshot): string {
  return `${JSON.stringify(s, null, 1)}\n`;
}

/** A snapshot file as a source. */
export function snapshotSource(file: string): CmaSource {
  return { label: file, capture: async () => treeFromSnapshot(readSnapshotFile(file), file) };
}

/** Options of systemFromSnapshot. */
export interface FromSnapshotOptions {
  readonly bitmapFactory?: CmaBitmapFactory;
  readonly now?: () => number;
}

/**
 * An emulated system continuing from a snapshot (or any captured tree): same areas, ranges in
 * the kernel's index order, bitmaps, available counts and sysfs counters; the profile follows
 * what is present (`ranges/` → 7.3; `release_pages_success` or `errorno` in the trace format
 * → 6.12; else 6.1). The debugfs record list starts empty, so `free`
 * frees nothing until something is allocated. Throws SourceError for a bad snapshot.
 */
export function systemFromSnapshot(snapshot: Snapshot | CmaTree, opts: FromSnapshotOptions = {}): CmaSystem {
  const tree = 'entries' in snapshot ? snapshot : treeFromSnapshot(snapshot);
  const models = readAreas(tree);
  const profile = profileForTree(tree, models);
  const sys = new CmaSystem({
    profile,
    areas: models.map((m) => ({
      name: m.name,
      orderPerBit: m.area.orderPerBit,
      ranges: m.area.ranges.map((r) => ({ basePfn: r.basePfn, count: r.count })),
    })),
    ...(opts.bitmapFactory ? { bitmapFactory: opts.bitmapFactory } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  models.forEach((m, i) => {
    const target = sys.areas[i]!.area;
    m.area.ranges.forEach((r, k) => {
      setBitsFromWords(target.ranges[k]!.bitmap, r.bitmap.words);
    });
    target.availableCount = m.area.availableCount;
    target.sysfs.allocPagesSuccess = m.sysfs.alloc_pages_success ?? 0n;
    target.sysfs.allocPagesFail = m.sysfs.alloc_pages_fail ?? 0n;
    target.sysfs.releasePagesSuccess = m.sysfs.release_pages_success ?? 0n;
  });
  return sys;
}

/** systemFromSnapshot for a file name (what `--from-snapshot FILE` calls). */
export function systemFromSnapshotFile(file: string, opts: FromSnapshotOptions = {}): CmaSystem {
  return systemFromSnapshot(treeFromSnapshot(readSnapshotFile(file), file), opts);
}
