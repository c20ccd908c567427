// The workload of a trace as plan sizes it: per area, the request/release sequence the kernel
// saw, in trace order, read once into typed arrays (parse once, replay many: every candidate size
// and order_per_bit runs over the same arrays).

import type { TraceEvent } from '../sources/trace/events.ts';
import { EV_ALLOC, EV_FINISH, EV_RELEASE, EV_START } from '../sources/trace/events.ts';
import { TraceLineParser } from '../sources/trace/parse.ts';
import { PfnSlots } from '../sources/trace/pfn-slots.ts';

/** How requests that failed in the recording are treated. */
export type FailedPolicy = 'transient' | 'hold' | 'skip';

const OP_NONE = 0;
export const OP_ALLOC = 1;
const OP_RELEASE = 2;

/** The request/release sequence of one area, in trace order (requests at their start event). */
export interface WorkloadSequence {
  readonly name: string;
  /** Ops in the sequence (the length of every array below). */
  length: number;
  /** OP_ALLOC (1), OP_RELEASE (2) or 0 (dropped). */
  kind: Uint8Array;
  /** Alloc: pages requested; release: pages released. */
  pages: Float64Array;
  /** Alloc: alignment order; release: offset in pages from the allocation's first pfn. */
  arg: Float64Array;
  /** Alloc: its id; release: the id of the allocation released. */
  id: Int32Array;
  /** Alloc: 1 when also released right away (a request that failed in the recording, 'transient'). */
  transient: Uint8Array;
  /** Trace line of each op. */
  line: Float64Array;
  allocs: number;
  releases: number;
  failedInTrace: number;
  /** Releases whose allocation is not in the trace (allocated before recording started). */
  unknownReleases: number;
  /** Alloc ops whose count is 2^53 or more: the exact u64 count (pages holds MAX_SAFE_INTEGER). */
  bigCounts: Map<number, bigint>;
  /** Alloc ops that failed in the recording (whatever the policy did with them). */
  failedOps: Set<number>;
}

/** A request set aside: larger than the whole area, no size of this area could satisfy it. */
export interface SetAsideRequest {
  line: number;
  /** Pages requested (a bigint, exact, for a u64 count of 2^53 or more). */
  pages: number | bigint;
  align: number;
  /** What the kernel did with it: 'failed', or 'succeeded' (e.g. a count that wraps to 0 bits). */
  recorded: 'failed' | 'succeeded';
}

/**
 * A typed array of `n` elements in shared memory: a sequence's arrays are posted to plan's helper
 * thread as they are (plan-parallel.ts), not copied there (each copy of gpu-1g's ~20 MB of ops
 * was ~5000 fresh pages).
 */
function sharedArray<T>(make: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number): T {
  return new make(new SharedArrayBuffer(n * make.BYTES_PER_ELEMENT));
}

