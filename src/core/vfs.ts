// A tiny VFS: the nodes the emulated /sys tree is made of, and the open-file behaviours of
// libfs simple attributes, debugfs u32 arrays, kernfs (sysfs) and tracefs files.

import type { ErrnoName, Result } from './errno.ts';
import { fail } from './errno.ts';
import { parseAttrWrite } from './kstrtox.ts';
import type { TaskContext } from './trace.ts';

/** open(2) flag bits (x86_64/arm64 values). */
export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
/** open(2)'s O_NONBLOCK: a pipe's read with nothing to give fails with EAGAIN instead of waiting. */
export const O_NONBLOCK = 0o4000;
const O_RDWR = 2;
const O_TRUNC = 0o1000;

/** Who opens a file and how. */
export interface OpenContext {
  /** open(2) flags. */
  readonly flags: number;
  readonly task: TaskContext;
  /** Effective uid; 0 = root (CAP_DAC_OVERRIDE). */
  readonly uid: number;
}

/**
 * An open file description's behaviour: its state (the text made at the first read, or at open
 * for u32 arrays) belongs to the description, whichever process reads or writes through it.
 * `pos` is the file position of the call.
 */
export interface OpenFile {
  read(pos: number, length: number): Result<{ data: Uint8Array }>;
  /** A write by `task` (the writer of this call: trace lines carry its comm-pid). */
  write(data: Uint8Array, pos: number, task: TaskContext): Result<{ written: number }>;
  /** The length of the text a read from position 0 would now return through this description. */
  textLength(): number;
  release?(): void;
}

export interface FileNode {
  readonly kind: 'file';
  readonly mode: number;
  /** st_size: 0 for debugfs and tracefs, 4096 for sysfs attributes. */
  readonly size: number;
  /**
   * Whether lseek(2) works: false for debugfs attributes (simple_attr_open ends in
   * nonseekable_open) and u32 arrays (no llseek), where it fails with ESPIPE.
   */
  readonly seekable: boolean;
  /**
   * A read at a non-zero position returns nothing, whatever the text (event_filter_read and
   * subsystem_filter_read answer only a read from the start).
   */
  readonly emptyPastStart?: boolean;
  /**
   * A pipe (`trace_pipe`): a read with nothing to give fails with EAGAIN, where the kernel's
   * reader would wait for more (unless opened O_NONBLOCK).
   */
  readonly blocking?: boolean;
  open(ctx: OpenContext): Result<{ file: OpenFile }>;
}

export interface DirNode {
  readonly kind: 'dir';
  readonly mode: number;
  /** Children in `ls` (sorted) order; computed on demand, so the tree follows the state. */
  entries(): ReadonlyMap<string, VfsNode>;
  /** errno for creating, removing or renaming inside (debugfs: EACCES to create, EPERM else). */
  readonly createErrno: ErrnoName;
  readonly changeErrno: ErrnoName;
  /** st_nlink when it does not follow the 2 + subdirectories rule (eventfs: 1; an automount point). */
  readonly nlink?: number | undefined;
}

export interface LinkNode {
  readonly kind: 'symlink';
  readonly mode: number;
  readonly target: string;
}

export type VfsNode = FileNode | DirNode | LinkNode;

const enc = new TextEncoder();

/** Encodes text as the bytes a kernel file returns (short ASCII without TextEncoder's call cost). */
export function bytes(text: string): Uint8Array {
  if (text.length > 64) return enc.encode(text);
  const out = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c > 0x7f) return enc.encode(text);
    out[k] = c;
  }
  return out;
}

const dec = new TextDecoder();

/** UTF-8 text of bytes (short ASCII without the decoder, which costs more than a `used` read). */
export function text(data: Uint8Array): string {
  if (data.length > 64) return dec.decode(data);
  let out = '';
  for (let k = 0; k < data.length; k++) {
    const c = data[k]!;
    if (c > 0x7f) return dec.decode(data);
    out += String.fromCharCode(c);
  }
  return out;
}

const NO_BYTES = new Uint8Array(0);

/**
 * simple_read_from_buffer: the bytes of `buf` at [pos, pos+length). A whole-buffer read returns
 * `buf` itself and EOF a shared empty array (a subarray costs more than the rest of a `used`
 * read); callers only read what they get.
 */
function readFromBuffer(buf: Uint8Array, pos: number, length: number): Result<{ data: Uint8Array }> {
  if (pos >= buf.length) return { ok: true, data: NO_BYTES };
  if (pos === 0 && length >= buf.length) return { ok: true, data: buf };
  return { ok: true, data: buf.subarray(pos, Math.min(buf.length, pos + length)) };
}

/**
 * A directory. Its entries are computed on first use and kept: an emulated kernel's tree does not
 * change shape after boot (areas and ranges are fixed; file state lives in the nodes' closures).
 * Readdir lists them sorted by name, or in the order given when `order` is 'given' (debugfs:
 * newest first).
 */
