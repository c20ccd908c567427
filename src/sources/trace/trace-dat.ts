// trace-cmd's trace.dat, versions 6 and 7 (trace-cmd.dat(5)): the initial header (magic, endian,
// long size, page size), the file's own header_page and event format files, saved cmdlines,
// options (uname, trace clock, buffers), and per-CPU ring-buffer data; version 7 keeps these in
// sections that may be compressed (zstd or zlib) and the CPU data in compressed chunks.

import {
  closeSync,
  createReadStream,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zlib } from '../lazy-zlib.ts';
import { TRACE_DAT_MAGIC } from './detect.ts';
import { type EventFormat, type PageHeader, parseEventFormat, parsePageHeader } from './event-format.ts';
import { PageReader, u64 } from './ring-buffer.ts';

/** Random access to the file's bytes. */
export interface ByteSource {
  readonly size: number;
  /** Up to `len` bytes at `pos` (fewer only at the end of the file). */
  read(pos: number, len: number): Uint8Array;
  /**
   * Reads into `out` (all of it, fewer bytes only at the end of the file) and returns how many
   * bytes it read; optional (a file reads into a reused buffer instead of a new one per read).
   */
  readInto?(pos: number, out: Uint8Array): number;
  close(): void;
}

export function memoryByteSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (pos, len) => bytes.subarray(pos, Math.min(bytes.length, pos + len)),
    close: () => {},
  };
}

export function fileByteSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  const readInto = (pos: number, out: Uint8Array): number => {
    const n = Math.max(0, Math.min(out.length, size - pos));
    let got = 0;
    while (got < n) {
      const r = readSync(fd, out, got, n - got, pos + got);
      if (r <= 0) break;
      got += r;
    }
    return got;
  };
  return {
    size,
    read: (pos, len) => {
      const b = Buffer.allocUnsafe(Math.max(0, Math.min(len, size - pos)));
      const got = readInto(pos, b);
      return got === b.length ? b : b.subarray(0, got);
    },
    readInto,
    close: () => closeSync(fd),
  };
}

/** One CPU's data of the top-level buffer. */
interface CpuData {
  readonly cpu: number;
  readonly offset: number;
  readonly size: number;
}

/** Everything the header and options say. */
export interface TraceDatInfo {
  readonly version: number;
  readonly littleEndian: boolean;
  readonly longSize: number;
  readonly pageSize: number;
  /** v7: 'none', 'zstd', 'zlib'; v6: 'none'. */
  readonly compression: string;
  readonly pageHeader: PageHeader;
  readonly events: Map<number, EventFormat>;
  readonly cmdlines: Map<number, string>;
  /** The UNAME option ("Linux host 6.12.0 x86_64"), or null. */
  readonly uname: string | null;
  /** Its third word, or null. */
  readonly kernelRelease: string | null;
  /** The trace clock (the selected one of the TRACECLOCK option), 'local' when absent. */
  readonly clock: string;
  readonly cpus: readonly CpuData[];
  /** v7: the CPU data is in compressed chunks. */
  readonly compressedData: boolean;
  /** Latency-format files (no per-CPU binary data). */
  readonly latency: boolean;
}

const OPT_DONE = 0;
const OPT_BUFFER = 3;
const OPT_TRACECLOCK = 4;
const OPT_UNAME = 5;
const OPT_HEADER_INFO = 16;
const OPT_EVENT_FORMATS = 18;
const OPT_CMDLINES = 21;
const OPT_BUFFER_TEXT = 22;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/**
 * Largest metadata, section or decompressed block a trace.dat may declare (trace-cmd writes
 * sections of kilobytes and compressed chunks of about a megabyte): a larger declared size is
 * a damaged or hostile file, refused with its offset before anything that size is allocated.
 */
export const TRACE_DAT_MAX_BLOCK = 64 * 1024 * 1024;

/** A bad or unsupported trace.dat. */
export class TraceDatError extends Error {}

