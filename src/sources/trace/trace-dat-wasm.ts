// The trace.dat reader's WebAssembly fast path (assembly/trace-dat-scan.ts), for readTraceDat's
// batch-row mode (binary-worker.ts): the CPUs' pages are read into the module's memory, which
// walks them, merges the records by timestamp and writes the plain cma events' records straight
// into batch records (BulkRowSink.append); every other record comes back here as a TraceRecord
// for readTraceDat's own decoding, in its place. The same rows, record numbers, statistics and
// order as MergedRecords + PlainRows (test/trace/trace-dat-wasm.test.ts compares them), without
// V8's warm-up of the JavaScript path.

import { TRACE_DAT_SCAN_WASM_BASE64 } from '../../core/wasm/trace-dat-scan-wasm.ts';
import { lazyWasmModule } from '../../core/wasm-module.ts';
import type { FormatField } from './event-format.ts';
import type { ByteSource, TraceDatInfo, TraceRecord } from './trace-dat.ts';
import type { FastPlan } from './trace-dat-reader.ts';

// parallel-format.ts's F and COMM_BYTES
const F = 12;
const COMM_BYTES = 16;
/** Rows per run() at most (BATCH_EVENTS). */
const MAX_RECORDS = 8192;
/**
 * Bytes of pages read per CPU at a time (at least one page; the first reads are smaller, from
 * FIRST_READ on, so the first batch comes sooner), and for all CPUs together. Each CPU's buffer
 * is this size in the module's memory, fresh pages the first time they are read into: with 1 MiB
 * an 8-CPU file took ~1500 more page faults than with 256 KiB (~11 µs each on this project's
 * VMs) and replayed slower (12 alternating runs: min 1.00× against 0.97× the text's wall).
 */
const FIRST_READ = 64 << 10;
const CPU_READ = 256 << 10;
const ALL_READ = 32 << 20;

const DONE = 0;
const FULL = 1;
const NEED_PAGES = 2;
const NEED_COMM = 3;
const NEED_NAME = 4;
const RECORD = 5;

/** A plain cma event's layout, as trace-dat-reader.ts's FastPlan with its kind, end and name. */
export interface WasmPlan extends FastPlan {
  kind: number;
  fixedEnd: number;
  name: FormatField | null;
}

/** Where the rows go: BatchEncoder's bulk half (parallel-format.ts). */
export interface BulkRowSink {
  readonly room: number;
  nextNameId(name: string): number;
  append(rec: Float64Array, comm: Uint8Array, k: number, name: string): void;
}

/** What scanTraceDat needs from readTraceDat. */
export interface WasmScanJob {
  /** By event id: a plain event's plan, 'js' (hand the record back), or undefined (not wanted). */
  actions: readonly (WasmPlan | 'js' | undefined)[];
  /** The common_type field. */
  typeField: FormatField;
  rows: BulkRowSink;
  /** A pid's task name: its UTF-8 length and 16-byte batch cell (right-aligned) as four words. */
  comm(pid: number): { len: number; words: Int32Array };
  /** An area name from its raw bytes (as the record holds them). */
  name(raw: Uint8Array): string;
  /** A record to decode on the JavaScript side (valid during the call); `consumed`: bytes read so far. */
  onRecord(r: TraceRecord, consumed: () => number): void;
  onProgress?: (bytes: number) => void;
}

/** What the walk counted. */
export interface WasmScanResult {
  /** Records walked, rows written. */
  records: number;
  rows: number;
  others: number;
  lostEvents: number;
  lostEventPages: number;
}

interface ScanExports {
  readonly memory: WebAssembly.Memory;
  init(
    cpus: number,
    region: number,
    maxRecords: number,
    ps: number,
    tOff: number,
    cOff: number,
    dOff: number,
    lsz: number,
    tyOff: number,
    counter: number,
  ): number;
  typesAt(): number;
  plansAt(): number;
  recordsAt(): number;
  cellsAt(): number;
  nameAt(): number;
  nameBytes(): number;
  cpuBufAt(c: number): number;
  setCpu(c: number, cpu: number): void;
  setCpuBuf(c: number, len: number, eof: number): void;
  setComm(pid: number, len: number, w0: number, w1: number, w2: number, w3: number): void;
  rows(): number;
  needCpu(): number;
  needPid(): number;
  records(): number;
  otherRecords(): number;
  lost(): number;
  lostPageCount(): number;
  curCpu(): number;
  curTs(): number;
  curStart(): number;
  curLen(): number;
  run(max: number, nameId: number): number;
}

const scanModule = lazyWasmModule(TRACE_DAT_SCAN_WASM_BASE64);

/** One CPU's data, read into its buffer in the module's memory (as trace-dat.ts's CpuPages). */
interface CpuFeed {
  cpu: number;
  pos: number;
  end: number;
  read: number;
  /** Bytes the next read takes at most. */
  next: number;
}

/**
 * Whether the fast path reads this file: uncompressed little-endian CPU data whose page header
 * and event ids it can walk (anything else takes MergedRecords).
 */
export function wasmScannable(info: TraceDatInfo, typeField: FormatField): boolean {
  const h = info.pageHeader;
  const ps = info.pageSize;
  const cpus = info.cpus.filter((c) => c.size > 0).length;
  return (
    info.littleEndian &&
    !info.compressedData &&
    !info.latency &&
    (info.longSize === 4 || info.longSize === 8) &&
    typeField.size === 2 &&
    typeField.offset >= 0 &&
    typeField.offset < 1 << 16 &&
    h.dataOffset <= ps &&
    h.timestampOffset + 8 <= ps &&
    h.commitOffset + 4 <= ps &&
    cpus > 0 &&
    cpus * ps <= ALL_READ
  );
}

