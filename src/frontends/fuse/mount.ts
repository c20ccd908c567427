// The emulated /sys as a real filesystem: our own FUSE server (protocol.ts) on /dev/fuse, every
// operation handed to the CmaSystem path and file API, so the file semantics (modes, sizes,
// open-time texts, errnos from read/write, seekability) are the core's. Each FUSE open is one
// core open file: the state belongs to the open file description, shared by every process that
// inherited the descriptor. Reads go around the page cache (FOPEN_DIRECT_IO; page-cache reads,
// which sendfile makes, are refused so readers fall back to read(2)); writes are traced as the
// task that made them (the request header's pid). The server must never touch its own mount
// synchronously.

import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { ErrnoName } from '../../core/errno.ts';
import { ERRNO } from '../../core/errno.ts';
import type { CmaSystem } from '../../core/system.ts';
import type { TaskContext } from '../../core/trace.ts';
import { O_ACCMODE, O_NONBLOCK, O_RDONLY } from '../../core/vfs.ts';
import type { Answer, Attr, Dirent, Reply, Request } from './protocol.ts';
import {
  attrOut,
  direntsOut,
  entryOut,
  FATTR_GID,
  FATTR_MODE,
  FATTR_UID,
  FOPEN_DIRECT_IO,
  FOPEN_NONSEEKABLE,
  FUSE_GETATTR_FH,
  FUSE_READ_LOCKOWNER,
  FUSE_ROOT_ID,
  FuseSession,
  initOut,
  names,
  Op,
  openOut,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  statfsOut,
  writeOut,
} from './protocol.ts';
import type { StateFile } from './state.ts';

/** The directory of emulator-only views next to kernel/: not part of a kernel's /sys. */
const EXTRAS_DIR = '.cma-debug';

/** A mount problem the user can fix: printed as one line. */
export class MountError extends Error {
  override readonly name = 'MountError';
}

/** What checkFuse looks at; tests point it elsewhere. */
export interface FuseEnvironment {
  readonly uid?: number;
  /** The FUSE device (default /dev/fuse). */
  readonly device?: string;
  /** The PATH searched for mount(8) (default $PATH). */
  readonly path?: string;
}

/** The first executable `cmd` on `path` (a PATH string), or null. */
function onPath(cmd: string, path: string): string | null {
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {}
  }
  return null;
}

/**
 * Checks that this process can serve a FUSE mount — root, the FUSE device, the mount(8) command
 * that attaches our descriptor (no libfuse, no fusermount and no native addon are needed) — or
 * explains in one line what is missing and how to get it.
 */
export function checkFuse(env: FuseEnvironment = {}): void {
  const alt = 'or use `cma-debug serve` or the library API (createSystem) instead';
  const uid = env.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0);
  if (uid !== 0)
    throw new MountError(`mounting needs root (running as uid ${uid}): run it with sudo, ${alt}`);
  const device = env.device ?? '/dev/fuse';
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not accessible';
    throw new MountError(
      `${device} ${why}: load the kernel's fuse module (modprobe fuse); in a container, ` +
        `start it with --device /dev/fuse --cap-add SYS_ADMIN; ${alt}`,
    );
  }
  if (onPath('mount', env.path ?? process.env.PATH ?? '') === null)
    throw new MountError(
      `the mount(8) command is not on PATH: install util-linux's mount (Debian: apt-get install mount); ${alt}`,
    );
}

function decodeMountinfoPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The filesystem type mounted exactly at `abs` (from /proc/self/mountinfo), or null. */
function mountedType(abs: string): string | null {
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
function forceUnmount(abs: string): boolean {
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
   * Linux 6.5 sendfile(2) on a FUSE file reads through the page cache, which stops at st_size,
   * so a size-0 file looks empty to `busybox cat` (which uses sendfile). By default such files
   * report the length of the text the next open would read (an open file: its own text); the
   * page-cache read is then refused, and sendfile's users fall back to read(2).
   */
  readonly exactSizes?: boolean;
}

const EXTRA_FH_BASE = 1n << 40n;
const ENOSYS = 38;
/** Seconds the kernel may keep a name's lookup: the tree's shape never changes after boot. */
const ENTRY_VALID_SEC = 60;

/** The comm of a task (/proc/PID/comm), or the kernel's `<...>` when it is gone. */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return '<...>';
  }
}

