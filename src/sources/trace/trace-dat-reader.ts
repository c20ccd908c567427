// Reads the cma events of a trace.dat (trace-dat.ts) in timestamp order: the CPUs' pages are
// walked (ring-buffer.ts) and merged as `trace-cmd report` merges them (smallest timestamp
// first, the lower CPU on ties), and each cma record is decoded by the offsets and sizes of the
// file's own format files.

import type { FormatField } from './event-format.ts';
import type { TraceEventKind } from './events.ts';
import { clearRareFields, EV_ALLOC, EV_INFO, KIND_BY_NAME, TraceEventFields } from './events.ts';
import type { MmEvent } from './mm-events.ts';
import { recordType, TraceDatMmDecoder, typeFieldOf } from './mm-events-read.ts';
import type { RowSink } from './parallel-format.ts';
import { emptyParseStats, type ParseStats } from './parse.ts';
import { u64 } from './ring-buffer.ts';
import {
  type ByteSource,
  MergedRecords,
  readTraceDatInfo,
  type TraceDatInfo,
  type TraceRecord,
} from './trace-dat.ts';
import { type BulkRowSink, scanTraceDat, type WasmPlan, wasmScannable } from './trace-dat-wasm.ts';

const TWO32 = 2 ** 32;
const TWO53 = 2 ** 53;
const utf8 = new TextDecoder('utf-8');
const enc = new TextEncoder();

/** How to decode one cma event's record. */
interface Decoder {
  kind: TraceEventKind;
  name: FormatField | null;
  pfn: FormatField | null;
  page: FormatField | null;
  count: FormatField | null;
  align: FormatField | null;
  errorno: FormatField | null;
  available: FormatField | null;
  total: FormatField | null;
  nrMigrated: FormatField | null;
  errIso: FormatField | null;
  errMig: FormatField | null;
  errTest: FormatField | null;
  pid: FormatField | null;
  /** The end of the last fixed field: a record shorter than this is malformed. */
  fixedEnd: number;
  /** Its records set no rare field (but a count ≥ 2^53). */
  plain: boolean;
  /** How PlainRows reads it (plain events whose fields have the usual sizes), or null. */
  fast: FastPlan | null;
}

/**
 * Where a plain event's fields are (offsets in the record; -1: the format has none) and whether
 * the unsigned ones are 8 bytes (else 4): PlainRows reads them without FieldReader's dispatch.
 */
export interface FastPlan {
  pidAt: number;
  countAt: number;
  count8: boolean;
  alignAt: number;
  align8: boolean;
  pfnAt: number;
  pfn8: boolean;
  pageAt: number;
  page8: boolean;
}

/** The plan of a plain decoder, or null when a field has an unusual size (FieldReader then). */
function fastPlan(d: Decoder): FastPlan | null {
  if (!d.plain) return null;
  const at = (f: FormatField | null): number => (f === null ? -1 : f.offset);
  const usual = (f: FormatField | null): boolean => f === null || f.size === 4 || f.size === 8;
  if (!usual(d.count) || !usual(d.align) || !usual(d.pfn) || !usual(d.page)) return null;
  if (d.pid !== null && (d.pid.size !== 4 || !d.pid.signed)) return null;
  return {
    pidAt: at(d.pid),
    countAt: at(d.count),
    count8: d.count?.size === 8,
    alignAt: at(d.align),
    align8: d.align?.size === 8,
    pfnAt: at(d.pfn),
    pfn8: d.pfn?.size === 8,
    pageAt: at(d.page),
    page8: d.page?.size === 8,
  };
}

/**
 * readTraceDat's batch-row path (TraceDatReadOptions.rows): a plain event's fields read by its
 * FastPlan and written with RowSink.put, no event object in between. The area name is the
 * previous record's when its bytes are the same (compared four at a time, not decoded).
 */
