// The Perfetto reader's WebAssembly fast path (assembly/perfetto-scan.ts): it decodes the cma
// events of ftrace bundles, holds them in the reorder window and writes the events that leave
// it as batch records, which the reader copies into its batch (BatchEncoder.append). The
// reader (perfetto.ts) keeps everything else: packets, compressed packets, process trees, the
// events and fields the module leaves to it (it pushes what it decodes into the module's
// window), and the rows the module cannot write (rare fields, long task names). Compiled code
// from the first event on: the JIT's warm-up of the JavaScript decoder is not paid, and the
// reorder window (16384 events) fills in a few milliseconds.

import { PERFETTO_SCAN_WASM_BASE64 } from '../../core/wasm/perfetto-scan-wasm.ts';
import { lazyWasmModule } from '../../core/wasm-module.ts';
import { commCell } from './trace-dat-reader.ts';

// parallel-format.ts's F and COMM_BYTES (rows written per deliver(): BATCH_EVENTS at most)
const F = 12;
const COMM_BYTES = 16;
/**
 * Events out of the window at a time (then the reader delivers them: after each bundle, or
 * sooner when this many are out). Their records are written there in turn: 2048 of them are
 * 230 KB of the module's memory (8192 were 900 KB, each page of it faulted in once).
 */
const OUT_MAX = 2048;
/** The region the file's chunks are read into (perfetto.ts reads bundles there in place). */
const INPUT_BYTES = 1 << 20;
/** Bundles not in the input region are copied here (longer ones take the JavaScript path). */
const SCRATCH_BYTES = 4 << 20;
/** Queues in the module: CPUs beyond are folded onto them (the merge's order is the same). */
const SCAN_QUEUES = 1024;
/** CPUs the module knows the number of (perfetto-scan.ts CPUMAX): the rows of others are written by JavaScript. */
const SCAN_CPUS = 1 << 16;

interface ScanExports {
  readonly memory: WebAssembly.Memory;
  init(inCap: number, scratchCap: number, window: number, maxOut: number, arenaBytes: number): number;
  inAt(): number;
  scratchAt(): number;
  tmpAt(): number;
  recordsAt(): number;
  commsAt(): number;
  pos(): number;
  ftraceEvents(): number;
  events(): number;
  lostBundles(): number;
  lateEvents(): number;
  heldEvents(): number;
  lastTime(): number;
  nextSeq(): number;
  takeHeld(): number;
  outRow(i: number): number;
  addName(len: number, id: number): void;
  addKind(len: number, kind: number): void;
  addField(len: number, code: number): void;
  addMmName(len: number): void;
  setMmKinds(mask: number): void;
  setComm(pid: number, len: number, w0: number, w1: number, w2: number, w3: number): void;
  setCpu(id: number, cpu: number): void;
  push(
    ts: number,
    pid: number,
    kind: number,
    count: number,
    align: number,
    pfn: number,
    hasPage: number,
    nameId: number,
    cpu: number,
    q: number,
    rare: number,
  ): number;
  drain(): void;
  peek(): number;
  headRow(): number;
  dropHead(): void;
  deliver(room: number, bid: number, line0: number): number;
  deliveredAt(): number;
  bundle(s: number, e: number, q: number, cpu: number): number;
}

const scanModule = lazyWasmModule(PERFETTO_SCAN_WASM_BASE64);

const enc = new TextEncoder();

/** A row of the window as the module holds it (perfetto-scan.ts ROW): read for rows JavaScript writes. */
export interface ScanRow {
  ts: number;
  seq: number;
  count: number;
  align: number;
  pfn: number;
  pid: number;
  /** The CPU's id (PerfettoScan.cpuId). */
  cpuId: number;
  nameId: number;
  kind: number;
  hasPage: boolean;
  rare: boolean;
}

/** A ScanRow to fill (read() and takeHead() refill it). */
export function emptyScanRow(): ScanRow {
  return {
    ts: 0,
    seq: 0,
    count: 0,
    align: 0,
    pfn: 0,
    pid: 0,
    cpuId: 0,
    nameId: 0,
    kind: 0,
    hasPage: false,
    rare: false,
  };
}

