// The emulated /sys as a real filesystem (FUSE, fuse-native): every operation is handed to the
// CmaSystem path API, so the file semantics (modes, sizes, open-time snapshots, errnos from
// read/write) are the core's. The server must never touch its own mount synchronously.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { ErrnoName } from '../../core/errno.ts';
import { ERRNO } from '../../core/errno.ts';
import type { CmaSystem } from '../../core/system.ts';
import { O_ACCMODE, O_RDONLY } from '../../core/vfs.ts';
import type { StateFile } from './state.ts';
import type { Writer } from './task.ts';
import { WriterLookup } from './task.ts';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** The directory of emulator-only views next to kernel/: not part of a kernel's /sys. */
export const EXTRAS_DIR = '.cma-debug';

/** A mount problem the user can fix: printed as one line. */
export class MountError extends Error {
  override readonly name = 'MountError';
}

type Cb<T = void> = T extends void ? (err: number) => void : (err: number, value?: T) => void;

interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: Date;
  atime: Date;
  ctime: Date;
  blksize: number;
  blocks: number;
}

interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

type FuseCtor = new (mnt: string, ops: object, opts: object) => FuseInstance;

/** Loads fuse-native, or explains in one line why FUSE cannot be used here. */
export function loadFuse(): FuseCtor {
  const alt = 'use `cma-debug serve` or the library API (createSystem) instead';
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new MountError(`mounting needs root (running as uid ${process.getuid()}); ${alt}`);
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    throw new MountError(`/dev/fuse is missing or not accessible (no FUSE here); ${alt}`);
  }
  try {
    return createRequire(import.meta.url)('fuse-native') as FuseCtor;
  } catch (e) {
    throw new MountError(
      `the FUSE binding cannot be loaded (${(e as Error).message.split('\n')[0]}); it is an optional dependency: install Debian's libfuse2 and fuse (scripts/install-system-deps.sh) and then \`npm install fuse-native\` (prebuilt for linux-x64; elsewhere it compiles with libfuse-dev), or ${alt}`,
    );
  }
}

function decodeMountinfoPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The filesystem type mounted exactly at `abs` (from /proc/self/mountinfo), or null. */
export function mountedType(abs: string): string | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  let found: string | null = null;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || f[4] === undefined) continue;
    if (decodeMountinfoPath(f[4]) === abs) found = f[sep + 1] ?? 'unknown';
  }
  return found;
}

/** Unmounts `abs` lazily (fusermount -uz, else umount -l); true when it is gone. */
export function forceUnmount(abs: string): boolean {
  for (const [cmd, args] of [
    ['fusermount', ['-uz', abs]],
    ['umount', ['-l', abs]],
  ] as const) {
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    if (r.status === 0) return true;
  }
  return mountedType(abs) === null;
}

/**
 * Checks a mount point and returns its canonical path: it must be an empty directory that is not
 * already mounted; a stale FUSE mount (its server gone: ENOTCONN) is cleared first.
 */
export function prepareMountPoint(dir: string, log: (line: string) => void): string {
  const probe = () => {
    // stat in a child: a hung server must not hang us, and we must never stat our own mount
    const r = spawnSync('stat', ['-c', '%F', dir], { encoding: 'utf8', timeout: 5000 });
    return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, timedOut: r.error !== undefined };
  };
  let abs: string;
  const first = probe();
  if (!first.ok && /not connected/i.test(first.out)) {
    if (!forceUnmount(resolve(dir)))
      throw new MountError(`${dir}: a stale mount is there and cannot be removed`);
    log(`cleared a stale mount at ${dir} (its server had exited)`);
  } else if (first.timedOut) {
    throw new MountError(`${dir} is busy: a mount there does not respond`);
  }
  try {
    abs = realpathSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new MountError(`mount point ${dir} does not exist (create the directory first)`);
    if (code === 'ENOTDIR') throw new MountError(`mount point ${dir} is not a directory`);
    throw new MountError(`mount point ${dir}: ${code ?? (e as Error).message}`);
  }
  const type = mountedType(abs);
  if (type !== null)
    throw new MountError(`mount point ${dir} is busy: a ${type} filesystem is already mounted there`);
  if (!statSync(abs).isDirectory()) throw new MountError(`mount point ${dir} is not a directory`);
  if (readdirSync(abs).length > 0)
    throw new MountError(`mount point ${dir} is busy: the directory is not empty`);
  return abs;
}

/** Options of a mount. */
export interface MountOptions {
  /** Saves the system after every change, before the change is acknowledged. */
  readonly state?: StateFile;
  readonly log?: (line: string) => void;
  /**
   * Report st_size 0 for debugfs and tracefs files, as the kernel does. Off by default: since
   * Linux 6.5 sendfile(2) on a FUSE file reads through the page cache even with direct_io, so a
   * size-0 file looks empty to `busybox cat` (which uses sendfile). By default such files report
   * a size above their current text (4096 or more), which every reader handles.
   */
  readonly exactSizes?: boolean;
}

