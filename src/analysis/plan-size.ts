// The smallest area (in bitmap bits) on which a request/release sequence never fails under the
// kernel's first fit, for one order_per_bit, found in ONE replay.
//
// Why one replay is enough: bitmap_find_next_zero_area_off() on an area of N bits returns the
// lowest aligned index c with bits [c, c + nr) clear and c + nr <= N. On a larger area the lowest
// such index is the same whenever it fits in N, and when it does not, the N-bit area has none and
// the request fails. So, by induction over the sequence, an N-bit area places every request
// where an area "large enough" places it, up to the first request whose placement there ends past
// N, which fails. The smallest N that never fails is therefore the highest end of a placement in
// one replay on an area large enough to hold them all (and a size fails iff it is below it: the
// predicate is monotone, which is also what the binary search of planOrderPerBitBySearch needs).
// A request of 0 bits (a 0-page request, which 6.12 traces before refusing it) sets nothing but
// still fails where its aligned first clear bit is past the area: it needs that index plus one.
// The search answered the larger of that and its lower bound (the bits held at once), which it
// assumed to fail; so does planOrderPerBit.

import { longestZeroRun } from '../core/bitmap.ts';
import { cmaBitmapPagesToBits, RangeFirstFit } from '../core/cma.ts';
import type { CmaBitmapFactory } from '../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../core/indexed-bitmap.ts';
import { copyWords, type OnePass, SequencePasses } from './plan-pass.ts';
import type { WorkloadSequence } from './plan-sequence.ts';

// plan-sequence.ts's OP_ALLOC and OP_RELEASE, as module-local constants: the loops below run once
// per op and order_per_bit, and an imported binding costs a lookup there (tsx makes it a getter)
const OP_ALLOC = 1;
const OP_RELEASE = 2;

/** One order_per_bit choice. */
export interface PlanChoice {
  orderPerBit: number;
  /** The smallest size in bitmap bits (granules of 2^order_per_bit pages) that never fails. */
  bits: number;
  /** = bits << order_per_bit. */
  pages: number;
  bytes: number;
  /** Highest `used` (pages, bitmap-rounded) during the sequence at that size. */
  peakUsedPages: number;
  /** Free pages at the worst moment (pages - peakUsedPages). */
  headroomPages: number;
  /** Longest free run at the worst moment, pages. */
  maxchunkAtWorst: number;
  /** Trace line of the worst moment. */
  worstLine: number;
  /** Replays of the sequence run for this choice (a partial one counts as one). */
  replays: number;
}

/** A choice from its figures in bits (peak used, free and longest free run at the worst moment). */
function choiceOf(
  orderPerBit: number,
  bits: number,
  atWorst: { usedBits: number; freeBits: number; maxchunkBits: number; line: number },
  replays: number,
): PlanChoice {
  const unit = 2 ** orderPerBit;
  return {
    orderPerBit,
    bits,
    pages: bits * unit,
    bytes: bits * unit * 4096,
    peakUsedPages: atWorst.usedBits * unit,
    headroomPages: atWorst.freeBits * unit,
    maxchunkAtWorst: atWorst.maxchunkBits * unit,
    worstLine: atWorst.line,
    replays,
  };
}

/** Sizes are searched up to this many bits. */
const MAX_BITS = 2 ** 31;

/** Bitmap bits of an alloc op's request at `unit` pages per bit (a count of 2^53 or more: its u64 value). */
function allocBits(pages: number, unit: number, orderPerBit: number): number {
  return pages >= Number.MAX_SAFE_INTEGER
    ? Number(cmaBitmapPagesToBits(2n ** 64n - 1n, orderPerBit))
    : Math.floor((pages + unit - 1) / unit);
}

/** Outcome of one simulated run. */
export interface SimulationResult {
  /** Index of the first op that failed, or -1. */
  failedAt: number;
  peakUsedBits: number;
  /** Lowest free bits seen and the op where it happened. */
  minFreeBits: number;
  minFreeOp: number;
}

/**
 * Runs a sequence on an empty area of `maxno` bits (base `basePfn`, `orderPerBit`) with the
 * kernel's first fit. Stops at the first failure, or after op `stopAfter` (for inspection).
 */
