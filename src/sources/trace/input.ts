// Trace inputs: a file (plain or .gz, detected by its magic bytes), stdin ('-'), or bytes in
// memory, as re-openable streams of Uint8Array chunks.

import {
  closeSync,
  createReadStream,
  createWriteStream,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zlib } from '../lazy-zlib.ts';

/** A trace that can be read (again): call `open()` for a fresh stream of chunks. */
export interface TraceSource {
  /** A fresh stream of the (decompressed) bytes. */
  open(): AsyncIterable<Uint8Array>;
  /** Size on disk in bytes (compressed size for .gz), or null (stdin). */
  readonly size: number | null;
  /** True when the source is gzip (progress then counts compressed bytes… approximately). */
  readonly gzip: boolean;
  /** Human name for messages. */
  readonly label: string;
  /** The file on disk, when the source is one (a parse worker can then read it itself). */
  readonly path?: string;
  /** Removes temporary files (stdin spooled to disk). */
  dispose(): void;
}

const CHUNK = 1 << 20;

function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const n = readSync(fd, b, 0, 2, 0);
    return n === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * The size of path when it is a regular file, null for a named pipe or a device; throws a
 * one-line Error if it cannot be read or is a directory.
 */
function regularFileSize(path: string): number | null {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new Error(`${path} is a directory`);
    return st.isFile() ? st.size : null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read trace ${path}: ${err.code ?? err.message}`);
  }
}

/**
 * A trace file (gzip detected by magic). Throws a one-line Error if it cannot be read. A named
 * pipe or a device (`<(zcat trace.gz)`, /dev/stdin) cannot be read at an offset nor twice: it is
 * a stream that can be opened once, like stdin without spooling (openTraceSource spools it).
 */
export function fileSource(path: string): TraceSource {
  const size = regularFileSize(path);
  if (size === null) return streamSource(path, () => createReadStream(path, { highWaterMark: CHUNK }));
  const gzip = size >= 2 && isGzipFile(path);
  return {
    size,
    gzip,
    label: path,
    path,
    open: () => {
      const raw = createReadStream(path, { highWaterMark: CHUNK });
      return gzip ? raw.pipe(zlib().createGunzip({ chunkSize: CHUNK })) : raw;
    },
    dispose: () => {},
  };
}

/** Bytes or text in memory. */
export function memorySource(data: string | Uint8Array, label = '<memory>'): TraceSource {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    size: bytes.length,
    gzip: false,
    label,
    open: () =>
      (async function* () {
        for (let pos = 0; pos < bytes.length; pos += CHUNK) yield bytes.subarray(pos, pos + CHUNK);
      })(),
    dispose: () => {},
  };
}

/** A stream (stdin, a named pipe) that can be opened once; gzip detected by its first bytes. */
function streamSource(label: string, stream: () => NodeJS.ReadableStream): TraceSource {
  let used = false;
  return {
    size: null,
    gzip: false,
    label,
    open: () => {
      if (used) throw new Error(`${label} can only be read once (give the areas, or use a file)`);
      used = true;
      return gunzipIfGzip(stream() as AsyncIterable<Uint8Array>);
    },
    dispose: () => {},
  };
}

/**
 * A stream copied to a temporary file first, so that it can be read twice (area inference needs
 * a first pass); dispose() removes the file.
 */
async function spooledSource(label: string, stream: NodeJS.ReadableStream): Promise<TraceSource> {
  const dir = mkdtempSync(join(tmpdir(), 'cma-trace-'));
  const path = join(dir, 'spooled.trace');
  try {
    await pipeline(stream, createWriteStream(path));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...fileSource(path),
    label,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A stream's bytes, decompressed when its first bytes are gzip's magic (stdin has no name to go by). */
async function* gunzipIfGzip(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const rest = async function* () {
    yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  };
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)
    yield* Readable.from(rest()).pipe(zlib().createGunzip({ chunkSize: CHUNK }));
  else yield* rest();
}

/**
 * `-` is stdin; anything else a file. With `spool`, stdin and named pipes are first copied to a
 * temporary file so that they can be read twice; without, they can be opened once.
 */
export async function openTraceSource(pathOrDash: string, spool = true): Promise<TraceSource> {
  if (pathOrDash === '-')
    return spool ? spooledSource('<stdin>', process.stdin) : streamSource('<stdin>', () => process.stdin);
  if (!spool || regularFileSize(pathOrDash) !== null) return fileSource(pathOrDash);
  return spooledSource(pathOrDash, createReadStream(pathOrDash, { highWaterMark: CHUNK }));
}