interface ExtraHandle {
  readonly data: Uint8Array;
}

const EXTRA_FH_BASE = 0x40000000;

/** A mounted emulated system. */
export class CmaFuseMount {
  private fuse: FuseInstance | null = null;
  private readonly writers = new WriterLookup();
  private readonly tasks = new Map<number, Writer>();
  private readonly writable = new Set<number>();
  private readonly extras = new Map<number, ExtraHandle>();
  private nextExtra = EXTRA_FH_BASE;
  private readonly started = new Date();
  /** Set when saving the state failed: the mount then refuses further changes (EIO). */
  private stateError: string | null = null;

  constructor(
    readonly sys: CmaSystem,
    readonly mountPoint: string,
    private readonly opts: MountOptions = {},
  ) {}

  /** Mounts; resolves once the kernel has sent FUSE_INIT (the tree is usable). */
  async mount(Fuse: FuseCtor = loadFuse()): Promise<void> {
    const fuse = new Fuse(this.mountPoint, this.ops(), {
      // fuse-native joins options into one -o string: direct_io makes size-0 files readable,
      // atomic_o_trunc hands O_TRUNC to open (the kernel resets `trace` there, no truncate),
      // zero timeouts make every stat ask us (sizes and modes never go stale)
      fsname: 'cma-debug,direct_io,atomic_o_trunc,attr_timeout=0,entry_timeout=0,negative_timeout=0',
      subtype: 'cma-debug',
      timeout: false,
    });
    await new Promise<void>((resolve, reject) => {
      fuse.mount((err) =>
        err ? reject(new MountError(`cannot mount ${this.mountPoint}: ${err.message}`)) : resolve(),
      );
    });
    this.fuse = fuse;
  }

  /** Unmounts (lazily if files are still open). */
  async unmount(): Promise<void> {
    const fuse = this.fuse;
    if (!fuse) return;
    this.fuse = null;
    await new Promise<void>((resolve) => {
      fuse.unmount((err) => {
        if (err) forceUnmount(this.mountPoint);
        resolve();
      });
    });
  }

  private save(): ErrnoName | null {
    if (!this.opts.state) return null;
    if (this.stateError) return 'EIO';
    try {
      this.opts.state.save(this.sys);
      return null;
    } catch (e) {
      this.stateError = (e as Error).message;
      this.opts.log?.(`cannot save the state, refusing further changes: ${this.stateError}`);
      return 'EIO';
    }
  }

  /** st_size for a kernel size-0 file: 0 with exactSizes, else whole pages above its text. */
  private sizeHint(p: string): number {
    if (this.opts.exactSizes) return 0;
    const r = this.sys.readFile(p);
    const len = r.ok ? r.data.length : 0;
    // one spare page: text that grows between this stat and the open still fits
    return len < 4096 ? 4096 : (Math.floor(len / 4096) + 2) * 4096;
  }

  private extraText(name: string): string | null {
    if (name === 'dmesg') return this.sys.dmesg();
    if (name === 'vmstat') return this.sys.procVmstat();
    if (name === 'meminfo' || name === 'zoneinfo' || name === 'pagetypeinfo') return this.sys.procFile(name);
    return null;
  }

  private stat(type: 'file' | 'dir' | 'symlink', mode: number, size: number, nlink: number): FuseStat {
    const typeBits = type === 'dir' ? S_IFDIR : type === 'symlink' ? S_IFLNK : S_IFREG;
    return {
      mode: typeBits | (mode & 0o7777),
      uid: 0,
      gid: 0,
      size,
      nlink,
      mtime: this.started,
      atime: this.started,
      ctime: this.started,
      blksize: 4096,
      blocks: 0,
    };
  }