/** Walks every record of the file (see the module's comment); null when the module has no memory. */
export function scanTraceDat(src: ByteSource, info: TraceDatInfo, job: WasmScanJob): WasmScanResult | null {
  const x = new WebAssembly.Instance(scanModule()).exports as unknown as ScanExports;
  const ps = info.pageSize;
  const list = info.cpus.filter((c) => c.size > 0);
  const perCpu = Math.max(1, Math.floor(Math.min(CPU_READ, ALL_READ / list.length) / ps)) * ps;
  const h = info.pageHeader;
  if (
    x.init(
      list.length,
      perCpu,
      MAX_RECORDS,
      ps,
      h.timestampOffset,
      h.commitOffset,
      h.dataOffset,
      info.longSize,
      job.typeField.offset,
      info.clock === 'counter' ? 1 : 0,
    ) !== 0
  )
    return null;
  const mem = x.memory.buffer;
  const u8 = new Uint8Array(mem);
  const dv = new DataView(mem);
  // the event ids' actions and the plans
  const types = x.typesAt();
  const plans = x.plansAt();
  let nPlans = 0;
  for (let id = 0; id < job.actions.length && id < 1 << 16; id++) {
    const a = job.actions[id];
    if (a === undefined) continue;
    if (a === 'js' || nPlans >= 254) {
      u8[types + id] = 255;
      continue;
    }
    const at = plans + 64 * nPlans;
    const put = (k: number, v: number): void => dv.setInt32(at + 4 * k, v, true);
    put(0, a.kind);
    put(1, a.pidAt);
    put(2, a.countAt);
    put(3, a.count8 ? 1 : 0);
    put(4, a.alignAt);
    put(5, a.align8 ? 1 : 0);
    put(6, a.pfnAt);
    put(7, a.pfn8 ? 1 : 0);
    put(8, a.pageAt);
    put(9, a.page8 ? 1 : 0);
    put(10, a.fixedEnd);
    const n = a.name;
    put(11, n === null ? 0 : n.relLoc ? 3 : n.dataLoc ? 2 : 1);
    put(12, n === null ? 0 : n.offset);
    put(13, n === null ? 0 : n.size);
    nPlans++;
    u8[types + id] = nPlans;
  }
  const feeds: CpuFeed[] = list.map((c, i) => {
    x.setCpu(i, c.cpu);
    return {
      cpu: c.cpu,
      pos: c.offset,
      end: Math.min(src.size, c.offset + c.size),
      read: 0,
      next: Math.min(perCpu, Math.max(1, Math.floor(FIRST_READ / ps)) * ps),
    };
  });
  /** Reads CPU slot i's next pages into its buffer (as CpuPages.fill). */
  const fill = (i: number): void => {
    const f = feeds[i]!;
    const at = x.cpuBufAt(i);
    if (f.pos + ps > f.end) {
      x.setCpuBuf(i, 0, 1);
      return;
    }
    const n = Math.floor(Math.min(f.next, f.end - f.pos) / ps) * ps;
    f.next = Math.min(perCpu, 2 * f.next);
    let got: number;
    if (src.readInto) got = src.readInto(f.pos, u8.subarray(at, at + n));
    else {
      const b = src.read(f.pos, n);
      u8.set(b, at);
      got = b.length;
    }
    f.pos += n;
    f.read += n;
    x.setCpuBuf(i, got, got < ps ? 1 : 0);
  };
  const consumed = (): number => {
    let s = 0;
    for (const f of feeds) s += f.read;
    return s;
  };
  const recs = new Float64Array(mem, x.recordsAt(), MAX_RECORDS * F);
  const cells = new Uint8Array(mem, x.cellsAt(), MAX_RECORDS * COMM_BYTES);
  const nameAt = x.nameAt();
  const rec: TraceRecord = { cpu: 0, ts: 0, buf: u8, dv, start: 0, len: 0, record: 0 };
  const rows = job.rows;
  let name = '';
  let nameId = rows.nextNameId(name);
  let reported = 0;
  let written = 0;
  for (;;) {
    const st = x.run(Math.min(rows.room, MAX_RECORDS), nameId);
    const k = x.rows();
    if (k > 0) {
      rows.append(recs, cells, k, name);
      written += k;
    }
    if (st === DONE) break;
    switch (st) {
      case FULL:
        break;
      case NEED_PAGES:
        fill(x.needCpu());
        break;
      case NEED_COMM: {
        const pid = x.needPid();
        const c = job.comm(pid);
        const w = c.words;
        x.setComm(pid, c.len, w[0]!, w[1]!, w[2]!, w[3]!);
        break;
      }
      case NEED_NAME:
        name = job.name(u8.subarray(nameAt, nameAt + x.nameBytes()));
        break;
      case RECORD: {
        rec.cpu = feeds[x.curCpu()]!.cpu;
        rec.ts = x.curTs();
        rec.start = x.curStart();
        rec.len = x.curLen();
        rec.record = x.records();
        job.onRecord(rec, consumed);
        break;
      }
      default:
        throw new Error(`trace.dat scanner: unexpected state ${st}`);
    }
    nameId = rows.nextNameId(name);
    const done = consumed();
    if (job.onProgress && done - reported >= 1 << 22) {
      reported = done;
      job.onProgress(Math.min(src.size, done));
    }
  }
  return {
    records: x.records(),
    rows: written,
    others: x.otherRecords(),
    lostEvents: x.lost(),
    lostEventPages: x.lostPageCount(),
  };
}
