// Perfetto traces (Android's .perfetto-trace / .pftrace): a hand-written decoder for the part of
// Perfetto's published protobuf schema that carries cma events. Trace = repeated TracePacket
// (field 1); TracePacket.ftrace_events (1) = FtraceEventBundle {cpu 1, event 2, lost_events 3};
// FtraceEvent {timestamp 1, pid 2, cma_alloc_start 465, cma_alloc_info 466, generic 327};
// events without a typed message (cma_alloc_finish, cma_release, cma_alloc_busy_retry, 7.x
// starts) arrive as GenericFtraceEvent {event_name 1, field 2 {name 1, str_value 3,
// int_value 4, uint_value 5}}. TracePacket.system_info (45).utsname (1).release (3) gives the
// kernel; process_tree (2) the task names; compressed_packets (50) holds more packets, deflated.
// The file is read as a stream (a packet at a time); bundles of different CPUs are merged in
// timestamp order through a bounded reorder window.

import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { zlib } from '../lazy-zlib.ts';
import type { TraceEvent, TraceEventKind } from './events.ts';
import {
  clearRareFields,
  EV_ALLOC,
  EV_INFO,
  EV_START,
  EVENT_NAMES,
  KIND_BY_NAME,
  type RareFields,
  TraceEventFields,
} from './events.ts';
import { MM_EVENT_NAMES, type MmEvent } from './mm-events.ts';
import { perfettoMmEvent } from './mm-events-read.ts';
import type { BulkRowSink, RowSink } from './parallel-format.ts';
import { emptyParseStats, type ParseOptions, type ParseStats } from './parse.ts';
import { emptyScanRow, PerfettoScan, type ScanRow } from './perfetto-wasm.ts';
import { BinaryEvent } from './trace-dat-reader.ts';

const utf8 = new TextDecoder('utf-8');
const TWO32 = 2 ** 32;

const enc = new TextEncoder();
/** Bytes Decoder.is compares with, also as little-endian 32-bit words (the last one zero-padded). */
interface Lit {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  /** The last four bytes as a word (when there are four). */
  readonly tail: number;
}
function lit(bytes: Uint8Array): Lit {
  const padded = new Uint8Array((bytes.length + 3) & ~3);
  padded.set(bytes);
  const n = bytes.length;
  const tail = n >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, n).getInt32(n - 4, true) : 0;
  return { bytes, words: new Int32Array(padded.buffer), tail };
}
const GENERIC_NAMES: [Lit, TraceEventKind][] = [...KIND_BY_NAME].map(([n, k]) => [lit(enc.encode(n)), k]);
/** The generic fields read, by code (their index). */
const FIELD_NAMES = [
  'name',
  'pfn',
  'start',
  'page',
  'count',
  'request_count',
  'align',
  'errorno',
  'available_count',
  'total_count',
  'nr_migrated',
  'err_iso',
  'err_mig',
  'err_test',
];
const F_NAME = 0;
const F_PFN = 1;
const F_START = 2;
const F_PAGE = 3;
const F_COUNT = 4;
const F_REQUEST_COUNT = 5;
const F_ALIGN = 6;
const F_ERRORNO = 7;
const F_AVAILABLE = 8;
const F_TOTAL = 9;
const F_NR_MIGRATED = 10;
const F_ERR_ISO = 11;
const F_ERR_MIG = 12;
const F_ERR_TEST = 13;
const FIELD_BYTES = FIELD_NAMES.map((n) => lit(enc.encode(n)));
/** Field codes by name length (a name is compared with these only). */
const FIELDS_BY_LEN: number[][] = [];
FIELD_NAMES.forEach((n, code) => {
  const l = FIELDS_BY_LEN[n.length] ?? [];
  l.push(code);
  FIELDS_BY_LEN[n.length] = l;
});

/** The event being decoded (one object, refilled; `seq`: its place in the file). */
class Pending extends TraceEventFields {
  seq = 0;
  comm(): string {
    return '';
  }
}

/**
 * A held event is a row of R numbers in its CPU's queue (no object per event: the window holds
 * 16384 of them, and reading them back from a typed array costs a fraction of objects'):
 * ts, seq, pid, kind, count, align, pfn, hasPage, name id, rare (1: its rare fields are in
 * Decoder.rare under its seq).
 */
const R = 10;
const R_TS = 0;
const R_SEQ = 1;
const R_PID = 2;
const R_KIND = 3;
const R_COUNT = 4;
const R_ALIGN = 5;
const R_PFN = 6;
const R_PAGE = 7;
const R_NAME = 8;
const R_RARE = 9;

/** Writes the fast path's row `r` as a window row at f[o, o + R). */
function putScanRow(f: Float64Array, o: number, r: ScanRow): void {
  f[o + R_TS] = r.ts;
  f[o + R_SEQ] = r.seq;
  f[o + R_PID] = r.pid;
  f[o + R_KIND] = r.kind;
  f[o + R_COUNT] = r.count;
  f[o + R_ALIGN] = r.align;
  f[o + R_PFN] = r.pfn;
  f[o + R_PAGE] = r.hasPage ? 1 : 0;
  f[o + R_NAME] = r.nameId;
  f[o + R_RARE] = r.rare ? 1 : 0;
}

/**
 * The µs an event's ns print as (ns2usecs: rounded, halves up). The window holds and merges
 * events by their ns: events of different CPUs in the same µs are in the kernel's order, not the
 * file's (each CPU's bundle is written on its own, so the later event can come first).
 */
function usOf(ns: number): number {
  return Math.round(ns / 1000);
}

/** Other events decoded in the same pass (mm-events-read.ts spells them as the text does). */
export interface PerfettoMmOptions {
  names: ReadonlySet<string>;
  /** Called in file order (bundles of several CPUs are not merged). */
  onEvent: (e: MmEvent) => void;
}

/** One CPU's events in (ts, seq) order: a ring of `size` rows from `head` (capacity a power of 2). */
class CpuQueue {
  constructor(readonly cpu: number) {}
  f = new Float64Array(1024 * R);
  mask = 1023;
  head = 0;
  size = 0;

  /**
   * Makes room for a row of time `ts` after the rows of its time or earlier (at the end, but for
   * a CPU's late event) and returns its offset in `f`, where the caller writes the row.
   */
  slot(ts: number): number {
    if (this.size === this.mask + 1) this.grow();
    const { f, mask } = this;
    let at = (this.head + this.size) & mask;
    this.size++;
    while (at !== this.head) {
      const before = (at - 1) & mask;
      if (f[before * R]! <= ts) break;
      f.copyWithin(at * R, before * R, before * R + R);
      at = before;
    }
    return at * R;
  }
  private grow(): void {
    const n = this.mask + 1;
    const bigger = new Float64Array(n * 2 * R);
    // the ring is full: its rows from head to the end, then from 0 to head
    bigger.set(this.f.subarray(this.head * R), 0);
    bigger.set(this.f.subarray(0, this.head * R), (n - this.head) * R);
    this.f = bigger;
    this.mask = n * 2 - 1;
    this.head = 0;
  }
}

