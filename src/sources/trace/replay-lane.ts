// The replay engine's fast lane in WebAssembly: assembly/replay-lane.ts (AssemblyScript, our own
// code, built by scripts/build-wasm.mjs) replays the common rows of a parse batch on one
// one-range area, calling that area's index (the IndexedBitmap's wasm instance) through imports,
// so a row costs no call out of wasm; this class is its TypeScript face. The engine
// (TraceReplayer.rows) drives it:
//
//   1. copies the batch's rows into the lane's memory (`rows`), and the area's used bits, peak
//      and available_count into `st`;
//   2. run(from, n, nameId) replays rows up to the first one it does not take (a row with an
//      extra, of another area, or of a pid whose call the TypeScript side holds; a start with a
//      call in flight, a finish or busy retry that does not match the call or our placement, a
//      failed finish, a release outside the area, …: every row event() would not take silently)
//      and returns its index;
//   3. the engine takes the counts and the area's numbers back from `st`, and replays the row it
//      stopped at with event() — after moving the calls that row may read (its pid's; every call
//      for a start with an extra, whose 7.x counters look at all of them) from the lane to its
//      own table; then marks the row's pid as held by the TypeScript side when it still has a
//      call there (the lane stops at that pid's rows until it has none).
//
// The lane keeps the calls in flight of pids below 65536 (count, alignment, bits, mask, the
// placement held, start time, busy retries, last busy pfn), and the area's allocation table:
// LaneTable is the area's table from the lane's start on (its rows and pfn index in the lane's
// memory, laid out as LiveTable's; what the lane cannot keep — counts of 2^53 pages or more, task
// names over 16 bytes, pfns that are not whole numbers — kept here, and the lane leaves rows that
// touch them to the TypeScript side), and the latencies it counts itself go into the area's
// counts when the lane ends. The lane's memory grows (the table's regions move up): every view
// is made anew when its buffer changed.

import { IndexedBitmap } from '../../core/indexed-bitmap.ts';
import { REPLAY_LANE_WASM_BASE64 } from '../../core/wasm/replay-lane-wasm.ts';
import { lazyWasmModule } from '../../core/wasm-module.ts';
import { ROW, RowTable } from './live-table.ts';
import type { AreaState } from './replay-area.ts';
import type { AllocationRecord } from './replay-types.ts';

/** The wasm side's exports (assembly/replay-lane.ts). */
interface LaneExports {
  readonly memory: WebAssembly.Memory;
  init(base: number, count: number, rangeCount: number, opb: number, maxno: number, table: number): void;
  rowsAt(): number;
  commAt(): number;
  histAt(): number;
  pendAt(): number;
  listAt(): number;
  stAt(): number;
  failEvAt(): number;
  mark(pid: number, state: number): void;
  run(from: number, n: number, nameId: number): number;
  tAlloc(): number;
  tFree(slot: number): void;
  tRowsAt(): number;
  tFlagAt(): number;
  tCapNow(): number;
  hashAt(): number;
  hashCells(): number;
  hashSize(): number;
  tPut(pfn: number, slot: number): number;
  tTake(pfn: number): number;
}

/** Rows the lane's memory holds (a batch is cut into runs of at most this many). */
export const LANE_ROWS = 8192;
const PIDS = 65536;
/** A call's record: 48 bytes, 6 f64 or 12 i32. */
const REC_F64 = 6;
const REC_I32 = 12;

// `st` (see assembly/replay-lane.ts)
export const ST_USED = 0;
export const ST_PEAK = 1;
export const ST_AVAIL = 2;
export const ST_EVENTS = 3;
export const ST_STARTS = 4;
export const ST_OK = 5;
export const ST_RELEASES = 6;
export const ST_BUSY = 7;
export const ST_FREE_RELEASES = 8;
export const ST_LAST_PID = 9;
/** In: 1 when the lane may take failures of no space; out: ST_FRAG, ST_EXH and ST_BUSYFAIL (their classes). */
export const ST_FAILS = 10;
export const ST_FRAG = 13;
export const ST_EXH = 14;
/** Out: failures of no space after a busy retry (their class: busy). */
export const ST_BUSYFAIL = 16;
/** In: failures' event numbers the report still lists; out: how many the run wrote (failEvents). */
export const ST_ROOM = 15;
const ST_LIST = 11;
const ST_HIST = 12;

