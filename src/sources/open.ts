// Choosing a source from the user's words: a path (directory tree or copy, snapshot file or
// kernel log, told apart by content), `live`, `--root DIR`, `--adb [SERIAL]`, `--ssh HOST`,
// `--dmesg FILE`, or an emulated system.

import * as fs from 'node:fs';
import type { CmaSystem } from '../core/system.ts';
import { bugreportSource, isBugreportText } from './bugreport.ts';
import { parseDeviceLog } from './device-log.ts';
import { deviceDirSource, isDeviceDir } from './device-source.ts';
import { copiedDirSource, liveSource } from './dir-source.ts';
import { emulatorSource } from './emulator-source.ts';
import type { KernelLogOptions } from './kernel-log.ts';
import { kernelLogSource, treeFromKernelLog } from './kernel-log.ts';
import type { RemoteOptions } from './remote.ts';
import { adbSource, sshSource } from './remote.ts';
import { readNamedFile } from './safe-read.ts';
import { snapshotSource } from './snapshot.ts';
import type { CmaSource } from './source.ts';
import { makeTree, SourceError } from './tree.ts';

/** What the user asked for. */
export type SourceSpec =
  | { readonly kind: 'live'; readonly root?: string }
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'adb'; readonly serial?: string; readonly remote?: RemoteOptions }
  | { readonly kind: 'ssh'; readonly host: string; readonly remote?: RemoteOptions }
  | { readonly kind: 'dmesg'; readonly file: string; readonly log?: KernelLogOptions }
  | { readonly kind: 'emulator'; readonly system: CmaSystem };

/** What a file path holds, by its first bytes: a snapshot (JSON) or a kernel log. */
export function fileKind(file: string): 'dir' | 'snapshot' | 'log' | 'bugreport' {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new SourceError(
      `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
  if (st.isDirectory()) return 'dir';
  let head: string;
  try {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, 256, 0);
    fs.closeSync(fd);
    head = buf.subarray(0, n).toString('utf8');
  } catch (e) {
    throw new SourceError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (head.startsWith('PK') || isBugreportText(head)) return 'bugreport';
  const t = head.trim();
  if (t === '') throw new SourceError(`${file}: empty file (expected a snapshot or a kernel log)`);
  if (t.startsWith('{')) return 'snapshot';
  if (/^\[\s*\d+\.\d+\]/.test(t)) return 'log'; // dmesg's "[    0.000000] …"
  // a short file that is JSON (`null`, `42`, `"x"`) was meant as a snapshot, not a log
  if (head.length < 256) {
    try {
      JSON.parse(t);
      return 'snapshot';
    } catch {}
  }
  return t.startsWith('[') ? 'snapshot' : 'log';
}

/** The source a spec names. */
export function openSource(spec: SourceSpec): CmaSource {
  switch (spec.kind) {
    case 'live':
      return liveSource(spec.root ?? '/sys');
    case 'adb':
      return adbSource(spec.serial, spec.remote);
    case 'ssh':
      return sshSource(spec.host, spec.remote);
    case 'dmesg':
      return kernelLogSource(spec.file, spec.log);
    case 'emulator':
      return emulatorSource(spec.system);
    case 'path': {
      const kind = fileKind(spec.path);
      if (kind === 'dir')
        return isDeviceDir(spec.path) ? deviceDirSource(spec.path) : copiedDirSource(spec.path);
      if (kind === 'snapshot') return snapshotSource(spec.path);
      if (kind === 'bugreport') return bugreportSource(spec.path);
      return kernelLogOrDeviceSource(spec.path);
    }
  }
}

/**
 * A kernel log file: the areas its free-area dumps rebuild; a log without a dump is still the
 * kernel log of a device (boot lines, failures) for a device report.
 */
function kernelLogOrDeviceSource(file: string): CmaSource {
  const label = `dmesg ${file}`;
  return {
    label,
    capture: async () => {
      const text = readNamedFile(file).toString('utf8');
      try {
        return treeFromKernelLog(text, label);
      } catch (e) {
        if (!(e instanceof SourceError) || !/no CMA free-area dump/.test(e.message)) throw e;
        const log = parseDeviceLog(text, label);
        if (log.reservations.length + log.hugetlb.length + log.failures.length === 0) throw e;
        return makeTree(label, [], null, undefined, { files: { dmesg: text }, unreadable: {} });
      }
    },
  };
}