export function simulateSequence(
  seq: WorkloadSequence,
  basePfn: number,
  orderPerBit: number,
  maxno: number,
  factory: CmaBitmapFactory = indexedBitmapFactory,
  stopAfter = Number.POSITIVE_INFINITY,
): SimulationResult & { bitmap: ReturnType<CmaBitmapFactory> } {
  const bitmap = factory(maxno);
  const fit = new RangeFirstFit([{ basePfn, bitmap }], orderPerBit);
  const unit = 2 ** orderPerBit;
  const placeBit = new Float64Array(seq.allocs).fill(-1);
  const placeBits = new Float64Array(seq.allocs);
  let used = 0;
  let peak = 0;
  let minFree = maxno;
  let minFreeOp = -1;
  const n = seq.length;
  for (let i = 0; i < n && i <= stopAfter; i++) {
    const k = seq.kind[i]!;
    if (k === OP_ALLOC) {
      const bits = allocBits(seq.pages[i]!, unit, orderPerBit);
      if (!fit.find(0, 0, bits, seq.arg[i]!))
        return { failedAt: i, peakUsedBits: peak, minFreeBits: minFree, minFreeOp, bitmap };
      const bit = fit.bit;
      if (bits > 0) bitmap.set(bit, bits);
      used += bits;
      if (used > peak) peak = used;
      if (maxno - used < minFree) {
        minFree = maxno - used;
        minFreeOp = i;
      }
      if (seq.transient[i] && i !== stopAfter) {
        // (kept set when inspecting the worst moment)
        if (bits > 0) bitmap.clear(bit, bits);
        used -= bits;
      } else {
        const id = seq.id[i]!;
        placeBit[id] = bit;
        placeBits[id] = bits;
      }
    } else if (k === OP_RELEASE) {
      const id = seq.id[i]!;
      const p = placeBit[id]!;
      if (p < 0) continue;
      const from = p + Math.floor(seq.arg[i]! / unit);
      const end = Math.min(p + placeBits[id]!, from + Math.floor((seq.pages[i]! + unit - 1) / unit));
      if (end > from) used -= bitmap.clear(from, end - from);
    }
  }
  return { failedAt: -1, peakUsedBits: peak, minFreeBits: minFree, minFreeOp, bitmap };
}

/**
 * Bits that must be free at once at some moment, whatever the placement (a lower bound).
 * SequencePasses.demand computes the same in wasm for the sequences its passes take.
 */
export function peakDemandBits(seq: WorkloadSequence, orderPerBit: number): number {
  const unit = 2 ** orderPerBit;
  const held = new Float64Array(seq.allocs);
  const { kind, pages, id, transient } = seq;
  let cur = 0;
  let peak = 0;
  for (let i = 0; i < seq.length; i++) {
    const k = kind[i]!;
    if (k === OP_ALLOC) {
      const p = pages[i]!;
      const bits = p >= Number.MAX_SAFE_INTEGER ? 2 ** 53 : Math.floor((p + unit - 1) / unit);
      if (cur + bits > peak) peak = cur + bits;
      if (transient[i] === 0) {
        held[id[i]!] = bits;
        cur += bits;
      }
    } else if (k === OP_RELEASE) {
      const a = id[i]!;
      const b = Math.min(held[a]!, Math.floor((pages[i]! + unit - 1) / unit));
      held[a] = held[a]! - b;
      cur -= b;
    }
  }
  return peak;
}

/**
 * The largest size the search of planOrderPerBitBySearch reaches from a lower bound of `demand`
 * bits: demand · 2^k ≤ MAX_BITS (it doubles from the bound, and gives up past MAX_BITS).
 */
function searchLimit(demand: number): number {
  let l = demand;
  while (l * 2 <= MAX_BITS) l *= 2;
  return l;
}

/**
 * Replays the sequence on an area of `capacity` bits (null when they were too few), recording the highest end of a placement
 * and the bitmap at the worst moment. A snapshot of the words is taken lazily: when the first
 * release after a new peak is about to change them (or at once for a transient request).
 */
function onePass(
  seq: WorkloadSequence,
  basePfn: number,
  orderPerBit: number,
  capacity: number,
  factory: CmaBitmapFactory,
  passes: SequencePasses | null,
): OnePass | null {
  // the same loop in wasm (plan-pass.ts), where it takes the sequence
  const fast = passes?.run(basePfn, orderPerBit, capacity);
  if (fast !== undefined) return fast;
  const bitmap = factory(capacity);
  const fit = new RangeFirstFit([{ basePfn, bitmap }], orderPerBit);
  const unit = 2 ** orderPerBit;
  const placeBit = new Float64Array(seq.allocs).fill(-1);
  const placeBits = new Float64Array(seq.allocs);
  const { kind, pages, arg, id, transient } = seq;
  let used = 0;
  let peak = 0;
  let peakOp = -1;
  let maxEnd = 0;
  let atPeak: Uint32Array | null = null;
  /** A new peak whose words are not copied yet. */
  let pending = false;
  const snapshot = (): void => {
    atPeak = copyWords(atPeak, bitmap.words);
    pending = false;
  };
  const n = seq.length;
  for (let i = 0; i < n; i++) {
    const k = kind[i]!;
    if (k === OP_ALLOC) {
      const p = pages[i]!;
      const bits =
        p >= Number.MAX_SAFE_INTEGER ? allocBits(p, unit, orderPerBit) : Math.floor((p + unit - 1) / unit);
      if (!fit.find(0, 0, bits, arg[i]!)) return null;
      const bit = fit.bit;
      // a request of 0 bits is found at the (aligned) first clear bit and fails where that is
      // past the area: it needs one bit more than its index
      const end = bits > 0 ? bit + bits : bit + 1;
      if (end > maxEnd) maxEnd = end;
      bitmap.set(bit, bits);
      used += bits;
      const isPeak = used > peak;
      if (isPeak) {
        peak = used;
        peakOp = i;
        pending = true;
      }
      if (transient[i]) {
        if (isPeak) snapshot();
        bitmap.clear(bit, bits);
        used -= bits;
      } else {
        const a = id[i]!;
        placeBit[a] = bit;
        placeBits[a] = bits;
      }
    } else if (k === OP_RELEASE) {
      const a = id[i]!;
      const p = placeBit[a]!;
      if (p < 0) continue;
      const from = p + Math.floor(arg[i]! / unit);
      const end = Math.min(p + placeBits[a]!, from + Math.floor((pages[i]! + unit - 1) / unit));
      if (end > from) {
        if (pending) snapshot();
        used -= bitmap.clear(from, end - from);
      }
    }
  }
  if (pending) snapshot();
  return { bits: maxEnd, peakUsedBits: peak, peakOp, atPeak: atPeak ?? new Uint32Array(0) };
}