/** The task of a request: its pid and comm, and (when asked) its ancestors' pids from /proc. */
function taskOf(pid: number): TaskContext {
  let parents: number[] | undefined;
  // read once per request, whichever pid lists ask
  return { pid, comm: commOf(pid), parents: () => (parents ??= parentsOf(pid)) };
}

/** The pids above `pid`, its parent first (/proc/PID/stat's ppid, up to init or 64 levels). */
function parentsOf(pid: number): number[] {
  const out: number[] = [];
  for (let p = pid; out.length < 64; ) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      break;
    }
    // the comm is in parentheses and may hold spaces: the fields after its last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!(ppid > 0)) break;
    out.push(ppid);
    p = ppid;
  }
  return out;
}

/** A mounted emulated system. */
export class CmaFuseMount {
  private session: FuseSession | null = null;
  private fd = -1;
  /** Node ids (the inode numbers too) by path below the mount, and back. */
  private readonly ids = new Map<string, bigint>([['/', FUSE_ROOT_ID]]);
  private readonly paths = new Map<bigint, string>([[FUSE_ROOT_ID, '/']]);
  private nextId = FUSE_ROOT_ID + 1n;
  private readonly extras = new Map<bigint, Uint8Array>();
  private nextExtra = EXTRA_FH_BASE;
  private readonly started = Date.now() / 1000;
  /** Set when saving the state failed: the mount then refuses further changes (EIO). */
  private stateError: string | null = null;
  /** Changes made since the last group commit began. */
  private dirty = false;
  private initDone: (() => void) | null = null;

  constructor(
    readonly sys: CmaSystem,
    readonly mountPoint: string,
    private readonly opts: MountOptions = {},
  ) {}

  /** Mounts; resolves once the kernel's INIT is answered and mount(8) succeeded. */
  async mount(): Promise<void> {
    checkFuse();
    this.fd = openSync('/dev/fuse', 'r+');
    const inited = new Promise<void>((res) => {
      this.initDone = res;
    });
    const session = new FuseSession(
      this.fd,
      (req) => this.handle(req),
      (m) => this.opts.log?.(m),
      this.opts.state ? { pending: () => this.dirty, run: () => this.commit() } : undefined,
    );
    this.session = session;
    const options = `fd=3,rootmode=${S_IFDIR.toString(8)},user_id=0,group_id=0,allow_other,default_permissions`;
    // -i: no /sbin/mount.fuse helper; the kernel's fuse takes the descriptor itself
    const child = spawn(
      'mount',
      ['-i', '-t', 'fuse.cma-debug', '-o', options, 'cma-debug', this.mountPoint],
      {
        stdio: ['ignore', 'ignore', 'pipe', this.fd],
      },
    );
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((res) => {
      child.on('error', (e) => {
        err += e.message;
        res(-1);
      });
      child.on('close', res);
    });
    if (code !== 0) {
      session.stop();
      closeSync(this.fd);
      this.fd = -1;
      throw new MountError(`cannot mount ${this.mountPoint}: ${err.trim() || `mount exited with ${code}`}`);
    }
    // /dev/fuse can be read once the mount made it a connection; INIT waits there
    session.start();
    await inited;
  }

  /** Unmounts (lazily if files are still open) and ends the session. */
  async unmount(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = null;
    // the session goes on answering until the kernel ends it (files still open after a lazy
    // unmount are served until they close or this process exits)
    const run = (cmd: string, args: string[]) =>
      new Promise<boolean>((res) => {
        const c = spawn(cmd, args, { stdio: 'ignore' });
        c.on('error', () => res(false));
        c.on('close', (code) => res(code === 0));
      });
    // never synchronously: the kernel may ask this process while unmounting
    if (!(await run('umount', [this.mountPoint]))) await run('umount', ['-l', this.mountPoint]);
    await Promise.race([session.closed, new Promise((r) => setTimeout(r, 2000))]);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Marks a change to persist: its reply waits for the next group commit (FuseSession). */
  private save(): ErrnoName | null {
    if (!this.opts.state) return null;
    if (this.stateError) return 'EIO';
    this.dirty = true;
    return null;
  }

  /** One durable save of every change so far; a failure refuses further changes. */
  private async commit(): Promise<string | null> {
    const state = this.opts.state;
    if (!state || !this.dirty) return this.stateError;
    this.dirty = false;
    try {
      await state.writeDurably(state.text(this.sys));
      return null;
    } catch (e) {
      this.stateError = (e as Error).message;
      this.opts.log?.(`cannot save the state, refusing further changes: ${this.stateError}`);
      return this.stateError;
    }
  }

  private idOf(path: string): bigint {
    let id = this.ids.get(path);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(path, id);
      this.paths.set(id, path);
    }
    return id;
  }