/** A sequential reader over bytes in memory. */
class Cur {
  readonly dv: DataView;
  /**
   * @param origin the file offset of b[0] (for messages)
   * @param what what b is, when not the file itself (a decompressed section)
   */
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    private readonly le: boolean,
    readonly origin = 0,
    readonly what = 'trace.dat',
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.b.length)
      throw new TraceDatError(
        `${this.what} is truncated at offset ${this.origin + this.pos} (${n} bytes declared, ${Math.max(0, this.b.length - this.pos)} left)`,
      );
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos, this.le);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = u64(this.dv, this.pos, this.le);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  str(): string {
    const e = this.b.indexOf(0, this.pos);
    if (e < 0)
      throw new TraceDatError(
        `${this.what} is truncated at offset ${this.origin + this.pos} (a string without its NUL)`,
      );
    const s = utf8.decode(this.b.subarray(this.pos, e));
    this.pos = e + 1;
    return s;
  }
}

type Fzstd = typeof import('fzstd');
let fzstd: Fzstd | undefined;

/** fzstd's decompress, loaded the first time a zstd block is read (most files have none). */
function zstdDecompress(data: Uint8Array, out: Uint8Array): Uint8Array {
  fzstd ??= createRequire(import.meta.url)('fzstd') as Fzstd;
  return fzstd.decompress(data, out);
}

function decompressBytes(alg: string, data: Uint8Array, outSize: number, at: number): Uint8Array {
  if (outSize > TRACE_DAT_MAX_BLOCK)
    throw new TraceDatError(
      `trace.dat: the ${alg} block at offset ${at} declares ${outSize} bytes uncompressed, over the ${TRACE_DAT_MAX_BLOCK}-byte limit`,
    );
  let out: Uint8Array;
  try {
    // the output never grows past the declared size (a zip bomb stops there)
    if (alg === 'zstd') out = zstdDecompress(data, new Uint8Array(outSize));
    else if (alg === 'zlib') out = zlib().inflateSync(data, { maxOutputLength: Math.max(1, outSize) });
    else throw new TraceDatError(`trace.dat uses compression '${alg}', which is not supported (zstd, zlib)`);
  } catch (e) {
    if (e instanceof TraceDatError) throw e;
    throw new TraceDatError(
      `trace.dat: the ${alg} block at offset ${at} does not decompress to the ${outSize} bytes it declares (${(e as Error).message})`,
    );
  }
  if (out.length !== outSize)
    throw new TraceDatError(
      `trace.dat: the ${alg} block at offset ${at} decompressed to ${out.length} bytes, not ${outSize}`,
    );
  return out;
}

/** Reads the header, formats, cmdlines and options of a trace.dat. */
export function readTraceDatInfo(src: ByteSource): TraceDatInfo {
  const head = src.read(0, 64);
  for (let i = 0; i < TRACE_DAT_MAGIC.length; i++)
    if (head[i] !== TRACE_DAT_MAGIC[i]) throw new TraceDatError('not a trace.dat file (bad magic)');
  const vEnd = head.indexOf(0, 10);
  const version = Number(latin1.decode(head.subarray(10, vEnd)));
  if (version !== 6 && version !== 7)
    throw new TraceDatError(
      `trace.dat version ${latin1.decode(head.subarray(10, vEnd))} is not supported (6, 7)`,
    );
  const le = head[vEnd + 1] === 0;
  const longSize = head[vEnd + 2]!;
  const pageSize = new DataView(head.buffer, head.byteOffset).getUint32(vEnd + 3, le);
  if (pageSize < 64 || pageSize > 1 << 24) throw new TraceDatError(`trace.dat: bad page size ${pageSize}`);
  const afterPage = vEnd + 7;
  return version === 6
    ? readV6(src, afterPage, le, longSize, pageSize)
    : readV7(src, afterPage, le, longSize, pageSize);
}

interface Meta {
  pageHeader: PageHeader | null;
  events: Map<number, EventFormat>;
  cmdlines: Map<number, string>;
  uname: string | null;
  clock: string;
}

function headerInfo(c: Cur, m: Meta, longSize: number): void {
  for (let k = 0; k < 2; k++) {
    const name = c.str();
    const size = c.u64();
    const text = latin1.decode(c.bytes(size));
    if (name === 'header_page') m.pageHeader = parsePageHeader(text, longSize);
  }
}

