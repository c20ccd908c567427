// The indexed CMA bitmap, compiled to WebAssembly (AssemblyScript; `npm run build:wasm`).
// src/core/indexed-bitmap.ts is its TypeScript face (one instance, one memory, per bitmap) and
// documents the algorithm; this file is the same algorithm on raw memory. It runs as fast as the
// JIT-compiled TypeScript once that is warm, and at that speed from the first call: a replay of a
// 1 GiB trace does not pay V8's warm-up of the hottest code (about 80 ms of 500).
//
// Memory (byte offsets from __heap_base, each 64-byte aligned):
//   T   65536 × u8   longest clear run of each 16-bit value
//   W   nWords × u32 the bitmap words (the debugfs `bitmap`), read by the TypeScript side
//   L   leaves × u8   longest clear run of each word (the leaves' max)
//   S   3·leaves × i32  pre, suf, max of internal node v at 3v, 3v+1, 3v+2 (node 1 = root); the
//                    leaves (leaf of word w = node leaves + w) are not in S: their pre and suf
//                    come from the word itself, their max from L (nPre, nSuf, nMax); bits past
//                    maxno and leaves past the words count as set
//   then, made on first use: block summaries and aligned summaries (never freed).
//
// All positions are bit indices < 2^31; the TypeScript side keeps larger arguments away.
//
// Measured on gpu-64g and not kept (bench/index-ops.ts, interleaved, min of 15; issue 19): u16
// nodes for the levels of up to 32768 bits (S halved: no gain on 64 GiB, 1 GiB 8–14% slower from
// the extra branch); the lowest 8 levels in a 4 KiB page per subtree (1.28× slower: the address
// arithmetic costs more than the pages it saves); all block orders in one 32-byte record per node
// updated with SIMD (no gain, more misses); branch-free block updates (1.03×); "block maxima"
// (the largest free block prefix per node, for requests no larger than their alignment: 18% fewer
// instructions under cachegrind, but 1.03× slower in time, more tables touched per update).

// Measured on the recorded operations of gpu-1g, random-1g, gpu-64g and camera-64g (bench/index-ops.ts,
// interleaved, min of 11; issue 19): fill()'s climbs with one test a level instead of a case for
// "pre or suf changed", one for "only the max" and climbMax() for the ancestors' max: 0.95–0.97×
// (kept: the tests' outcomes are random to the branch predictor, the stores of unchanged values
// cost less). Not kept: firstFit()'s descent without a branch on left or right (selects; it
// then reads the left child's suf and the next node's pre on every level): 1.04–1.06× slower;
// fillBlocks() storing every summary node unconditionally: no change.

// Measured and not kept (bench/index-ops.ts, min of 9): for bitmaps of 32 words or fewer
// (order_per_bit 9 on 1 GiB: 16 words), the words alone with a scan for searches and no tree was
// 1.19× the tree's time on random-1g-opb9's 987,607 calls (48 → 57 ms): the descent from the
// root beats scanning even 16 words from bit 0 at 80% fill.

// ---- per-bitmap state
let maxno: i32 = 0;
let nWords: i32 = 0;
let leaves: i32 = 0;
/** log2(leaves): the root is this many levels above the leaves. */
let levels: i32 = 0;
let tailMask: i32 = 0;
let setBits: i32 = 0;
let updates: f64 = 0;
let runEnd: i32 = -1;
let T: usize = 0;
let W: usize = 0;
let L: usize = 0;
let S: usize = 0;
let heapTop: usize = 0;

// ---- policy (module-level settings of the TypeScript side, copied in by setPolicy)
let blockSummariesOn: bool = true;
let blockTriesPerUpdate: f64 = 6;
let maxSummaries: i32 = 16;
let summaryAfterTries: f64 = 20000;
let summaryTriesPerUpdate: f64 = 16;

// Static tables (zeroed data, below __heap_base; no allocator is used at all).
/** Extra runs tried by unaligned searches (2 for each past the first), per log2(alignment) (f64 × 32). */
const TRIES: usize = memory.data(32 * 8);
/** Block summaries (alignment ≥ 32 bits, offset 0), by order: am over the nodes larger than a block (usize × 32, 0 = none). */
const BLOCK_AM: usize = memory.data(32 * 4);
/** The orders that have one, in the order they were made (i32 × 32). */
const BLOCK_LIST: usize = memory.data(32 * 4);
let nBlocks: i32 = 0;
/** Aligned summaries: mask, shift and am (over every node) of each (i32 × 16 each). */
const SM_MASK: usize = memory.data(16 * 4);
const SM_SHIFT: usize = memory.data(16 * 4);
const SM_AM: usize = memory.data(16 * 4);
let nSumm: i32 = 0;
/** Summary by log2(alignment), as index + 1 (0 = none) (i32 × 32). */
const SUMMARY_BY_ORDER: usize = memory.data(32 * 4);

