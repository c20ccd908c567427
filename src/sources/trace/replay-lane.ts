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
//   3. the engine takes the counts and the area's numbers back from `st`, applies the table
//      operations (`ops`: successful finishes and releases, in order) to the allocation table,
//      and replays the row it stopped at with event() — after moving the calls that row may
//      read (its pid's; every call for a start with an extra, whose 7.x counters look at all of
//      them) from the lane to its own table; then marks the row's pid as held by the TypeScript
//      side when it still has a call there (the lane stops at that pid's rows until it has none).
//
// The lane keeps the calls in flight of pids below 65536 (count, alignment, bits, mask, the
// placement held, start time, busy retries, last busy pfn); everything else stays where it was.

import { IndexedBitmap } from '../../core/indexed-bitmap.ts';
import { REPLAY_LANE_WASM_BASE64 } from '../../core/wasm/replay-lane-wasm.ts';
import type { AreaState } from './replay-area.ts';

/** The wasm side's exports (assembly/replay-lane.ts). */
interface LaneExports {
  readonly memory: WebAssembly.Memory;
  init(base: number, count: number, rangeCount: number, opb: number, maxno: number, table: number): void;
  rowsAt(): number;
  opsAt(): number;
  pendAt(): number;
  listAt(): number;
  stAt(): number;
  mark(pid: number, state: number): void;
  run(from: number, n: number, nameId: number): number;
}

/** Rows the lane's memory holds (a batch is cut into runs of at most this many). */
export const LANE_ROWS = 8192;
/** Numbers per table operation in `ops`. */
export const OPW = 10;
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
export const ST_OPS = 10;
const ST_LIST = 11;

let laneModule: WebAssembly.Module | undefined;

function module(): WebAssembly.Module {
  if (laneModule === undefined) {
    const bin = atob(REPLAY_LANE_WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    laneModule = new WebAssembly.Module(bytes);
  }
  return laneModule;
}

/** A pid the lane can hold a call of. */
export function lanePid(pid: number): boolean {
  return pid >= 0 && pid < PIDS && Number.isInteger(pid);
}

export class WasmLane {
  private readonly x: LaneExports;
  /** The rows of the current run (F numbers each). */
  readonly rows: Float64Array;
  readonly ops: Float64Array;
  readonly st: Float64Array;
  private readonly pf: Float64Array;
  private readonly pi: Int32Array;
  private readonly list: Int32Array;

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
    const buf = this.x.memory.buffer;
    this.rows = new Float64Array(buf, this.x.rowsAt(), LANE_ROWS * 12);
    this.ops = new Float64Array(buf, this.x.opsAt(), LANE_ROWS * OPW);
    this.st = new Float64Array(buf, this.x.stAt(), 16);
    this.pf = new Float64Array(buf, this.x.pendAt(), PIDS * REC_F64);
    this.pi = new Int32Array(buf, this.x.pendAt(), PIDS * REC_I32);
    this.list = new Int32Array(buf, this.x.listAt(), PIDS);
  }

  /** Before the runs of a batch: the index's summary policy up to date. */
  prepare(): void {
    this.index.wasmIndex();
  }

  /** Replays rows [from, n) of `rows` up to the first it does not take; returns that row's index. */
  run(from: number, n: number, nameId: number): number {
    return this.x.run(from, n, nameId);
  }

  /** 1: the lane holds a call of the pid; 2: the TypeScript side does; 0: none. */
  state(pid: number): number {
    return this.pi[pid * REC_I32 + 11]!;
  }

  /** Sets a pid's state to 0 or 2 (a call the lane holds is dropped from it). */
  mark(pid: number, state: 0 | 2): void {
    this.x.mark(pid, state);
  }

  /** The pids whose calls the lane holds. */
  held(): number[] {
    return Array.from(this.list.subarray(0, this.st[ST_LIST]!));
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