/** `a`'s elements at the start of a new array of `n` (≥ a.length) in shared memory, the rest zero. */
export function sharedCopy<T extends Uint8Array | Int32Array | Float64Array>(a: T, n: number = a.length): T {
  const b = sharedArray(a.constructor as { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n);
  b.set(a);
  return b;
}

/**
 * A sequence being read: the arrays grow 4× at a time. Each growth leaves its old arrays behind,
 * fresh pages written once: for gpu-1g's 665k ops 1.6× the final arrays' size when they doubled,
 * 0.5× now (page faults of its plan 33.4k → 28.3k).
 */
class SequenceBuilder implements WorkloadSequence {
  length = 0;
  kind = sharedArray(Uint8Array, 256);
  pages = sharedArray(Float64Array, 256);
  arg = sharedArray(Float64Array, 256);
  id = sharedArray(Int32Array, 256);
  transient = sharedArray(Uint8Array, 256);
  line = sharedArray(Float64Array, 256);
  allocs = 0;
  releases = 0;
  failedInTrace = 0;
  unknownReleases = 0;
  bigCounts = new Map<number, bigint>();
  failedOps = new Set<number>();
  /** Live allocations of this area by pfn: a slot in the three arrays below. */
  readonly live = new PfnSlots();
  liveId = new Int32Array(64);
  liveFirst = new Float64Array(64);
  livePages = new Float64Array(64);
  private freeSlots: number[] = [];
  private slots = 0;

  constructor(readonly name: string) {}

  /** Appends an op; returns its index. */
  push(kind: number, pages: number, arg: number, id: number, line: number): number {
    const i = this.length;
    if (i === this.kind.length) this.grow();
    this.kind[i] = kind;
    this.pages[i] = pages;
    this.arg[i] = arg;
    this.id[i] = id;
    this.line[i] = line;
    this.length = i + 1;
    return i;
  }

  private grow(): void {
    const n = this.kind.length * 4;
    this.kind = sharedCopy(this.kind, n);
    this.pages = sharedCopy(this.pages, n);
    this.arg = sharedCopy(this.arg, n);
    this.id = sharedCopy(this.id, n);
    this.transient = sharedCopy(this.transient, n);
    this.line = sharedCopy(this.line, n);
  }

  /** Records allocation `id` as live at `pfn` for `pages` pages from `first`. */
  place(pfn: number, id: number, first: number, pages: number): void {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.slots++;
      if (s === this.liveId.length) {
        const n = s * 2;
        const id2 = new Int32Array(n);
        id2.set(this.liveId);
        this.liveId = id2;
        const f2 = new Float64Array(n);
        f2.set(this.liveFirst);
        this.liveFirst = f2;
        const p2 = new Float64Array(n);
        p2.set(this.livePages);
        this.livePages = p2;
      }
    }
    this.liveId[s] = id;
    this.liveFirst[s] = first;
    this.livePages[s] = pages;
    const old = this.live.get(pfn);
    if (old >= 0) this.freeSlots.push(old);
    this.live.set(pfn, s);
  }

  /** Forgets the live allocation at `pfn` (its slot is reused). */
  unplace(pfn: number, slot: number): void {
    this.live.delete(pfn);
    this.freeSlots.push(slot);
  }

  /**
   * The sequence with its arrays cut to length: views of the builder's (in shared memory), not
   * copies; the builder is not used after (its live table is dropped).
   */
  done(): WorkloadSequence {
    const n = this.length;
    return {
      name: this.name,
      length: n,
      kind: this.kind.subarray(0, n),
      pages: this.pages.subarray(0, n),
      arg: this.arg.subarray(0, n),
      id: this.id.subarray(0, n),
      transient: this.transient.subarray(0, n),
      line: this.line.subarray(0, n),
      allocs: this.allocs,
      releases: this.releases,
      failedInTrace: this.failedInTrace,
      unknownReleases: this.unknownReleases,
      bigCounts: this.bigCounts,
      failedOps: this.failedOps,
    };
  }
}

/** An empty sequence (an area the trace has no event of). */
export function emptySequence(name: string): WorkloadSequence {
  return new SequenceBuilder(name).done();
}

/**
 * Reads the kernel's request/release sequence per area name: a request is placed at its
 * cma_alloc_start (as the kernel searches there), a release refers to the request the kernel
 * had put at that pfn.
 */
