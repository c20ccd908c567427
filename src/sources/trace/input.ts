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
import { createGunzip } from 'node:zlib';

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

/** A trace file (gzip detected by magic). Throws a one-line Error if it cannot be read. */
export function fileSource(path: string): TraceSource {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new Error(`${path} is a directory`);
    size = st.size;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read trace ${path}: ${err.code ?? err.message}`);
  }
  const gzip = size >= 2 && isGzipFile(path);
  return {
    size,
    gzip,
    label: path,
    path,
    open: () => {
      const raw = createReadStream(path, { highWaterMark: CHUNK });
      return gzip ? raw.pipe(createGunzip({ chunkSize: CHUNK })) : raw;
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

/**
 * stdin. With `spool`, it is first copied to a temporary file so that it can be read twice
 * (area inference needs a first pass; dispose() removes the file); without, it can be opened once.
 */
async function stdinSource(spool: boolean): Promise<TraceSource> {
  if (!spool) {
    let used = false;
    return {
      size: null,
      gzip: false,
      label: '<stdin>',
      open: () => {
        if (used) throw new Error('stdin can only be read once (give the areas, or use a file)');
        used = true;
        return gunzipIfGzip(process.stdin);
      },
      dispose: () => {},
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'cma-trace-'));
  const path = join(dir, 'stdin.trace');
  await pipeline(process.stdin, createWriteStream(path));
  const src = fileSource(path);
  return {
    ...src,
    label: '<stdin>',
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
    yield* Readable.from(rest()).pipe(createGunzip({ chunkSize: CHUNK }));
  else yield* rest();
}

/** `-` is stdin; anything else a file. */
export async function openTraceSource(pathOrDash: string, spoolStdin = true): Promise<TraceSource> {
  return pathOrDash === '-' ? stdinSource(spoolStdin) : fileSource(pathOrDash);
}