@inline function tries(order: i32): f64 {
  return load<f64>(TRIES + (<usize>order << 3));
}
@inline function addTries(order: i32, n: f64): void {
  store<f64>(TRIES + (<usize>order << 3), tries(order) + n);
}
@inline function geti(table: usize, i: i32): i32 {
  return load<i32>(table + (<usize>i << 2));
}
@inline function seti(table: usize, i: i32, v: i32): void {
  store<i32>(table + (<usize>i << 2), v);
}
@inline function blockAm(order: i32): usize {
  return <usize>load<u32>(BLOCK_AM + (<usize>order << 2));
}
@inline function smAm(i: i32): usize {
  return <usize>load<u32>(SM_AM + (<usize>i << 2));
}

// ---- memory helpers

@inline function wd(i: i32): i32 {
  return load<i32>(W + (<usize>i << 2));
}
@inline function sg(i: i32): i32 {
  return load<i32>(S + (<usize>i << 2));
}
@inline function ss(i: i32, v: i32): void {
  store<i32>(S + (<usize>i << 2), v);
}
@inline function ag(am: usize, i: i32): i32 {
  return load<i32>(am + (<usize>i << 2));
}
@inline function as_(am: usize, i: i32, v: i32): void {
  store<i32>(am + (<usize>i << 2), v);
}

/** The end of all memory alloc() ever handed out: past it, memory is as memory.grow gave it (zero). */
let everUsed: usize = 0;

function alloc(bytes: usize): usize {
  const at = (heapTop + 63) & ~(<usize>63);
  const end = at + bytes;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 65535) >>> 16)) < 0) unreachable();
  }
  heapTop = end;
  if (end > everUsed) everUsed = end;
  return at;
}

/**
 * Zeroes bytes [p, p + n) where an earlier bitmap of this instance may have written them: from
 * `fresh` on memory was never handed out, and clearing it would only fault its pages in (a
 * 64 GiB bitmap's 2 MiB of words: ~500 page faults at start).
 */
function zeroUsed(p: usize, n: usize, fresh: usize): void {
  if (p >= fresh) return;
  memory.fill(p, 0, min(n, fresh - p));
}

/** n i32 values v from ptr (128-bit stores; a long run of zeros is a memory.fill). */
function fillI32(ptr: usize, v: i32, n: i32): void {
  if (n <= 0) return;
  if (v == 0 && n >= 256) {
    // long runs of zeros: the engine's memset (a call: not worth it for a few hundred bytes)
    memory.fill(ptr, 0, <usize>n << 2);
    return;
  }
  const end = ptr + (<usize>n << 2);
  let p = ptr;
  if (n >= 8) {
    const vv = i32x4.splat(v);
    for (; p + 16 <= end; p += 16) v128.store(p, vv);
  }
  for (; p < end; p += 4) store<i32>(p, v);
}

/** n bytes v from ptr (128-bit stores; memory.fill, a call, only for long runs). */
function fillU8(ptr: usize, v: i32, n: i32): void {
  if (n >= 1024) {
    memory.fill(ptr, <u8>v, <usize>n);
    return;
  }
  const end = ptr + <usize>n;
  let p = ptr;
  if (n >= 16) {
    const vv = i8x16.splat(<i8>v);
    for (; p + 16 <= end; p += 16) v128.store(p, vv);
  }
  for (; p < end; p++) store<u8>(p, <u8>v);
}

// ---- word arithmetic

@inline function lowClear(x: i32): i32 {
  return x == 0 ? 32 : ctz<i32>(x);
}
@inline function highClear(x: i32): i32 {
  return clz<i32>(x);
}
function maxClear(x: i32): i32 {
  if (x == 0) return 32;
  if (x == -1) return 0;
  const lo = x & 0xffff;
  const hi = x >>> 16;
  const a = <i32>load<u8>(T + <usize>lo);
  const b = <i32>load<u8>(T + <usize>hi);
  const join = (lo == 0 ? 16 : clz<i32>(lo) - 16) + (hi == 0 ? 16 : ctz<i32>(hi));
  return max(max(a, b), join);
}
@inline function lowMask(n: i32): i32 {
  return n == 0 ? 0 : <i32>(<u32>0xffffffff >>> <u32>(32 - n));
}
/** Lowest bit at which nr (1..32) consecutive bits of `free` are 1, or -1 (runs cut at bit 31). */
function runStartInWord(free: i32, nr: i32): i32 {
  let m = free;
  let k = 1;
  while (k < nr && m != 0) {
    const s = min(k, nr - k);
    m &= m >>> s;
    k += s;
  }
  if (m == 0) return -1;
  return ctz<i32>(m);
}
@inline function alignedFrom(x: i32, m: i32, sh: i32): i32 {
  return ((x + sh + m) & ~m) - sh;
}
/** A summary value of an all-clear node [start, start + len): from its first aligned bit to its end. */
@inline function uniformAligned(start: i32, len: i32, m: i32, sh: i32): i32 {
  const c = alignedFrom(start, m, sh);
  return c < start + len ? start + len - c : 0;
}

function leafAligned(x: i32, ws: i32, m: i32, sh: i32): i32 {
  let best = 0;
  for (let c = alignedFrom(ws, m, sh); c < ws + 32; c += m + 1) {
    const k = c - ws;
    const run = min(lowClear(x >>> k), 32 - k);
    if (run > best) best = run;
  }
  return best;
}
@inline function eff(w: i32): i32 {
  if (w >= nWords) return -1;
  return w == nWords - 1 ? wd(w) | tailMask : wd(w);
}

