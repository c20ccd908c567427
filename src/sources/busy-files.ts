// The files `blame` reads, told apart by content (a CMA tree or snapshot, a text trace, a kernel
// log, page_owner text), gzip or plain, streamed line by line so a page_owner dump of a whole
// phone (hundreds of MB) costs only the records of the pfns asked for.

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { BusyLog } from './page-dump.ts';
import { looksLikeBusyLog, parseBusyLog } from './page-dump.ts';
import type { PageOwnerRecord, PageOwnerStack, PfnRanges, SkippedLine } from './page-owner.ts';
import { createPageOwnerParser, looksLikePageOwner, overlapsRanges } from './page-owner.ts';
import { detectFileFormat } from './trace/detect.ts';
import { COST_EVENT_NAMES, looksLikeMmTrace, type MmEvent, parseMmEventLine } from './trace/mm-events.ts';
import { readTraceDatMmEvents } from './trace/mm-events-read.ts';
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
      return zlib.gunzipSync(b, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, HEAD_BYTES);
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

/** The lines of a file (gzip or plain), streamed. */
function fileLines(path: string): readline.Interface {
  const fd = fs.openSync(path, 'r');
  const magic = Buffer.alloc(2);
  fs.readSync(fd, magic, 0, 2, 0);
  fs.closeSync(fd);
  const raw = fs.createReadStream(path);
  const input: Readable = isGzip(magic) ? raw.pipe(zlib.createGunzip()) : raw;
  return readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
}

/** A whole (small) text file, gunzipped when needed. */
export function readTextFile(path: string): string {
  const b = fs.readFileSync(path);
  return (isGzip(b) ? zlib.gunzipSync(b) : b).toString('latin1');
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
  const events: MmEvent[] = [];
  let n = 0;
  for await (const line of fileLines(path)) {
    n++;
    const e = parseMmEventLine(line, n);
    if (e) events.push(e);
  }
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

const COST_EVENTS = COST_EVENT_NAMES;

/**
 * The events that carry an allocation's migrate counts (mm_alloc_contig_migrate_range_info,
 * Android's cma_alloc_info) of a trace in any format: text lines are only parsed when they name
 * one of them, trace.dat files without the events' formats are not walked at all.
 */
export async function readAllocationCostEvents(path: string): Promise<MmEvent[]> {
  const gz = isGzip(headMagic(path));
  const fmt = detectFileFormat(path, gz).format;
  if (fmt === 'perfetto') return readPerfettoMmFile(path, COST_EVENTS);
  if (fmt === 'trace.dat') {
    const bs = gz ? await gunzippedByteSource(path) : fileByteSource(path);
    try {
      return readTraceDatMmEvents(bs, COST_EVENTS);
    } finally {
      bs.close();
    }
  }
  const events: MmEvent[] = [];
  if (!gz) {
    for (const [line, n] of linesWith(path, '_info: ')) {
      const e = parseMmEventLine(line, n);
      if (e && COST_EVENTS.has(e.event)) events.push(e);
    }
    return events;
  }
  for await (const [line, n] of gzipLinesWith(path, '_info: ')) {
    const e = parseMmEventLine(line, n);
    if (e && COST_EVENTS.has(e.event)) events.push(e);
  }
  return events;
}

/** Lines past this length are skipped (as the trace parser skips them): a hostile line never grows a string. */
const MAX_COST_LINE = 1 << 20;

/**
 * The lines of a gzip'd text file that contain `needle`, with their 1-based numbers, in bounded
 * memory: the decompressed bytes are split as they stream and a line longer than
 * MAX_COST_LINE is dropped whole (a 256 MiB line costs no 256 MiB string, unlike readline).
 */
async function* gzipLinesWith(path: string, needle: string): AsyncGenerator<[string, number]> {
  const pat = Buffer.from(needle, 'latin1');
  let carry: Buffer[] = [];
  let carryLen = 0;
  let overlong = false;
  let n = 0;
  const emit = (line: Buffer): [string, number] | null => {
    n++;
    if (overlong || line.indexOf(pat) < 0) return null;
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    return [line.toString('utf8', 0, end), n];
  };
  for await (const chunk of fs.createReadStream(path).pipe(zlib.createGunzip()) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, nl);
      const line = carryLen === 0 ? piece : Buffer.concat([...carry, piece]);
      const out = emit(line);
      carry = [];
      carryLen = 0;
      overlong = false;
      if (out) yield out;
      from = nl + 1;
    }
    if (from < chunk.length && !overlong) {
      carry.push(chunk.subarray(from));
      carryLen += chunk.length - from;
      if (carryLen > MAX_COST_LINE) {
        overlong = true;
        carry = [];
        carryLen = 0;
      }
    }
  }
  if (carryLen > 0 || overlong) {
    const out = emit(Buffer.concat(carry));
    if (out) yield out;
  }
}

/**
 * The lines of a plain file that contain `needle`, with their 1-based numbers (a trailing \r
 * dropped, as readline does). A byte search over 1 MiB reads: `replay --json` runs this on every
 * trace it replays, and a 1M-event text trace without such lines costs ~70 ms here against ~500
 * ms as readline strings. Lines are counted only once a first match is found (then from the top).
 */
function* linesWith(path: string, needle: string): Generator<[string, number]> {
  const pat = Buffer.from(needle, 'latin1');
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let buf = Buffer.allocUnsafe(1 << 20);
    /** Bytes of the file before buf[0]; buf[0, have) holds whole lines plus a partial tail. */
    let base = 0;
    let have = 0;
    /** Newlines before buf[0], once counting (-1: not yet). */
    let lines = -1;
    const countNl = (b: Buffer, from: number, to: number): number => {
      let c = 0;
      for (let i = b.indexOf(10, from); i >= 0 && i < to; i = b.indexOf(10, i + 1)) c++;
      return c;
    };
    for (;;) {
      if (have === buf.length) {
        // a line longer than the buffer: grow it
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const got = fs.readSync(fd, buf, have, buf.length - have, base + have);
      const end = have + Math.max(got, 0);
      // whole lines: up to the last newline (everything at the end of the file)
      const cut = got <= 0 || base + end >= size ? end : buf.lastIndexOf(10, end - 1) + 1;
      if (cut > 0) {
        let hit = buf.indexOf(pat, 0);
        if (hit >= 0 && hit < cut && lines < 0) {
          // the first match: count the lines before this buffer once
          lines = 0;
          const scan = Buffer.allocUnsafe(1 << 20);
          for (let at = 0; at < base; ) {
            const n = fs.readSync(fd, scan, 0, Math.min(scan.length, base - at), at);
            if (n <= 0) break;
            lines += countNl(scan, 0, n);
            at += n;
          }
        }
        let counted = 0;
        let nl = lines;
        while (hit >= 0 && hit < cut) {
          const start = buf.lastIndexOf(10, hit) + 1;
          let stop = buf.indexOf(10, hit);
          if (stop < 0 || stop > cut) stop = cut;
          nl += countNl(buf, counted, start);
          counted = start;
          let text = buf.toString('latin1', start, stop);
          if (text.endsWith('\r')) text = text.slice(0, -1);
          yield [text, nl + 1];
          hit = buf.indexOf(pat, stop);
        }
        if (lines >= 0) lines = nl + countNl(buf, counted, cut);
      }
      if (got <= 0 || cut >= end) {
        if (got <= 0) return;
        base += cut;
        have = 0;
      } else {
        buf.copy(buf, 0, cut, end);
        base += cut;
        have = end - cut;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
