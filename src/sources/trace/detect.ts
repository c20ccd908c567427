// What a trace file is, by its first bytes (after gunzip): ftrace text, trace-cmd's trace.dat,
// a Perfetto protobuf trace, or some other binary (named, for a clear error).

import { closeSync, openSync, readSync } from 'node:fs';
import { zlib } from '../lazy-zlib.ts';

export type TraceFormat = 'text' | 'trace.dat' | 'perfetto' | 'binary';

/** trace.dat's magic: 0x17 0x08 'D' "tracing". */
export const TRACE_DAT_MAGIC = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67];

/** How many leading bytes detection looks at. */
const DETECT_BYTES = 4096;

/** Known binary formats that are not traces, by magic. */
const OTHER: [number[], string][] = [
  [[0x7f, 0x45, 0x4c, 0x46], 'an ELF executable or object'],
  [[0x50, 0x4b, 0x03, 0x04], 'a zip archive'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd-compressed data (decompress it first: zstd -d)'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a], 'xz-compressed data (decompress it first: xz -d)'],
  [[0x42, 0x5a, 0x68], 'bzip2-compressed data (decompress it first: bunzip2)'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
  [[0x53, 0x51, 0x4c, 0x69, 0x74, 0x65], 'an SQLite database'],
  [
    [0x50, 0x45, 0x52, 0x46, 0x49, 0x4c, 0x45],
    "a perf.data file (perf record's format; record the cma events with trace-cmd or read them with perf script)",
  ],
  [[0x1f, 0x8b], 'gzip data inside gzip data'],
];

function startsWith(b: Uint8Array, magic: number[]): boolean {
  if (b.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[i] !== magic[i]) return false;
  return true;
}

/** Reads a varint at p; returns [value, next] or null. */
function varint(b: Uint8Array, p: number): [number, number] | null {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 10 && p < b.length; k++) {
    const c = b[p++]!;
    v += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) return [v, p];
    mul *= 128;
  }
  return null;
}

/**
 * Whether bytes look like a Perfetto `Trace` (repeated field 1, length-delimited TracePacket):
 * the first packet's fields within its length parse with valid wire types.
 */
function looksPerfetto(b: Uint8Array): boolean {
  if (b[0] !== 0x0a) return false;
  const l = varint(b, 1);
  if (l === null || l[0] === 0) return false;
  let p = l[1];
  const end = Math.min(b.length, p + l[0]);
  let fields = 0;
  while (p < end) {
    const t = varint(b, p);
    if (t === null) return false;
    p = t[1];
    const wire = t[0] % 8;
    if (t[0] < 8) return false;
    if (wire === 0) {
      const v = varint(b, p);
      if (v === null) return false;
      p = v[1];
    } else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const v = varint(b, p);
      if (v === null) return false;
      p = v[1] + v[0];
    } else return false;
    fields++;
  }
  return fields > 0 && (p === end || end === b.length);
}

/** Bytes that are neither printable nor tab, CR, LF, FF: how many per 1000. */
function controlPerMille(b: Uint8Array): number {
  let bad = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) bad++;
  }
  return (bad * 1000) / b.length;
}

/** The format of a trace whose (decompressed) content begins with `head`. */
export function detectFormat(head: Uint8Array): { format: TraceFormat; what: string } {
  if (head.length === 0) return { format: 'text', what: 'empty' };
  if (startsWith(head, TRACE_DAT_MAGIC)) return { format: 'trace.dat', what: "trace-cmd's trace.dat" };
  const control = controlPerMille(head);
  // text: (almost) no control bytes; a stray NUL or two in a text trace is still text
  if (control <= 10 && (control === 0 || !looksPerfetto(head)))
    return { format: 'text', what: 'ftrace text' };
  if (looksPerfetto(head)) return { format: 'perfetto', what: 'a Perfetto trace' };
  if (control <= 50) return { format: 'text', what: 'ftrace text' };
  for (const [magic, what] of OTHER) if (startsWith(head, magic)) return { format: 'binary', what };
  return { format: 'binary', what: 'binary data of an unknown format' };
}

/** The error for a binary input that is no trace. */
export function notATraceError(label: string, what: string): Error {
  return new Error(
    `${label} is not a trace: it looks like ${what}. cma-debug reads ftrace text (trace, trace_pipe, trace-cmd report), trace-cmd's trace.dat and Perfetto traces, plain or gzip`,
  );
}

/** The format of a file on disk (gzip looked into). */
export function detectFileFormat(path: string, gzip: boolean): { format: TraceFormat; what: string } {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(gzip ? 65536 : DETECT_BYTES);
    const n = readSync(fd, b, 0, b.length, 0);
    let head: Uint8Array = b.subarray(0, n);
    if (gzip) {
      try {
        head = zlib().gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: a truncated stream is fine */ });
      } catch {
        return { format: 'binary', what: 'corrupt gzip data' };
      }
    }
    return detectFormat(head.subarray(0, DETECT_BYTES));
  } finally {
    closeSync(fd);
  }
}