  private extraText(name: string): string | null {
    if (name === 'dmesg') return this.sys.dmesg();
    if (name === 'cmdline') return this.sys.procCmdline();
    if (name === 'meminfo' || name === 'vmstat' || name === 'zoneinfo' || name === 'pagetypeinfo')
      return this.sys.procFile(name);
    return null;
  }

  /** undefined: not an extras path; null: the extras directory; a string: a file in it. */
  private extraPath(p: string): string | null | undefined {
    if (p === `/${EXTRAS_DIR}`) return null;
    if (p.startsWith(`/${EXTRAS_DIR}/`)) return p.slice(EXTRAS_DIR.length + 2);
    return undefined;
  }

  /** The attributes of `p`; `fh` names the open file a GETATTR is about. */
  private attr(p: string, fh?: bigint): Attr | ErrnoName {
    const base = { ino: this.idOf(p), uid: 0, gid: 0, time: this.started };
    const x = this.extraPath(p);
    if (x === null) return { ...base, mode: S_IFDIR | 0o555, size: 0, nlink: 2 };
    if (x !== undefined) {
      const text = this.extraText(x);
      if (text === null) return 'ENOENT';
      const open = fh !== undefined ? this.extras.get(fh) : undefined;
      const size = this.opts.exactSizes ? 0 : (open?.length ?? Buffer.byteLength(text));
      return { ...base, mode: S_IFREG | 0o444, size, nlink: 1 };
    }
    const r = this.sys.stat(p, false);
    if (!r.ok) return r.errno;
    const st = r.stat;
    // the root's link count is /sys's (the .cma-debug side door is not counted, so `..` of
    // /sys/kernel shows what the kernel shows)
    if (st.type === 'dir') return { ...base, mode: S_IFDIR | st.mode, size: 0, nlink: st.nlink };
    if (st.type === 'symlink') return { ...base, mode: S_IFLNK | st.mode, size: 0, nlink: 1 };
    let size = st.size;
    // a pipe (trace_pipe) is never empty to the kernel's splice path: with st_size 0, busybox
    // cat's sendfile to a pipe would read EOF without asking us; with a size it asks, gets EIO
    // (as every page-cache read here) and falls back to read(2), which waits as the kernel's does
    if (st.pipe && !this.opts.exactSizes) size = 4096;
    else if (size === 0 && !this.opts.exactSizes) {
      const own = fh !== undefined ? this.sys.textLength(Number(fh)) : null;
      const len = own?.ok ? own : this.sys.fileLength(p);
      size = len.ok ? len.length : 0;
    }
    return { ...base, mode: S_IFREG | st.mode, size, nlink: 1 };
  }

  private dirents(p: string): Dirent[] | ErrnoName {
    const parent = p === '/' ? '/' : p.slice(0, p.lastIndexOf('/')) || '/';
    const dots: Dirent[] = [
      { ino: this.idOf(p), name: '.', type: 4 },
      { ino: this.idOf(parent), name: '..', type: 4 },
    ];
    const child = (n: string) => (p === '/' ? `/${n}` : `${p}/${n}`);
    const x = this.extraPath(p);
    if (x === null)
      return [
        ...dots,
        ...[
          ...(this.sys.boot ? ['cmdline'] : []),
          'dmesg',
          'meminfo',
          'pagetypeinfo',
          'vmstat',
          'zoneinfo',
        ].map((n) => ({
          ino: this.idOf(child(n)),
          name: n,
          type: 8,
        })),
      ];
    if (x !== undefined) return 'ENOTDIR';
    const r = this.sys.readdir(p);
    if (!r.ok) return r.errno;
    const list = [...r.names, ...(p === '/' ? [EXTRAS_DIR] : [])];
    return [
      ...dots,
      ...list.map((n) => {
        const a = this.attr(child(n));
        const type =
          typeof a === 'string'
            ? 8
            : (a.mode & 0o170000) === S_IFDIR
              ? 4
              : (a.mode & 0o170000) === S_IFLNK
                ? 10
                : 8;
        return { ino: this.idOf(child(n)), name: n, type };
      }),
    ];
  }