class PlainRows {
  private lastRaw: Uint8Array = new Uint8Array(0);
  /** lastRaw's whole 32-bit words (little-endian). */
  private lastRawWords = new Int32Array(0);
  private lastName = '';
  /** Names by their bytes (latin1), decoded once. */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly rows: RowSink,
    private readonly le: boolean,
    private readonly counterClock: boolean,
    private readonly cmdlines: ReadonlyMap<number, string>,
    /** Supplies the task name's batch cell (its per-pid cache). */
    private readonly ev: BinaryEvent,
  ) {}

  /** Writes the record r is on (of decoder d, long enough); false when it needs the general path. */
  put(d: Decoder, p: FastPlan, r: TraceRecord): boolean {
    const dv = r.dv;
    const base = r.start;
    const le = this.le;
    let count = 0;
    if (p.countAt >= 0) count = p.count8 ? u64(dv, base + p.countAt, le) : dv.getUint32(base + p.countAt, le);
    if (count >= TWO53) return false;
    const pid = p.pidAt >= 0 ? dv.getInt32(base + p.pidAt, le) : 0;
    const ev = this.ev;
    ev.setPidComm(pid, this.cmdlines, 0);
    if (ev.commLen > 16) return false;
    let pfn = Number.NaN;
    if (p.pfnAt >= 0) {
      const at = base + p.pfnAt;
      if (p.pfn8) {
        const lo = dv.getUint32(le ? at : at + 4, le);
        const hi = dv.getUint32(le ? at + 4 : at, le);
        pfn = lo === 0xffffffff && hi === 0xffffffff ? -1 : hi * TWO32 + lo;
      } else {
        const v = dv.getUint32(at, le);
        pfn = v === 0xffffffff ? -1 : v;
      }
    }
    let align = -1;
    if (p.alignAt >= 0) align = p.align8 ? u64(dv, base + p.alignAt, le) : dv.getUint32(base + p.alignAt, le);
    let hasPage: boolean;
    if (p.pageAt >= 0) {
      const at = base + p.pageAt;
      hasPage = dv.getUint32(at, le) !== 0 || (p.page8 && dv.getUint32(at + 4, le) !== 0);
    } else hasPage = d.kind === EV_ALLOC ? pfn >= 0 : false;
    this.rows.put(
      d.kind,
      r.record,
      pid,
      r.cpu,
      // µs, rounded as `trace-cmd report` prints them
      this.counterClock ? r.ts : Math.round(r.ts / 1000),
      d.name === null ? '' : this.name(d.name, r),
      count,
      align,
      pfn,
      hasPage,
      ev.commWords,
      ev.commLen,
    );
    return true;
  }

  /** An area name from its raw bytes: cut at the first NUL (as FieldReader.strRange cuts it). */
  nameOf(raw: Uint8Array): string {
    const n = raw.length;
    let e = 0;
    while (e < n && raw[e] !== 0) e++;
    // 6.1 names unnamed areas "cma%d\n": the text parser rejoins the lines; drop the newline
    while (e > 0 && (raw[e - 1] === 10 || raw[e - 1] === 32)) e--;
    const key = latin1Key(raw, 0, e);
    let nm = this.names.get(key);
    if (nm === undefined) {
      nm = utf8.decode(raw.subarray(0, e));
      this.names.set(key, nm);
    }
    return nm;
  }

  /** The string field f of the record r is on (as FieldReader.strRange cuts it). */
  private name(f: FormatField, r: TraceRecord): string {
    const dv = r.dv;
    let s: number;
    let n: number;
    if (f.dataLoc || f.relLoc) {
      const v = dv.getUint32(r.start + f.offset, this.le);
      s = (v & 0xffff) + (f.relLoc ? f.offset + f.size : 0);
      n = v >>> 16;
    } else {
      s = f.offset;
      n = f.size;
    }
    if (s + n > r.len) return '';
    s += r.start;
    // the raw bytes (NULs and all) against the previous record's
    const last = this.lastRaw;
    if (n === last.length) {
      const w = this.lastRawWords;
      let q = 0;
      let same = true;
      for (; same && q + 4 <= n; q += 4) same = dv.getInt32(s + q, true) === w[q >> 2];
      for (; same && q < n; q++) same = r.buf[s + q] === last[q];
      if (same) return this.lastName;
    }
    const raw = r.buf.slice(s, s + n);
    const words = new Int32Array(n >> 2);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let q = 0; q + 4 <= n; q += 4) words[q >> 2] = v.getInt32(q, true);
    const nm = this.nameOf(raw);
    this.lastRaw = raw;
    this.lastRawWords = words;
    this.lastName = nm;
    return nm;
  }
}