/** One field of a Shape: its bytes from the name's tag to the value's tag, and what it is. */
interface ShapeField {
  prefix: Lit;
  code: number;
  /** uint_value (else int_value; the area name: a string). */
  unsigned: boolean;
}

/**
 * How the generic events of one kind are laid out, as Perfetto writes them (the event name
 * field, then one `field` message per value): the bytes that do not change from one event to
 * the next, compared as words, instead of every tag and field name decoded.
 */
interface Shape {
  /** The event name field, tag to last byte. */
  head: Lit;
  kind: TraceEventKind;
  fields: ShapeField[];
}

const TWO53 = 2 ** 53;

/**
 * A numeric generic field below 2^53 (neither the name, the pfn nor the page) into ev, as the
 * general decode sets it; false for a code it leaves to that decode.
 */
function setNumber(ev: Pending, code: number, num: number): boolean {
  switch (code) {
    case F_COUNT:
    case F_REQUEST_COUNT:
      ev.count = num;
      ev.countBig = null;
      return true;
    case F_ALIGN:
      ev.align = num;
      return true;
    case F_ERRORNO:
      ev.errorno = num;
      return true;
    case F_AVAILABLE:
      ev.availableCount = num;
      return true;
    case F_TOTAL:
      ev.totalCount = num;
      return true;
    case F_NR_MIGRATED:
      ev.nrMigrated = num;
      return true;
    case F_ERR_ISO:
      ev.errIso = num;
      return true;
    case F_ERR_MIG:
      ev.errMig = num;
      return true;
    case F_ERR_TEST:
      ev.errTest = num;
      return true;
    default:
      return false;
  }
}

/**
 * The bytes as a plain Uint8Array (a Buffer's view): the decoder then sees one kind of array
 * (a Buffer here and a Uint8Array there make its every byte access polymorphic).
 */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Whether a's first event comes before b's (by time, then place in the file). */
function first(a: CpuQueue, b: CpuQueue): boolean {
  const oa = a.head * R;
  const ob = b.head * R;
  const ta = a.f[oa]!;
  const tb = b.f[ob]!;
  return ta < tb || (ta === tb && a.f[oa + R_SEQ]! < b.f[ob + R_SEQ]!);
}

/**
 * Largest packet (and decompressed packet group) accepted: Perfetto writes packets of
 * kilobytes (ftrace bundles of a page or so); a larger declared length is a damaged or hostile
 * file, refused with its offset before that much is buffered.
 */
export const PERFETTO_MAX_PACKET = 64 * 1024 * 1024;

/**
 * Cma events held for ordering across CPUs at most (then the earliest goes out). Perfetto's
 * ftrace data source reads every CPU's kernel buffer once per drain period
 * (FtraceConfig.drain_period_ms, 100–1000 ms in the configs one meets) and writes a bundle per
 * CPU, so events are out of order by about one period's worth: 16384 cma events is far more
 * than a kernel makes in that time (a cma_alloc takes milliseconds). The replay starts when the
 * window is first full, so a smaller one starts it sooner (with 65536, ~6.5% of a 1M-event
 * trace was decoded before the first event reached the replay).
 */
const WINDOW = 1 << 14;

class Decoder {
  // the varint reader's state
  private b: Uint8Array = new Uint8Array(0);
  /** A view of b (set together by use()). */
  private dv: DataView = new DataView(new ArrayBuffer(0));
  private p = 0;
  /** High and low words of the last varint64(). */
  private hi = 0;
  private lo = 0;
  readonly comms = new Map<number, string>();
  /** Changes whenever comms does. */
  commsVersion = 0;
  kernelRelease: string | null = null;
  private seq = 0;
  events = 0;
  ftraceEvents = 0;
  lostBundles = 0;
  /**
   * Events that reached the window after a later event had left it (more than WINDOW cma events
   * out of timestamp order): emitted late, out of order, and counted so the replay can say so.
   */
  lateEvents = 0;
  /** The timestamp of the last event emitted. */
  private lastTs = -Infinity;
  malformed = 0;
  /** The reorder window: one queue per CPU, `held` events in all. */
  private readonly queues = new Map<number, CpuQueue>();
  /** The queues holding events, by their first event's (ts, seq): the merge's order. */
  private readonly order: CpuQueue[] = [];
  private held = 0;
  /** The queue of the bundle being read. */
  private queue: CpuQueue = new CpuQueue(0);
  /** The event being decoded, and its row. */
  private readonly cur = new Pending();
  /** Area names by id (rows hold the id). */
  readonly names: string[] = [''];
  private readonly nameIds = new Map<string, number>([['', 0]]);
  /** Held events' rare fields, by seq. */
  private readonly rare = new Map<number, RareFields>();
  private readonly mmNames: Lit[];
  private mmLine = 0;
  /** Events emitted so far (the last one's line). */
  line = 0;
  /**
   * The WebAssembly fast path (perfetto-wasm.ts), when events go to a BulkRowSink: it holds the
   * reorder window then (the queues above stay empty), and this decoder pushes into it.
   */
  private scan: PerfettoScan | null;
  /** The fast path, also once it has handed its window to this decoder (its counts). */
  private readonly scanned: PerfettoScan | null;
  /** The bundle's CPU's id in the fast path. */
  private scanCpu = 0;
  private readonly scanRow: ScanRow = emptyScanRow();
  private readonly rowOut = new Float64Array(R);

  constructor(
    /** Called with each event in order: its row at f[o, o + R), its CPU and its rare fields, or null. */
    readonly emit: (f: Float64Array, o: number, cpu: number, rare: RareFields | null) => void,
    private readonly mm: PerfettoMmOptions | null = null,
    /** Where the fast path writes its events (it is used only with one). */
    private readonly sink: BulkRowSink | null = null,
    scanArenaBytes?: number,
  ) {
    this.mmNames = mm === null ? [] : [...mm.names].map((n) => lit(enc.encode(n)));
    let scan: PerfettoScan | null = null;
    if (sink !== null) {
      try {
        scan = new PerfettoScan(
          WINDOW,
          GENERIC_NAMES.map(([l, k]) => [l.bytes, k]),
          FIELD_BYTES.map((l) => l.bytes),
          // the events mm picks out are decoded here (mmWanted)
          this.mmNames.map((l) => l.bytes),
          GENERIC_NAMES.filter(([l]) => mm?.names.has(utf8.decode(l.bytes))).map(([, k]) => k),
          scanArenaBytes,
        );
      } catch {
        // no WebAssembly memory: the JavaScript decoder alone
        scan = null;
      }
    }
    this.scan = scan;
    this.scanned = scan;
  }