  private handle(req: Request): Answer {
    const err = (e: ErrnoName): Answer => ({ error: -ERRNO[e] });
    const path = this.paths.get(req.nodeid);
    const b = req.body;
    switch (req.opcode) {
      case Op.INIT: {
        this.initDone?.();
        return { body: initOut(b) };
      }
      case Op.DESTROY:
        return { body: new Uint8Array(0) };
      case Op.FORGET:
      case Op.BATCH_FORGET:
      case Op.INTERRUPT:
        return null;
    }
    if (path === undefined) return err('ENOENT');
    const child = (n: string) => (path === '/' ? `/${n}` : `${path}/${n}`);
    switch (req.opcode) {
      case Op.LOOKUP: {
        const p = child(names(b)[0] ?? '');
        const a = this.attr(p);
        if (typeof a === 'string') return err(a);
        return { body: entryOut(a.ino, a, ENTRY_VALID_SEC) };
      }
      case Op.GETATTR: {
        const withFh = (b.readUInt32LE(0) & FUSE_GETATTR_FH) !== 0;
        const a = this.attr(path, withFh ? b.readBigUInt64LE(8) : undefined);
        return typeof a === 'string' ? err(a) : { body: attrOut(a) };
      }
      case Op.SETATTR: {
        // O_TRUNC sizes and touch's times are accepted (debugfs ignores them); chmod and chown
        // are refused as the kernel's tree refuses changes
        const valid = b.readUInt32LE(0);
        if (valid & (FATTR_MODE | FATTR_UID | FATTR_GID)) return err(this.sys.modifyErrno(path, 'change'));
        const a = this.attr(path);
        return typeof a === 'string' ? err(a) : { body: attrOut(a) };
      }
      case Op.READLINK: {
        const r = this.sys.readlink(path);
        return r.ok ? { body: Buffer.from(r.target) } : err(r.errno);
      }
      case Op.OPEN:
        return this.open(path, b.readUInt32LE(0), req);
      case Op.READ:
        return this.read(b);
      case Op.WRITE:
        return this.write(b, req);
      case Op.RELEASE: {
        const fh = b.readBigUInt64LE(0);
        if (!this.extras.delete(fh)) this.sys.close(Number(fh));
        return { body: new Uint8Array(0) };
      }
      case Op.FLUSH:
        return { body: new Uint8Array(0) };
      case Op.OPENDIR: {
        const a = this.attr(path);
        if (typeof a === 'string') return err(a);
        if ((a.mode & 0o170000) !== S_IFDIR) return err('ENOTDIR');
        return { body: openOut(0n, 0) };
      }
      case Op.READDIR: {
        const list = this.dirents(path);
        if (typeof list === 'string') return err(list);
        return { body: direntsOut(list, Number(b.readBigUInt64LE(8)), b.readUInt32LE(16)) };
      }
      case Op.RELEASEDIR:
        return { body: new Uint8Array(0) };
      case Op.STATFS:
        return { body: statfsOut() };
      case Op.CREATE:
        return err(this.sys.modifyErrno(child(names(b, 16)[0] ?? ''), 'create'));
      case Op.MKNOD:
        return err(this.sys.modifyErrno(child(names(b, 16)[0] ?? ''), 'change'));
      case Op.MKDIR:
        return err(this.sys.modifyErrno(child(names(b, 8)[0] ?? ''), 'change'));
      case Op.SYMLINK:
        return err(this.sys.modifyErrno(child(names(b)[0] ?? ''), 'change'));
      case Op.LINK:
        return err(this.sys.modifyErrno(child(names(b, 8)[0] ?? ''), 'change'));
      case Op.UNLINK:
      case Op.RMDIR:
        return err(this.sys.modifyErrno(child(names(b)[0] ?? ''), 'change'));
      case Op.RENAME:
        return err(this.sys.modifyErrno(child(names(b, 8)[0] ?? ''), 'change'));
      case Op.RENAME2:
        return err(this.sys.modifyErrno(child(names(b, 16)[0] ?? ''), 'change'));
      default:
        // xattrs, access, locks, ioctl, poll, lseek, fsync…: the kernel falls back or reports
        return { error: -ENOSYS };
    }
  }

