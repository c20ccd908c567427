// A directory standing for /sys (a live kernel's /sys, or a copy of one) as a FileTree: the
// server's /sys/<path> is DIR/<path>. Nothing outside DIR is reachable, symlinks included;
// writes are one write() of the body into an existing file (never create, never truncate a copy
// into something else). Only regular files are read or written (sources/safe-read.ts).

import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { ErrnoName, Result } from '../core/errno.ts';
import { ERRNO, fail } from '../core/errno.ts';
import type { Stat } from '../core/system.ts';
import { sysPathComponents } from '../core/system.ts';
import type { FileTree, RefusedResult } from './file-tree.ts';
import { readRegularFile, readRegularFileSync, writeRegularFileSync } from './safe-read.ts';

function errnoOf(e: unknown): ErrnoName {
  const code = (e as NodeJS.ErrnoException).code;
  return code !== undefined && Object.hasOwn(ERRNO, code) ? (code as ErrnoName) : 'EIO';
}

/** A FileTree over a directory. */
export class DirectoryTree implements FileTree {
  readonly root: string;

  constructor(dir: string) {
    this.root = realpathSync(dir);
  }

  private inside(p: string): boolean {
    return p === this.root || p.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep);
  }

  /** The real path of `path` (following links), or EACCES when it leaves the tree. */
  private locate(path: string, follow: boolean): Result<{ file: string }> {
    const parts = sysPathComponents(path);
    if (parts.some((p) => p === '..')) return fail('EACCES');
    const joined = join(this.root, ...parts);
    try {
      if (follow) {
        const real = realpathSync(joined);
        return this.inside(real) ? { ok: true, file: real } : fail('EACCES');
      }
      const parent = realpathSync(dirname(joined));
      if (!this.inside(parent)) return fail('EACCES');
      return { ok: true, file: parts.length === 0 ? this.root : join(parent, parts[parts.length - 1]!) };
    } catch (e) {
      return fail(errnoOf(e));
    }
  }

  stat(path: string, follow = true): Result<{ stat: Stat }> {
    const l = this.locate(path, follow);
    if (!l.ok) return l;
    try {
      const s = lstatSync(l.file);
      const type = s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'file';
      return { ok: true, stat: { type, mode: s.mode & 0o7777, size: s.size, nlink: s.nlink } };
    } catch (e) {
      return fail(errnoOf(e));
    }
  }

  readdir(path: string): Result<{ names: string[] }> {
    const l = this.locate(path, true);
    if (!l.ok) return l;
    try {
      return { ok: true, names: readdirSync(l.file).sort() };
    } catch (e) {
      return fail(errnoOf(e));
    }
  }

  readlink(path: string): Result<{ target: string }> {
    const l = this.locate(path, false);
    if (!l.ok) return l;
    try {
      return { ok: true, target: readlinkSync(l.file) };
    } catch (e) {
      return fail(errnoOf(e));
    }
  }

  readFile(path: string): Result<{ data: Uint8Array }> | RefusedResult {
    const l = this.locate(path, true);
    if (!l.ok) return l;
    try {
      const r = readRegularFileSync(l.file);
      return 'refused' in r ? { ok: false, ...r } : { ok: true, data: new Uint8Array(r) };
    } catch (e) {
      return fail(errnoOf(e));
    }
  }

  /** readFile off the event loop with a time limit: a blocking file never stalls the server. */
  async readFileAsync(path: string): Promise<Result<{ data: Uint8Array }> | RefusedResult> {
    const l = this.locate(path, true);
    if (!l.ok) return l;
    try {
      const r = await readRegularFile(l.file);
      return 'refused' in r ? { ok: false, ...r } : { ok: true, data: new Uint8Array(r) };
    } catch (e) {
      return fail(errnoOf(e));
    }
  }

  writeFile(path: string, data: Uint8Array): Result<{ written: number }> | RefusedResult {
    const l = this.locate(path, true);
    if (!l.ok) return l;
    try {
      const r = writeRegularFileSync(l.file, data);
      return typeof r === 'number' ? { ok: true, written: r } : { ok: false, ...r };
    } catch (e) {
      return fail(errnoOf(e));
    }
  }
}
