// plan's one replay of a request/release sequence (src/analysis/plan-size.ts onePass) in
// WebAssembly (AssemblyScript; `npm run build:wasm`): the same loop over the ops, calling the
// area's index (assembly/indexed-bitmap.ts, another instance) through imports bound to it, as the
// replay's fast lane does. src/analysis/plan-pass.ts is its TypeScript face: it writes the ops
// in, runs them, and copies the bitmap's words whenever the pass asks (the worst moment's
// snapshot, taken lazily as onePass takes it).
//
// Memory (byte offsets from __heap_base, 64-byte aligned; made by init()):
//   KIND  n × u8    1 alloc, 2 release, 0 dropped (check() sets bit 7 on a transient alloc)
//   TRANS n × u8    1: a transient alloc (a request that failed in the recording)
//   ID    n × i32   alloc: its id; release: the id it releases
//   PAGES n × f64   pages requested or released
//   ARG   n × f64   alloc: alignment order; release: offset in pages into the allocation
//   ALIGN 64 × u8   1: an alignment order some request uses (check() fills it)
//   AT    allocs × i32  where each allocation was placed (-1: nowhere), and its bits (PLACED)
//   MASKS, OFFS 64 × i32 each: the area's cma_bitmap_aligned_mask and _offset by alignment order

import { idxClear, idxFind, idxSet } from './index-imports';

const OP_ALLOC: u8 = 1;
const OP_RELEASE: u8 = 2;
const TRANSIENT: u8 = 0x80;

let KIND: usize = 0;
let TRANS: usize = 0;
let ALIGN: usize = 0;
let ID: usize = 0;
let PAGES: usize = 0;
let ARG: usize = 0;
let AT: usize = 0;
let PLACED: usize = 0;
let MASKS: usize = 0;
let OFFS: usize = 0;
let nOps: i32 = 0;
let maxno: i32 = 0;
/** log2 of pages per bit. */
let opb: i32 = 0;

// the pass's state (read by the face after run())
let used: i32 = 0;
let peak: i32 = 0;
let peakOp: i32 = -1;
let maxEnd: i32 = 0;
/** A new peak whose words are not copied yet. */
let pending: bool = false;

/** The next free byte while init() lays the memory out. */
let at: usize = 0;

/** `bytes` at the next 64-byte boundary. */
function take(bytes: usize): usize {
  const p = at;
  at = (at + bytes + 63) & ~(<usize>63);
  return p;
}

/** Lays out the memory for `n` ops and `allocs` allocations (the ops are written once, then checked). */
export function setup(n: i32, allocs: i32): void {
  nOps = n;
  nAllocs = allocs;
  at = (__heap_base + 63) & ~(<usize>63);
  KIND = take(<usize>n);
  TRANS = take(<usize>n);
  ID = take(<usize>n << 2);
  PAGES = take(<usize>n << 3);
  ARG = take(<usize>n << 3);
  ALIGN = take(64);
  AT = take(<usize>allocs << 2);
  PLACED = take(<usize>allocs << 2);
  MASKS = take(64 * 4);
  OFFS = take(64 * 4);
  const need = <i32>((at + 0xffff) >>> 16);
  const have = memory.size();
  if (need > have && memory.grow(need - have) < 0) unreachable();
  memory.fill(ALIGN, 0, 64);
}

/** Before a pass: an empty area of `bits` bits at order_per_bit `o` (MASKS and OFFS are the face's). */
export function reset(bits: i32, o: i32): void {
  maxno = bits;
  opb = o;
  used = 0;
  peak = 0;
  peakOp = -1;
  maxEnd = 0;
  pending = false;
  heldBit = -1;
  memory.fill(AT, 0xff, <usize>nAllocs << 2);
}

let nAllocs: i32 = 0;
/** Numbers below this fit the pass's int32 arithmetic with room to spare. */
const SMALL: f64 = 536870912;

/** An integer in [0, SMALL) (NaN fails every comparison). */
@inline function small(v: f64): bool {
  return v >= 0 && v < SMALL && v == Math.floor(v);
}

/**
 * After the ops are written: 1 when the pass takes them (every count and offset an integer below
 * 2^29, ids of the sequence's allocations, alignment orders below 64, no 0-page request), with
 * the transient requests marked in KIND and the alignments used in ALIGN; else 0.
 */
export function check(): i32 {
  for (let i = 0; i < nOps; i++) {
    const k = load<u8>(KIND + <usize>i);
    if (k != OP_ALLOC && k != OP_RELEASE) continue;
    const p = load<f64>(PAGES + (<usize>i << 3));
    const a = load<f64>(ARG + (<usize>i << 3));
    const who = load<i32>(ID + (<usize>i << 2));
    if (!small(p) || !small(a) || who < 0 || who >= nAllocs) return 0;
    if (k == OP_ALLOC) {
      if (p == 0 || a >= 64) return 0;
      store<u8>(ALIGN + <usize>(<i32>a), 1);
      if (load<u8>(TRANS + <usize>i) != 0) store<u8>(KIND + <usize>i, OP_ALLOC | TRANSIENT);
    }
  }
  return 1;
}

