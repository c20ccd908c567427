// The allocation table's open rows of one replayed area.

import type { TraceEvent } from './events.ts';
import { CommCache } from './events.ts';
import { PfnSlots } from './pfn-slots.ts';
import type { AllocationRecord } from './replay-types.ts';

/** A row's numbers (Float64 each), then its task name's 16 bytes: 80 bytes. */
const PFN = 0;
const PAGES = 1;
const PID = 2;
const START_TS = 3;
const FINISH_TS = 4;
const BUSY = 5;
const LINE = 6;
const COMM_LEN = 7;
/** Float64s per row (the last two hold the task name's bytes). */
export const ROW = 10;
const ROW_BYTES = 8 * ROW;
const COMM_AT = 8 * 8;

/**
 * An area's allocation table: its open rows by first pfn, in slots. The rows, wherever they are
 * kept (LiveTable: a Float64Array of its own;
 * the wasm lane's LaneTable: the lane's memory), and what is done with them: a row is ROW
 * float64s (PFN … COMM_LEN) and the task name's 16 bytes at COMM_AT, right-aligned. Counts of 2^53
 * pages or more and task names over 16 bytes are kept beside the rows, by slot.
 */
export abstract class RowTable {
  /** The rows (refreshed by rows()). */
  protected f = new Float64Array(0);
  /**
   * The rows as bytes: task names as the reader's bytes, right-aligned in the 16 bytes at COMM_AT
   * of each row (COMM_LEN of them), or (COMM_LEN -1) as text in longTask: decoded only for the
   * rows handed out.
   */
  protected bytes = new Uint8Array(0);
  protected view = new DataView(this.bytes.buffer);
  /** The rows as int32 words (addRow copies task names by word). */
  protected i32 = new Int32Array(0);
  private readonly longTask = new Map<number, string>();
  private readonly names = new CommCache();
  /** Counts of 2^53 pages or more (exact), by slot. */
  private readonly big = new Map<number, bigint>();

  constructor(private readonly area: string) {}

  /** Rows live (one a pfn). */
  abstract get size(): number;
  /** The slot of the row starting at pfn, no longer found by pfn (-1: none). */
  abstract take(pfn: number): number;
  /** Every live row as a record. */
  abstract records(): AllocationRecord[];
  /** f, bytes, view and i32 as they are now; returns f. */
  protected abstract rows(): Float64Array;
  /** A free slot (the rows may move: call rows() after it). */
  protected abstract newSlot(): number;
  protected abstract freeSlot(slot: number): void;
  /** pfn → slot; returns the pfn's previous slot or -1. */
  protected abstract index(pfn: number, slot: number): number;
  /** Marks a row that keeps something beside the rows (a big count, a long task name). */
  protected mark(_slot: number, _kept: boolean): void {}

  isBig(slot: number): boolean {
    return this.big.size > 0 && this.big.has(slot);
  }

  /** Pages of a row (number-sized rows; isBig ones hold their count in a bigint). */
  pages(slot: number): number {
    return this.rows()[ROW * slot + PAGES]!;
  }

  /** Adds the row of a finished allocation; returns the slot of the row it displaced (same pfn), or -1. */
  add(pfn: number, ev: TraceEvent, startTs: number, busy: number): number {
    const s = this.newSlot();
    const f = this.rows();
    const o = ROW * s;
    f[o + PFN] = pfn;
    f[o + PAGES] = ev.count;
    f[o + PID] = ev.pid;
    f[o + START_TS] = startTs;
    f[o + FINISH_TS] = ev.ts;
    f[o + BUSY] = busy;
    f[o + LINE] = ev.line;
    const n = ev.copyComm ? ev.copyComm(this.bytes, this.view, ROW_BYTES * s + COMM_AT) : -1;
    f[o + COMM_LEN] = n;
    if (ev.countBig !== null) this.big.set(s, ev.countBig);
    if (n < 0) this.longTask.set(s, ev.comm());
    this.mark(s, ev.countBig !== null || n < 0);
    // the caller drops the displaced row with dropRow (pfn is this row's now)
    return this.index(pfn, s);
  }