/** The node just right of v's subtree (up past right children, then across), or 0 at the right edge. */
@inline function nextRight(v: i32): i32 {
  const u = v >>> ctz<i32>(~v);
  return u == 0 ? 0 : u + 1;
}

/** Bits under node v. */
@inline function nodeLen(v: i32): i32 {
  return 32 << (levels - 31 + clz<i32>(v));
}

// ---- set-up

function buildTable(): void {
  // from the 8-bit table: longest run in each half, or across the middle
  const t8 = alloc(256);
  for (let v = 0; v < 256; v++) {
    let best = 0;
    let cur = 0;
    for (let b = 0; b < 8; b++) {
      if ((v >>> b) & 1) cur = 0;
      else if (++cur > best) best = cur;
    }
    store<u8>(t8 + <usize>v, <u8>best);
  }
  for (let v = 0; v < 65536; v++) {
    const lo = v & 0xff;
    const hi = v >>> 8;
    const a = <i32>load<u8>(t8 + <usize>lo);
    const b = <i32>load<u8>(t8 + <usize>hi);
    const join = (lo == 0 ? 8 : clz<i32>(lo) - 24) + (hi == 0 ? 8 : ctz<i32>(hi));
    store<u8>(T + <usize>v, <u8>max(max(a, b), join));
  }
}

/** Makes the empty bitmap of n bits; returns the byte offset of its words. */
export function init(n: i32): usize {
  // (an instance made again for another bitmap starts as a new one: no summary, no tries)
  updates = 0;
  runEnd = -1;
  nBlocks = 0;
  nSumm = 0;
  memory.fill(TRIES, 0, 32 * 8);
  memory.fill(BLOCK_AM, 0, 32 * 4);
  memory.fill(SUMMARY_BY_ORDER, 0, 32 * 4);
  maxno = n;
  nWords = <i32>((<u32>n + 31) >>> 5);
  let l = 1;
  while (l < nWords) l *= 2;
  leaves = l;
  levels = 31 - clz<i32>(l);
  tailMask = n & 31 ? ~lowMask(n & 31) : 0;
  heapTop = __heap_base;
  const fresh = max(everUsed, __heap_base);
  T = alloc(65536);
  buildTable();
  W = alloc(<usize>nWords << 2);
  L = alloc(<usize>leaves);
  S = alloc(<usize>(3 * leaves) << 2);
  zeroUsed(W, <usize>nWords << 2, fresh);
  zeroUsed(L + <usize>nWords, <usize>(leaves - nWords), fresh);
  if (nWords > 0) {
    memory.fill(L, 32, <usize>nWords);
    setLeafMax(nWords - 1);
  }
  zeroUsed(S, <usize>(3 * leaves) << 2, fresh);
  // all clear: a node over whole words only is (size, size, size); the one node of a level
  // that holds the tail or the end of the words is combined from its children; the nodes past
  // it stay (0, 0, 0)
  const fullBits = (<u32>maxno >>> 5) << 5;
  let h = 32;
  for (let lvl = leaves >>> 1; lvl >= 1; lvl >>>= 1) {
    const full = <i32>(fullBits / <u32>(2 * h));
    fillI32(S + (<usize>(3 * lvl) << 2), 2 * h, 3 * full);
    if (full < lvl) combine(lvl + full, h);
    h *= 2;
  }
  setBits = 0;
  return W;
}

export function setPolicy(blocksOn: i32, blockTries: f64, maxSumm: i32, after: f64, perUpdate: f64): void {
  blockSummariesOn = blocksOn != 0;
  blockTriesPerUpdate = blockTries;
  maxSummaries = min(maxSumm, 16);
  summaryAfterTries = after;
  summaryTriesPerUpdate = perUpdate;
}

// ---- node values: stored for internal nodes, computed from the word for a leaf

/** Clear bits at the start of node v. */
@inline function nPre(v: i32): i32 {
  return v >= leaves ? lowClear(eff(v - leaves)) : sg(3 * v);
}
/** Clear bits at the end of node v. */
@inline function nSuf(v: i32): i32 {
  return v >= leaves ? highClear(eff(v - leaves)) : sg(3 * v + 1);
}
/** Longest clear run inside node v. */
@inline function nMax(v: i32): i32 {
  return v >= leaves ? <i32>load<u8>(L + <usize>(v - leaves)) : sg(3 * v + 2);
}
@inline function setLeafMax(w: i32): void {
  store<u8>(L + <usize>w, <u8>maxClear(eff(w)));
}

/** Set by fromKids: an internal node's values from its children's. */
let kPre: i32 = 0;
let kSuf: i32 = 0;
let kMax: i32 = 0;

