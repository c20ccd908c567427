// The allocation table's open rows of one replayed area.

import type { TraceEvent } from './events.ts';
import { CommCache } from './events.ts';
import { PfnSlots } from './pfn-slots.ts';
import type { AllocationRecord } from './replay-types.ts';

/**
 * The live allocations of an area (the allocation table's open rows), by first pfn: typed
 * columns and a free list, no object per allocation (a 1M-event trace makes 330k of them, and
 * objects that live for thousands of events are what the garbage collector pays for). Rows
 * become AllocationRecord objects only when they are handed out (onAllocation, the end).
 */
export class LiveTable {
  private readonly slotOf = new PfnSlots();
  private cap = 0;
  pfn = new Float64Array(0);
  pages = new Float64Array(0);
  private pid = new Float64Array(0);
  private startTs = new Float64Array(0);
  private finishTs = new Float64Array(0);
  private busy = new Float64Array(0);
  private line = new Float64Array(0);
  /**
   * Task names as the reader's bytes, right-aligned in 16 bytes per slot (commLen of them), or
   * (commLen -1) as text in longTask: decoded only for the rows handed out.
   */
  private comm = new Uint8Array(0);
  private commView = new DataView(this.comm.buffer);
  private commLen = new Int8Array(0);
  private readonly longTask = new Map<number, string>();
  private readonly names = new CommCache();
  /** Counts of 2^53 pages or more (exact), by slot. */
  private readonly big = new Map<number, bigint>();
  private readonly freeSlots: number[] = [];
  private used = 0;

  constructor(private readonly area: string) {}

  /** The slot of the row starting at pfn, or -1. */
  at(pfn: number): number {
    return this.slotOf.get(pfn);
  }

  isBig(slot: number): boolean {
    return this.big.size > 0 && this.big.has(slot);
  }

  /** Adds the row of a finished allocation; returns the slot of the row it displaced (same pfn), or -1. */
  add(pfn: number, ev: TraceEvent, startTs: number, busy: number): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      if (this.used === this.cap) this.grow();
      s = this.used++;
    }
    this.pfn[s] = pfn;
    this.pages[s] = ev.count;
    if (ev.countBig !== null) this.big.set(s, ev.countBig);
    this.pid[s] = ev.pid;
    this.startTs[s] = startTs;
    this.finishTs[s] = ev.ts;
    this.busy[s] = busy;
    this.line[s] = ev.line;
    const n = ev.copyComm ? ev.copyComm(this.comm, this.commView, 16 * s) : -1;
    this.commLen[s] = n;
    if (n < 0) this.longTask.set(s, ev.comm());
    const old = this.slotOf.get(pfn);
    this.slotOf.set(pfn, s);
    // (free(old) leaves pfn mapped: it is this row's now)
    return old;
  }

  /** A partial release of the first `count` pages (a number-sized row). */
  shrinkFront(slot: number, count: number): void {
    const pfn = this.pfn[slot]!;
    if (this.slotOf.get(pfn) === slot) this.slotOf.delete(pfn);
    this.pfn[slot] = pfn + count;
    this.pages[slot] = this.pages[slot]! - count;
    this.slotOf.set(pfn + count, slot);
  }

  /** Drops a row. */
  free(slot: number): void {
    const pfn = this.pfn[slot]!;
    if (this.slotOf.get(pfn) === slot) this.slotOf.delete(pfn);
    this.big.delete(slot);
    if (this.commLen[slot]! < 0) this.longTask.delete(slot);
    this.freeSlots.push(slot);
  }

  /** A row as a record (releaseTs null while live). */
  record(slot: number, releaseTs: number | null): AllocationRecord {
    const startTs = this.startTs[slot]!;
    const finishTs = this.finishTs[slot]!;
    return {
      area: this.area,
      pfn: this.pfn[slot]!,
      pages: this.big.get(slot) ?? this.pages[slot]!,
      task: this.task(slot),
      pid: this.pid[slot]!,
      startTs,
      finishTs,
      latencyUs: finishTs - startTs,
      busyRetries: this.busy[slot]!,
      releaseTs,
      line: this.line[slot]!,
    };
  }

  /** A row's task name. */
  private task(slot: number): string {
    const n = this.commLen[slot]!;
    if (n < 0) return this.longTask.get(slot) ?? '';
    return this.names.text(this.pid[slot]!, this.comm, 16 * slot + 16 - n, n);
  }

  /** Every live row as a record. */
  records(): AllocationRecord[] {
    return this.slotOf.values().map((s) => this.record(s, null));
  }

  private grow(): void {
    const cap = Math.max(256, this.cap * 2);
    const more = (old: Float64Array): Float64Array<ArrayBuffer> => {
      const n = new Float64Array(cap);
      n.set(old);
      return n;
    };
    this.pfn = more(this.pfn);
    this.pages = more(this.pages);
    this.pid = more(this.pid);
    this.startTs = more(this.startTs);
    this.finishTs = more(this.finishTs);
    this.busy = more(this.busy);
    this.line = more(this.line);
    const comm = new Uint8Array(16 * cap);
    comm.set(this.comm);
    this.comm = comm;
    this.commView = new DataView(comm.buffer);
    const len = new Int8Array(cap);
    len.set(this.commLen);
    this.commLen = len;
    this.cap = cap;
  }
}