  /** Where the file's chunks may be read for the fast path to decode in place (null: none). */
  get input(): Uint8Array | null {
    return this.scan?.input ?? null;
  }
  get totalFtraceEvents(): number {
    return this.ftraceEvents + (this.scanned?.ftraceEvents ?? 0);
  }
  get totalEvents(): number {
    return this.events + (this.scanned?.events ?? 0);
  }
  get totalLostBundles(): number {
    return this.lostBundles + (this.scanned?.lostBundles ?? 0);
  }
  get totalLateEvents(): number {
    return this.lateEvents + (this.scanned?.lateEvents ?? 0);
  }

  private varint(): number {
    const b = this.b;
    // one byte (tags, lengths, small values): most of them
    const c0 = b[this.p]!;
    if (c0 < 0x80) {
      this.p++;
      return c0;
    }
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      const c = b[this.p++]!;
      if (c === undefined) throw new Error('truncated varint');
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
    throw new Error('bad varint');
  }

  /** A 64-bit varint into hi/lo (exact). */
  private varint64(): void {
    const b = this.b;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let k = 0; k < 10; k++) {
      const c = b[this.p++];
      if (c === undefined) throw new Error('truncated varint');
      const bits = c & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0xf) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      shift += 7;
      if (c < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new Error('bad varint');
  }
  /**
   * An unsigned 64-bit varint (exact below 2^53). Up to 7 bytes in plain arithmetic; longer
   * ones through varint64(), whose hi/lo then hold it exactly (allOnes() is only true then).
   */
  private u64(): number {
    const b = this.b;
    const s = this.p;
    let c = b[s]!;
    if (c < 0x80) {
      this.p = s + 1;
      this.hi = 0;
      return c;
    }
    let v = c & 0x7f;
    let mul = 128;
    for (let p = s + 1; p < s + 7; p++) {
      c = b[p]!;
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        this.p = p + 1;
        this.hi = 0;
        return v;
      }
      mul *= 128;
    }
    this.varint64();
    return this.hi * TWO32 + this.lo;
  }
  /** A signed 64-bit varint (a negative one takes 10 bytes: exact through varint64()). */
  private i64(): number {
    const v = this.u64();
    if (this.hi & 0x80000000) return -((~this.hi >>> 0) * TWO32 + (~this.lo >>> 0) + 1);
    return v;
  }
  private allOnes(): boolean {
    return this.hi === 0xffffffff && this.lo === 0xffffffff;
  }
  private skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.p += 8;
    else if (wire === 5) this.p += 4;
    else if (wire === 2) {
      const l = this.varint();
      this.p += l;
    } else throw new Error(`bad wire type ${wire}`);
  }
  /** The bytes at p (len of them) equal x's: four at a time. */
  private is(len: number, x: Lit): boolean {
    const bytes = x.bytes;
    if (len !== bytes.length) return false;
    const b = this.b;
    const p = this.p;
    if (p + len > b.length) return false;
    if (len < 4) {
      for (let k = 0; k < len; k++) if (b[p + k] !== bytes[k]) return false;
      return true;
    }
    // whole words, then the last four bytes (overlapping the last word compared)
    const dv = this.dv;
    const w = x.words;
    for (let k = 0; k + 4 < len; k += 4) if (dv.getInt32(p + k, true) !== w[k >> 2]) return false;
    return dv.getInt32(p + len - 4, true) === x.tail;
  }
  /** this.b becomes b (and dv its view). */
  private use(b: Uint8Array): void {
    if (b === this.b) return;
    this.b = b;
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  /** GENERIC_NAMES index of the last generic cma event's name (tried first). */
  private lastGeneric = 0;
  private lastNameBytes: Lit = lit(new Uint8Array(0));
  private lastName = '';
  private lastNameId = 0;
  /** Inside a decompressed group of packets. */
  private inflated = false;
  /** An area name (the same as the previous one, mostly: compared, not decoded). */
  private areaName(len: number): string {
    if (!this.is(len, this.lastNameBytes)) {
      this.lastNameBytes = lit(this.b.slice(this.p, this.p + len));
      this.lastName = utf8.decode(this.lastNameBytes.bytes);
      let id = this.nameIds.get(this.lastName);
      if (id === undefined) {
        id = this.names.length;
        this.names.push(this.lastName);
        this.nameIds.set(this.lastName, id);
      }
      this.lastNameId = id;
      this.scan?.addName(this.lastNameBytes.bytes, id);
    }
    this.p += len;
    return this.lastName;
  }
  /** A field name among FIELD_NAMES, or '' (skipped either way). */
  /** A field name's code (FIELD_NAMES), or -1 (skipped either way). */
  private fieldCode(len: number): number {
    let r = -1;
    const codes = FIELDS_BY_LEN[len];
    if (codes !== undefined)
      for (let i = 0; i < codes.length; i++)
        if (this.is(len, FIELD_BYTES[codes[i]!]!)) {
          r = codes[i]!;
          break;
        }
    this.p += len;
    return r;
  }
  private str(len: number): string {
    const s = utf8.decode(this.b.subarray(this.p, this.p + len));
    this.p += len;
    return s;
  }

  /** A whole `Trace` (a sequence of field-1 packets) in memory. */
  trace(b: Uint8Array, s: number, e: number): void {
    const sb = this.b;
    const sp = this.p;
    this.use(b);
    this.p = s;
    while (this.p < e) {
      const tag = this.varint();
      if (tag === 10) {
        const l = this.varint();
        const at = this.p;
        if (at + l > e) throw new Error(`a packet declares ${l} bytes, past the end of its trace`);
        this.packet(at, at + l);
        this.use(b);
        this.p = at + l;
      } else this.skip(tag & 7);
    }
    this.use(sb);
    this.p = sp;
  }

  /** One TracePacket at [s, e) of this.b. */
  packet(s: number, e: number): void {
    const b = this.b;
    this.p = s;
    while (this.p < e) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire !== 2) {
        this.skip(wire);
        continue;
      }
      const l = this.varint();
      const at = this.p;
      if (at + l > e) throw new Error(`field ${field} declares ${l} bytes, past the end of its packet`);
      if (field === 1) this.bundle(at, at + l);
      else if (field === 2) this.processTree(at, at + l);
      else if (field === 45) this.systemInfo(at, at + l);
      else if (field === 50) {
        // compressed_packets: one level only, and never more than PERFETTO_MAX_PACKET (a zip bomb stops there)
        if (this.inflated) throw new Error('compressed packets nested inside compressed packets');
        const z = b.subarray(at, at + l);
        const max = { maxOutputLength: PERFETTO_MAX_PACKET };
        let inner: Uint8Array;
        try {
          try {
            inner = plain(zlib().inflateSync(z, max));
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw e;
            inner = plain(zlib().inflateRawSync(z, max));
          }
        } catch (e) {
          throw new Error(
            (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
              ? `compressed packets inflate past the ${PERFETTO_MAX_PACKET}-byte limit`
              : `compressed packets do not inflate (${(e as Error).message})`,
          );
        }
        this.inflated = true;
        try {
          this.trace(inner, 0, inner.length);
        } finally {
          this.inflated = false;
        }
        this.use(b);
      }
      this.p = at + l;
    }
  }

  private systemInfo(s: number, e: number): void {
    this.p = s;
    while (this.p < e) {
      const tag = this.varint();
      if (tag === 10) {
        const l = this.varint();
        const end = this.p + l;
        while (this.p < end) {
          const t = this.varint();
          if ((t & 7) !== 2) {
            this.skip(t & 7);
            continue;
          }
          const sl = this.varint();
          if (t >>> 3 === 3) this.kernelRelease = this.str(sl);
          else this.p += sl;
        }
      } else this.skip(tag & 7);
    }
  }

  private processTree(s: number, e: number): void {
    this.p = s;
    while (this.p < e) {
      const tag = this.varint();
      if ((tag & 7) !== 2) {
        this.skip(tag & 7);
        continue;
      }
      const l = this.varint();
      const end = this.p + l;
      const isThread = tag >>> 3 === 2;
      let id = -1;
      let name: string | null = null;
      while (this.p < end) {
        const t = this.varint();
        const f = t >>> 3;
        if (f === 1 && (t & 7) === 0) id = this.varint();
        else if ((t & 7) === 2 && ((isThread && f === 2) || (!isThread && f === 3))) {
          const sl = this.varint();
          const v = this.str(sl);
          if (name === null) name = v;
        } else this.skip(t & 7);
      }
      this.p = end;
      if (id >= 0 && name !== null && name !== '') {
        // a process's cmdline[0] is a path: its last part, at most 15 bytes, as the kernel's comm
        const comm = isThread ? name : (name.split('/').pop() ?? name).slice(0, 15);
        if (isThread || !this.comms.has(id)) {
          this.comms.set(id, comm);
          this.commsVersion++;
          this.scan?.setCommOf(id, comm);
        }
      }
    }
  }

  private bundle(s: number, e: number): void {
    let cpu = 0;
    this.p = s;
    // the cpu (field 1) comes first as Perfetto writes bundles; else it may follow the events
    if (this.p < e && this.b[this.p] === 8) {
      this.p++;
      cpu = this.varint();
    } else {
      while (this.p < e) {
        const tag = this.varint();
        if (tag === 8) cpu = this.varint();
        else this.skip(tag & 7);
      }
      this.p = s;
    }
    let q = this.queues.get(cpu);
    if (q === undefined) {
      q = new CpuQueue(cpu);
      this.queues.set(cpu, q);
    }
    this.queue = q;
    if (this.scan !== null) this.scanBundle(e, cpu);
    else while (this.p < e) this.bundleField(e, cpu);
  }

  /** One field of a bundle (of CPU cpu, ending at e) at p. */
  private bundleField(_e: number, cpu: number): void {
    const tag = this.varint();
    if (tag === 18) {
      const l = this.varint();
      const at = this.p;
      this.ftraceEvent(at, at + l, cpu);
      this.p = at + l;
    } else if (tag === 24) {
      if (this.varint() !== 0) this.lostBundles++;
    } else this.skip(tag & 7);
  }

  /**
   * The rest of a bundle (from p to e) through the fast path: it decodes the events it reads,
   * and stops before each field this decoder is to read.
   */
  private scanBundle(e: number, cpu: number): void {
    const scan = this.scan!;
    const id = scan.cpuId(cpu);
    this.scanCpu = id;
    const base = scan.place(this.b, this.p, e);
    if (base < 0) {
      // (a bundle over the scratch region: its events are pushed into the fast path's window)
      while (this.p < e) this.bundleField(e, cpu);
      return;
    }
    while (this.p < e) {
      const r = scan.bundle(base + this.p, base + e, id);
      this.p = scan.pos - base;
      this.deliver();
      if (r === 2) {
        this.bundleField(e, cpu);
        // (the fast path handed its window over: the rest here)
        if (this.scan === null) {
          while (this.p < e) this.bundleField(e, cpu);
          return;
        }
      } else if (r === 0) break;
    }
  }

  /**
   * The fast path's window, full (its rings cannot grow), becomes this decoder's: its held
   * events go into the queues here as they are, with its last time and seq; the fast path
   * decodes no more.
   */
  private leaveScan(): void {
    const scan = this.scan!;
    this.deliver();
    let n = 0;
    scan.takeHeld((r) => {
      const cpu = scan.cpus[r.cpuId]!;
      let q = this.queues.get(cpu);
      if (q === undefined) {
        q = new CpuQueue(cpu);
        this.queues.set(cpu, q);
      }
      // (each CPU's rows come in (ts, seq) order: at the end of its queue)
      putScanRow(q.f, q.slot(r.ts), r);
      n++;
    });
    for (const q of this.queues.values())
      if (q.size > 0) {
        this.order.push(q);
        this.raise(this.order.length - 1);
      }
    this.held = n;
    this.lastTs = scan.lastTime;
    this.seq = scan.nextSeq;
    this.scan = null;
  }

  /** Moves the events out of the fast path's window into the sink (rows it cannot write: by emit). */
  private deliver(): void {
    const scan = this.scan!;
    const sink = this.sink!;
    for (;;) {
      const g = scan.peek();
      if (g === -1) return;
      if (g === -2) {
        const r = this.scanRow;
        scan.takeHead(r);
        const f = this.rowOut;
        putScanRow(f, 0, r);
        let rare: RareFields | null = null;
        if (r.rare) {
          rare = this.rare.get(r.seq) ?? null;
          this.rare.delete(r.seq);
        }
        this.emit(f, 0, scan.cpus[r.cpuId]!, rare);
        continue;
      }
      const name = this.names[g]!;
      const k = scan.deliver(sink.room, sink.nextNameId(name), this.line);
      this.line += k;
      sink.append(scan.deliveredRecords(k), scan.deliveredComms(k), k, name);
    }
  }

  private ftraceEvent(s: number, e: number, cpu: number): void {
    this.ftraceEvents++;
    let ts = 0;
    let pid = 0;
    let body = -1;
    let bodyEnd = -1;
    let which = 0;
    this.p = s;
    // the timestamp and pid first, as Perfetto writes them (any order is read below)
    const b = this.b;
    if (b[s] === 8 && s + 1 < e) {
      this.p = s + 1;
      ts = this.u64();
      if (b[this.p] === 0x10 && this.p + 1 < e) {
        this.p++;
        pid = this.varint();
      }
    }
    while (this.p < e) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === 1 && wire === 0) ts = this.u64();
      else if (field === 2 && wire === 0) pid = this.varint();
      else if (wire === 2 && (field === 465 || field === 466 || field === 327)) {
        const l = this.varint();
        body = this.p;
        bodyEnd = body + l;
        which = field;
        this.p = bodyEnd;
      } else this.skip(wire);
    }
    if (which === 0) return;
    const ev = this.cur;
    ev.seq = this.seq++;
    // ns while in the window (the CPUs are merged by them), µs once out (usOf)
    ev.ts = ts;
    ev.cpu = cpu;
    ev.pid = pid;
    ev.kind = EV_START;
    ev.name = '';
    ev.count = 0;
    ev.align = -1;
    ev.pfn = Number.NaN;
    ev.hasPage = false;
    clearRareFields(ev);
    let cma = true;
    if (which === 465 || which === 466) {
      ev.kind = which === 465 ? EV_START : EV_INFO;
      this.p = body;
      while (this.p < bodyEnd) {
        const tag = this.varint();
        const f = tag >>> 3;
        if ((tag & 7) === 2) {
          const l = this.varint();
          if ((which === 465 && f === 3) || (which === 466 && f === 6)) ev.name = this.areaName(l);
          else this.p += l;
        } else if ((tag & 7) === 0) {
          const v = this.u64();
          if (f === 1) ev.align = v;
          else if (f === 2) ev.count = v;
          else if (which === 466) {
            if (f === 3) ev.errIso = v;
            else if (f === 4) ev.errMig = v;
            else if (f === 5) ev.errTest = v;
            else if (f === 8) ev.nrMigrated = v;
            else if (f === 10) ev.pfn = this.allOnes() ? -1 : v;
          }
        } else this.skip(tag & 7);
      }
    } else cma = this.generic(body, bodyEnd, ev);
    if (this.mm !== null && this.mmWanted(which, body, bodyEnd, cma ? ev.kind : 0))
      this.mm.onEvent(perfettoMmEvent(this.b, body, bodyEnd, which, pid, ts, ++this.mmLine, this.comms));
    if (!cma) return;
    this.events++;
    this.push(ev);
  }

  /** Whether the typed (465, 466) or generic (327) event at [s, e) is one of the mm names. */
  private mmWanted(which: number, s: number, e: number, cmaKind: number): boolean {
    const names = this.mm!.names;
    if (which === 465) return names.has('cma_alloc_start');
    if (which === 466) return names.has('cma_alloc_info');
    // a generic cma event: by its kind's name (no second look at its bytes)
    if (cmaKind !== 0) return names.has(EVENT_NAMES[cmaKind as TraceEventKind]);
    this.p = s;
    while (this.p < e) {
      const tag = this.varint();
      if (tag !== 10) {
        this.skip(tag & 7);
        continue;
      }
      const l = this.varint();
      for (const lit of this.mmNames) if (this.is(l, lit)) return true;
      return false;
    }
    return false;
  }

  /**
   * The shape of the last generic event of each cma kind (GENERIC_NAMES index) that had a
   * plain one (Shape), null when it had not; tried before the general decode.
   */
  private readonly shapes: (Shape | null)[] = GENERIC_NAMES.map(() => null);
  /** Shapes made so far (a file whose events keep changing shape stops making them). */
  private shapesMade = 0;

  /** A GenericFtraceEvent: false when it is no cma event. */
  private generic(s: number, e: number, ev: Pending): boolean {
    const shapes = this.shapes;
    // the previous kind's shape first, then the others'
    const k0 = this.lastGeneric;
    let kind = shapes[k0] !== null ? this.shaped(s, e, ev, shapes[k0]!) : 0;
    for (let i = 0; kind === 0 && i < shapes.length; i++)
      if (i !== k0 && shapes[i] !== null) {
        kind = this.shaped(s, e, ev, shapes[i]!);
        if (kind !== 0) this.lastGeneric = i;
      }
    if (kind !== 0) return true;
    if (!this.genericFields(s, e, ev)) return false;
    if (this.shapesMade < 256) {
      this.shapes[this.lastGeneric] = this.shapeOf(s, e);
      this.shapesMade++;
    }
    return true;
  }

  /**
   * The generic event at [s, e) decoded by `sh` when its bytes have that shape (its kind, set
   * in ev with its fields), else 0 (then ev's fields set so far are set again by the general
   * decode from the same bytes).
   */
  private shaped(s: number, e: number, ev: Pending, sh: Shape): TraceEventKind | 0 {
    this.p = s;
    if (!this.is(sh.head.bytes.length, sh.head)) return 0;
    this.p += sh.head.bytes.length;
    const b = this.b;
    const fields = sh.fields;
    let sawPage = false;
    for (let j = 0; j < fields.length; j++) {
      const f = fields[j]!;
      if (this.p >= e || b[this.p] !== 0x12) return 0;
      this.p++;
      const end = this.varint() + this.p;
      const pre = f.prefix;
      if (end > e || !this.is(pre.bytes.length, pre)) return 0;
      this.p += pre.bytes.length;
      const code = f.code;
      if (code === F_NAME) {
        // (the prefix ends with the string's tag)
        const l = this.varint();
        if (this.p + l !== end) return 0;
        ev.name = this.areaName(l);
        continue;
      }
      if (code === F_PAGE && f.unsigned) {
        let any = 0;
        let c: number;
        do {
          c = b[this.p++]!;
          if (c === undefined) return 0;
          any |= c & 0x7f;
        } while (c >= 0x80);
        if (this.p !== end) return 0;
        sawPage = true;
        ev.hasPage = any !== 0;
        continue;
      }
      const num = f.unsigned ? this.u64() : this.i64();
      if (this.p !== end) return 0;
      if (code === F_PFN || code === F_START) ev.pfn = this.allOnes() ? -1 : num;
      else if (num >= TWO53 || num < 0 || !setNumber(ev, code, num)) return 0;
    }
    if (this.p !== e) return 0;
    const kind = sh.kind;
    ev.kind = kind;
    if (kind === EV_ALLOC && !sawPage) ev.hasPage = ev.pfn >= 0;
    return kind;
  }

  /**
   * The shape of the generic cma event at [s, e) (just decoded): its name field then fields of
   * a known name and one value each (a numeric one, or the area name's string), or null.
   */
  private shapeOf(s: number, e: number): Shape | null {
    const b = this.b;
    this.p = s;
    if (this.varint() !== 10) return null;
    const nl = this.varint();
    this.p += nl;
    const head = lit(b.slice(s, this.p));
    const fields: ShapeField[] = [];
    while (this.p < e) {
      if (this.varint() !== 0x12) return null;
      const l = this.varint();
      const at = this.p;
      const end = at + l;
      if (this.varint() !== 10) return null;
      const code = this.fieldCode(this.varint());
      if (code < 0) return null;
      const tag = this.varint();
      if (!(tag === 0x28 || tag === 0x20 || (tag === 0x1a && code === F_NAME))) return null;
      if (code === F_NAME && tag !== 0x1a) return null;
      fields.push({ prefix: lit(b.slice(at, this.p)), code, unsigned: tag === 0x28 });
      this.p = end;
    }
    return { head, kind: GENERIC_NAMES[this.lastGeneric]![1], fields };
  }

  /** The general decode of a GenericFtraceEvent: false when it is no cma event. */
  private genericFields(s: number, e: number, ev: Pending): boolean {
    this.p = s;
    let kind: TraceEventKind | undefined;
    let sawPage = false;
    while (this.p < e) {
      const tag = this.varint();
      const f = tag >>> 3;
      if (f === 1 && (tag & 7) === 2) {
        const l = this.varint();
        // the previous event's name first (runs of one kind), then the others in order
        const last = GENERIC_NAMES[this.lastGeneric]!;
        if (this.is(l, last[0])) kind = last[1];
        else
          for (let i = 0; i < GENERIC_NAMES.length; i++)
            if (this.is(l, GENERIC_NAMES[i]![0])) {
              kind = GENERIC_NAMES[i]![1];
              this.lastGeneric = i;
              break;
            }
        if (kind === undefined) return false;
        this.p += l;
      } else if (f === 2 && (tag & 7) === 2) {
        const l = this.varint();
        const end = this.p + l;
        let name = -1;
        let num = Number.NaN;
        let ones = false;
        let text: string | null = null;
        while (this.p < end) {
          const t = this.varint();
          const ff = t >>> 3;
          if (ff === 1 && (t & 7) === 2) name = this.fieldCode(this.varint());
          else if (ff === 3 && (t & 7) === 2) {
            const sl = this.varint();
            text = name === F_NAME ? this.areaName(sl) : this.str(sl);
          } else if (ff === 4 && (t & 7) === 0) {
            num = this.i64();
            ones = this.allOnes();
          } else if (ff === 5 && (t & 7) === 0 && name === F_PAGE) {
            // a struct page pointer: only whether it is NULL matters (no 64-bit arithmetic)
            const b = this.b;
            let any = 0;
            let c: number;
            do {
              c = b[this.p++]!;
              if (c === undefined) throw new Error('truncated varint');
              any |= c & 0x7f;
            } while (c >= 0x80);
            num = any === 0 ? 0 : 1;
          } else if (ff === 5 && (t & 7) === 0) {
            num = this.u64();
            ones = this.allOnes();
            if (num >= 2 ** 53 && (name === F_COUNT || name === F_REQUEST_COUNT))
              ev.countBig = (BigInt(this.hi) << 32n) | BigInt(this.lo);
          } else this.skip(t & 7);
        }
        this.p = end;
        switch (name) {
          case F_NAME:
            ev.name = text ?? '';
            break;
          case F_PFN:
          case F_START:
            ev.pfn = ones ? -1 : num;
            break;
          case F_PAGE:
            sawPage = true;
            ev.hasPage = text !== null ? !/^(0x)?0*$|^\(nil\)$|^\(null\)$/.test(text) : num !== 0;
            break;
          case F_COUNT:
          case F_REQUEST_COUNT:
            ev.count = num;
            if (num < 2 ** 53) ev.countBig = null;
            break;
          case F_ALIGN:
            ev.align = num;
            break;
          case F_ERRORNO:
            ev.errorno = num;
            break;
          case F_AVAILABLE:
            ev.availableCount = num;
            break;
          case F_TOTAL:
            ev.totalCount = num;
            break;
          case F_NR_MIGRATED:
            ev.nrMigrated = num;
            break;
          case F_ERR_ISO:
            ev.errIso = num;
            break;
          case F_ERR_MIG:
            ev.errMig = num;
            break;
          case F_ERR_TEST:
            ev.errTest = num;
            break;
        }
      } else this.skip(tag & 7);
    }
    if (kind === undefined) return false;
    ev.kind = kind;
    if (kind === EV_ALLOC && !sawPage) ev.hasPage = ev.pfn >= 0;
    return true;
  }

  // ---- the reorder window: per-CPU queues in (ts, seq) order, merged ----
  private push(x: Pending): void {
    if (this.scan !== null) {
      this.scanPush(x);
      return;
    }
    const q = this.queue;
    const wasEmpty = q.size === 0;
    const o = q.slot(x.ts);
    const row = q.f;
    row[o + R_TS] = x.ts;
    row[o + R_SEQ] = x.seq;
    row[o + R_PID] = x.pid;
    row[o + R_KIND] = x.kind;
    row[o + R_COUNT] = x.count;
    row[o + R_ALIGN] = x.align;
    row[o + R_PFN] = x.pfn;
    row[o + R_PAGE] = x.hasPage ? 1 : 0;
    let id = x.name === this.lastName ? this.lastNameId : this.nameIds.get(x.name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(x.name);
      this.nameIds.set(x.name, id);
    }
    row[o + R_NAME] = id;
    if (
      x.countBig !== null ||
      x.errorno !== null ||
      x.availableCount !== -1 ||
      x.totalCount !== -1 ||
      x.nrMigrated !== 0 ||
      x.errIso !== 0 ||
      x.errMig !== 0 ||
      x.errTest !== 0
    ) {
      row[o + R_RARE] = 1;
      this.rare.set(x.seq, {
        countBig: x.countBig,
        errorno: x.errorno,
        availableCount: x.availableCount,
        totalCount: x.totalCount,
        nrMigrated: x.nrMigrated,
        errIso: x.errIso,
        errMig: x.errMig,
        errTest: x.errTest,
      });
    } else row[o + R_RARE] = 0;
    // the queue's place in the merge: new, or earlier when the event went first (a late one)
    if (wasEmpty) {
      this.order.push(q);
      this.raise(this.order.length - 1);
    } else if (o === q.head * R) this.raise(this.order.indexOf(q));
    if (++this.held > WINDOW) this.emitFirst();
  }

  /** push() into the fast path's window. */
  private scanPush(x: Pending): void {
    let id = x.name === this.lastName ? this.lastNameId : this.nameIds.get(x.name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(x.name);
      this.nameIds.set(x.name, id);
    }
    const rare =
      x.countBig !== null ||
      x.errorno !== null ||
      x.availableCount !== -1 ||
      x.totalCount !== -1 ||
      x.nrMigrated !== 0 ||
      x.errIso !== 0 ||
      x.errMig !== 0 ||
      x.errTest !== 0;
    const scan = this.scan!;
    const seq = scan.push(x.ts, x.pid, x.kind, x.count, x.align, x.pfn, x.hasPage, id, this.scanCpu, rare);
    if (seq < 0) {
      // no room in the fast path's window: this decoder's from now on
      this.leaveScan();
      x.seq = this.seq++;
      this.push(x);
      return;
    }
    if (rare)
      this.rare.set(seq, {
        countBig: x.countBig,
        errorno: x.errorno,
        availableCount: x.availableCount,
        totalCount: x.totalCount,
        nrMigrated: x.nrMigrated,
        errIso: x.errIso,
        errMig: x.errMig,
        errTest: x.errTest,
      });
    this.deliver();
  }

  /** Moves order[i] towards the front past the queues whose first event is later. */
  private raise(i: number): void {
    const order = this.order;
    const q = order[i]!;
    for (; i > 0 && first(q, order[i - 1]!); i--) order[i] = order[i - 1]!;
    order[i] = q;
  }

  /** Emits the earliest held event (the smallest (ts, seq) of the queues' heads). */
  private emitFirst(): void {
    const order = this.order;
    const q = order[0]!;
    const o = q.head * R;
    const ts = q.f[o + R_TS]!;
    if (ts < this.lastTs) this.lateEvents++;
    else this.lastTs = ts;
    q.head = (q.head + 1) & q.mask;
    q.size--;
    this.held--;
    // the queue's place in the merge: after the queues now before it (the others have not moved)
    if (q.size === 0) order.shift();
    else {
      let i = 0;
      for (; i + 1 < order.length && first(order[i + 1]!, q); i++) order[i] = order[i + 1]!;
      order[i] = q;
    }
    let rare: RareFields | null = null;
    if (q.f[o + R_RARE] === 1) {
      const seq = q.f[o + R_SEQ]!;
      rare = this.rare.get(seq) ?? null;
      this.rare.delete(seq);
    }
    // the row stays valid until the next push into this queue (the emit pushes nothing)
    this.emit(q.f, o, q.cpu, rare);
  }

  /** Emits every held event. */
  drain(): void {
    const scan = this.scan;
    if (scan !== null) {
      do {
        scan.drain();
        this.deliver();
      } while (scan.held > 0);
      return;
    }
    while (this.held > 0) this.emitFirst();
  }
}