/** A task's name as BinaryEvent keeps it: text, UTF-8 and its batch cell's words. */
interface PidComm {
  pid: number;
  text: string;
  bytes: Uint8Array;
  words: Int32Array;
}

/** Entries of BinaryEvent's direct-mapped pid cache (a power of 2). */
const RECENT = 4096;

/** The event handed to onEvent (one object, refilled for every record). */
export class BinaryEvent extends TraceEventFields {
  /** No rare field set and a short comm (BatchEncoder then skips its checks). */
  fastEvent = false;
  commText = '<...>';
  private commBytes: Uint8Array = enc.encode('<...>');
  /** The comm's length in UTF-8 bytes. */
  commLen = 5;
  /** The 16-byte batch cell of the comm (right-aligned, zero-padded) as four little-endian words. */
  commWords: Int32Array = commCell(this.commBytes);
  /** Task names by pid (text, UTF-8 and cell words), valid while `commsVersion` is. */
  private readonly byPid = new Map<number, PidComm>();
  /** The last byPid entries looked up, by pid modulo their number (a hit costs no hashing). */
  private readonly recent: (PidComm | null)[] = new Array<PidComm | null>(RECENT).fill(null);
  private commsVersion = -1;
  private commPid = Number.NaN;
  comm(): string {
    return this.commText;
  }
  /**
   * Sets the comm of `pid` from `comms` (the file's task names: '<idle>' for 0, '<...>' when
   * unknown). `version` changes whenever `comms` does; until then a pid's name is looked up once.
   */
  setPidComm(pid: number, comms: ReadonlyMap<number, string>, version: number): void {
    if (version !== this.commsVersion || this.byPid.size >= 65536) {
      this.byPid.clear();
      this.recent.fill(null);
      this.commsVersion = version;
    } else if (pid === this.commPid) return;
    this.commPid = pid;
    const slot = pid & (RECENT - 1);
    let e = this.recent[slot] ?? null;
    if (e === null || e.pid !== pid) {
      let known = this.byPid.get(pid);
      if (known === undefined) {
        const text = pid === 0 ? '<idle>' : (comms.get(pid) ?? '<...>');
        const bytes = enc.encode(text);
        known = { pid, text, bytes, words: commCell(bytes) };
        this.byPid.set(pid, known);
      }
      e = known;
      this.recent[slot] = e;
    }
    this.commText = e.text;
    this.commBytes = e.bytes;
    this.commLen = e.bytes.length;
    this.commWords = e.words;
  }
  /** Sets fastEvent: true when no rare field is set (`plain`) and the comm fits 16 bytes. */
  setFast(plain: boolean): void {
    this.fastEvent = plain && this.commBytes.length <= 16;
  }
  /** As TraceLineParser.copyComm: the name right-aligned in out[at, at + 16), or -1. */
  copyComm(_out: Uint8Array, view: DataView, at: number): number {
    const n = this.commBytes.length;
    if (n > 16) return -1;
    // four words, like the text parser's fast path (the bytes before the name are not read)
    const w = this.commWords;
    view.setInt32(at, w[0]!, true);
    view.setInt32(at + 4, w[1]!, true);
    view.setInt32(at + 8, w[2]!, true);
    view.setInt32(at + 12, w[3]!, true);
    return n;
  }
}

