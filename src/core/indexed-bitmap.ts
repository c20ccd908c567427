// An indexed CMA bitmap: the kernel's first-fit placement without the kernel's linear scan.
//
// The words are the same u32 words PlainBitmap keeps (debugfs prints them). On top of them sits
// a complete binary tree whose leaves are the words; every node stores three numbers about the
// clear bits of the range it covers:
//
//   pre  clear bits at the start of the range (a free prefix)
//   suf  clear bits at the end of the range (a free suffix)
//   max  the longest run of clear bits inside the range
//
// Leaves past the last word, and the bits of the last word past `maxno`, count as set, so no run
// ever reaches past the bitmap. A parent is pre = l.pre (+ r.pre if l is all clear), suf likewise,
// max = max(l.max, r.max, l.suf + r.pre). The root's max is maxchunk; a running count of set bits
// is `used`.
//
// findArea(start, nr, mask, offset) must return exactly what bitmap_find_next_zero_area_off
// returns: the smallest index c ≥ start with (c + offset) & mask == 0, c + nr ≤ maxno and bits
// [c, c + nr) clear. The tree finds, left to right, the maximal clear runs (cut at `start`) that
// are at least nr long, each in O(log n) without touching the runs in between: a node whose max
// is below nr is skipped whole, carrying only its suffix into the next node. For each such run
// [x, b) the only candidate that matters is its first aligned index c = alignUp(x + offset) -
// offset; if c + nr ≤ b it is the answer, otherwise no aligned index of that run fits and the
// search resumes past b. Runs shorter than nr are never visited, which is what the kernel's scan
// spends its time on.

import { alignUp, bitmapWeight, bitsToWords, popcount32 } from './bitmap.ts';
import type { CmaBitmap, CmaBitmapFactory } from './cma-bitmap.ts';

/** Longest clear run in each 16-bit value (built once, on first use). */
let maxRun16: Uint8Array | undefined;

function buildMaxRun16(): Uint8Array {
  const t = new Uint8Array(65536);
  for (let v = 0; v < 65536; v++) {
    let best = 0;
    let cur = 0;
    for (let b = 0; b < 16; b++) {
      if ((v >>> b) & 1) cur = 0;
      else if (++cur > best) best = cur;
    }
    t[v] = best;
  }
  return t;
}