/**
 * Reads the cma events of a Perfetto trace fed in chunks of any size (plain; gzip is undone
 * before), calling onEvent in timestamp order. Memory: one packet plus the reorder window.
 * `feed()` keeps no reference to a chunk after it returns (the caller may reuse it).
 */
export class PerfettoReader {
  private readonly dec: Decoder;
  /**
   * The packet a chunk's end cut: its first carryLen bytes, then the rest as later chunks bring
   * it (a packet longer than a chunk is kept until it is whole). One buffer kept across feeds
   * (doubled as a packet needs: never to a size a header declares, which a damaged file can make
   * up), so a cut packet costs a copy, not two fresh allocations: those were ~1800 page faults a
   * 73 MB file (~12 µs each on this project's VMs), most of the decode worker's faults after its
   * start.
   */
  private joint = new Uint8Array(0);
  private carryLen = 0;
  /** The size of the packet held, when its header was whole (0: not known). */
  private wanted = 0;
  private bytes = 0;
  /**
   * An error the caller's onEvent threw (e.g. the replay asking for areas first): passed on as
   * it is, not reported as a corrupt packet.
   */
  private callerError: unknown = undefined;

  constructor(
    onEvent: (ev: BinaryEvent) => void,
    private readonly opts: ParseOptions & {
      mm?: PerfettoMmOptions;
      /**
       * Where events without rare fields and with a comm of at most 16 bytes go instead of
       * onEvent (binary-worker.ts: its BatchEncoder), in the same order with the others.
       */
      rows?: RowSink | BulkRowSink;
      /** Memory for the fast path's window (a test's small one makes it hand the window over). */
      scanArenaBytes?: number;
    } = {},
  ) {
    const out = new BinaryEvent();
    /** out has rare fields of the previous event (cleared before the next one without). */
    let rareSet = false;
    const rows = opts.rows;
    const dec = new Decoder(
      (f, o, cpu, rare) => {
        const pid = f[o + R_PID]!;
        if (rows !== undefined && rare === null) {
          out.setPidComm(pid, dec.comms, dec.commsVersion);
          if (out.commLen <= 16) {
            // straight into the batch row (no event object)
            rows.put(
              f[o + R_KIND]!,
              ++dec.line,
              pid,
              cpu,
              usOf(f[o + R_TS]!),
              dec.names[f[o + R_NAME]!]!,
              f[o + R_COUNT]!,
              f[o + R_ALIGN]!,
              f[o + R_PFN]!,
              f[o + R_PAGE] === 1,
              out.commWords,
              out.commLen,
            );
            return;
          }
        }
        out.kind = f[o + R_KIND] as TraceEventKind;
        out.line = ++dec.line;
        out.pid = pid;
        out.cpu = cpu;
        out.ts = usOf(f[o + R_TS]!);
        out.name = dec.names[f[o + R_NAME]!]!;
        out.count = f[o + R_COUNT]!;
        out.align = f[o + R_ALIGN]!;
        out.pfn = f[o + R_PFN]!;
        out.hasPage = f[o + R_PAGE] === 1;
        if (rare !== null) {
          Object.assign(out, rare);
          rareSet = true;
        } else if (rareSet) {
          clearRareFields(out);
          rareSet = false;
        }
        out.setPidComm(pid, dec.comms, dec.commsVersion);
        out.setFast(rare === null);
        try {
          onEvent(out);
        } catch (e) {
          this.callerError = e;
          throw e;
        }
      },
      opts.mm ?? null,
      rows !== undefined && 'append' in rows ? rows : null,
      opts.scanArenaBytes,
    );
    this.dec = dec;
  }