export function sequenceCollector(failed: FailedPolicy): {
  onEvent: (ev: TraceEvent) => void;
  finish: () => Map<string, WorkloadSequence>;
} {
  const seqs = new Map<string, SequenceBuilder>();
  /** Requests started and not finished: pid → a slot of pendSeq/pendOp (the builder and the op). */
  let pending = new PfnSlots();
  const pendSeq: (SequenceBuilder | null)[] = [];
  const pendOp: number[] = [];
  const pendFree: number[] = [];
  let lastName: string | null = null;
  let last: SequenceBuilder | null = null;
  const seqOf = (name: string): SequenceBuilder => {
    if (name === lastName) return last!;
    const key = name === '' ? 'cma' : name;
    let s = seqs.get(key);
    if (!s) {
      s = new SequenceBuilder(key);
      seqs.set(key, s);
    }
    lastName = name;
    last = s;
    return s;
  };
  const failOp = (seq: SequenceBuilder, op: number): void => {
    seq.failedInTrace++;
    seq.failedOps.add(op);
    if (failed === 'skip') seq.kind[op] = OP_NONE;
    else if (failed === 'transient') seq.transient[op] = 1;
  };
  const pushAlloc = (seq: SequenceBuilder, ev: TraceEvent): number => {
    const big = ev.countBig !== null;
    const op = seq.push(
      OP_ALLOC,
      big ? Number.MAX_SAFE_INTEGER : ev.count,
      Math.max(ev.align, 0),
      seq.allocs++,
      ev.line,
    );
    if (big) seq.bigCounts.set(op, ev.countBig!);
    return op;
  };
  const onEvent = (ev: TraceEvent): void => {
    const kind = ev.kind;
    if (kind === EV_START) {
      const seq = seqOf(ev.name);
      const op = pushAlloc(seq, ev);
      const old = pending.get(ev.pid);
      if (old >= 0) {
        failOp(pendSeq[old]!, pendOp[old]!); // 6.1 oversize: a start without finish
        pendSeq[old] = seq;
        pendOp[old] = op;
      } else {
        const k = pendFree.pop() ?? pendSeq.length;
        pendSeq[k] = seq;
        pendOp[k] = op;
        pending.set(ev.pid, k);
      }
    } else if (kind === EV_FINISH) {
      const k = pending.get(ev.pid);
      if (k < 0) return;
      const seq = pendSeq[k]!;
      const op = pendOp[k]!;
      pending.delete(ev.pid);
      pendSeq[k] = null;
      pendFree.push(k);
      if (ev.hasPage) seq.place(ev.pfn, seq.id[op]!, ev.pfn, ev.count);
      else failOp(seq, op);
    } else if (kind === EV_ALLOC) {
      const seq = seqOf(ev.name);
      const op = pushAlloc(seq, ev);
      if (ev.hasPage) seq.place(ev.pfn, seq.id[op]!, ev.pfn, ev.count);
      else failOp(seq, op);
    } else if (kind === EV_RELEASE) {
      const seq = seqOf(ev.name);
      const slot = seq.live.get(ev.pfn);
      if (slot < 0) {
        seq.unknownReleases++;
        return;
      }
      const id = seq.liveId[slot]!;
      const first = seq.liveFirst[slot]!;
      const pages = seq.livePages[slot]!;
      seq.unplace(ev.pfn, slot);
      seq.push(OP_RELEASE, ev.count, ev.pfn - first, id, ev.line);
      seq.releases++;
      if (ev.count < pages) seq.place(ev.pfn + ev.count, id, first, pages - ev.count);
    }
  };
  const finish = (): Map<string, WorkloadSequence> => {
    for (const k of pending.values()) failOp(pendSeq[k]!, pendOp[k]!);
    pending = new PfnSlots();
    const out = new Map<string, WorkloadSequence>();
    for (const [k, s] of seqs) out.set(k, s.done());
    return out;
  };
  return { onEvent, finish };
}

/**
 * Drops (OP_NONE) the requests larger than the area's `count` pages and returns them: no size
 * the plan could pick for this area would satisfy them (the kernel refuses them as well, or,
 * for a count that wraps around in cma_bitmap_pages_to_bits(), "succeeds" with no bits).
 */
export function setAsideOversize(seq: WorkloadSequence, count: number): SetAsideRequest[] {
  const out: SetAsideRequest[] = [];
  for (let i = 0; i < seq.length; i++) {
    if (seq.kind[i] === OP_RELEASE) continue;
    const big = seq.bigCounts.get(i);
    if (big === undefined && seq.pages[i]! <= count) continue;
    // (a request the 'skip' policy already dropped is listed too: it is still left out)
    if (seq.kind[i] === OP_NONE && !seq.failedOps.has(i)) continue;
    seq.kind[i] = OP_NONE;
    out.push({
      line: seq.line[i]!,
      pages: big ?? seq.pages[i]!,
      align: seq.arg[i]!,
      recorded: seq.failedOps.has(i) ? 'failed' : 'succeeded',
    });
  }
  return out;
}

/** Extracts the sequences of a trace (for tests and tools). */
export function sequencesFromText(
  text: string | Uint8Array,
  failed: FailedPolicy = 'transient',
): Map<string, WorkloadSequence> {
  const col = sequenceCollector(failed);
  const parser = new TraceLineParser(col.onEvent);
  parser.feed(typeof text === 'string' ? new TextEncoder().encode(text) : text);
  parser.end();
  return col.finish();
}