function eventFormats(c: Cur, m: Meta): void {
  const systems = c.u32();
  for (let s = 0; s < systems; s++) {
    const system = c.str();
    const n = c.u32();
    for (let i = 0; i < n; i++) {
      const size = c.u64();
      const f = parseEventFormat(latin1.decode(c.bytes(size)), system);
      m.events.set(f.id, f);
    }
  }
}

function cmdlines(text: string, m: Meta): void {
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const pid = Number(line.slice(0, sp));
    if (Number.isInteger(pid)) m.cmdlines.set(pid, line.slice(sp + 1));
  }
}

function selectedClock(text: string): string {
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1]! : text.trim().split(/\s+/)[0] || 'local';
}

function finish(
  version: number,
  le: boolean,
  longSize: number,
  pageSize: number,
  compression: string,
  m: Meta,
  cpus: CpuData[],
  compressedData: boolean,
  latency: boolean,
): TraceDatInfo {
  const words = m.uname?.trim().split(/\s+/) ?? [];
  return {
    version,
    littleEndian: le,
    longSize,
    pageSize,
    compression,
    pageHeader: m.pageHeader ?? parsePageHeader('', longSize),
    events: m.events,
    cmdlines: m.cmdlines,
    uname: m.uname,
    kernelRelease: words[2] ?? null,
    clock: m.clock,
    cpus,
    compressedData,
    latency,
  };
}

function newMeta(): Meta {
  return { pageHeader: null, events: new Map(), cmdlines: new Map(), uname: null, clock: 'local' };
}

function readV6(
  src: ByteSource,
  start: number,
  le: boolean,
  longSize: number,
  pageSize: number,
): TraceDatInfo {
  // the metadata runs up to the first CPU's data (page-aligned); read until the flyrecord table
  // (64 KiB first: without kallsyms it is a few KiB, and the first batch waits for it; then
  // from 1 MiB on)
  const m = newMeta();
  let buf = src.read(0, Math.min(src.size, 64 << 10, TRACE_DAT_MAX_BLOCK));
  for (;;) {
    try {
      const c = new Cur(buf, start, le);
      headerInfo(c, m, longSize);
      const nFtrace = c.u32();
      for (let i = 0; i < nFtrace; i++) c.bytes(c.u64());
      eventFormats(c, m);
      c.bytes(c.u32()); // kallsyms
      c.bytes(c.u32()); // printk formats
      cmdlines(utf8.decode(c.bytes(c.u64())), m);
      const ncpus = c.u32();
      let tag = latin1.decode(c.bytes(10));
      if (tag === 'options  \0') {
        for (;;) {
          const id = c.u16();
          if (id === OPT_DONE) break;
          const data = c.bytes(c.u32());
          if (id === OPT_UNAME) m.uname = utf8.decode(data).replace(/\0+$/, '');
          else if (id === OPT_TRACECLOCK) m.clock = selectedClock(latin1.decode(data));
        }
        tag = latin1.decode(c.bytes(10));
      }
      if (tag === 'latency  \0') return finish(6, le, longSize, pageSize, 'none', m, [], false, true);
      if (tag !== 'flyrecord\0') throw new TraceDatError('trace.dat: no flyrecord section');
      const cpus: CpuData[] = [];
      for (let i = 0; i < ncpus; i++) cpus.push({ cpu: i, offset: c.u64(), size: c.u64() });
      return finish(6, le, longSize, pageSize, 'none', m, cpus, false, false);
    } catch (e) {
      if (e instanceof TraceDatError && /truncated/.test(e.message) && buf.length < src.size) {
        if (buf.length >= TRACE_DAT_MAX_BLOCK)
          throw new TraceDatError(
            `${e.message}: the metadata before the CPU data would pass the ${TRACE_DAT_MAX_BLOCK}-byte limit`,
          );
        buf = src.read(0, Math.min(src.size, Math.max(buf.length * 4, 1 << 20), TRACE_DAT_MAX_BLOCK));
        m.events.clear();
        m.cmdlines.clear();
        continue;
      }
      throw e;
    }
  }
}