  /**
   * A buffer to read the file's chunks into and feed(), which the WebAssembly fast path decodes
   * in place (null: any buffer will do).
   */
  get input(): Uint8Array | null {
    return this.dec.input;
  }

  /** The task names of the process and thread packets read so far, by pid. */
  get comms(): ReadonlyMap<number, string> {
    return this.dec.comms;
  }

  /** The kernel release of the system_info packet, once read. */
  get kernelRelease(): string | null {
    return this.dec.kernelRelease;
  }

  feed(input: Uint8Array): void {
    const chunk = plain(input);
    this.bytes += chunk.length;
    const held = this.carryLen;
    if (this.wanted > 0 && held + chunk.length < this.wanted) {
      this.hold(chunk, 0, chunk.length);
      return;
    }
    let from = 0;
    if (held > 0) {
      // the packet begun before: joined with as much of the chunk as it needs (all of the
      // chunk when its header was cut), the rest of the chunk is read where it is
      const take = this.wanted > 0 ? this.wanted - held : chunk.length;
      this.hold(chunk, 0, take);
      const n = this.carryLen;
      this.carryLen = 0;
      this.wanted = 0;
      const p = this.packets(this.joint.subarray(0, n), 0, this.bytes - chunk.length + take);
      from = take;
      if (p < n) {
        // (only when the header was cut: then take is the whole chunk)
        this.joint.copyWithin(0, p, n);
        this.carryLen = n - p;
        this.opts.onProgress?.(this.bytes);
        return;
      }
    }
    this.wanted = 0;
    const p = this.packets(chunk, from, this.bytes);
    if (p < chunk.length) this.hold(chunk, p, chunk.length);
    this.opts.onProgress?.(this.bytes);
  }