/** `bytes` right-aligned in 16 zero bytes, as four little-endian 32-bit words (none: longer). */
export function commCell(bytes: Uint8Array): Int32Array {
  const w = new Int32Array(4);
  if (bytes.length > 16) return w;
  const cell = new Uint8Array(16);
  cell.set(bytes, 16 - bytes.length);
  const v = new DataView(cell.buffer);
  for (let k = 0; k < 4; k++) w[k] = v.getInt32(4 * k, true);
  return w;
}

/** Reads fields of records by their format. */
class FieldReader {
  dv: DataView = new DataView(new ArrayBuffer(0));
  buf: Uint8Array = new Uint8Array(0);
  base = 0;
  len = 0;
  constructor(private readonly le: boolean) {}

  set(buf: Uint8Array, dv: DataView, start: number, len: number): void {
    this.buf = buf;
    this.dv = dv;
    this.base = start;
    this.len = len;
  }
  ok(f: FormatField): boolean {
    return f.offset + f.size <= this.len;
  }
  /** Unsigned value (numbers ≥ 2^53 are approximate). */
  uns(f: FormatField): number {
    const at = this.base + f.offset;
    switch (f.size) {
      case 1:
        return this.dv.getUint8(at);
      case 2:
        return this.dv.getUint16(at, this.le);
      case 4:
        return this.dv.getUint32(at, this.le);
      case 8: {
        const lo = this.dv.getUint32(this.le ? at : at + 4, this.le);
        const hi = this.dv.getUint32(this.le ? at + 4 : at, this.le);
        return hi * TWO32 + lo;
      }
      default:
        return 0;
    }
  }
  /** Signed value by the field's signedness. */
  int(f: FormatField): number {
    const at = this.base + f.offset;
    if (!f.signed) return this.uns(f);
    switch (f.size) {
      case 1:
        return this.dv.getInt8(at);
      case 2:
        return this.dv.getInt16(at, this.le);
      case 4:
        return this.dv.getInt32(at, this.le);
      case 8: {
        const lo = this.dv.getUint32(this.le ? at : at + 4, this.le);
        const hi = this.dv.getInt32(this.le ? at + 4 : at, this.le);
        return hi * TWO32 + lo;
      }
      default:
        return 0;
    }
  }
  /** An unsigned field read as a pfn: -1 when all its bits are set (the kernel's -1 in an unsigned long). */
  pfnOf(f: FormatField): number {
    const at = this.base + f.offset;
    if (f.size === 8) {
      const dv = this.dv;
      const lo = dv.getUint32(this.le ? at : at + 4, this.le);
      const hi = dv.getUint32(this.le ? at + 4 : at, this.le);
      return lo === 0xffffffff && hi === 0xffffffff ? -1 : hi * TWO32 + lo;
    }
    return this.allOnes(f) ? -1 : this.uns(f);
  }
  /** All bits set (the kernel's -1 in an unsigned long). */
  allOnes(f: FormatField): boolean {
    for (let k = 0; k < f.size; k++) if (this.buf[this.base + f.offset + k] !== 0xff) return false;
    return true;
  }
  zero(f: FormatField): boolean {
    for (let k = 0; k < f.size; k++) if (this.buf[this.base + f.offset + k] !== 0) return false;
    return true;
  }
  big(f: FormatField): bigint {
    let v = 0n;
    for (let k = 0; k < f.size; k++) {
      const b = this.buf[this.base + f.offset + (this.le ? f.size - 1 - k : k)]!;
      v = (v << 8n) | BigInt(b);
    }
    return v;
  }
  /** The last strRange(): [strStart, strEnd) in buf. */
  strStart = 0;
  strEnd = 0;
  /**
   * A string field (__data_loc, __rel_loc or char[N]): false when it lies outside the record,
   * else true with [strStart, strEnd) in buf, cut at the first NUL.
   */
  strRange(f: FormatField): boolean {
    let s: number;
    let n: number;
    if (f.dataLoc || f.relLoc) {
      const v = this.dv.getUint32(this.base + f.offset, this.le);
      s = (v & 0xffff) + (f.relLoc ? f.offset + f.size : 0);
      n = v >>> 16;
    } else {
      s = f.offset;
      n = f.size;
    }
    if (s + n > this.len) return false;
    const buf = this.buf;
    const b = this.base + s;
    const end = b + n;
    // the first NUL (names are short: a loop, not Buffer.indexOf's call)
    let e = b;
    while (e < end && buf[e] !== 0) e++;
    // 6.1 names unnamed areas "cma%d\n": the text parser rejoins the lines; drop the newline
    while (e > b && (buf[e - 1] === 10 || buf[e - 1] === 32)) e--;
    this.strStart = b;
    this.strEnd = e;
    return true;
  }
}