/** Node v's (pre, suf, max) from its children (h bits each; words when h is 32) into kPre, kSuf, kMax. */
@inline function fromKids(v: i32, h: i32): void {
  let lp: i32, ls: i32, lm: i32, rp: i32, rs: i32, rm: i32;
  if (h == 32) {
    const w = 2 * v - leaves;
    const x = eff(w);
    const y = eff(w + 1);
    lp = lowClear(x);
    ls = highClear(x);
    lm = <i32>load<u8>(L + <usize>w);
    rp = lowClear(y);
    rs = highClear(y);
    rm = <i32>load<u8>(L + <usize>w + 1);
  } else {
    const l = 6 * v;
    lp = sg(l);
    ls = sg(l + 1);
    lm = sg(l + 2);
    rp = sg(l + 3);
    rs = sg(l + 4);
    rm = sg(l + 5);
  }
  kPre = lp == h ? h + rp : lp;
  kSuf = rs == h ? h + ls : rs;
  kMax = max(max(lm, rm), ls + rp);
}

function combine(v: i32, h: i32): void {
  fromKids(v, h);
  ss(3 * v, kPre);
  ss(3 * v + 1, kSuf);
  ss(3 * v + 2, kMax);
}

// ---- updates

/** Sets (value -1) or clears (0) the bits of `mask` in word w; Δ set bits. */
function applyWord(w: i32, mask: i32, value: i32): i32 {
  const p = W + (<usize>w << 2);
  const old = load<i32>(p);
  const nw = value == 0 ? old & ~mask : old | mask;
  if (nw == old) return 0;
  store<i32>(p, nw);
  setLeafMax(w);
  return popcnt<i32>(nw) - popcnt<i32>(old);
}

/** Node v's values from its children's (h bits each), stored: bit 1 when one changed, bit 2 when its pre or suf did. */
@inline function pathNode(v: i32, h: i32): i32 {
  fromKids(v, h);
  const i = 3 * v;
  const ps = (sg(i) ^ kPre) | (sg(i + 1) ^ kSuf);
  const any = ps | (sg(i + 2) ^ kMax);
  ss(i, kPre);
  ss(i + 1, kSuf);
  ss(i + 2, kMax);
  return (<i32>(any != 0)) | (<i32>(ps != 0) << 1);
}

/**
 * Sets (value -1) or clears (0) bits [lo, hi), 0 ≤ lo < hi ≤ maxno: the words and nodes wholly
 * inside get constants, the two edges are recomputed, and the climb stops at the first level
 * where nothing changed. O(k + log n) for k words. Returns the change in set bits.
 */
function fill(lo: i32, hi: i32, value: i32): i32 {
  updates++;
  const w0 = lo >>> 5;
  const w1 = (hi - 1) >>> 5;
  let delta = 0;
  const m0 = w0 == w1 ? lowMask(((hi - 1) & 31) + 1) & ~lowMask(lo & 31) : ~lowMask(lo & 31);
  delta += applyWord(w0, m0, value);
  if (w1 != w0) delta += applyWord(w1, lowMask(((hi - 1) & 31) + 1), value);
  if (w1 - w0 > 1) {
    // set bits before: usually none (a set) or all (a clear); a popcount only otherwise
    const n = w1 - w0 - 1;
    const p0 = W + (<usize>(w0 + 1) << 2);
    const pEnd = p0 + (<usize>n << 2);
    let orv = i32x4.splat(0);
    let andv = i32x4.splat(-1);
    let p = p0;
    for (; p + 16 <= pEnd; p += 16) {
      const x = v128.load(p);
      orv = v128.or(orv, x);
      andv = v128.and(andv, x);
    }
    let or = v128.any_true(orv) ? 1 : 0;
    let allSet = !v128.any_true(v128.not(andv));
    for (; p < pEnd; p += 4) {
      const x = load<i32>(p);
      or |= x;
      allSet = allSet && x == -1;
    }
    let was = 0;
    if (or == 0) was = 0;
    else if (allSet) was = 32 * n;
    else for (let w = w0 + 1; w < w1; w++) was += popcnt<i32>(wd(w));
    delta += value == 0 ? -was : 32 * n - was;
    fillI32(p0, value, n);
    fillU8(L + <usize>(w0 + 1), value == 0 ? 32 : 0, n);
  }
  setBits += delta;
  let a = (leaves + w0) >>> 1;
  let b = (leaves + w1) >>> 1;
  let h = 32;
  let topChanged = 32;
  let topPreSuf = 32;
  if (a == 0) {
    // a single word: the leaf is the root
    for (let i = 0; i < nSumm; i++) fillSummary(i, w0, w1, value, 0);
    return delta;
  }
  // two paths (a < b), and the nodes between them, until the paths meet
  let done = false;
  while (a != b) {
    // bit 1: some value of the level changed; bit 2: a pre or suf did
    let flags = pathNode(a, h) | pathNode(b, h);
    if (b - a > 1) {
      fillI32(S + (<usize>(3 * (a + 1)) << 2), value == 0 ? 2 * h : 0, 3 * (b - a - 1));
      flags = 3;
    }
    if (flags & 1) topChanged = 2 * h;
    if (flags & 2) topPreSuf = 2 * h;
    if (flags == 0 || a == 1) {
      done = true;
      break;
    }
    a >>>= 1;
    b >>>= 1;
    h *= 2;
  }
  if (!done) {
    // one path: node v's value from its children in memory, then, climbing, from the child's new
    // value (kept here) and its sibling's, for as long as a node changes. One test a level
    // (nothing changed: stop), its outcome random, taken once per climb; no separate cases for
    // a change of the max alone (its ancestors' pre and suf stay, and the combine says so)
    let v = a;
    fromKids(v, h);
    let pre = kPre;
    let suf = kSuf;
    let mx = kMax;
    while (true) {
      const i = 3 * v;
      const ps = (sg(i) ^ pre) | (sg(i + 1) ^ suf);
      if ((ps | (sg(i + 2) ^ mx)) == 0) break;
      ss(i, pre);
      ss(i + 1, suf);
      ss(i + 2, mx);
      topChanged = 2 * h;
      topPreSuf = select<i32>(2 * h, topPreSuf, ps != 0);
      if (v == 1) break;
      const sib = 3 * (v ^ 1);
      const sp = sg(sib);
      const sf = sg(sib + 1);
      const sm = sg(sib + 2);
      const right = (v & 1) != 0;
      const lp = select<i32>(sp, pre, right);
      const ls = select<i32>(sf, suf, right);
      const rp = select<i32>(pre, sp, right);
      const rs = select<i32>(suf, sf, right);
      h *= 2;
      mx = max(max(mx, sm), ls + rp);
      pre = select<i32>(h + rp, lp, lp == h);
      suf = select<i32>(h + ls, rs, rs == h);
      v >>>= 1;
    }
  }
  for (let i = 0; i < nSumm; i++) fillSummary(i, w0, w1, value, topChanged);
  if (nBlocks > 0) fillBlocks(w0, w1, value, topPreSuf);
  return delta;
}