  /**
   * add() from a batch row's numbers (the replay's fast lane): a number-sized count, and the
   * task name's COMM_BYTES cell at int32 word `cell` of `comm` (commLen ≥ 0 bytes, right-aligned,
   * as copyComm copies it).
   */
  addRow(
    pfn: number,
    count: number,
    pid: number,
    startTs: number,
    ts: number,
    busy: number,
    line: number,
    comm: Int32Array,
    cell: number,
    commLen: number,
  ): number {
    const s = this.newSlot();
    const f = this.rows();
    const o = ROW * s;
    f[o + PFN] = pfn;
    f[o + PAGES] = count;
    f[o + PID] = pid;
    f[o + START_TS] = startTs;
    f[o + FINISH_TS] = ts;
    f[o + BUSY] = busy;
    f[o + LINE] = line;
    f[o + COMM_LEN] = commLen;
    const w = this.i32;
    const c = 2 * o + COMM_AT / 4;
    w[c] = comm[cell]!;
    w[c + 1] = comm[cell + 1]!;
    w[c + 2] = comm[cell + 2]!;
    w[c + 3] = comm[cell + 3]!;
    this.mark(s, false);
    return this.index(pfn, s);
  }

  /** A partial release of the first `count` pages of a row taken by take(pfn) (a number-sized row). */
  shrinkFront(slot: number, count: number): void {
    const f = this.rows();
    const o = ROW * slot;
    const pfn = f[o + PFN]!;
    f[o + PFN] = pfn + count;
    f[o + PAGES] = f[o + PAGES]! - count;
    this.index(pfn + count, slot);
  }

  /** Drops a row that is no longer found by its pfn (take, or displaced by add). */
  dropRow(slot: number): void {
    if (this.big.size > 0) this.big.delete(slot);
    if (this.rows()[ROW * slot + COMM_LEN]! < 0) this.longTask.delete(slot);
    this.freeSlot(slot);
  }

  /** A row as a record (releaseTs null while live). */
  record(slot: number, releaseTs: number | null): AllocationRecord {
    const f = this.rows();
    const o = ROW * slot;
    const startTs = f[o + START_TS]!;
    const finishTs = f[o + FINISH_TS]!;
    return {
      area: this.area,
      pfn: f[o + PFN]!,
      pages: this.big.get(slot) ?? f[o + PAGES]!,
      task: this.task(slot),
      pid: f[o + PID]!,
      startTs,
      finishTs,
      latencyUs: finishTs - startTs,
      busyRetries: f[o + BUSY]!,
      releaseTs,
      line: f[o + LINE]!,
    };
  }

  /** A row's task name. */
  private task(slot: number): string {
    const f = this.rows();
    const n = f[ROW * slot + COMM_LEN]!;
    if (n < 0) return this.longTask.get(slot) ?? '';
    return this.names.text(f[ROW * slot + PID]!, this.bytes, ROW_BYTES * slot + COMM_AT + 16 - n, n);
  }
}

/**
 * The live allocations of an area (the allocation table's open rows), by first pfn: rows in one
 * typed array and a free list, no object per allocation (a 1M-event trace makes 330k of them,
 * and objects that live for thousands of events are what the garbage collector pays for). A row
 * is 80 contiguous bytes, so adding one touches one or two cache lines (with a column per field
 * it was eight: on a 64 GiB area, whose 12 MiB index keeps evicting them, most were misses).
 * Rows become AllocationRecord objects only when they are handed out (onAllocation, the end).
 */
export class LiveTable extends RowTable {
  private readonly slotOf = new PfnSlots();
  private cap = 0;
  private readonly freeSlots: number[] = [];
  private used = 0;

  /** Rows live (one a pfn). */
  get size(): number {
    return this.slotOf.size;
  }

  protected rows(): Float64Array {
    return this.f;
  }

  protected newSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.used === this.cap) this.grow();
    return this.used++;
  }

  protected freeSlot(slot: number): void {
    this.freeSlots.push(slot);
  }

  protected index(pfn: number, slot: number): number {
    return this.slotOf.put(pfn, slot);
  }

  /** The slot of the row starting at pfn, no longer found by pfn (-1: none). */
  take(pfn: number): number {
    return this.slotOf.take(pfn);
  }

  /** Every live row as a record. */
  records(): AllocationRecord[] {
    return this.slotOf.values().map((s) => this.record(s, null));
  }

  private grow(): void {
    const cap = Math.max(256, this.cap * 2);
    const f = new Float64Array(ROW * cap);
    f.set(this.f);
    this.f = f;
    this.bytes = new Uint8Array(f.buffer);
    this.view = new DataView(f.buffer);
    this.i32 = new Int32Array(f.buffer);
    this.cap = cap;
  }
}