/** A v7 section's content (decompressed). */
function section(src: ByteSource, at: number, le: boolean, alg: string): Cur {
  const h = src.read(at, 16);
  if (h.length < 16)
    throw new TraceDatError(
      `trace.dat is truncated at offset ${at} (a section header; the file ends at ${src.size})`,
    );
  const c = new Cur(h, 0, le, at);
  c.u16(); // id
  const flags = c.u16();
  c.u32();
  const size = c.u64();
  if (size > TRACE_DAT_MAX_BLOCK)
    throw new TraceDatError(
      `trace.dat: the section at offset ${at} declares ${size} bytes, over the ${TRACE_DAT_MAX_BLOCK}-byte limit`,
    );
  if (at + 16 + size > src.size)
    throw new TraceDatError(
      `trace.dat is truncated: the section at offset ${at} declares ${size} bytes, the file ends at ${src.size}`,
    );
  const body = src.read(at + 16, size);
  if ((flags & 1) === 0) return new Cur(body, 0, le, at + 16);
  const bc = new Cur(body, 0, le, at + 16);
  const csize = bc.u32();
  const usize = bc.u32();
  return new Cur(
    decompressBytes(alg, bc.bytes(csize), usize, at),
    0,
    le,
    0,
    `trace.dat's compressed section at offset ${at}`,
  );
}

function readV7(
  src: ByteSource,
  start: number,
  le: boolean,
  longSize: number,
  pageSize: number,
): TraceDatInfo {
  const head = src.read(0, start + 256);
  const c = new Cur(head, start, le);
  const alg = c.str();
  c.str(); // compression version
  let next = c.u64();
  const m = newMeta();
  let cpus: CpuData[] = [];
  let compressedData = false;
  let latency = false;
  let found = false;
  const seen = new Set<number>();
  while (next !== 0) {
    if (seen.has(next)) throw new TraceDatError('trace.dat: options sections loop');
    seen.add(next);
    const oc = section(src, next, le, alg);
    next = 0;
    while (oc.pos + 6 <= oc.b.length) {
      const id = oc.u16();
      const size = oc.u32();
      const dataAt = oc.origin + oc.pos;
      const data = oc.bytes(size);
      const dc = new Cur(data, 0, le, dataAt, oc.what);
      if (id === OPT_DONE) {
        next = size >= 8 ? dc.u64() : 0;
        break;
      }
      if (id === OPT_UNAME) m.uname = utf8.decode(data).replace(/\0+$/, '');
      else if (id === OPT_TRACECLOCK) m.clock = selectedClock(latin1.decode(data));
      else if (id === OPT_HEADER_INFO) headerInfo(section(src, dc.u64(), le, alg), m, longSize);
      else if (id === OPT_EVENT_FORMATS) eventFormats(section(src, dc.u64(), le, alg), m);
      else if (id === OPT_CMDLINES) {
        const cc = section(src, dc.u64(), le, alg);
        cmdlines(utf8.decode(cc.bytes(cc.u64())), m);
      } else if (id === OPT_BUFFER_TEXT) latency = true;
      else if (id === OPT_BUFFER) {
        const dataAt = dc.u64();
        const name = dc.str();
        const clock = dc.str();
        dc.u32(); // page size
        const n = dc.u32();
        const list: CpuData[] = [];
        for (let i = 0; i < n; i++) list.push({ cpu: dc.u32(), offset: dc.u64(), size: dc.u64() });
        // the top-level buffer (name "") only; instances are other buffers
        if (name === '' && !found) {
          found = true;
          cpus = list;
          if (clock !== '') m.clock = clock;
          const h = src.read(dataAt, 4);
          compressedData =
            h.length === 4 && (new DataView(h.buffer, h.byteOffset).getUint16(2, le) & 1) === 1;
        }
      }
    }
  }
  if (!found && !latency) throw new TraceDatError('trace.dat: no flyrecord buffer');
  return finish(7, le, longSize, pageSize, alg, m, cpus, compressedData, latency);
}

/**
 * The pages of one CPU's data, in order: `next()` returns [bytes, offset of the page] or null.
 * Uncompressed data is read 64 pages at a time; compressed data chunk by chunk.
 */
class CpuPages {
  private buf: Uint8Array = new Uint8Array(0);
  /** The buffer uncompressed pages are read into (ByteSource.readInto), reused. */
  private own: Uint8Array = new Uint8Array(0);
  private at = 0;
  private pos: number;
  private readonly end: number;
  private chunksLeft = -1;
  private readonly first: number;