/** Clear bits at the low end of a word (bit 0 first). */
function lowClear(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

/** Clear bits at the high end of a word. */
function highClear(x: number): number {
  return Math.clz32(x);
}

/** Longest clear run in a u32 word. */
function maxClear(x: number, t: Uint8Array): number {
  x >>>= 0;
  if (x === 0) return 32;
  if (x === 0xffffffff) return 0;
  const lo = x & 0xffff;
  const hi = x >>> 16;
  const a = t[lo]!;
  const b = t[hi]!;
  const join = (lo === 0 ? 16 : Math.clz32(lo) - 16) + (hi === 0 ? 16 : 31 - Math.clz32(hi & -hi));
  return a > b ? Math.max(a, join) : Math.max(b, join);
}

/**
 * Lowest bit at which `nr` (1..32) consecutive bits of `free` are 1, or -1. Runs are cut at bit 31.
 */
function runStartInWord(free: number, nr: number): number {
  let m = free | 0;
  let k = 1;
  while (k < nr && m !== 0) {
    const s = Math.min(k, nr - k);
    m &= m >>> s;
    k += s;
  }
  if (m === 0) return -1;
  return 31 - Math.clz32(m & -m);
}

/** Bits [0, n) of a word, 0 ≤ n < 32. */
function lowMask(n: number): number {
  return n === 0 ? 0 : (0xffffffff >>> (32 - n)) | 0;
}

/** The index: same results as PlainBitmap, found in O(log n) per clear run of length ≥ nr. */
export class IndexedBitmap implements CmaBitmap {
  readonly words: Uint32Array;
  /** Leaves in the tree (a power of two ≥ the number of words). */
  private readonly leaves: number;
  /** pre, suf, max of node v at 3v, 3v+1, 3v+2; node 1 is the root, leaf of word w is leaves + w. */
  private readonly s: Int32Array;
  /** Bits of the last word that lie past maxno (treated as set by the index), or 0. */
  private readonly tailMask: number;
  private readonly table: Uint8Array;
  private setBits = 0;

  constructor(readonly maxno: number) {
    if (!Number.isInteger(maxno) || maxno < 0 || maxno > 2 ** 31) {
      throw new RangeError(`bitmap size out of range: ${maxno}`);
    }
    maxRun16 ??= buildMaxRun16();
    this.table = maxRun16;
    const nWords = bitsToWords(maxno);
    this.words = new Uint32Array(nWords);
    let leaves = 1;
    while (leaves < nWords) leaves *= 2;
    this.leaves = leaves;
    this.tailMask = maxno & 31 ? ~lowMask(maxno & 31) : 0;
    this.s = new Int32Array(6 * leaves);
    this.rebuild();
  }

  /** Recomputes every node from the words (also used after bulk loads). */
  private rebuild(): void {
    const leaves = this.leaves;
    for (let w = 0; w < leaves; w++) this.leaf(w);
    let h = 32;
    for (let lvl = leaves >>> 1; lvl >= 1; lvl >>>= 1) {
      for (let v = lvl; v < 2 * lvl; v++) this.combine(v, h);
      h *= 2;
    }
    this.setBits = bitmapWeight(this.words, this.maxno);
  }

  /** The word as the index sees it: bits past maxno and missing words are set. */
  private eff(w: number): number {
    const n = this.words.length;
    if (w >= n) return -1;
    return w === n - 1 ? this.words[w]! | this.tailMask : this.words[w]! | 0;
  }

  private leaf(w: number): void {
    const x = this.eff(w);
    const i = 3 * (this.leaves + w);
    const s = this.s;
    s[i] = lowClear(x);
    s[i + 1] = highClear(x);
    s[i + 2] = maxClear(x, this.table);
  }

  /** Recomputes internal node v from its children, each `h` bits long; true if it changed. */
  private combine(v: number, h: number): boolean {
    const s = this.s;
    const l = 6 * v;
    const lp = s[l]!;
    const ls = s[l + 1]!;
    const rp = s[l + 3]!;
    const rs = s[l + 4]!;
    const pre = lp === h ? h + rp : lp;
    const suf = rs === h ? h + ls : rs;
    const max = Math.max(s[l + 2]!, s[l + 5]!, ls + rp);
    const i = 3 * v;
    if (s[i] === pre && s[i + 1] === suf && s[i + 2] === max) return false;
    s[i] = pre;
    s[i + 1] = suf;
    s[i + 2] = max;
    return true;
  }

  /**
   * Sets (value -1) or clears (value 0) bits [lo, hi), 0 ≤ lo < hi ≤ maxno, and updates the index:
   * the words and nodes wholly inside the range get constants, only the two edges are recomputed,
   * and the climb stops at the first level where nothing changed. O(k + log n) for k words.
   */
  private fill(lo: number, hi: number, value: number): void {
    const map = this.words;
    const s = this.s;
    const leaves = this.leaves;
    const w0 = lo >>> 5;
    const w1 = (hi - 1) >>> 5;
    const full = value === 0 ? 32 : 0;
    let delta = 0;
    // the two edge words
    const m0 = w0 === w1 ? lowMask(((hi - 1) & 31) + 1) & ~lowMask(lo & 31) : ~lowMask(lo & 31);
    delta += this.applyWord(w0, m0, value);
    if (w1 !== w0) delta += this.applyWord(w1, lowMask(((hi - 1) & 31) + 1), value);
    // the words in between, and their leaves
    for (let w = w0 + 1; w < w1; w++) {
      const old = map[w]!;
      delta += value === 0 ? -popcount32(old) : 32 - popcount32(old);
      map[w] = value >>> 0;
      const i = 3 * (leaves + w);
      s[i] = full;
      s[i + 1] = full;
      s[i + 2] = full;
    }
    this.setBits += delta;
    let a = (leaves + w0) >>> 1;
    let b = (leaves + w1) >>> 1;
    let h = 32;
    if (a === 0) return; // a single word: the leaf is the root
    for (;;) {
      // node a (and b), from their children; interior nodes are constants
      let changed = false;
      let v = a;
      for (;;) {
        const l = 6 * v;
        const lp = s[l]!;
        const ls = s[l + 1]!;
        const rp = s[l + 3]!;
        const rs = s[l + 4]!;
        const pre = lp === h ? h + rp : lp;
        const suf = rs === h ? h + ls : rs;
        const lm = s[l + 2]!;
        const rm = s[l + 5]!;
        const j = ls + rp;
        const max = lm > rm ? (lm > j ? lm : j) : rm > j ? rm : j;
        const i = 3 * v;
        if (s[i] !== pre || s[i + 1] !== suf || s[i + 2] !== max) {
          s[i] = pre;
          s[i + 1] = suf;
          s[i + 2] = max;
          changed = true;
        }
        if (v === b) break;
        v = b;
      }
      if (b - a > 1) {
        const len = value === 0 ? 2 * h : 0;
        for (let u = a + 1; u < b; u++) {
          const i = 3 * u;
          s[i] = len;
          s[i + 1] = len;
          s[i + 2] = len;
        }
        changed = true;
      }
      if (!changed || a === 1) return;
      a >>>= 1;
      b >>>= 1;
      h *= 2;
    }
  }

  /** Sets (value -1) or clears (0) the bits of `mask` in word w and recomputes its leaf; returns Δ set bits. */
  private applyWord(w: number, mask: number, value: number): number {
    const map = this.words;
    const old = map[w]!;
    const nw = (value === 0 ? old & ~mask : old | mask) >>> 0;
    if (nw === old) return 0;
    map[w] = nw;
    this.leaf(w);
    return popcount32(nw) - popcount32(old);
  }

  /** Clamps [start, start + nbits) to the bitmap; returns [start, end) or null when empty. */
  private clampRange(start: number, nbits: number): [number, number] | null {
    if (!(nbits > 0)) return null;
    const lo = start < 0 ? 0 : start;
    const hi = Math.min(start + nbits, this.maxno);
    return hi > lo ? [lo, hi] : null;
  }

  set(start: number, nbits: number): void {
    if (start >= 0 && nbits > 0 && start + nbits <= this.maxno) this.fill(start, start + nbits, -1);
    else {
      const r = this.clampRange(start, nbits);
      if (r) this.fill(r[0], r[1], -1);
    }
  }

  clear(start: number, nbits: number): void {
    if (start >= 0 && nbits > 0 && start + nbits <= this.maxno) this.fill(start, start + nbits, 0);
    else {
      const r = this.clampRange(start, nbits);
      if (r) this.fill(r[0], r[1], 0);
    }
  }

  weight(): number {
    return this.setBits;
  }

  longestZeroRun(): number {
    return this.s[5]!;
  }

  /**
   * Start of the first clear run of at least `nr` bits (1 ≤ nr) that begins at or after `p`,
   * counting only its bits ≥ p; -1 if there is none. `p` < maxno.
   */
  private firstFit(p: number, nr: number): number {
    const s = this.s;
    const leaves = this.leaves;
    const base = 32 * leaves;
    let w = p >>> 5;
    const x = this.eff(w) | lowMask(p & 31);
    if (nr <= 32) {
      const at = runStartInWord(~x, nr);
      if (at >= 0) return (w << 5) + at;
    }
    let carry = highClear(x);
    let v = leaves + w;
    let len = 32;
    for (;;) {
      while (v & 1) {
        if (v === 1) return -1;
        v >>>= 1;
        len *= 2;
      }
      v++;
      const pre = s[3 * v]!;
      if (carry + pre >= nr) return v * len - base - carry;
      if (s[3 * v + 2]! >= nr) break;
      carry = pre === len ? carry + len : s[3 * v + 1]!;
    }
    // Node v holds a clear run of ≥ nr bits that does not start with the carry: go down to it.
    while (v < leaves) {
      len >>>= 1;
      const l = 2 * v;
      const lp = s[3 * l]!;
      if (carry + lp >= nr) return l * len - base - carry;
      if (s[3 * l + 2]! >= nr) {
        v = l;
        continue;
      }
      carry = lp === len ? carry + len : s[3 * l + 1]!;
      v = l + 1;
      if (carry + s[3 * v]! >= nr) return v * len - base - carry;
    }
    w = v - leaves;
    return (w << 5) + runStartInWord(~this.eff(w), nr);
  }

  /** First clear bit ≥ from, or maxno (find_next_zero_bit). */
  private nextClear(from: number): number {
    if (from >= this.maxno) return this.maxno;
    const at = this.firstFit(from, 1);
    return at < 0 ? this.maxno : at;
  }

  findNextSet(from: number, to: number): number {
    if (to > this.maxno) to = this.maxno;
    if (from >= to) return to;
    if (from < 0) from = 0;
    const map = this.words;
    let w = from >>> 5;
    const lastW = (to - 1) >>> 5;
    let word = map[w]! & ~lowMask(from & 31);
    // a few words by hand: most runs end close by
    for (let i = 0; word === 0 && i < 4; i++) {
      if (++w > lastW) return to;
      word = map[w]!;
    }
    if (word !== 0) {
      const bit = (w << 5) + 31 - Math.clz32(word & -word);
      return Math.min(bit, to);
    }
    // climb to the next node that is not all clear, then go down to its first set bit
    const s = this.s;
    const leaves = this.leaves;
    const base = 32 * leaves;
    let v = leaves + w;
    let len = 32;
    for (;;) {
      while (v & 1) {
        if (v === 1) return to;
        v >>>= 1;
        len *= 2;
      }
      v++;
      if (v * len - base >= to) return to;
      if (s[3 * v]! < len) break;
    }
    while (v < leaves) {
      len >>>= 1;
      v = s[6 * v]! < len ? 2 * v : 2 * v + 1;
    }
    w = v - leaves;
    const x = this.eff(w);
    const bit = (w << 5) + 31 - Math.clz32(x & -x);
    return Math.min(bit, to);
  }

  findArea(start: number, nr: number, alignMask: number, alignOffset: number): number {
    const maxno = this.maxno;
    if (start < 0) start = 0;
    if (nr <= 0) {
      // a zero-length area: the kernel returns the aligned first clear bit, whatever follows it
      const z = this.nextClear(start);
      return alignUp(z + alignOffset, alignMask) - alignOffset;
    }
    if (nr > this.s[5]!) return maxno + nr;
    let p = start;
    while (p < maxno) {
      const x = this.firstFit(p, nr);
      if (x < 0) break;
      const c = alignUp(x + alignOffset, alignMask) - alignOffset;
      if (c === x) return c;
      const end = c + nr;
      if (end > maxno) break;
      const set = this.findNextSet(x + nr, end);
      if (set >= end) return c;
      p = set + 1;
    }
    return maxno + nr;
  }
}

/** A factory for createSystem({ bitmapFactory }) and replays. */
export const indexedBitmapFactory: CmaBitmapFactory = (maxno) => new IndexedBitmap(maxno);