/** The smallest number of bits at which the sequence never fails, for one order_per_bit. */
export function planOrderPerBit(
  seq: WorkloadSequence,
  basePfn: number,
  orderPerBit: number,
  factory: CmaBitmapFactory = indexedBitmapFactory,
  /** The sequence's wasm passes, shared by the calls on it (made here when not given). */
  passes?: SequencePasses,
): PlanChoice | null {
  const wasm = factory === indexedBitmapFactory ? (passes ?? new SequencePasses(seq)) : null;
  const demand = wasm?.demand(orderPerBit) ?? peakDemandBits(seq, orderPerBit);
  if (demand >= MAX_BITS) return null;
  // nothing needs a bit: the search's own answer (0 bits)
  if (demand === 0) return planOrderPerBitBySearch(seq, basePfn, orderPerBit, factory);
  const limit = searchLimit(demand);
  let capacity = Math.min(limit, 2 * demand);
  let replays = 0;
  for (;;) {
    replays++;
    const run = onePass(seq, basePfn, orderPerBit, capacity, factory, wasm);
    if (run !== null) {
      // the search starts at the lower bound and would answer it if that already passes: it is
      // above the highest end only when releases cleared bits the bound still counts as held
      // (a release rounded to granules clearing another allocation's bit)
      const hi = Math.max(run.bits, demand);
      const atWorst = {
        usedBits: run.peakUsedBits,
        freeBits: hi - run.peakUsedBits,
        maxchunkBits: longestZeroRun(run.atPeak, hi),
        line: seq.line[run.peakOp]!,
      };
      return choiceOf(orderPerBit, hi, atWorst, replays);
    }
    if (capacity >= limit) return null; // the search would not have found a size either
    capacity = Math.min(limit, capacity * 4);
  }
}

/**
 * planOrderPerBit by binary search over sizes, a full replay per probe (the way plan worked before
 * the one-replay argument above): for a sequence that needs no bit at all, and as a reference.
 */
export function planOrderPerBitBySearch(
  seq: WorkloadSequence,
  basePfn: number,
  orderPerBit: number,
  factory: CmaBitmapFactory = indexedBitmapFactory,
): PlanChoice | null {
  let replays = 0;
  /** The last size that passed, and its run (the final answer's run: not replayed again). */
  let passed: { bits: number; run: ReturnType<typeof simulateSequence> } | null = null;
  const passes = (bits: number): boolean => {
    replays++;
    const run = simulateSequence(seq, basePfn, orderPerBit, bits, factory);
    if (run.failedAt >= 0) return false;
    passed = { bits, run };
    return true;
  };
  const demand = peakDemandBits(seq, orderPerBit);
  if (demand >= MAX_BITS) return null;
  let lo = demand - 1; // fails for sure (pigeonhole), or -1
  let hi = Math.max(demand, 1);
  while (!passes(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > MAX_BITS) return null;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid > 0 && passes(mid)) hi = mid;
    else if (mid <= 0) break;
    else lo = mid;
  }
  if (demand === 0) hi = 0;
  const last = passed as { bits: number; run: ReturnType<typeof simulateSequence> } | null;
  const reuse = last !== null && last.bits === hi;
  const run = reuse ? last.run : simulateSequence(seq, basePfn, orderPerBit, hi, factory);
  let maxchunkBits = hi;
  let line = 0;
  if (run.minFreeOp >= 0) {
    const atWorst = simulateSequence(seq, basePfn, orderPerBit, hi, factory, run.minFreeOp);
    maxchunkBits = atWorst.bitmap.longestZeroRun();
    line = seq.line[run.minFreeOp]!;
  }
  const atWorst = { usedBits: run.peakUsedBits, freeBits: run.minFreeBits, maxchunkBits, line };
  return choiceOf(orderPerBit, hi, atWorst, replays + (reuse ? 0 : 1));
}