const module = lazyWasmModule(REPLAY_LANE_WASM_BASE64);

/** A pid the lane can hold a call of. */
export function lanePid(pid: number): boolean {
  return pid >= 0 && pid < PIDS && Number.isInteger(pid);
}

export class WasmLane {
  private readonly x: LaneExports;
  /** The area's allocation table (null: the replay builds none). */
  readonly table: LaneTable | null;
  private buf: ArrayBuffer | null = null;
  private rowsV = new Float64Array(0);
  private commV = new Int32Array(0);
  private stV = new Float64Array(0);
  private failEvV = new Int32Array(0);
  private histV = new Uint32Array(0);
  private pf = new Float64Array(0);
  private pi = new Int32Array(0);
  private list = new Int32Array(0);

  /** The lane of an area, or null when it has none (several ranges, no wasm index). */
  static of(a: AreaState, table: boolean): WasmLane | null {
    if (a.multi || a.maxno < 1) return null;
    const bm = a.ranges[0]!.bitmap;
    return bm instanceof IndexedBitmap ? new WasmLane(a, bm, table) : null;
  }

  private constructor(
    a: AreaState,
    private readonly index: IndexedBitmap,
    table: boolean,
  ) {
    const r = a.ranges[0]!;
    this.x = new WebAssembly.Instance(module(), { index: index.wasmIndex() })
      .exports as unknown as LaneExports;
    this.x.init(r.base, a.spec.count, r.count, a.opb, r.maxno, table ? 1 : 0);
    this.table = table ? new LaneTable(this.x, a.spec.name) : null;
  }

  /** The views, made anew when the memory grew. */
  private views(): void {
    const buf = this.x.memory.buffer;
    if (buf === this.buf) return;
    this.buf = buf;
    const x = this.x;
    this.rowsV = new Float64Array(buf, x.rowsAt(), LANE_ROWS * 12);
    this.commV = new Int32Array(buf, x.commAt(), LANE_ROWS * 4);
    this.stV = new Float64Array(buf, x.stAt(), 24);
    this.failEvV = new Int32Array(buf, x.failEvAt(), LANE_ROWS);
    this.histV = new Uint32Array(buf, x.histAt(), 65536);
    this.pf = new Float64Array(buf, x.pendAt(), PIDS * REC_F64);
    this.pi = new Int32Array(buf, x.pendAt(), PIDS * REC_I32);
    this.list = new Int32Array(buf, x.listAt(), PIDS);
  }

  /** The event numbers (within its run, 1-based) of the first `n` failures a run took. */
  failEvents(n: number): Int32Array {
    this.views();
    return this.failEvV.subarray(0, n);
  }

  /** `st` (see the ST_ constants). */
  get st(): Float64Array {
    this.views();
    return this.stV;
  }

  /** Before the runs of a batch: the index's summary policy up to date. */
  prepare(): void {
    this.index.wasmIndex();
  }

  /** Loads rows [from, from + n) of a batch (F numbers each) and their comm cells (4 int32 each). */
  load(f: Float64Array, comm: Int32Array, from: number, n: number): void {
    this.views();
    this.rowsV.set(f.subarray(from * 12, (from + n) * 12));
    this.commV.set(comm.subarray(from * 4, (from + n) * 4));
  }

  /** Replays loaded rows [from, n) up to the first it does not take; returns that row's index. */
  run(from: number, n: number, nameId: number): number {
    return this.x.run(from, n, nameId);
  }

  /** The latencies the lane counted (by whole µs) and how many. */
  latencies(): { counts: Uint32Array; n: number } {
    this.views();
    return { counts: this.histV, n: this.stV[ST_HIST]! };
  }