/** Sets bits [start, start + n) (inside the bitmap); returns how many were clear. */
export function set(start: i32, n: i32): i32 {
  return n > 0 ? fill(start, start + n, -1) : 0;
}

/** Clears bits [start, start + n) (inside the bitmap); returns how many were set. */
export function clear(start: i32, n: i32): i32 {
  return n > 0 ? -fill(start, start + n, 0) : 0;
}

export function weight(): i32 {
  return setBits;
}

export function longestZeroRun(): i32 {
  return nMax(1);
}

// ---- summaries (block and general)

/**
 * A summary's value of internal node v (children of h bits each): the longest clear stretch that
 * starts at an aligned bit inside v, from the children's values and the run across their border.
 * For a block summary (size = the block's bits) the children of block size are blocks, whose
 * value is their free prefix; a general summary has size 0.
 */
@inline function summaryNode(am: usize, v: i32, h: i32, m: i32, sh: i32, size: i32): i32 {
  const ls = nSuf(2 * v);
  const rp = nPre(2 * v + 1);
  let best = h == size ? max(nPre(2 * v), rp) : max(ag(am, 2 * v), ag(am, 2 * v + 1));
  if (ls > 0) {
    const lEnd = (2 * v + 1) * h - 32 * leaves;
    const c = alignedFrom(lEnd - ls, m, sh);
    if (c < lEnd && lEnd - c + rp > best) best = lEnd - c + rp;
  }
  return best;
}

// ---- block summaries

/**
 * After fill(): recomputes a summary's nodes on the paths of a and b (their children are h bits
 * each) upwards, and makes the nodes between them uniform (all clear: an aligned stretch to their
 * end; all set: 0), for as long as anything changes and at least up to nodes of `top` bits.
 */
function climbSummary(
  am: usize,
  m: i32,
  sh: i32,
  size: i32,
  a: i32,
  b: i32,
  h: i32,
  value: i32,
  top: i32,
  changed: bool,
): void {
  while (a >= 1 && (changed || h <= top)) {
    changed = false;
    let v = a;
    while (true) {
      const best = summaryNode(am, v, h, m, sh, size);
      if (ag(am, v) != best) {
        as_(am, v, best);
        changed = true;
      }
      if (v == b) break;
      v = b;
    }
    if (b - a > 1) {
      // a block summary's nodes start at aligned bits: an all-clear one's stretch is all of it
      if (size > 0) fillI32(am + (<usize>(a + 1) << 2), value == 0 ? 2 * h : 0, b - a - 1);
      else
        for (let u = a + 1; u < b; u++)
          as_(am, u, value == 0 ? uniformAligned(u * 2 * h - 32 * leaves, 2 * h, m, sh) : 0);
      changed = true;
    }
    a >>>= 1;
    b >>>= 1;
    h *= 2;
  }
}

/**
 * After fill(): the block summaries, all in one climb (they share the paths and the children's
 * pre and suf). An order takes part from the level above its blocks, only when some pre/suf of
 * its block size or more changed (`top`: nodes of up to `top` bits had one change), and as
 * climbSummary does, for as long as its nodes change and at least up to nodes of `top` bits.
 * An order's bit in the masks is its block size (1 << order).
 */