  /** Appends chunk[s, e) to the packet held. */
  private hold(chunk: Uint8Array, s: number, e: number): void {
    const need = this.carryLen + (e - s);
    if (need > this.joint.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.joint.length));
      grown.set(this.joint.subarray(0, this.carryLen));
      this.joint = grown;
    }
    this.joint.set(chunk.subarray(s, e), this.carryLen);
    this.carryLen = need;
  }

  /**
   * Decodes the whole packets of buf from p on (buf ends at file offset `endsAt`); returns where
   * the first incomplete one starts (buf.length: none), its size in `wanted` when known.
   */
  private packets(buf: Uint8Array, p: number, endsAt: number): number {
    for (;;) {
      const h = header(buf, p);
      if (h !== null && h.end - p > PERFETTO_MAX_PACKET)
        throw new Error(
          `Perfetto trace: the packet at byte ${endsAt - buf.length + p} declares ${h.end - p} bytes, over the ${PERFETTO_MAX_PACKET}-byte limit`,
        );
      if (h !== null && h.end > buf.length) this.wanted = h.end - p;
      if (h === null || h.end > buf.length) return p;
      try {
        if (h.tag === 10) this.dec.trace(buf, p, h.end);
      } catch (e) {
        if (e === this.callerError) throw e;
        throw new Error(
          `Perfetto trace: a packet at byte ${endsAt - buf.length + p} is corrupt (${(e as Error).message})`,
        );
      }
      p = h.end;
    }
  }

  /** Emits the events still held and returns the statistics; throws on a truncated file. */
  end(): ParseStats {
    const { carryLen, bytes, wanted, dec } = this;
    if (carryLen > 0)
      throw new Error(
        `Perfetto trace: truncated (the last ${carryLen} bytes, from byte ${bytes - carryLen}, are an incomplete packet${wanted > 0 ? ` of ${wanted} bytes` : ''})`,
      );
    dec.drain();
    return {
      ...emptyParseStats(),
      bytes,
      lines: dec.totalFtraceEvents,
      events: dec.totalEvents,
      otherLines: dec.totalFtraceEvents - dec.totalEvents,
      format: 'perfetto',
      kernelRelease: dec.kernelRelease,
      lostEvents: 0,
      lostEventPages: dec.totalLostBundles,
      lateEvents: dec.totalLateEvents,
    };
  }
}