  /** Bytes of this CPU's data read so far (for progress). */
  get consumed(): number {
    return this.pos - this.first;
  }

  constructor(
    private readonly src: ByteSource,
    cpu: CpuData,
    private readonly info: TraceDatInfo,
  ) {
    this.pos = cpu.offset;
    this.first = cpu.offset;
    this.end = Math.min(src.size, cpu.offset + cpu.size);
    if (info.compressedData && cpu.size > 0) {
      const h = src.read(this.pos, 4);
      if (h.length < 4)
        throw new TraceDatError(`trace.dat is truncated at offset ${this.pos} (CPU ${cpu.cpu}'s data)`);
      this.chunksLeft = new DataView(h.buffer, h.byteOffset).getUint32(0, info.littleEndian);
      this.pos += 4;
      // the recorded size does not count the chunk count
      this.end = Math.min(src.size, this.end + 4);
    }
  }

  /** The next page: the buffer and the page's offset in it, or null at the end. */
  next(): [Uint8Array, number] | null {
    const ps = this.info.pageSize;
    if (this.at + ps <= this.buf.length) {
      const r: [Uint8Array, number] = [this.buf, this.at];
      this.at += ps;
      return r;
    }
    if (!this.fill()) return null;
    return this.next();
  }

  private fill(): boolean {
    const ps = this.info.pageSize;
    if (this.chunksLeft < 0) {
      if (this.pos + ps > this.end) return false;
      // 64 pages at a time, at most 4 MiB unless one page is larger
      const batch = Math.max(1, Math.min(64, Math.floor((4 << 20) / ps))) * ps;
      const n = Math.floor(Math.min(batch, this.end - this.pos) / ps) * ps;
      if (this.src.readInto) {
        // into this CPU's own buffer, reused: its pages before are all read by now (the reader
        // asks for the next ones only then), and nothing keeps a view of them
        if (this.own.length < batch) this.own = new Uint8Array(batch);
        const got = this.src.readInto(this.pos, this.own.subarray(0, n));
        this.buf = got === this.own.length ? this.own : this.own.subarray(0, got);
      } else this.buf = this.src.read(this.pos, n);
      this.pos += n;
      this.at = 0;
      return this.buf.length >= ps;
    }
    if (this.chunksLeft === 0 || this.pos + 8 > this.end) return false;
    const at = this.pos;
    const h = this.src.read(this.pos, 8);
    const dv = new DataView(h.buffer, h.byteOffset, 8);
    const csize = dv.getUint32(0, this.info.littleEndian);
    const usize = dv.getUint32(4, this.info.littleEndian);
    this.pos += 8;
    if (this.pos + csize > this.end)
      throw new TraceDatError(
        `trace.dat is truncated: the compressed CPU data chunk at offset ${at} declares ${csize} bytes, the data ends at ${this.end}`,
      );
    this.buf = decompressBytes(this.info.compression, this.src.read(this.pos, csize), usize, at);
    this.pos += csize;
    this.chunksLeft--;
    this.at = 0;
    return true;
  }
}

/** One record of a trace.dat: its CPU, timestamp, data (`start`/`len` in `buf`) and number (from 1). */
export interface TraceRecord {
  cpu: number;
  ts: number;
  buf: Uint8Array;
  dv: DataView;
  start: number;
  len: number;
  record: number;
}

/**
 * The records of every CPU merged in timestamp order, as `trace-cmd report` merges them (the
 * smallest timestamp first, the lower CPU on ties): each CPU's pages (CpuPages) walked by a
 * PageReader. After `next()` returns true, `cpu`, `ts`, and `start`/`len` of the record's data
 * in `buf` (and `dv` over it) describe one record; `record` counts them from 1. Pages after
 * which the kernel lost events are counted in `lostEventPages`, their counted losses in
 * `lostEvents`.
 */
export class MergedRecords implements TraceRecord {
  cpu = -1;
  ts = 0;
  buf: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(new ArrayBuffer(0));
  start = 0;
  len = 0;
  record = 0;
  lostEvents = 0;
  lostEventPages = 0;
  private readonly cpus: CpuCursor[];
  private current: CpuCursor | null = null;
  /**
   * The CPUs with records left, by their next record's (timestamp, place in `cpus`): the
   * merge's order, `current` first.
   */
  private readonly order: CpuCursor[];