  private ops(): object {
    const sys = this.sys;
    const neg = (e: ErrnoName) => -ERRNO[e];
    const extraPath = (p: string): string | null | undefined => {
      // undefined: not an extras path; null: the extras directory; string: a file in it
      if (p === `/${EXTRAS_DIR}`) return null;
      if (p.startsWith(`/${EXTRAS_DIR}/`)) return p.slice(EXTRAS_DIR.length + 2);
      return undefined;
    };
    return {
      getattr: (p: string, cb: Cb<FuseStat>) => {
        const x = extraPath(p);
        if (x === null) return cb(0, this.stat('dir', 0o555, 0, 2));
        if (x !== undefined) {
          const text = this.extraText(x);
          if (text === null) return cb(neg('ENOENT'));
          return cb(0, this.stat('file', 0o444, this.opts.exactSizes ? 0 : text.length + 4096, 1));
        }
        const r = sys.stat(p, false);
        if (!r.ok) return cb(neg(r.errno));
        const size = r.stat.type === 'file' && r.stat.size === 0 ? this.sizeHint(p) : r.stat.size;
        cb(0, this.stat(r.stat.type, r.stat.mode, size, r.stat.nlink));
      },
      readdir: (p: string, cb: Cb<string[]>) => {
        const x = extraPath(p);
        // `.` and `..` come from the filesystem in FUSE (ls -a shows them, as on debugfs)
        if (x === null) return cb(0, ['.', '..', 'dmesg', 'meminfo', 'pagetypeinfo', 'vmstat', 'zoneinfo']);
        if (x !== undefined) return cb(neg('ENOTDIR'));
        const r = sys.readdir(p);
        if (!r.ok) return cb(neg(r.errno));
        cb(0, ['.', '..', ...r.names, ...(p === '/' ? [EXTRAS_DIR] : [])]);
      },
      readlink: (p: string, cb: Cb<string>) => {
        const r = sys.readlink(p);
        if (!r.ok) return cb(neg(r.errno));
        cb(0, r.target);
      },
      open: (p: string, flags: number, cb: Cb<number>) => {
        const x = extraPath(p);
        if (x !== undefined) {
          if (x === null) return cb(neg('EISDIR'));
          const text = this.extraText(x);
          if (text === null) return cb(neg('ENOENT'));
          if ((flags & O_ACCMODE) !== O_RDONLY) return cb(neg('EACCES'));
          const fh = this.nextExtra++;
          this.extras.set(fh, { data: new TextEncoder().encode(text) });
          return cb(0, fh);
        }
        const writing = (flags & O_ACCMODE) !== O_RDONLY;
        // the writer is filled in at each write (the task blocked in write(2))
        const task: Writer = { pid: 0, comm: '<...>' };
        if (writing && this.stateError) return cb(neg('EIO'));
        const r = sys.open(p, flags, task, 0);
        if (!r.ok) return cb(neg(r.errno));
        this.tasks.set(r.fh, task);
        if (writing) {
          this.writable.add(r.fh);
          // an O_TRUNC open of `trace` empties the buffer: a change to persist
          const err = this.save();
          if (err) {
            sys.close(r.fh);
            this.tasks.delete(r.fh);
            this.writable.delete(r.fh);
            return cb(neg(err));
          }
        }
        cb(0, r.fh);
      },
      read: (_p: string, fh: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
        const extra = this.extras.get(fh);
        if (extra) {
          const chunk = extra.data.subarray(
            Math.min(pos, extra.data.length),
            Math.min(pos + len, extra.data.length),
          );
          buf.set(chunk);
          return cb(chunk.length);
        }
        const r = sys.read(fh, len, pos);
        if (!r.ok) return cb(neg(r.errno));
        buf.set(r.data.subarray(0, len));
        cb(Math.min(r.data.length, len));
      },
      write: (p: string, fh: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
        if (this.extras.has(fh)) return cb(neg('EBADF'));
        if (this.stateError) return cb(neg('EIO'));
        const task = this.tasks.get(fh);
        if (task) Object.assign(task, this.writers.find(this.mountPoint + p));
        // copy: the buffer belongs to the FUSE thread and is reused after we answer
        const r = sys.write(fh, Uint8Array.prototype.slice.call(buf, 0, len), pos);
        const err = this.save();
        if (err) return cb(neg(err));
        if (!r.ok) return cb(neg(r.errno));
        cb(r.written);
      },
      release: (_p: string, fh: number, cb: Cb) => {
        if (this.extras.delete(fh)) return cb(0);
        this.tasks.delete(fh);
        this.writable.delete(fh);
        sys.close(fh);
        cb(0);
      },
      // `echo 8 > alloc` opens with O_TRUNC: the kernel's debugfs ignores the size change
      truncate: (_p: string, _size: number, cb: Cb) => cb(0),
      ftruncate: (_p: string, _fh: number, _size: number, cb: Cb) => cb(0),
      // touch on an existing file: debugfs and sysfs accept new times from root
      utimens: (p: string, _a: unknown, _m: unknown, cb: Cb) => {
        const r = sys.stat(p, true);
        cb(r.ok ? 0 : neg(r.errno));
      },
      create: (p: string, _mode: number, cb: Cb<number>) => cb(neg(sys.modifyErrno(p, 'create'))),
      mknod: (p: string, _mode: number, _dev: number, cb: Cb) => cb(neg(sys.modifyErrno(p, 'create'))),
      mkdir: (p: string, _mode: number, cb: Cb) => cb(neg(sys.modifyErrno(p, 'change'))),
      unlink: (p: string, cb: Cb) => cb(neg(sys.modifyErrno(p, 'change'))),
      rmdir: (p: string, cb: Cb) => cb(neg(sys.modifyErrno(p, 'change'))),
      rename: (src: string, _dest: string, cb: Cb) => cb(neg(sys.modifyErrno(src, 'change'))),
      symlink: (_target: string, p: string, cb: Cb) => cb(neg(sys.modifyErrno(p, 'create'))),
      link: (_src: string, p: string, cb: Cb) => cb(neg(sys.modifyErrno(p, 'create'))),
      chmod: (p: string, _mode: number, cb: Cb) => cb(neg(sys.modifyErrno(p, 'change'))),
      chown: (p: string, _uid: number, _gid: number, cb: Cb) => cb(neg(sys.modifyErrno(p, 'change'))),
    };
  }
}