export function kindAt(): usize {
  return KIND;
}
export function transAt(): usize {
  return TRANS;
}
export function alignAt(): usize {
  return ALIGN;
}
export function idAt(): usize {
  return ID;
}
export function pagesAt(): usize {
  return PAGES;
}
export function argAt(): usize {
  return ARG;
}
export function masksAt(): usize {
  return MASKS;
}
export function offsAt(): usize {
  return OFFS;
}
export function peakUsed(): i32 {
  return peak;
}
export function peakAt(): i32 {
  return peakOp;
}
export function highestEnd(): i32 {
  return maxEnd;
}

/**
 * plan-size.ts's peakDemandBits at order_per_bit `o` on the checked ops: the most bits the
 * requests hold at once with each request counted as it is made (a lower bound of the size,
 * whatever the placement). PLACED holds each allocation's bits meanwhile (a pass sets it anew).
 * Sums as f64, as the TypeScript loop's (whole numbers below 2^53: exact either way).
 */
export function demand(o: i32): f64 {
  memory.fill(PLACED, 0, <usize>nAllocs << 2);
  let cur: f64 = 0;
  let top: f64 = 0;
  for (let i = 0; i < nOps; i++) {
    const k = load<u8>(KIND + <usize>i);
    const op = k & 0x7f;
    if (op == OP_ALLOC) {
      const bits = toBits(<i32>load<f64>(PAGES + (<usize>i << 3)), o);
      if (cur + <f64>bits > top) top = cur + <f64>bits;
      if ((k & TRANSIENT) == 0) {
        store<i32>(PLACED + (<usize>load<i32>(ID + (<usize>i << 2)) << 2), bits);
        cur += <f64>bits;
      }
    } else if (op == OP_RELEASE) {
      const at = PLACED + (<usize>load<i32>(ID + (<usize>i << 2)) << 2);
      const held = load<i32>(at);
      const asked = toBits(<i32>load<f64>(PAGES + (<usize>i << 3)), o);
      const b = held < asked ? held : asked;
      store<i32>(at, held - b);
      cur -= <f64>b;
    }
  }
  return top;
}

/** ceil(pages / 2^o) for pages ≥ 0 (ALIGN(pages, unit) >> o without overflow). */
@inline function toBits(pages: i32, o: i32): i32 {
  return <i32>((<u32>pages + ((<u32>1 << o) - 1)) >>> o);
}

/** The transient request whose words are being copied: cleared when run() resumes (-1: none). */
let heldBit: i32 = -1;
let heldBits: i32 = 0;

/** Whether the words at the last peak are still to be copied (the face copies them at the end). */
export function copyPending(): i32 {
  return pending ? 1 : 0;
}

/**
 * Runs ops [from, n): returns n when done, -1 when a request did not fit (the pass fails), or
 * the index of the op at which the words must be copied first (the worst moment's words, before
 * a release changes them, or with a transient request that made a new peak still set). The face
 * copies them and calls run() again with that index and `copied` 1.
 */
export function run(from: i32, copied: i32): i32 {
  let i = from;
  if (copied != 0) {
    pending = false;
    if (heldBit >= 0) {
      // the transient request of op `from`: its words are copied, now it goes
      idxClear(heldBit, heldBits);
      used -= heldBits;
      heldBit = -1;
      i++;
    }
  }
  for (; i < nOps; i++) {
    const k = load<u8>(KIND + <usize>i);
    const op = k & 0x7f;
    if (op == OP_ALLOC) {
      const bits = toBits(<i32>load<f64>(PAGES + (<usize>i << 3)), opb);
      if (bits > maxno) return -1;
      const align = <usize>(<i32>load<f64>(ARG + (<usize>i << 3))) << 2;
      const bit = idxFind(0, bits, load<i32>(MASKS + align), load<i32>(OFFS + align));
      if (bit >= maxno) return -1;
      const end = bit + bits;
      if (end > maxEnd) maxEnd = end;
      idxSet(bit, bits);
      used += bits;
      const isPeak = used > peak;
      if (isPeak) {
        peak = used;
        peakOp = i;
        pending = true;
      }
      if ((k & TRANSIENT) != 0) {
        if (isPeak) {
          heldBit = bit;
          heldBits = bits;
          return i;
        }
        idxClear(bit, bits);
        used -= bits;
      } else {
        const id = <usize>load<i32>(ID + (<usize>i << 2)) << 2;
        store<i32>(AT + id, bit);
        store<i32>(PLACED + id, bits);
      }
    } else if (op == OP_RELEASE) {
      const id = <usize>load<i32>(ID + (<usize>i << 2)) << 2;
      const p = load<i32>(AT + id);
      if (p < 0) continue;
      const lo = p + (<i32>load<f64>(ARG + (<usize>i << 3)) >>> opb);
      const e1 = p + load<i32>(PLACED + id);
      const e2 = lo + toBits(<i32>load<f64>(PAGES + (<usize>i << 3)), opb);
      const end = e1 < e2 ? e1 : e2;
      if (end > lo) {
        if (pending) return i;
        used -= idxClear(lo, end - lo);
      }
    }
  }
  return nOps;
}
