// A captured tree (a snapshot file, a bug report, a copied device directory, a kernel log) as the
// read-only FileTree `serve` answers /sys/<path> from: the files as captured, byte for byte;
// what the capture could not read answers as the device did (ENOENT for a missing file, EACCES
// for one that was refused); nothing can be written.

import type { ErrnoName, Result } from '../core/errno.ts';
import { fail } from '../core/errno.ts';
import type { Stat } from '../core/system.ts';
import { sysPathComponents } from '../core/system.ts';
import type { FileTree } from './file-tree.ts';
import type { CmaTree, TreeEntry } from './tree.ts';
import { childNames, resolveEntry } from './tree.ts';

const ENCODER = new TextEncoder();

/** The bytes of a captured text (files are captured as latin1: one char per byte). */
function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

function errnoOfUnreadable(error: string): ErrnoName {
  return /missing|ENOENT|no such/i.test(error) ? 'ENOENT' : 'EACCES';
}

function statOf(e: TreeEntry): Stat {
  switch (e.type) {
    case 'dir':
      return { type: 'dir', mode: 0o755, size: 0, nlink: 2 };
    case 'symlink':
      return { type: 'symlink', mode: 0o777, size: ENCODER.encode(e.target).length, nlink: 1 };
    case 'file':
      return { type: 'file', mode: 0o444, size: e.text.length, nlink: 1 };
    case 'writeonly':
      return { type: 'file', mode: 0o200, size: 0, nlink: 1 };
    case 'unreadable':
      return { type: 'file', mode: 0o400, size: 0, nlink: 1 };
  }
}

/** A read-only FileTree over a captured tree (paths as the server gives them: `/sys/kernel/…`). */
export class CapturedTree implements FileTree {
  constructor(readonly capture: CmaTree) {}

  private key(path: string): string {
    return sysPathComponents(path).join('/');
  }

  private entry(path: string, follow: boolean): Result<{ path: string; entry: TreeEntry }> {
    const k = this.key(path);
    if (k === '') return { ok: true, path: '', entry: { type: 'dir' } };
    if (!follow) {
      const e = this.capture.entries.get(k);
      return e ? { ok: true, path: k, entry: e } : fail('ENOENT');
    }
    const r = resolveEntry(this.capture, k);
    return r ? { ok: true, ...r } : fail('ENOENT');
  }

  stat(path: string, follow = true): Result<{ stat: Stat }> {
    const r = this.entry(path, follow);
    if (!r.ok) return r;
    if (r.entry.type === 'unreadable' && errnoOfUnreadable(r.entry.error) === 'ENOENT') return fail('ENOENT');
    return { ok: true, stat: statOf(r.entry) };
  }

  readdir(path: string): Result<{ names: string[] }> {
    const r = this.entry(path, true);
    if (!r.ok) return r;
    if (r.entry.type === 'unreadable') return fail(errnoOfUnreadable(r.entry.error));
    if (r.entry.type !== 'dir') return fail('ENOTDIR');
    const names =
      r.path === ''
        ? [...new Set([...this.capture.entries.keys()].map((p) => p.split('/')[0]!))].sort()
        : childNames(this.capture, r.path);
    return { ok: true, names };
  }

  readlink(path: string): Result<{ target: string }> {
    const r = this.entry(path, false);
    if (!r.ok) return r;
    return r.entry.type === 'symlink' ? { ok: true, target: r.entry.target } : fail('EINVAL');
  }

  readFile(path: string): Result<{ data: Uint8Array }> {
    const r = this.entry(path, true);
    if (!r.ok) return r;
    switch (r.entry.type) {
      case 'file':
        return { ok: true, data: bytes(r.entry.text) };
      case 'dir':
        return fail('EISDIR');
      case 'unreadable':
        return fail(errnoOfUnreadable(r.entry.error));
      default:
        // alloc/free: write-only on every kernel
        return fail('EACCES');
    }
  }

  writeFile(): Result<{ written: number }> {
    return fail('EACCES');
  }
}
