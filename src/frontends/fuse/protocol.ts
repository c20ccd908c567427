// The kernel's FUSE wire protocol (include/uapi/linux/fuse.h, protocol 7.31 as answered here)
// over /dev/fuse, in TypeScript: no libfuse, no native addon. Each read(2) of /dev/fuse returns
// one request (a fuse_in_header and its arguments); each reply is one write(2) of a
// fuse_out_header and its body. Requests are served one at a time, in order, on the event loop,
// so the emulated system never sees two operations at once. The header names the caller's
// pid, uid and gid (what libfuse's fuse_get_context() reports).

import { read as fsRead, writeSync } from 'node:fs';

/** The node id of the mount's root directory (FUSE_ROOT_ID). */
export const FUSE_ROOT_ID = 1n;

/** Opcodes (enum fuse_opcode). */
export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  RENAME2: 45,
} as const;

/** fuse_open_out.open_flags. */
export const FOPEN_DIRECT_IO = 1;
export const FOPEN_NONSEEKABLE = 4;
/** fuse_read_in.read_flags: set by read(2) through a direct-I/O file, never by page-cache reads. */
export const FUSE_READ_LOCKOWNER = 2;
/** fuse_getattr_in.getattr_flags: `fh` names the open file the request is about. */
export const FUSE_GETATTR_FH = 1;
/** fuse_setattr_in.valid bits. */
export const FATTR_MODE = 1;
export const FATTR_UID = 2;
export const FATTR_GID = 4;
/** INIT flags asked for: O_TRUNC handed to OPEN (no SETATTR size 0), writes above 4 KiB. */
const FUSE_ATOMIC_O_TRUNC = 1 << 3;
const FUSE_BIG_WRITES = 1 << 5;

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

const IN_HEADER = 40;
const OUT_HEADER = 16;
/** The largest write the kernel may send (fuse_init_out.max_write). */
const MAX_WRITE = 128 * 1024;
const PROTOCOL_MINOR = 31;

/** A request: the fuse_in_header fields and the argument bytes after it. */
export interface Request {
  readonly opcode: number;
  readonly unique: bigint;
  readonly nodeid: bigint;
  readonly uid: number;
  readonly gid: number;
  /** The calling thread's id (its pid in the mounter's pid namespace). */
  readonly pid: number;
  readonly body: Buffer;
}