/** What readTraceDat reports besides the cma events. */
export interface TraceDatReadOptions {
  onProgress?: (bytes: number) => void;
  onInfo?: (info: TraceDatInfo) => void;
  /**
   * Other events to decode in the same pass (as mm-events-read.ts spells them): those of
   * `names`, handed to `onEvent` in timestamp order with the cma events around them.
   */
  mm?: { names: ReadonlySet<string>; onEvent: (e: MmEvent) => void };
  /**
   * Where events without rare fields and with a comm of at most 16 bytes go instead of onEvent
   * (binary-worker.ts: its BatchEncoder), in the same order with the others.
   */
  rows?: RowSink;
  /**
   * Whether a bulk `rows` (BatchEncoder) may take the WebAssembly fast path (trace-dat-wasm.ts)
   * where the file allows it (default true; the tests compare both paths).
   */
  wasm?: boolean;
}

/** Reads every cma event of a trace.dat in timestamp order; returns the parse statistics. */
export function readTraceDat(
  src: ByteSource,
  onEvent: (ev: BinaryEvent) => void,
  opts: TraceDatReadOptions = {},
): ParseStats {
  const info = readTraceDatInfo(src);
  opts.onInfo?.(info);
  const stats: ParseStats = {
    ...emptyParseStats(),
    bytes: src.size,
    format: `trace.dat v${info.version}${info.compression !== 'none' ? ` (${info.compression})` : ''}`,
    kernelRelease: info.kernelRelease,
    lostEvents: 0,
    lostEventPages: 0,
  };
  if (info.latency)
    throw new Error('trace.dat holds a latency trace (text), not per-CPU data: nothing to replay');
  const le = info.littleEndian;
  // by event id: how to decode a cma record (undefined: not a cma event)
  const decoders: (Decoder | undefined)[] = [];
  for (const f of info.events.values()) {
    const kind = KIND_BY_NAME.get(f.name);
    if (kind === undefined || (f.system !== 'cma' && f.system !== '')) continue;
    const by = (n: string): FormatField | null => f.fields.find((x) => x.name === n) ?? null;
    const d: Decoder = {
      kind,
      name: by('name'),
      pfn: by('pfn'),
      page: by('page'),
      count: by('count') ?? by('request_count'),
      align: by('align'),
      errorno: by('errorno'),
      available: by('available_count'),
      total: by('total_count'),
      nrMigrated: by('nr_migrated'),
      errIso: by('err_iso'),
      errMig: by('err_mig'),
      errTest: by('err_test'),
      pid: by('common_pid'),
      fixedEnd: 0,
      plain: false,
      fast: null,
    };
    d.plain = kind !== EV_INFO && d.errorno === null && d.available === null && d.total === null;
    for (const x of [d.pid, d.pfn, d.page, d.count, d.align, d.errorno, d.available, d.total])
      if (x !== null) d.fixedEnd = Math.max(d.fixedEnd, x.offset + x.size);
    d.fast = fastPlan(d);
    if (f.id >= 0 && f.id < 1 << 16) decoders[f.id] = d;
  }
  const typeField = typeFieldOf(info);
  const counterClock = info.clock === 'counter';
  let mm = opts.mm !== undefined ? new TraceDatMmDecoder(info, opts.mm.names) : null;
  // a file without the wanted events' formats has none of them
  if (mm?.empty) mm = null;
  const onMm = opts.mm?.onEvent;

  const ev = new BinaryEvent();
  const fr = new FieldReader(le);
  const names = new Map<string, string>();
  let lastNameBytes: Uint8Array = new Uint8Array(0);
  /** lastNameBytes' whole 32-bit words (little-endian). */
  let lastNameWords = new Int32Array(0);
  let lastName = '';
  /** The area name of the record in fr (the previous one's, mostly: compared, not decoded). */
  const areaName = (f: FormatField | null): string => {
    if (f === null || !fr.strRange(f)) return '';
    const buf = fr.buf;
    const s = fr.strStart;
    const n = fr.strEnd - s;
    const nb = lastNameBytes;
    let same = n === nb.length;
    if (same) {
      // four bytes at a time, then the last few
      const dv = fr.dv;
      const w = lastNameWords;
      let q = 0;
      for (; same && q + 4 <= n; q += 4) same = dv.getInt32(s + q, true) === w[q >> 2];
      for (; same && q < n; q++) same = buf[s + q] === nb[q];
    }
    if (!same) {
      lastNameBytes = buf.slice(s, s + n);
      lastNameWords = new Int32Array(n >> 2);
      const v = new DataView(lastNameBytes.buffer, lastNameBytes.byteOffset, lastNameBytes.byteLength);
      for (let q = 0; q + 4 <= n; q += 4) lastNameWords[q >> 2] = v.getInt32(q, true);
      const key = latin1Key(buf, s, s + n);
      let nm = names.get(key);
      if (nm === undefined) {
        nm = utf8.decode(lastNameBytes);
        names.set(key, nm);
      }
      lastName = nm;
    }
    return lastName;
  };
  const cmdlines = info.cmdlines;
  const plainRows = opts.rows ? new PlainRows(opts.rows, le, counterClock, cmdlines, ev) : null;
  /** Decodes the record r is on (the records come in timestamp order). */
  const handle = (r: TraceRecord, consumed: () => number): void => {
    const id = recordType(r, typeField, le);
    if (mm?.wants(id)) {
      const e = mm.decode(id, r);
      if (e !== null) onMm!(e);
    }
    const d = decoders[id];
    if (d === undefined) {
      stats.otherLines++;
      if ((r.record & 0xffff) === 0) opts.onProgress?.(Math.min(src.size, consumed()));
      return;
    }
    if (plainRows !== null && d.fast !== null && r.len >= d.fixedEnd && plainRows.put(d, d.fast, r)) {
      stats.events++;
      if ((r.record & 0xffff) === 0) opts.onProgress?.(Math.min(src.size, consumed()));
      return;
    }
    fr.set(r.buf, r.dv, r.start, r.len);
    if (!decodeInto(ev, d, fr)) {
      stats.malformed++;
      if (stats.malformedLines.length < 100)
        stats.malformedLines.push({
          line: r.record,
          reason: 'record shorter than its format',
          text: `cpu ${r.cpu} ${info.events.get(id)?.name ?? id}`,
        });
    } else {
      ev.line = r.record;
      ev.cpu = r.cpu;
      // µs, rounded as `trace-cmd report` prints them
      ev.ts = counterClock ? r.ts : Math.round(r.ts / 1000);
      const pid = ev.pid;
      ev.setPidComm(pid, cmdlines, 0);
      ev.setFast(d.plain && ev.countBig === null);
      ev.name = areaName(d.name);
      stats.events++;
      onEvent(ev);
    }
    if ((r.record & 0xffff) === 0) opts.onProgress?.(Math.min(src.size, consumed()));
  };
  const bulk = opts.rows !== undefined && opts.wasm !== false ? bulkOf(opts.rows) : null;
  if (bulk !== null && plainRows !== null && wasmScannable(info, typeField)) {
    const done = scanTraceDat(src, info, {
      actions: wasmActions(info, decoders, mm),
      typeField,
      rows: bulk,
      comm: (pid) => {
        ev.setPidComm(pid, cmdlines, 0);
        return { len: ev.commLen, words: ev.commWords };
      },
      name: (raw) => plainRows.nameOf(raw),
      onRecord: handle,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    if (done !== null) {
      // the rows it wrote are events too
      stats.events += done.rows;
      stats.otherLines += done.others;
      stats.lines = done.records;
      stats.lostEvents = done.lostEvents;
      stats.lostEventPages = done.lostEventPages;
      opts.onProgress?.(src.size);
      return stats;
    }
  }
  const r = new MergedRecords(src, info);
  const consumed = (): number => r.consumed();
  while (r.next()) handle(r, consumed);
  stats.lines = r.record;
  stats.lostEvents = r.lostEvents;
  stats.lostEventPages = r.lostEventPages;
  opts.onProgress?.(src.size);
  return stats;
}

function latin1Key(buf: Uint8Array, s: number, e: number): string {
  let k = '';
  for (let i = s; i < e; i++) k += String.fromCharCode(buf[i]!);
  return k;
}

function decodeInto(ev: BinaryEvent, d: Decoder, fr: FieldReader): boolean {
  if (fr.len < d.fixedEnd) return false;
  ev.kind = d.kind;
  ev.pid = d.pid !== null ? fr.int(d.pid) : 0;
  clearRareFields(ev);
  if (d.pfn !== null) ev.pfn = fr.pfnOf(d.pfn);
  else ev.pfn = Number.NaN;
  if (d.count !== null) {
    const v = fr.uns(d.count);
    ev.count = v;
    if (v >= TWO53) {
      const big = fr.big(d.count);
      ev.countBig = big;
      ev.count = Number(big);
    }
  } else ev.count = 0;
  ev.align = d.align !== null ? fr.uns(d.align) : -1;
  if (d.page !== null) ev.hasPage = !fr.zero(d.page);
  else ev.hasPage = d.kind === EV_ALLOC ? ev.pfn >= 0 : false;
  if (d.errorno !== null) ev.errorno = fr.int(d.errorno);
  if (d.available !== null) ev.availableCount = fr.uns(d.available);
  if (d.total !== null) ev.totalCount = fr.uns(d.total);
  if (d.kind === EV_INFO) {
    if (d.nrMigrated !== null && fr.ok(d.nrMigrated)) ev.nrMigrated = fr.uns(d.nrMigrated);
    if (d.errIso !== null && fr.ok(d.errIso)) ev.errIso = fr.uns(d.errIso);
    if (d.errMig !== null && fr.ok(d.errMig)) ev.errMig = fr.uns(d.errMig);
    if (d.errTest !== null && fr.ok(d.errTest)) ev.errTest = fr.uns(d.errTest);
  }
  return true;
}

/** A RowSink that also takes rows in bulk (BatchEncoder), or null. */
function bulkOf(rows: RowSink): BulkRowSink | null {
  const b = rows as RowSink & Partial<BulkRowSink>;
  return typeof b.append === 'function' && typeof b.nextNameId === 'function' && typeof b.room === 'number'
    ? (b as RowSink & BulkRowSink)
    : null;
}

/**
 * What the fast path does with each event id's records: write the plain cma events with a fast
 * plan as rows, hand back the other cma events and the wanted mm events, skip the rest.
 */
function wasmActions(
  info: TraceDatInfo,
  decoders: readonly (Decoder | undefined)[],
  mm: TraceDatMmDecoder | null,
): (WasmPlan | 'js' | undefined)[] {
  const out: (WasmPlan | 'js' | undefined)[] = [];
  for (const id of info.events.keys()) {
    if (id < 0 || id >= 1 << 16) continue;
    const d = decoders[id];
    if (mm?.wants(id) || (d !== undefined && d.fast === null)) out[id] = 'js';
    else if (d !== undefined && d.fast !== null)
      out[id] = { kind: d.kind, ...d.fast, fixedEnd: d.fixedEnd, name: d.name };
  }
  return out;
}
