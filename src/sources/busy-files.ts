// The files `blame` reads, told apart by content (a CMA tree or snapshot, a text trace, a kernel
// log, page_owner text), gzip or plain, streamed line by line so a page_owner dump of a whole
// phone (hundreds of MB) costs only the records of the pfns asked for.

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import { zlib } from './lazy-zlib.ts';
import type { BusyLog } from './page-dump.ts';
import { looksLikeBusyLog, parseBusyLog } from './page-dump.ts';
import type { PageOwnerRecord, PageOwnerStack, PfnRanges, SkippedLine } from './page-owner.ts';
import { createPageOwnerParser, looksLikePageOwner, overlapsRanges } from './page-owner.ts';
import { detectFileFormat } from './trace/detect.ts';
import { fileSource } from './trace/input.ts';
import { looksLikeMmTrace, MM_EVENT_NAMES, type MmEvent } from './trace/mm-events.ts';
import { readTraceDatMmEvents } from './trace/mm-events-read.ts';
import { TraceLineParser } from './trace/parse.ts';
import { readPerfettoMmFile } from './trace/perfetto.ts';
import { fileByteSource, gunzippedByteSource } from './trace/trace-dat.ts';
import { SourceError } from './tree.ts';

/** What a file holds, by its first bytes. */
export type BusyFileKind = 'tree' | 'snapshot' | 'trace' | 'trace.dat' | 'page_owner' | 'log' | 'unknown';

const HEAD_BYTES = 256 * 1024;

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** The first bytes of a file, gunzipped when it is gzip. */
function headOf(path: string): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = fs.readSync(fd, buf, 0, HEAD_BYTES, 0);
    const b = buf.subarray(0, n);
    if (!isGzip(b)) return b;
    try {
      return zlib().gunzipSync(b, { finishFlush: zlib().constants.Z_SYNC_FLUSH }).subarray(0, HEAD_BYTES);
    } catch {
      return Buffer.alloc(0);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Tells a file apart by its content. */
export function busyFileKind(path: string): BusyFileKind {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new SourceError(`${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (st.isDirectory()) return 'tree';
  const head = headOf(path);
  const binary = detectFileFormat(path, isGzip(headMagic(path))).format;
  if (binary === 'trace.dat' || binary === 'perfetto') return 'trace';
  const text = head.toString('latin1');
  if (/^\s*\{/.test(text) && /"files"|"areas"|"cma"/.test(text.slice(0, 4096))) return 'snapshot';
  if (text.startsWith('@@CMA-DEBUG-DUMP')) return 'unknown'; // the raw dump: `snapshot` turns it into a file
  if (looksLikePageOwner(text)) return 'page_owner';
  if (/^# tracer:/m.test(text) || (looksLikeMmTrace(text) && !looksLikeBusyLog(text))) return 'trace';
  if (looksLikeBusyLog(text)) return 'log';
  if (looksLikeMmTrace(text)) return 'trace';
  return 'unknown';
}

function headMagic(path: string): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    fs.readSync(fd, magic, 0, 2, 0);
    return magic;
  } finally {
    fs.closeSync(fd);
  }
}

/** The lines of a page_owner file (gzip or plain), streamed. */
function fileLines(path: string): readline.Interface {
  const fd = fs.openSync(path, 'r');
  const magic = Buffer.alloc(2);
  fs.readSync(fd, magic, 0, 2, 0);
  fs.closeSync(fd);
  const raw = fs.createReadStream(path);
  const input: Readable = isGzip(magic) ? raw.pipe(zlib().createGunzip()) : raw;
  return readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
}

/** A whole (small) text file, gunzipped when needed. */
export function readTextFile(path: string): string {
  const b = fs.readFileSync(path);
  return (isGzip(b) ? zlib().gunzipSync(b) : b).toString('latin1');
}

/**
 * The mm events of a trace: text streamed line by line; trace.dat and Perfetto (plain or gzip)
 * decoded by mm-events-read.ts, every event blame reads (cma, test_pages_isolated,
 * mm_migrate_pages, mm_alloc_contig_migrate_range_info).
 */
export async function readMmTrace(path: string): Promise<MmEvent[]> {
  const gz = isGzip(headMagic(path));
  const fmt = detectFileFormat(path, gz).format;
  if (fmt === 'perfetto') return readPerfettoMmFile(path);
  if (fmt === 'trace.dat') {
    const bs = gz ? await gunzippedByteSource(path) : fileByteSource(path);
    try {
      return readTraceDatMmEvents(bs);
    } catch (e) {
      throw new SourceError(`${path}: ${(e as Error).message}`);
    } finally {
      bs.close();
    }
  }
  // the trace reader's lines (bounded: an overlong line is skipped, not kept), every one seen
  const events: MmEvent[] = [];
  const parser = new TraceLineParser(() => {}, {
    fastPath: false,
    otherEvents: { names: MM_EVENT_NAMES, onEvent: (e) => void events.push(e) },
  });
  for await (const chunk of fileSource(path).open()) parser.feed(chunk);
  parser.end();
  return events;
}

/** The page_owner records (those `keep` accepts) and show_stacks entries of a file, streamed. */
export async function readPageOwner(
  path: string,
  keep: (pfn: number, order: number) => boolean,
): Promise<{ records: PageOwnerRecord[]; stacks: PageOwnerStack[]; skipped: SkippedLine[]; seen: number }> {
  const records: PageOwnerRecord[] = [];
  const stacks: PageOwnerStack[] = [];
  const p = createPageOwnerParser({ onRecord: (r) => records.push(r), onStack: (s) => stacks.push(s), keep });
  for await (const line of fileLines(path)) p.line(line);
  p.end();
  return { records, stacks, skipped: p.skipped, seen: p.counts.records };
}

/** A kernel log's busy-page facts. */
export function readBusyLog(path: string): BusyLog {
  return parseBusyLog(readTextFile(path));
}

/** keep() for page_owner: records overlapping the ranges. */
export function keepRanges(ranges: PfnRanges): (pfn: number, order: number) => boolean {
  return (pfn, order) => overlapsRanges(ranges, pfn, order);
}