function fillBlocks(w0: i32, w1: i32, value: i32, top: i32): void {
  let pending = 0;
  for (let i = 0; i < nBlocks; i++) {
    const order = geti(BLOCK_LIST, i);
    if (top >= 1 << order) pending |= 1 << order;
  }
  if (pending == 0) return;
  const first = ctz<i32>(pending);
  let h = 1 << first;
  let a = (leaves + w0) >>> (first - 4);
  let b = (leaves + w1) >>> (first - 4);
  let live = 0;
  let changed = 0;
  const base = 32 * leaves;
  while (a >= 1) {
    // the order whose blocks are the children here starts; orders past `top` go on while changing
    if ((pending & h) != 0) {
      live |= h;
      pending &= ~h;
    }
    if (h > top) live &= changed;
    if (live == 0 && pending == 0) break;
    changed = 0;
    if (live != 0) {
      let v = a;
      while (true) {
        const ls = nSuf(2 * v);
        const rp = nPre(2 * v + 1);
        const lp = (live & h) != 0 ? nPre(2 * v) : 0;
        const lEnd = (2 * v + 1) * h - base;
        let mm = live;
        while (mm != 0) {
          const size = mm & -mm;
          mm ^= size;
          const am = blockAm(ctz<i32>(size));
          let best = h == size ? max(lp, rp) : max(ag(am, 2 * v), ag(am, 2 * v + 1));
          if (ls > 0) {
            const c = (lEnd - ls + size - 1) & -size;
            if (c < lEnd && lEnd - c + rp > best) best = lEnd - c + rp;
          }
          if (ag(am, v) != best) {
            as_(am, v, best);
            changed |= size;
          }
        }
        if (v == b) break;
        v = b;
      }
      if (b - a > 1) {
        // the nodes between start at aligned bits: an all-clear one's stretch is all of it
        let mm = live;
        while (mm != 0) {
          const size = mm & -mm;
          mm ^= size;
          fillI32(blockAm(ctz<i32>(size)) + (<usize>(a + 1) << 2), value == 0 ? 2 * h : 0, b - a - 1);
        }
        changed |= live;
      }
    }
    a >>>= 1;
    b >>>= 1;
    h *= 2;
  }
}

function blockFor(order: i32): usize {
  let am = blockAm(order);
  if (am != 0) return am;
  const size = 1 << order;
  const mask = size - 1;
  am = alloc(<usize>((32 * leaves) / size) << 2);
  let h = size;
  for (let lvl = (16 * leaves) / size; lvl >= 1; lvl >>>= 1) {
    for (let v = lvl; v < 2 * lvl; v++) as_(am, v, summaryNode(am, v, h, mask, 0, size));
    h *= 2;
  }
  store<u32>(BLOCK_AM + (<usize>order << 2), <u32>am);
  seti(BLOCK_LIST, nBlocks++, order);
  return am;
}

// ---- aligned summaries

function fillSummary(i: i32, w0: i32, w1: i32, value: i32, topChanged: i32): void {
  const am = smAm(i);
  const m = geti(SM_MASK, i);
  const sh = geti(SM_SHIFT, i);
  let changed = false;
  for (let w = w0; w <= w1; w++) {
    const v = leaves + w;
    let nv: i32;
    if (w == w0 || w == w1) {
      const x = eff(w);
      nv = x == -1 ? 0 : leafAligned(x, w << 5, m, sh);
    } else if (value == 0) {
      // a clear word: from its first aligned bit to its end
      const c = alignedFrom(w << 5, m, sh) - (w << 5);
      nv = c < 32 ? 32 - c : 0;
    } else nv = 0;
    if (ag(am, v) != nv) {
      as_(am, v, nv);
      changed = true;
    }
  }
  climbSummary(am, m, sh, 0, (leaves + w0) >>> 1, (leaves + w1) >>> 1, 32, value, topChanged, changed);
}

/** The summary for (mask, offset) as index + 1, or 0 (see the TypeScript side's policy). */
function summaryFor(mask: i32, offset: i32, order: i32): i32 {
  const sh = offset & mask;
  const hit = geti(SUMMARY_BY_ORDER, order);
  if (hit != 0 && geti(SM_SHIFT, hit - 1) == sh) return hit;
  const t = tries(order);
  const worth = summaryAfterTries < 0 || (t > summaryAfterTries && t > summaryTriesPerUpdate * updates);
  if (nSumm == 0 && !worth) return 0;
  for (let i = 0; i < nSumm; i++) if (geti(SM_MASK, i) == mask && geti(SM_SHIFT, i) == sh) return i + 1;
  if (!worth) return 0;
  // the aligned arithmetic stays in int32
  if (nSumm >= maxSummaries || <f64>(32 * leaves) + 2 * (<f64>mask + 1) >= 2147483648.0) return 0;
  const i = nSumm++;
  seti(SM_MASK, i, mask);
  seti(SM_SHIFT, i, sh);
  store<u32>(SM_AM + (<usize>i << 2), <u32>alloc(<usize>(2 * leaves) << 2));
  buildSummary(i);
  if (geti(SUMMARY_BY_ORDER, order) == 0) seti(SUMMARY_BY_ORDER, order, i + 1);
  return i + 1;
}