/**
 * Reads the cma events of a Perfetto trace from a stream of byte chunks (plain; gzip is
 * undone by the source), calling onEvent in timestamp order (PerfettoReader).
 */
export async function readPerfettoStream(
  input: AsyncIterable<Uint8Array>,
  onEvent: (ev: TraceEvent) => void,
  opts: ParseOptions & { mm?: PerfettoMmOptions } = {},
): Promise<ParseStats> {
  const r = new PerfettoReader(onEvent, opts);
  for await (const chunk of input) r.feed(chunk);
  return r.end();
}

/** The top-level field at p: its tag and where it ends, or null when the header is incomplete. */
function header(b: Uint8Array, p: number): { tag: number; end: number } | null {
  const t = readVarint(b, p);
  if (t === null) return null;
  const wire = t[0] & 7;
  if (wire === 2) {
    const l = readVarint(b, t[1]);
    if (l === null) return null;
    return { tag: t[0], end: l[1] + l[0] };
  }
  if (wire === 0) {
    const v = readVarint(b, t[1]);
    return v === null ? null : { tag: t[0], end: v[1] };
  }
  if (wire === 1) return { tag: t[0], end: t[1] + 8 };
  if (wire === 5) return { tag: t[0], end: t[1] + 4 };
  throw new Error(`Perfetto trace: bad wire type ${wire} at byte ${p}`);
}