export class PerfettoScan {
  /** Where the file's chunks may be read (bundles there are decoded in place). */
  readonly input: Uint8Array;
  readonly records: Float64Array;
  readonly comms: Uint8Array;
  readonly memory: ArrayBuffer;
  private readonly x: ScanExports;
  private readonly scratch: Uint8Array;
  private readonly scratchAt: number;
  private readonly tmp: Uint8Array;
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly cpuIds = new Map<number, number>();
  /** CPU numbers by id. */
  readonly cpus: number[] = [];

  /**
   * A module with a window of `window` events, reading generic events of the `kinds` (name
   * bytes, kind) and the generic fields `fields` (their code: the index), and leaving to
   * JavaScript the events the reader picks out as other events (`mm`: their names; the cma
   * kinds among them, `mmKinds`).
   */
  constructor(
    window: number,
    kinds: readonly [Uint8Array, number][],
    fields: readonly Uint8Array[],
    mm: readonly Uint8Array[] = [],
    mmKinds: readonly number[] = [],
    /** Memory for the queues' rows (used up: the window goes to JavaScript, takeHeld()). */
    arenaBytes = 16 << 20,
  ) {
    this.x = new WebAssembly.Instance(scanModule()).exports as unknown as ScanExports;
    const x = this.x;
    if (x.init(INPUT_BYTES, SCRATCH_BYTES, window, OUT_MAX, arenaBytes) !== 0)
      throw new Error('Perfetto scanner: no memory');
    // the memory never grows after init: these views stay valid
    const buf = x.memory.buffer;
    this.memory = buf;
    this.input = new Uint8Array(buf, x.inAt(), INPUT_BYTES);
    this.scratchAt = x.scratchAt();
    this.scratch = new Uint8Array(buf, this.scratchAt, SCRATCH_BYTES);
    this.tmp = new Uint8Array(buf, x.tmpAt(), 4096);
    this.records = new Float64Array(buf, x.recordsAt(), OUT_MAX * F);
    this.comms = new Uint8Array(buf, x.commsAt(), OUT_MAX * COMM_BYTES);
    this.f64 = new Float64Array(buf);
    this.u8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    for (const [bytes, kind] of kinds) if (this.toTmp(bytes)) x.addKind(bytes.length, kind);
    fields.forEach((bytes, code) => {
      if (this.toTmp(bytes)) x.addField(bytes.length, code);
    });
    for (const bytes of mm) {
      if (this.toTmp(bytes)) x.addMmName(bytes.length);
      else x.addMmName(1 << 30);
    }
    x.setMmKinds(mmKinds.reduce((m, k) => m | (1 << k), 0));
    this.addName(new Uint8Array(0), 0);
    this.setCommOf(-1, '<...>');
    this.setCommOf(-2, '<idle>');
  }

  private toTmp(bytes: Uint8Array): boolean {
    if (bytes.length > this.tmp.length) return false;
    this.tmp.set(bytes);
    return true;
  }

  /** The id of a CPU number (ids are given in order from 0). */
  cpuId(cpu: number): number {
    let id = this.cpuIds.get(cpu);
    if (id === undefined) {
      id = this.cpus.length;
      this.cpus.push(cpu);
      this.cpuIds.set(cpu, id);
      if (id < SCAN_CPUS) this.x.setCpu(id, cpu);
    }
    return id;
  }

  /** Area name `id` has these bytes. */
  addName(bytes: Uint8Array, id: number): void {
    if (this.toTmp(bytes)) this.x.addName(bytes.length, id);
  }

  /** The task name of pid (-1: of pids without one; -2: of pid 0). */
  setCommOf(pid: number, comm: string): void {
    if (pid >= 2 ** 31 || !Number.isInteger(pid)) return;
    const bytes = enc.encode(comm);
    const w = commCell(bytes);
    this.x.setComm(pid, bytes.length, w[0]!, w[1]!, w[2]!, w[3]!);
  }