function buildSummary(i: i32): void {
  const am = smAm(i);
  const m = geti(SM_MASK, i);
  const sh = geti(SM_SHIFT, i);
  for (let w = 0; w < leaves; w++) {
    const x = eff(w);
    as_(am, leaves + w, x == -1 ? 0 : leafAligned(x, w << 5, m, sh));
  }
  let h = 32;
  for (let lvl = leaves >>> 1; lvl >= 1; lvl >>>= 1) {
    for (let v = lvl; v < 2 * lvl; v++) as_(am, v, summaryNode(am, v, h, m, sh, 0));
    h *= 2;
  }
}

/** First aligned c in word x (bit 0 = bit ws) from `from` on, step `step`, with nr clear bits in the word; or -1. */
function wordFit(x: i32, ws: i32, from: i32, step: i32, nr: i32): i32 {
  for (let c = from; c < ws + 32; c += step) {
    const k = c - ws;
    if (min(lowClear(x >>> k), 32 - k) >= nr) return c;
  }
  return -1;
}

/**
 * A summary's descent: the first c ≥ p with (c + sh) & m == 0 and bits [c, c + nr) clear, or -1.
 * `carry` is where the clear run that reaches the current node began (bits < p count as set); its
 * first aligned bit is the only candidate that run offers. A general summary (size 0) has `am`
 * on every node and starts and ends inside words; a block summary (size = the block's bits,
 * sh = 0) has `am` only above the blocks, whose aligned stretch is their free prefix, and its
 * answer is the start of a block.
 */
function summaryFit(p: i32, nr: i32, am: usize, m: i32, sh: i32, size: i32): i32 {
  const base = 32 * leaves;
  let v: i32;
  let len: i32;
  let carry: i32;
  if (p == 0) {
    // from the start: straight down from the root (the caller saw the root's summary fit)
    v = 1;
    len = base;
    carry = 0;
  } else if (size > 0) {
    const c0 = (p + m) & ~m;
    if (c0 >= maxno) return -1;
    v = (leaves + (c0 >>> 5)) >>> (ctz<i32>(size) - 5);
    len = size;
    const pre0 = nPre(v);
    if (nr <= pre0) return c0;
    carry = pre0 == len ? c0 : c0 + len - nSuf(v);
  } else {
    const w = p >>> 5;
    const ws = w << 5;
    const x = eff(w) | lowMask(p & 31);
    const c = wordFit(x, ws, alignedFrom(p, m, sh), m + 1, nr);
    if (c >= 0) return c;
    carry = ws + 32 - highClear(x);
    v = leaves + w;
    len = 32;
  }
  while (p != 0) {
    v = nextRight(v);
    if (v == 0) return -1;
    len = nodeLen(v);
    const start = v * len - base;
    const pre = nPre(v);
    const c = alignedFrom(carry, m, sh);
    if (c + nr <= start + pre) return c;
    if ((len == size ? pre : ag(am, v)) >= nr) break;
    if (pre != len) carry = start + len - nSuf(v);
  }
  // node v holds an aligned fit that does not start with the carry: go down to it
  const bottom = size > 0 ? size : 32;
  while (len > bottom) {
    len >>>= 1;
    const l = 2 * v;
    const lStart = l * len - base;
    const lp = nPre(l);
    let c = alignedFrom(carry, m, sh);
    if (c + nr <= lStart + lp) return c;
    if ((len == size ? lp : ag(am, l)) >= nr) {
      v = l;
      continue;
    }
    if (lp != len) carry = lStart + len - nSuf(l);
    v = l + 1;
    c = alignedFrom(carry, m, sh);
    if (c + nr <= lStart + len + nPre(v)) return c;
  }
  if (size > 0) return v * len - base;
  const w = v - leaves;
  const c = wordFit(eff(w), w << 5, alignedFrom(w << 5, m, sh), m + 1, nr);
  if (c < 0) unreachable(); // the summary said this word holds one
  return c;
}

// ---- searches

/**
 * Start of the first clear run of at least nr bits (1 ≤ nr) that begins at or after p, counting
 * only its bits ≥ p; -1 if none. p < maxno. Sets runEnd to that run's end when seen, else -1.
 */
function firstFit(p: i32, nr: i32): i32 {
  const base = 32 * leaves;
  let w: i32;
  let carry = 0;
  let v = 1;
  let len = base;
  if (p == 0) {
    // from the start (every first try of cma_alloc): straight down from the root
    if (nMax(1) < nr) return -1;
  } else {
    w = p >>> 5;
    const x = eff(w) | lowMask(p & 31);
    if (nr <= 32) {
      const at = runStartInWord(~x, nr);
      if (at >= 0) {
        const run = at + lowClear(x >>> at);
        runEnd = run < 32 ? (w << 5) + run : -1;
        return (w << 5) + at;
      }
    }
    carry = highClear(x);
    v = leaves + w;
    len = 32;
    while (true) {
      v = nextRight(v);
      if (v == 0) return -1;
      len = nodeLen(v);
      const pre = nPre(v);
      if (carry + pre >= nr) {
        runEnd = pre < len ? v * len - base + pre : -1;
        return v * len - base - carry;
      }
      if (nMax(v) >= nr) break;
      carry = pre == len ? carry + len : nSuf(v);
    }
  }
  // node v holds a clear run of ≥ nr bits that does not start with the carry (none at the root):
  // go down to it
  while (v < leaves) {
    len >>>= 1;
    const l = 2 * v;
    const lp = nPre(l);
    if (carry + lp >= nr) {
      runEnd = lp < len ? l * len - base + lp : -1;
      return l * len - base - carry;
    }
    if (nMax(l) >= nr) {
      v = l;
      continue;
    }
    carry = lp == len ? carry + len : nSuf(l);
    v = l + 1;
    const rp = nPre(v);
    if (carry + rp >= nr) {
      runEnd = rp < len ? v * len - base + rp : -1;
      return v * len - base - carry;
    }
  }
  w = v - leaves;
  const y = eff(w);
  const at = runStartInWord(~y, nr);
  const run = at + lowClear(y >>> at);
  runEnd = run < 32 ? (w << 5) + run : -1;
  return (w << 5) + at;
}