function readVarint(b: Uint8Array, p: number): [number, number] | null {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 10; k++) {
    if (p >= b.length) return null;
    const c = b[p++]!;
    v += (c & 0x7f) * mul;
    if (c < 0x80) return [v, p];
    mul *= 128;
  }
  throw new Error('Perfetto trace: bad varint');
}

/** The events of a whole Perfetto trace's mm reader, their comms final, in timestamp order. */
function mmCollector(names: ReadonlySet<string>): {
  mm: PerfettoMmOptions;
  done: (r: PerfettoReader) => MmEvent[];
} {
  const out: MmEvent[] = [];
  return {
    mm: { names, onEvent: (e) => out.push(e) },
    done: (r) => {
      r.end();
      const comms = r.comms;
      for (const e of out)
        (e as { comm: string }).comm = comms.get(e.pid) ?? (e.pid === 0 ? '<idle>' : '<...>');
      // bundles of several CPUs: a stable sort by time
      return out.sort((a, b) => a.time - b.time || a.line - b.line);
    },
  };
}

/**
 * The events of `names` (as the text spells them: mm-events-read.ts) in a Perfetto trace held
 * in memory (plain or gzip, compressed_packets), in timestamp order. Task names come from the
 * process tree when present.
 */
export function readPerfettoMmEvents(
  bytes: Uint8Array,
  names: ReadonlySet<string> = MM_EVENT_NAMES,
): MmEvent[] {
  const data = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(zlib().gunzipSync(bytes)) : bytes;
  const c = mmCollector(names);
  const r = new PerfettoReader(() => {}, { mm: c.mm });
  r.feed(data);
  return c.done(r);
}

/** readPerfettoMmEvents of a file, streamed (plain or gzip): memory for the events found only. */
export async function readPerfettoMmFile(
  path: string,
  names: ReadonlySet<string> = MM_EVENT_NAMES,
): Promise<MmEvent[]> {
  const c = mmCollector(names);
  const r = new PerfettoReader(() => {}, { mm: c.mm });
  for await (const chunk of perfettoFileChunks(path)) r.feed(chunk);
  return c.done(r);
}

/** The bytes of a Perfetto file, gunzipped when it is gzip, in chunks. */
function perfettoFileChunks(path: string): AsyncIterable<Uint8Array> {
  const fd = openSync(path, 'r');
  const magic = Buffer.alloc(2);
  try {
    readSync(fd, magic, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  return magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(zlib().createGunzip()) : raw;
}