  constructor(
    src: ByteSource,
    private readonly info: TraceDatInfo,
  ) {
    this.cpus = info.cpus
      .filter((c) => c.size > 0)
      .map((c, index) => ({
        cpu: c.cpu,
        index,
        pages: new CpuPages(src, c, info),
        rd: new PageReader(info.pageHeader, info.littleEndian, info.longSize),
        buf: new Uint8Array(0) as Uint8Array,
        dv: new DataView(new ArrayBuffer(0)),
        live: false,
      }));
    for (const c of this.cpus) this.advance(c);
    this.order = this.cpus.filter((c) => c.live).sort((a, b) => a.rd.ts - b.rd.ts || a.index - b.index);
  }

  /** Bytes of CPU data read so far (for progress). */
  consumed(): number {
    let done = 0;
    for (const c of this.cpus) done += c.pages.consumed;
    return done;
  }

  /** Moves to the next record in timestamp order; false when every CPU is done. */
  next(): boolean {
    const order = this.order;
    const cur = this.current;
    if (cur !== null) {
      this.advance(cur);
      // order[0] is cur: it moves past the CPUs now before it (the others have not moved), or
      // leaves the list when its data is done
      if (!cur.live) order.shift();
      else {
        const ts = cur.rd.ts;
        const index = cur.index;
        let i = 0;
        for (; i + 1 < order.length; i++) {
          const o = order[i + 1]!;
          const ots = o.rd.ts;
          if (ots > ts || (ots === ts && o.index > index)) break;
          order[i] = o;
        }
        order[i] = cur;
      }
    }
    const best = order.length > 0 ? order[0]! : null;
    this.current = best;
    if (best === null) return false;
    this.cpu = best.cpu;
    this.ts = best.rd.ts;
    this.buf = best.buf;
    this.dv = best.dv;
    this.start = best.rd.start;
    this.len = best.rd.len;
    this.record++;
    return true;
  }

  private advance(c: CpuCursor): void {
    for (;;) {
      if (c.live && c.rd.next()) return;
      const p = c.pages.next();
      if (p === null) {
        c.live = false;
        return;
      }
      if (p[0] !== c.buf) {
        c.buf = p[0];
        c.dv = new DataView(p[0].buffer, p[0].byteOffset, p[0].byteLength);
      }
      c.live = c.rd.reset(p[0], p[1], this.info.pageSize);
      if (c.live && c.rd.lost !== 0) {
        this.lostEventPages++;
        if (c.rd.lost > 0) this.lostEvents += c.rd.lost;
      }
    }
  }
}

/** One CPU's place in MergedRecords. */
interface CpuCursor {
  readonly cpu: number;
  /** Its place in MergedRecords' list. */
  readonly index: number;
  readonly pages: CpuPages;
  readonly rd: PageReader;
  buf: Uint8Array;
  dv: DataView;
  live: boolean;
}

/**
 * A trace.dat that arrives as a stream (gzip, stdin): random access needs the whole file, so its
 * bytes are spooled to a temporary file (not memory: a 1 GB trace never needs 1 GB), which
 * close() removes.
 */
export async function spooledByteSource(chunks: AsyncIterable<Uint8Array>): Promise<ByteSource> {
  const dir = mkdtempSync(join(tmpdir(), 'cma-debug-dat-'));
  const path = join(dir, 'trace.dat');
  try {
    const fd = openSync(path, 'w');
    try {
      for await (const c of chunks) {
        let at = 0;
        while (at < c.length) at += writeSync(fd, c, at, c.length - at);
      }
    } finally {
      closeSync(fd);
    }
    const bs = fileByteSource(path);
    return {
      size: bs.size,
      read: bs.read,
      ...(bs.readInto ? { readInto: bs.readInto } : {}),
      close: () => {
        bs.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** spooledByteSource of a gzip'd trace.dat file. */
export function gunzippedByteSource(path: string): Promise<ByteSource> {
  return spooledByteSource(createReadStream(path).pipe(zlib().createGunzip()));
}