  /** 1: the lane holds a call of the pid; 2: the TypeScript side does; 0: none. */
  state(pid: number): number {
    this.views();
    return this.pi[pid * REC_I32 + 11]!;
  }

  /** Sets a pid's state to 0 or 2 (a call the lane holds is dropped from it). */
  mark(pid: number, state: 0 | 2): void {
    this.x.mark(pid, state);
  }

  /** The pids whose calls the lane holds. */
  held(): number[] {
    this.views();
    return Array.from(this.list.subarray(0, this.stV[ST_LIST]!));
  }

  /** The call the lane holds for a pid. */
  call(pid: number): {
    count: number;
    startTs: number;
    lastBusyPfn: number;
    align: number;
    bits: number;
    held: number;
    busy: number;
  } {
    this.views();
    const f = pid * REC_F64;
    const i = pid * REC_I32;
    return {
      count: this.pf[f]!,
      startTs: this.pf[f + 1]!,
      lastBusyPfn: this.pf[f + 2]!,
      align: this.pi[i + 6]!,
      bits: this.pi[i + 7]!,
      held: this.pi[i + 9]!,
      busy: this.pi[i + 10]!,
    };
  }
}

/** Whole numbers 0 ≤ k < 2^53 go in the lane's pfn index; anything else (never a real pfn) in a Map. */
function inIndex(k: number): boolean {
  return k >= 0 && k <= Number.MAX_SAFE_INTEGER && Math.floor(k) === k;
}

/**
 * The allocation table in the lane's memory (a RowTable, as LiveTable keeps it): the rows and
 * their pfn index are the lane's; the counts of 2^53 pages or more and task names over 16 bytes
 * are here (their rows flagged: the lane leaves them alone), and pfns that are not whole numbers
 * are indexed here.
 */
export class LaneTable extends RowTable {
  private buf: ArrayBuffer | null = null;
  private rowsAt = -1;
  private flags = new Uint8Array(0);
  private readonly other = new Map<number, number>();

  constructor(
    private readonly x: LaneExports,
    area: string,
  ) {
    super(area);
  }

  /** The views of the rows, made anew when the memory grew or the rows moved. */
  protected rows(): Float64Array {
    const buf = this.x.memory.buffer;
    const at = this.x.tRowsAt();
    if (buf !== this.buf || at !== this.rowsAt) {
      this.buf = buf;
      this.rowsAt = at;
      const cap = this.x.tCapNow();
      this.f = new Float64Array(buf, at, ROW * cap);
      this.bytes = new Uint8Array(buf, at, 8 * ROW * cap);
      this.view = new DataView(buf, at, 8 * ROW * cap);
      this.i32 = new Int32Array(buf, at, 2 * ROW * cap);
      this.flags = new Uint8Array(buf, this.x.tFlagAt(), cap);
    }
    return this.f;
  }

  get size(): number {
    return this.x.hashSize() + this.other.size;
  }

  protected newSlot(): number {
    return this.x.tAlloc();
  }

  protected freeSlot(slot: number): void {
    this.x.tFree(slot);
  }

  protected override mark(slot: number, kept: boolean): void {
    this.flags[slot] = kept ? 1 : 0;
  }

  protected index(pfn: number, slot: number): number {
    if (inIndex(pfn)) return this.x.tPut(pfn, slot);
    const old = this.other.get(pfn) ?? -1;
    this.other.set(pfn, slot);
    return old;
  }

  take(pfn: number): number {
    if (inIndex(pfn)) return this.x.tTake(pfn);
    const old = this.other.get(pfn) ?? -1;
    this.other.delete(pfn);
    return old;
  }

  records(): AllocationRecord[] {
    const cells = new Float64Array(this.x.memory.buffer, this.x.hashAt(), 2 * this.x.hashCells());
    const slots: number[] = [];
    for (let i = 1; i < cells.length; i += 2) if (cells[i] !== -1) slots.push(cells[i]!);
    for (const v of this.other.values()) slots.push(v);
    return slots.map((s) => this.record(s, null));
  }
}