export function dir(
  entries: () => [string, VfsNode][],
  mode = 0o755,
  createErrno: ErrnoName = 'EACCES',
  changeErrno: ErrnoName = 'EPERM',
  order: 'name' | 'given' = 'name',
): DirNode {
  let cache: ReadonlyMap<string, VfsNode> | null = null;
  return {
    kind: 'dir',
    mode,
    createErrno,
    changeErrno,
    entries: () => {
      cache ??= new Map(
        order === 'given' ? entries() : entries().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
      return cache;
    },
  };
}

/** A symbolic link (debugfs_create_symlink: mode 0777). */
export function symlink(target: string): LinkNode {
  return { kind: 'symlink', mode: 0o777, target };
}

/**
 * A debugfs attribute (DEFINE_DEBUGFS_ATTRIBUTE over libfs simple_attr_*): "%llu\n" text cached
 * per open; a read at position 0 (or before any read) calls the getter again. A missing getter or
 * setter gives EACCES from read or write, after open succeeded.
 */
export function attrFile(
  mode: number,
  get: (() => bigint) | null,
  set: ((value: bigint, task: TaskContext) => Result<object>) | null,
): FileNode {
  return {
    kind: 'file',
    mode,
    size: 0,
    seekable: false,
    open() {
      // simple_attr_read: the text is made by a read at position 0 (or while none was made) and
      // kept by the open file: a later read at a non-zero position continues the same text
      let cached: Uint8Array | null = null;
      return {
        ok: true,
        file: {
          read(pos, length) {
            if (!get) return fail('EACCES');
            if (pos === 0 || cached === null || cached.length === 0) cached = bytes(`${get()}\n`);
            return readFromBuffer(cached, pos, length);
          },
          textLength() {
            if (!get) return 0;
            return cached !== null && cached.length > 0 ? cached.length : `${get()}\n`.length;
          },
          write(data, _pos, task) {
            if (!set) return fail('EACCES');
            const parsed = parseAttrWrite(data);
            if (!parsed.ok) return parsed;
            const r = set(parsed.value, task);
            if (!r.ok) return r;
            return { ok: true, written: data.length };
          },
        },
      };
    },
  };
}

/** A debugfs u32 array file: the text is generated at open(); it has no write method (EINVAL). */
export function snapshotFile(mode: number, text: () => string, writeErrno: ErrnoName = 'EINVAL'): FileNode {
  return {
    kind: 'file',
    mode,
    size: 0,
    seekable: false,
    open() {
      const buf = bytes(text());
      return {
        ok: true,
        file: {
          read: (pos, length) => readFromBuffer(buf, pos, length),
          textLength: () => buf.length,
          write: () => fail(writeErrno),
        },
      };
    },
  };
}

/**
 * A kernfs (sysfs) attribute: st_size 4096, text built at each read at position 0. Without a
 * `store` it is 0444 and opening it for writing is EACCES even for root; with one it is 0644 and
 * each write is handed to `store` whole.
 */
export function sysfsFile(
  show: () => string,
  store: ((text: string, task: TaskContext) => Result<object>) | null = null,
): FileNode {
  return {
    kind: 'file',
    mode: store ? 0o644 : 0o444,
    size: 4096,
    seekable: true,
    open(ctx) {
      if ((ctx.flags & O_ACCMODE) !== O_RDONLY && !store) return fail('EACCES');
      let buf: Uint8Array | null = null;
      return {
        ok: true,
        file: {
          read(pos, length) {
            if (pos === 0 || buf === null) buf = bytes(show());
            return readFromBuffer(buf, pos, length);
          },
          textLength: () => (buf ?? bytes(show())).length,
          write(data, _pos, task) {
            if (!store) return fail('EBADF');
            const r = store(new TextDecoder().decode(data), task);
            return r.ok ? { ok: true, written: data.length } : r;
          },
        },
      };
    },
  };
}

/**
 * A tracefs control file: text generated at open, writes handed to `store` whole (the kernel
 * parses each write on its own). `onTruncate` runs for an open with O_TRUNC for writing.
 * `emptyPastStart`: a read at a non-zero position returns nothing (the event filter files).
 */
export function controlFile(
  mode: number,
  show: () => string,
  store: ((text: string, task: TaskContext) => Result<object>) | null,
  onTruncate?: () => void,
  emptyPastStart = false,
): FileNode {
  return {
    kind: 'file',
    mode,
    size: 0,
    seekable: true,
    emptyPastStart,
    open(ctx) {
      const writing = (ctx.flags & O_ACCMODE) !== O_RDONLY;
      if (writing && !store && !onTruncate) return fail('EACCES');
      if (writing && ctx.flags & O_TRUNC && onTruncate) onTruncate();
      const buf = bytes(show());
      return {
        ok: true,
        file: {
          read: (pos, length) =>
            emptyPastStart && pos > 0 ? { ok: true, data: NO_BYTES } : readFromBuffer(buf, pos, length),
          textLength: () => buf.length,
          write(data, _pos, task) {
            if (!store) return { ok: true, written: data.length };
            const r = store(new TextDecoder().decode(data), task);
            if (!r.ok) return r;
            return { ok: true, written: data.length };
          },
        },
      };
    },
  };
}

/** Permission check of open(2) for a non-root caller (root passes: CAP_DAC_OVERRIDE). */
export function mayOpen(node: FileNode, ctx: OpenContext): boolean {
  if (ctx.uid === 0) return true;
  const acc = ctx.flags & O_ACCMODE;
  const wantRead = acc === O_RDONLY || acc === O_RDWR;
  const wantWrite = acc === O_WRONLY || acc === O_RDWR;
  // owner is root, so others' bits apply
  return (!wantRead || (node.mode & 0o004) !== 0) && (!wantWrite || (node.mode & 0o002) !== 0);
}