/** Decodes one request read from /dev/fuse. */
export function parseRequest(buf: Buffer): Request {
  const len = buf.readUInt32LE(0);
  return {
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: buf.readBigUInt64LE(16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
    body: buf.subarray(IN_HEADER, len),
  };
}

/** A reply: an out header with `error` (0 or a negative errno) and the body. */
export function replyBytes(unique: bigint, error: number, body?: Uint8Array): Buffer {
  const n = OUT_HEADER + (error === 0 && body ? body.length : 0);
  const out = Buffer.alloc(n);
  out.writeUInt32LE(n, 0);
  out.writeInt32LE(error, 4);
  out.writeBigUInt64LE(unique, 8);
  if (error === 0 && body) out.set(body, OUT_HEADER);
  return out;
}

/** The attributes of an inode (struct fuse_attr). */
export interface Attr {
  readonly ino: bigint;
  readonly size: number;
  /** Type and permission bits (S_IFREG | 0o444 …). */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  /** atime = mtime = ctime, in seconds. */
  readonly time: number;
}

const ATTR_SIZE = 88;

function writeAttr(out: Buffer, off: number, a: Attr): void {
  out.writeBigUInt64LE(a.ino, off);
  out.writeBigUInt64LE(BigInt(a.size), off + 8);
  // st_blocks 0: kernfs, debugfs and tracefs files have no blocks whatever their size (`ls -l`
  // prints `total 0`)
  out.writeBigUInt64LE(0n, off + 16);
  const t = BigInt(Math.floor(a.time));
  out.writeBigUInt64LE(t, off + 24);
  out.writeBigUInt64LE(t, off + 32);
  out.writeBigUInt64LE(t, off + 40);
  // nsecs (3 × u32) stay 0
  out.writeUInt32LE(a.mode, off + 60);
  out.writeUInt32LE(a.nlink, off + 64);
  out.writeUInt32LE(a.uid, off + 68);
  out.writeUInt32LE(a.gid, off + 72);
  // rdev 0
  out.writeUInt32LE(4096, off + 80);
}

/** fuse_entry_out: the node id and attributes of a looked-up name. */
export function entryOut(nodeid: bigint, attr: Attr, entryValidSec: number): Buffer {
  const out = Buffer.alloc(40 + ATTR_SIZE);
  out.writeBigUInt64LE(nodeid, 0);
  out.writeBigUInt64LE(BigInt(entryValidSec), 16);
  // attr_valid 0: every stat asks again (sizes follow the state)
  writeAttr(out, 40, attr);
  return out;
}

/** fuse_attr_out with attr_valid 0. */
export function attrOut(attr: Attr): Buffer {
  const out = Buffer.alloc(16 + ATTR_SIZE);
  writeAttr(out, 16, attr);
  return out;
}

/** fuse_open_out. */
export function openOut(fh: bigint, openFlags: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(fh, 0);
  out.writeUInt32LE(openFlags, 8);
  return out;
}

/** fuse_write_out. */
export function writeOut(size: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(size, 0);
  return out;
}

/** fuse_kstatfs of an empty in-memory filesystem (like debugfs: f_bsize 4096, no blocks). */
export function statfsOut(): Buffer {
  const out = Buffer.alloc(80);
  out.writeUInt32LE(4096, 40);
  out.writeUInt32LE(255, 44);
  out.writeUInt32LE(4096, 48);
  return out;
}

/** A directory entry for READDIR. */
export interface Dirent {
  readonly ino: bigint;
  readonly name: string;
  /** DT_DIR 4, DT_REG 8, DT_LNK 10. */
  readonly type: number;
}

/** The fuse_dirent records from index `from`, as many as fit in `size` bytes; off = next index. */
export function direntsOut(entries: readonly Dirent[], from: number, size: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    const name = Buffer.from(e.name);
    const len = (24 + name.length + 7) & ~7;
    if (total + len > size) break;
    const rec = Buffer.alloc(len);
    rec.writeBigUInt64LE(e.ino, 0);
    rec.writeBigUInt64LE(BigInt(i + 1), 8);
    rec.writeUInt32LE(name.length, 16);
    rec.writeUInt32LE(e.type, 20);
    name.copy(rec, 24);
    parts.push(rec);
    total += len;
  }
  return Buffer.concat(parts, total);
}

/** The reply to INIT: protocol 7.min(kernel's, 31), the flags we use among the kernel's. */
export function initOut(body: Buffer): Buffer {
  const kernelMinor = body.readUInt32LE(4);
  const maxReadahead = body.readUInt32LE(8);
  const kernelFlags = body.readUInt32LE(12);
  const out = Buffer.alloc(64);
  out.writeUInt32LE(7, 0);
  out.writeUInt32LE(Math.min(kernelMinor, PROTOCOL_MINOR), 4);
  out.writeUInt32LE(maxReadahead, 8);
  out.writeUInt32LE(kernelFlags & (FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES), 12);
  out.writeUInt16LE(16, 16); // max_background
  out.writeUInt16LE(12, 18); // congestion_threshold
  out.writeUInt32LE(MAX_WRITE, 20);
  out.writeUInt32LE(1, 24); // time_gran: 1 ns
  return out;
}

/** The NUL-terminated names in a request body (LOOKUP, MKDIR's name, RENAME's two…). */
export function names(body: Buffer, from = 0): string[] {
  const out: string[] = [];
  let at = from;
  while (at < body.length) {
    let end = body.indexOf(0, at);
    if (end < 0) end = body.length;
    out.push(body.toString('utf8', at, end));
    at = end + 1;
  }
  return out;
}

/** A reply now: an errno (negative) or a body (success). */
export type Reply = { error: number } | { body: Uint8Array };

/**
 * What a handler answers: a reply, nothing (no reply), or a reply later (a read that waits, as
 * the kernel's `trace_pipe` reader does): `wait` gets the function that sends it and returns one
 * that gives up waiting (the session then answers EINTR, when the reader was interrupted).
 */
export type Answer = Reply | null | { wait: (done: (reply: Reply) => void) => () => void };

/** errno EINTR, the answer to a request the caller interrupted. */
const EINTR = 4;