/** First clear bit ≥ from, or maxno (find_next_zero_bit). */
export function nextClear(from: i32): i32 {
  if (from >= maxno) return maxno;
  const at = firstFit(from, 1);
  return at < 0 ? maxno : at;
}

/** First set bit in [from, to), or to. 0 ≤ from, to ≤ maxno (the TypeScript side clamps). */
export function findNextSet(from: i32, to: i32): i32 {
  if (from >= to) return to;
  let w = from >>> 5;
  const lastW = (to - 1) >>> 5;
  let word = wd(w) & ~lowMask(from & 31);
  // a few words by hand: most runs end close by
  for (let i = 0; word == 0 && i < 4; i++) {
    if (++w > lastW) return to;
    word = wd(w);
  }
  if (word != 0) return min((w << 5) + ctz<i32>(word), to);
  // climb to the next node that is not all clear, then go down to its first set bit
  const base = 32 * leaves;
  let v = leaves + w;
  let len = 32;
  while (true) {
    v = nextRight(v);
    if (v == 0) return to;
    len = nodeLen(v);
    if (v * len - base >= to) return to;
    if (nPre(v) < len) break;
  }
  while (v < leaves) {
    len >>>= 1;
    v = nPre(2 * v) < len ? 2 * v : 2 * v + 1;
  }
  w = v - leaves;
  const x = eff(w);
  return min((w << 5) + ctz<i32>(x), to);
}

/**
 * bitmap_find_next_zero_area_off for 1 ≤ nr ≤ maxno, 0 ≤ start ≤ maxno, 0 ≤ mask, offset < 2^30
 * (the TypeScript side handles the rest): the first c ≥ start with (c + offset) & mask == 0 and
 * bits [c, c + nr) clear, else maxno + nr.
 */
export function findArea(start: i32, nr: i32, alignMask: i32, alignOffset: i32): i32 {
  if (nr > nMax(1)) return maxno + nr;
  let order = -1;
  if (alignMask > 0 && start < maxno) {
    order = 31 - clz<i32>(alignMask + 1);
    if (order >= 5 && (alignOffset & alignMask) == 0 && alignMask + 1 <= 16 * leaves && blockSummariesOn) {
      let have = blockAm(order) != 0;
      if (!have) {
        const t = tries(order);
        if (summaryAfterTries < 0 || (t > summaryAfterTries && t > blockTriesPerUpdate * updates)) {
          blockFor(order);
          have = true;
        }
      }
      if (have) {
        if (ag(blockAm(order), 1) < nr) return maxno + nr;
        const c = summaryFit(start, nr, blockAm(order), alignMask, 0, 1 << order);
        return c < 0 ? maxno + nr : c;
      }
    } else {
      const sm = summaryFor(alignMask, alignOffset, order);
      if (sm != 0) {
        if (ag(smAm(sm - 1), 1) < nr) return maxno + nr;
        const i = sm - 1;
        const c = summaryFit(start, nr, smAm(i), geti(SM_MASK, i), geti(SM_SHIFT, i), 0);
        return c < 0 ? maxno + nr : c;
      }
    }
  }
  let p = start;
  let tried = 0;
  while (p < maxno) {
    const x = firstFit(p, nr);
    if (x < 0) break;
    // the summary policy's cost of this alignment: 2 for each run tried past the first (a try
    // skips to the next aligned bit, so there are few, and each goes further)
    if (++tried >= 2 && order >= 0) addTries(order, 2);
    // in 64 bits: x + offset + mask may pass 2^31
    const c = <i32>(((<i64>x + alignOffset + alignMask) & ~(<i64>alignMask)) - alignOffset);
    if (c == x) return c;
    const end = <i64>c + nr;
    if (end > maxno) break;
    let re = runEnd;
    if (re < 0) re = findNextSet(x + nr, <i32>end);
    if (re >= <i32>end) return c;
    // no aligned bit of [x, re] starts a fit, and none before x did: the next candidate is the
    // first aligned bit past re (a run that reaches it is cut there and starts a fit at it)
    p = <i32>min<i64>(((<i64>re + 1 + alignOffset + alignMask) & ~(<i64>alignMask)) - alignOffset, <i64>maxno);
  }
  return maxno + nr;
}