  /**
   * The bytes [s, e) of b where the module reads them: their address (of b[0]), or -1 when
   * they do not fit its scratch region.
   */
  place(b: Uint8Array, s: number, e: number): number {
    if (b.buffer === this.memory) return b.byteOffset;
    if (e - s > this.scratch.length) return -1;
    this.scratch.set(b.subarray(s, e));
    return this.scratchAt - s;
  }

  /** Decodes the bundle's fields at [s, e) of CPU cpuId: 0 done, 1 deliver and go on from pos, 2 the field at pos is JavaScript's. */
  bundle(s: number, e: number, cpuId: number): number {
    return this.x.bundle(s, e, cpuId % SCAN_QUEUES, cpuId);
  }
  get pos(): number {
    return this.x.pos();
  }
  push(
    ts: number,
    pid: number,
    kind: number,
    count: number,
    align: number,
    pfn: number,
    hasPage: boolean,
    nameId: number,
    cpuId: number,
    rare: boolean,
  ): number {
    return this.x.push(
      ts,
      pid,
      kind,
      count,
      align,
      pfn,
      hasPage ? 1 : 0,
      nameId,
      cpuId,
      cpuId % SCAN_QUEUES,
      rare ? 1 : 0,
    );
  }
  /** The time of the last event out so far (-Infinity: none). */
  get lastTime(): number {
    return this.x.lastTime();
  }
  /** The seq the next event gets. */
  get nextSeq(): number {
    return this.x.nextSeq();
  }
  /**
   * Empties the window (when push() found no room; there are no events out): calls `each` with
   * every held event, queue by queue in their order.
   */
  takeHeld(each: (r: ScanRow) => void): void {
    const n = this.x.takeHeld();
    const r = emptyScanRow();
    for (let i = 0; i < n; i++) {
      this.read(this.x.outRow(i), r);
      each(r);
    }
  }
  drain(): void {
    this.x.drain();
  }
  get held(): number {
    return this.x.heldEvents();
  }
  /** The next event out: -1 none, -2 one JavaScript writes (headRow()), else its name id. */
  peek(): number {
    return this.x.peek();
  }
  /**
   * Hands out up to `room` events from the head of the ring out as batch records of name id
   * `bid` with lines from line0 + 1 (records(k) and comms(k) are theirs); returns how many.
   */
  deliver(room: number, bid: number, line0: number): number {
    return this.x.deliver(room, bid, line0);
  }
  /** The `k` records the last deliver() handed out (F numbers each). */
  deliveredRecords(k: number): Float64Array {
    const at = this.x.deliveredAt() * F;
    return this.records.subarray(at, at + k * F);
  }
  /** Their task-name cells (COMM_BYTES each). */
  deliveredComms(k: number): Uint8Array {
    const at = this.x.deliveredAt() * COMM_BYTES;
    return this.comms.subarray(at, at + k * COMM_BYTES);
  }
  /** The next event out (peek() -2), taken out. */
  takeHead(out: ScanRow): void {
    this.read(this.x.headRow(), out);
    this.x.dropHead();
  }
  /** The row at address a (perfetto-scan.ts ROW). */
  private read(a: number, out: ScanRow): void {
    const f = this.f64;
    const o = a >> 3;
    out.ts = f[o]!;
    out.seq = f[o + 1]!;
    out.count = f[o + 2]!;
    out.align = f[o + 3]!;
    out.pfn = f[o + 4]!;
    out.pid = f[o + 5]!;
    out.nameId = this.i32[(a + 48) >> 2]!;
    out.cpuId = this.i32[(a + 52) >> 2]!;
    out.kind = this.u8[a + 56]!;
    out.hasPage = this.u8[a + 57] === 1;
    out.rare = this.u8[a + 58] === 1;
  }
  get ftraceEvents(): number {
    return this.x.ftraceEvents();
  }
  get events(): number {
    return this.x.events();
  }
  get lostBundles(): number {
    return this.x.lostBundles();
  }
  get lateEvents(): number {
    return this.x.lateEvents();
  }
}