/**
 * Serves a /dev/fuse descriptor: reads requests one at a time (on libuv's thread pool, so the
 * event loop stays free), hands each to `handle` and writes its answer. `closed` resolves when
 * the kernel ends the connection (unmount: ENODEV).
 */
export class FuseSession {
  private readonly buf = Buffer.alloc(MAX_WRITE + 64 * 1024);
  private stopped = false;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  /** Replies held until the changes they acknowledge are durable (group commit). */
  private held: { unique: bigint; answer: Reply }[] = [];
  /** Requests answered later, by their unique: how to stop waiting. */
  private readonly waiting = new Map<bigint, () => void>();
  private committing = false;

  constructor(
    private readonly fd: number,
    private readonly handle: (req: Request) => Answer,
    private readonly onError: (message: string) => void = () => {},
    /**
     * Group commit: after a request, `pending()` says whether changes await durability; if so its
     * reply is held, and one `run()` (one fsync) acknowledges every reply held so far. A run that
     * fails (a message) turns the held replies into EIO.
     */
    private readonly commit?: { pending(): boolean; run(): Promise<string | null> },
  ) {
    this.closed = new Promise((res) => {
      this.resolveClosed = res;
    });
  }

  start(): void {
    this.next();
  }

  private next(): void {
    if (this.stopped) {
      this.giveUpWaiting();
      this.resolveClosed();
      return;
    }
    fsRead(this.fd, this.buf, 0, this.buf.length, null, (err, n) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ENOENT: a request was interrupted before we read it; EINTR/EAGAIN: try again
        if (code === 'ENOENT' || code === 'EINTR' || code === 'EAGAIN') return this.next();
        if (code !== 'ENODEV') this.onError(`/dev/fuse: ${err.message}`);
        this.stopped = true;
        this.giveUpWaiting();
        return this.resolveClosed();
      }
      if (n >= IN_HEADER) this.serve(parseRequest(this.buf.subarray(0, n)));
      setImmediate(() => this.next());
    });
  }

  private serve(req: Request): void {
    let answer: Answer;
    try {
      answer = this.handle(req);
    } catch (e) {
      this.onError(`request ${req.opcode}: ${(e as Error).message}`);
      answer = { error: -5 };
    }
    if (req.opcode === Op.INTERRUPT) {
      // fuse_interrupt_in.unique: a request of ours still waiting is given up, with EINTR
      const unique = req.body.readBigUInt64LE(0);
      const stop = this.waiting.get(unique);
      if (stop) {
        this.waiting.delete(unique);
        stop();
        this.reply(unique, { error: -EINTR });
      }
      return;
    }
    if (answer === null) return;
    if ('wait' in answer) {
      const stop = answer.wait((reply) => {
        if (!this.waiting.delete(req.unique)) return;
        this.reply(req.unique, reply);
      });
      this.waiting.set(req.unique, stop);
      return;
    }
    if (this.commit?.pending()) {
      this.held.push({ unique: req.unique, answer });
      if (!this.committing) setImmediate(() => void this.flush());
      return;
    }
    this.reply(req.unique, answer);
  }

  /** One durable save for every change so far, then the replies it acknowledges. */
  private async flush(): Promise<void> {
    if (this.committing || this.held.length === 0) return;
    this.committing = true;
    const batch = this.held;
    this.held = [];
    let failed: string | null;
    try {
      failed = await this.commit!.run();
    } catch (e) {
      failed = (e as Error).message;
    }
    for (const h of batch) this.reply(h.unique, failed ? { error: -5 } : h.answer);
    this.committing = false;
    if (this.held.length > 0) void this.flush();
  }

  private reply(unique: bigint, answer: Reply): void {
    const out = 'error' in answer ? replyBytes(unique, answer.error) : replyBytes(unique, 0, answer.body);
    try {
      writeSync(this.fd, out);
    } catch (e) {
      // ENOENT: the caller was interrupted and the kernel dropped the request
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.onError(`/dev/fuse reply: ${(e as Error).message}`);
    }
  }

  /** Stops reading after the read in flight (for a mount that failed: nothing else ends it). */
  stop(): void {
    this.stopped = true;
    this.giveUpWaiting();
  }

  /** Stops every wait (the connection is ending): nothing will answer them. */
  giveUpWaiting(): void {
    for (const stop of this.waiting.values()) stop();
    this.waiting.clear();
  }
}