  private open(p: string, flags: number, req: Request): Answer {
    const err = (e: ErrnoName): Answer => ({ error: -ERRNO[e] });
    const x = this.extraPath(p);
    if (x !== undefined) {
      if (x === null) return err('EISDIR');
      const text = this.extraText(x);
      if (text === null) return err('ENOENT');
      if ((flags & O_ACCMODE) !== O_RDONLY) return err('EACCES');
      const fh = this.nextExtra++;
      this.extras.set(fh, new TextEncoder().encode(text));
      return { body: openOut(fh, FOPEN_DIRECT_IO) };
    }
    const writing = (flags & O_ACCMODE) !== O_RDONLY;
    if (writing && this.stateError) return err('EIO');
    const task = taskOf(req.pid);
    const r = this.sys.open(p, flags, task, 0);
    if (!r.ok) return err(r.errno);
    if (writing) {
      // an O_TRUNC open of `trace` empties the buffer: a change to persist
      const e = this.save();
      if (e) {
        this.sys.close(r.fh);
        return err(e);
      }
    }
    const how = this.sys.seekable(p);
    // a file read only from position 0 is not seekable here: with its non-zero st_size, `tail -c`
    // would seek past the start and read nothing, where the kernel's st_size 0 makes it read all
    const seekable = how.ok && how.seekable && !how.emptyPastStart;
    return { body: openOut(BigInt(r.fh), FOPEN_DIRECT_IO | (seekable ? 0 : FOPEN_NONSEEKABLE)) };
  }

  private read(b: Buffer): Answer {
    const r = this.readNow(b);
    if (r !== 'empty') return r;
    // trace_pipe with nothing to read: the kernel's reader waits for the next entry, unless the
    // file was opened O_NONBLOCK (fuse_read_in.flags)
    if ((b.readUInt32LE(32) & O_NONBLOCK) !== 0) return { error: -ERRNO.EAGAIN };
    // the request's bytes are the session's buffer, which the next request overwrites
    const req = Buffer.from(b);
    return {
      wait: (done) => {
        let queued = false;
        const stop = this.sys.tracing.subscribe(() => {
          if (queued) return;
          queued = true;
          // once the write that recorded the entry has finished
          setImmediate(() => {
            queued = false;
            const again = this.readNow(req);
            if (again === 'empty') return;
            stop();
            done(again);
          });
        });
        return stop;
      },
    };
  }

  /** A read answered now, or 'empty' where a pipe has nothing yet. */
  private readNow(b: Buffer): Reply | 'empty' {
    const fh = b.readBigUInt64LE(0);
    const pos = Number(b.readBigUInt64LE(8));
    const size = b.readUInt32LE(16);
    // page-cache reads (sendfile, splice, readahead) share one cache among all opens of a file:
    // refused, so the reader falls back to read(2), which comes here with its own open file
    if ((b.readUInt32LE(20) & FUSE_READ_LOCKOWNER) === 0) return { error: -ERRNO.EIO };
    const extra = this.extras.get(fh);
    if (extra)
      return { body: extra.subarray(Math.min(pos, extra.length), Math.min(pos + size, extra.length)) };
    const r = this.sys.read(Number(fh), size, pos);
    if (!r.ok && r.errno === 'EAGAIN') return 'empty';
    if (!r.ok) return { error: -ERRNO[r.errno] };
    // a pipe's read takes entries out of the buffer: a change to persist
    if (this.sys.isPipe(Number(fh))) {
      const e = this.save();
      if (e) return { error: -ERRNO[e] };
    }
    return { body: r.data.length > size ? r.data.subarray(0, size) : r.data };
  }

  private write(b: Buffer, req: Request): Answer {
    const fh = b.readBigUInt64LE(0);
    const pos = Number(b.readBigUInt64LE(8));
    const size = b.readUInt32LE(16);
    if (this.extras.has(fh)) return { error: -ERRNO.EBADF };
    if (this.stateError) return { error: -ERRNO.EIO };
    // the writer is the task that made this request (its thread id, as the kernel's current)
    const task = taskOf(req.pid);
    const data = Uint8Array.prototype.slice.call(b, 40, 40 + size);
    const r = this.sys.write(Number(fh), data, pos, task);
    const e = this.save();
    if (e) return { error: -ERRNO[e] };
    if (!r.ok) return { error: -ERRNO[r.errno] };
    return { body: writeOut(r.written) };
  }
}
