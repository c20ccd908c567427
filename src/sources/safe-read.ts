// Reading files of a directory that stands for /sys without freezing or exploding: only regular
// files are read (FIFOs, sockets and devices are refused with the reason), known blocking tracefs
// files are refused by name, every open is O_NONBLOCK and every read stops at a size cap.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourceError } from './tree.ts';

/** Largest file read (a CMA bitmap of a 4 TiB area at order_per_bit 0 is ~45 MB of text). */
const MAX_READ_BYTES = 64 * 1024 * 1024;
/** How long one read may take before the server answers 504 instead (a hung mount). */
export const READ_TIMEOUT_MS = 2000;

/**
 * tracefs files whose read() waits for new events (tracing_read_pipe, trace_pipe_raw): a read
 * of them never ends on a quiet system, so they are refused rather than streamed.
 */
const BLOCKING_NAMES = /^(trace_pipe|trace_pipe_raw)$/;

/** Why a node cannot be read or written as a file, or null when it is a regular file. */
function specialReason(st: fs.Stats, file: string): Refused | null {
  const kind = st.isFIFO()
    ? 'a FIFO'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isFile()
            ? null
            : 'not a regular file';
  if (kind) return { refused: `${kind}: only regular files and directories are served`, status: 403 };
  if (BLOCKING_NAMES.test(path.basename(file)))
    return {
      refused: `${path.basename(file)} blocks until new trace events arrive: read 'trace' instead (a snapshot of the buffer)`,
      status: 403,
    };
  if (st.size > MAX_READ_BYTES)
    return { refused: `${st.size} bytes, larger than the ${MAX_READ_BYTES}-byte limit`, status: 413 };
  return null;
}

/** A read that was refused (special file, too large, too slow) with the reason. */
export interface Refused {
  readonly refused: string;
  /** HTTP status for it: 403 a special file, 413 too large, 504 too slow. */
  readonly status: 403 | 413 | 504;
}

function openChecked(file: string, flags: number): { fd: number } | Refused {
  const st = fs.lstatSync(file);
  const pre = st.isSymbolicLink() ? null : specialReason(st, file);
  if (pre) return pre;
  const fd = fs.openSync(file, flags | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  const why = specialReason(fs.fstatSync(fd), file); // the node may have changed since lstat
  if (why) {
    fs.closeSync(fd);
    return why;
  }
  return { fd };
}

/** Reads a regular file up to MAX_READ_BYTES (a longer one is refused); throws fs errors. */
export function readRegularFileSync(file: string): Buffer | Refused {
  const o = openChecked(file, fs.constants.O_RDONLY);
  if ('refused' in o) return o;
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      const n = fs.readSync(o.fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_READ_BYTES)
        return { refused: `more than the ${MAX_READ_BYTES}-byte limit`, status: 413 };
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(o.fd);
  }
}

/** readRegularFileSync off the event loop, given up after READ_TIMEOUT_MS (answered 504). */
export async function readRegularFile(file: string, timeoutMs = READ_TIMEOUT_MS): Promise<Buffer | Refused> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<Refused>((resolve) => {
    timer = setTimeout(
      () => resolve({ refused: `no answer within ${timeoutMs / 1000} s (a blocking file?)`, status: 504 }),
      timeoutMs,
    );
  });
  const read = (async (): Promise<Buffer | Refused> => {
    const st = await fs.promises.lstat(file);
    const pre = st.isSymbolicLink() ? null : specialReason(st, file);
    if (pre) return pre;
    const h = await fs.promises.open(
      file,
      fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY,
    );
    try {
      const why = specialReason(await h.stat(), file);
      if (why) return why;
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const { bytesRead, buffer } = await h.read(Buffer.allocUnsafe(64 * 1024), 0, 64 * 1024, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > MAX_READ_BYTES)
          return { refused: `more than the ${MAX_READ_BYTES}-byte limit`, status: 413 };
        chunks.push(buffer.subarray(0, bytesRead));
      }
      return Buffer.concat(chunks, total);
    } finally {
      await h.close();
    }
  })();
  try {
    return await Promise.race([read, slow]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes `data` with one write() into an existing regular file (never a FIFO or a device). */
export function writeRegularFileSync(file: string, data: Uint8Array): number | Refused {
  const o = openChecked(file, fs.constants.O_WRONLY);
  if ('refused' in o) return o;
  try {
    return data.length === 0 ? 0 : fs.writeSync(o.fd, data);
  } finally {
    fs.closeSync(o.fd);
  }
}

/** A file the user named (a log, a bug report, a snapshot): its bytes, or a SourceError naming the errno. */
export function readNamedFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new SourceError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}
