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

/**
 * Per alignment A = mask + 1 ≥ 2 and shift sh = offset & mask: for every node, the longest clear
 * stretch that starts at an aligned bit c ((c + sh) & mask == 0) inside the node, cut at the node's
 * end. With it the search descends straight to the first aligned fit instead of trying every run
 * that is long enough but not aligned (the bulk of the work on a fragmented 64 GiB area).
 */
interface AlignSummary {
  readonly mask: number;
  readonly shift: number;
  readonly am: Int32Array;
}

/**
 * When the alignment is a block of 32 bits or more and the offset is 0 (an area whose base is
 * aligned to it, the usual case), the aligned bits are exactly the starts of the tree's nodes of
 * that size, so the summary is needed only above them: one number per node larger than a block
 * (1/16 of the tree for 1024-bit alignment), updated only when a block's free prefix or suffix
 * changed. Cheap enough to keep for every alignment that is used.
 */
interface BlockSummary {
  readonly mask: number;
  /** Block size in bits (mask + 1). */
  readonly size: number;
  /** log2(size / 32): leaf index >>> shift is the block's node. */
  readonly shift: number;
  /** Node v (of size > block) → longest clear stretch starting at a block start inside v. */
  readonly am: Int32Array;
}

let BLOCK_SUMMARIES = true;

/** A block summary is made once its alignment's extra tries exceed this many per set/clear. */
let BLOCK_TRIES_PER_UPDATE = 6;

/** Bench hook: the ratio above. */
export function setBlockTriesPerUpdate(n: number): void {
  BLOCK_TRIES_PER_UPDATE = n;
}

/** Test and bench hook: use block summaries (default true). */
export function setBlockSummaries(on: boolean): void {
  BLOCK_SUMMARIES = on;
}

/** Summaries kept per bitmap; further alignments use the unaligned search plus verification. */
let MAX_SUMMARIES = 16;
/** Test and bench hook: how many aligned summaries a bitmap may keep (0 = none). */
export function setMaxAlignSummaries(n: number): void {
  MAX_SUMMARIES = n;
}

/** Extra runs tried by the searches of one alignment before a summary is made for it. */
let SUMMARY_AFTER_TRIES = 20000;

/** …and only when they are more than this many per set/clear so far. */
let SUMMARY_TRIES_PER_UPDATE = 16;

/** Test and bench hook: the tries-per-update ratio above. */
export function setSummaryTriesPerUpdate(n: number): void {
  SUMMARY_TRIES_PER_UPDATE = n;
}

/** Test and bench hook: the threshold above (negative: a summary at the first aligned search). */
export function setSummaryAfterTries(n: number): void {
  SUMMARY_AFTER_TRIES = n;
}

/** First c ≥ x with (c + sh) & m == 0 (integer arithmetic; callers keep x + sh + m < 2^31). */
function alignedFrom(x: number, m: number, sh: number): number {
  return ((x + sh + m) & ~m) - sh;
}

/** Longest clear stretch in word x (bit 0 = bit `ws`) that starts at an aligned bit, cut at bit 31. */
function leafAligned(x: number, ws: number, m: number, sh: number): number {
  let best = 0;
  for (let c = alignedFrom(ws, m, sh); c < ws + 32; c += m + 1) {
    const k = c - ws;
    const run = Math.min(lowClear(x >>> k), 32 - k);
    if (run > best) best = run;
  }
  return best;
}

/** The index: same results as PlainBitmap, found in O(log n) per clear run of length ≥ nr. */
/** a.fill(v, i, e): a loop for short ranges (the native call costs more), native for long ones. */
function fillI32(a: Int32Array, v: number, i: number, e: number): void {
  if (e - i <= 16) for (; i < e; i++) a[i] = v;
  else a.fill(v, i, e);
}

/** The same for the words (a separate function: one array type per call site stays fast). */
function fillU32(a: Uint32Array, v: number, i: number, e: number): void {
  if (e - i <= 16) for (; i < e; i++) a[i] = v;
  else a.fill(v, i, e);
}

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
  /** Aligned summaries, made on first use of an alignment (see AlignSummary). */
  private readonly summaries: AlignSummary[] = [];
  /** Summary by log2(alignment), for the common case of one offset per alignment. */
  private readonly summaryByOrder: (AlignSummary | undefined)[] = [];
  /** Block summaries by log2(block size), and as a list. */
  private readonly blocks: (BlockSummary | undefined)[] = [];
  private readonly blockList: BlockSummary[] = [];
  /** Per log2(alignment): runs tried beyond the first few by unaligned searches, since the last summary. */
  private readonly triesByOrder: number[] = new Array<number>(32).fill(0);
  /** End of the run firstFit() found, or -1 when it did not see it. */
  private runEnd = -1;
  /** set/clear calls so far (for the summary policy). */
  private updates = 0;

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
    this.rebuild(true);
  }

  /** Recomputes every node from the words (also used after bulk loads). */
  private rebuild(empty = false): void {
    const leaves = this.leaves;
    if (empty) {
      // all words clear: every full leaf is (32, 32, 32); the last word has the tail; leaves
      // past the words stay (0, 0, 0)
      const n = this.words.length;
      if (n > 1) this.s.fill(32, 3 * leaves, 3 * (leaves + n - 1));
      if (n > 0) this.leaf(n - 1);
    } else for (let w = 0; w < leaves; w++) this.leaf(w);
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
    this.updates++;
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
    // the words in between, and their leaves (pre = suf = max = full): native fills
    if (w1 - w0 > 1) {
      // set bits before: usually none (a set) or all (a clear); popcount only otherwise
      let or = 0;
      let and = -1;
      let w = w0 + 1;
      for (; w + 4 <= w1; w += 4) {
        const x0 = map[w]!;
        const x1 = map[w + 1]!;
        const x2 = map[w + 2]!;
        const x3 = map[w + 3]!;
        or |= x0 | x1 | x2 | x3;
        and &= x0 & x1 & x2 & x3;
      }
      for (; w < w1; w++) {
        const x = map[w]!;
        or |= x;
        and &= x;
      }
      let was: number;
      if (or === 0) was = 0;
      else if (and === -1) was = 32 * (w1 - w0 - 1);
      else {
        was = 0;
        for (let w = w0 + 1; w < w1; w++) was += popcount32(map[w]!);
      }
      delta += value === 0 ? -was : 32 * (w1 - w0 - 1) - was;
      fillU32(map, value >>> 0, w0 + 1, w1);
      fillI32(s, full, 3 * (leaves + w0 + 1), 3 * (leaves + w1));
    }
    this.setBits += delta;
    let a = (leaves + w0) >>> 1;
    let b = (leaves + w1) >>> 1;
    let h = 32;
    let topChanged = 32;
    let topPreSuf = 32;
    let edgesChanged = false;
    if (a === 0) {
      // a single word: the leaf is the root
      for (const sm of this.summaries) this.fillSummary(sm, w0, w1, value, 0);
      return;
    }
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
        const max = lm > rm ? Math.max(lm, j) : Math.max(rm, j);
        const i = 3 * v;
        if (s[i] !== pre || s[i + 1] !== suf) {
          s[i] = pre;
          s[i + 1] = suf;
          s[i + 2] = max;
          changed = true;
          edgesChanged = true;
        } else if (s[i + 2] !== max) {
          s[i + 2] = max;
          changed = true;
        }
        if (v === b) break;
        v = b;
      }
      if (b - a > 1) {
        fillI32(s, value === 0 ? 2 * h : 0, 3 * (a + 1), 3 * b);
        changed = true;
        edgesChanged = true;
      }
      if (changed) topChanged = 2 * h;
      if (edgesChanged) topPreSuf = 2 * h;
      edgesChanged = false;
      if (!changed || a === 1) break;
      a >>>= 1;
      b >>>= 1;
      h *= 2;
    }
    for (const sm of this.summaries) this.fillSummary(sm, w0, w1, value, topChanged);
    for (const bs of this.blockList) if (topPreSuf >= bs.size) this.fillBlock(bs, w0, w1, value, topPreSuf);
  }

  /**
   * Updates a block summary after fill(): only nodes larger than a block, and only when the
   * pre/suf of some node of block size or more changed (`topPreSuf`: the largest such size).
   */
  private fillBlock(bs: BlockSummary, w0: number, w1: number, value: number, topPreSuf: number): void {
    const { am, size, mask: m } = bs;
    const s = this.s;
    const base = 32 * this.leaves;
    const k = bs.shift;
    // nodes of size 2·size containing w0 and w1
    let a = (this.leaves + w0) >>> (k + 1);
    let b = (this.leaves + w1) >>> (k + 1);
    let h = size;
    let changed = false;
    while (a >= 1 && (changed || h <= topPreSuf)) {
      changed = false;
      let v = a;
      for (;;) {
        const l = 6 * v;
        const ls = s[l + 1]!;
        const rp = s[l + 3]!;
        let best = h === size ? Math.max(s[l]!, rp) : Math.max(am[2 * v]!, am[2 * v + 1]!);
        if (ls > 0) {
          const lEnd = (2 * v + 1) * h - base;
          const c = (lEnd - ls + m) & ~m;
          if (c < lEnd && lEnd - c + rp > best) best = lEnd - c + rp;
        }
        if (am[v] !== best) {
          am[v] = best;
          changed = true;
        }
        if (v === b) break;
        v = b;
      }
      if (b - a > 1) {
        const len = value === 0 ? 2 * h : 0;
        for (let u = a + 1; u < b; u++) am[u] = len;
        changed = true;
      }
      a >>>= 1;
      b >>>= 1;
      h *= 2;
    }
  }

  /** The block summary for alignment `size` (offset 0), made on first use. */
  private blockFor(mask: number, order: number): BlockSummary {
    let bs = this.blocks[order];
    if (bs) return bs;
    const size = mask + 1;
    const shift = order - 5;
    bs = { mask, size, shift, am: new Int32Array((32 * this.leaves) / size) };
    const { am } = bs;
    const s = this.s;
    const base = 32 * this.leaves;
    let h = size;
    for (let lvl = (16 * this.leaves) / size; lvl >= 1; lvl >>>= 1) {
      for (let v = lvl; v < 2 * lvl; v++) {
        const l = 6 * v;
        const ls = s[l + 1]!;
        const rp = s[l + 3]!;
        let best = h === size ? Math.max(s[l]!, rp) : Math.max(am[2 * v]!, am[2 * v + 1]!);
        if (ls > 0) {
          const lEnd = (2 * v + 1) * h - base;
          const c = (lEnd - ls + mask) & ~mask;
          if (c < lEnd && lEnd - c + rp > best) best = lEnd - c + rp;
        }
        am[v] = best;
      }
      h *= 2;
    }
    this.blocks[order] = bs;
    this.blockList.push(bs);
    return bs;
  }

  /**
   * First c ≥ p, c a multiple of the block size, with bits [c, c + nr) clear, or -1. The blocks
   * are the tree's nodes of that size: the descent stops at them.
   */
  private blockFit(p: number, nr: number, bs: BlockSummary): number {
    const { am, size, mask: m } = bs;
    const s = this.s;
    const leaves = this.leaves;
    const base = 32 * leaves;
    const c0 = (p + m) & ~m;
    if (c0 >= this.maxno) return -1;
    let v = (leaves + (c0 >>> 5)) >>> bs.shift;
    let len = size;
    const pre0 = s[3 * v]!;
    if (nr <= pre0) return c0;
    let carry = pre0 === len ? c0 : c0 + len - s[3 * v + 1]!;
    for (;;) {
      while (v & 1) {
        if (v === 1) return -1;
        v >>>= 1;
        len *= 2;
      }
      v++;
      const start = v * len - base;
      const pre = s[3 * v]!;
      const c = (carry + m) & ~m;
      if (c + nr <= start + pre) return c;
      if ((len === size ? pre : am[v]!) >= nr) break;
      if (pre !== len) carry = start + len - s[3 * v + 1]!;
    }
    while (len > size) {
      len >>>= 1;
      const l = 2 * v;
      const lStart = l * len - base;
      const lp = s[3 * l]!;
      let c = (carry + m) & ~m;
      if (c + nr <= lStart + lp) return c;
      if ((len === size ? lp : am[l]!) >= nr) {
        v = l;
        continue;
      }
      if (lp !== len) carry = lStart + len - s[3 * l + 1]!;
      v = l + 1;
      c = (carry + m) & ~m;
      if (c + nr <= lStart + len + s[3 * v]!) return c;
    }
    return v * len - base;
  }

  /**
   * Updates one aligned summary after fill(): the edge leaves and nodes are recomputed, the ones
   * inside the range get constants. `topChanged` is the size of the largest node whose pre/suf/max
   * changed; above it the climb stops as soon as no summary value changes.
   */
  private fillSummary(sm: AlignSummary, w0: number, w1: number, value: number, topChanged: number): void {
    const { am, mask: m, shift: sh } = sm;
    const s = this.s;
    const leaves = this.leaves;
    const base = 32 * leaves;
    let changed = false;
    for (let w = w0; w <= w1; w++) {
      const v = leaves + w;
      let nv: number;
      if (w === w0 || w === w1) {
        const x = this.eff(w);
        nv = x === -1 ? 0 : leafAligned(x, w << 5, m, sh);
      } else if (value === 0) {
        // a clear word: from its first aligned bit to its end
        const c = alignedFrom(w << 5, m, sh) - (w << 5);
        nv = c < 32 ? 32 - c : 0;
      } else nv = 0;
      if (am[v] !== nv) {
        am[v] = nv;
        changed = true;
      }
    }
    let a = (leaves + w0) >>> 1;
    let b = (leaves + w1) >>> 1;
    let h = 32;
    while (a >= 1 && (changed || h <= topChanged)) {
      changed = false;
      let v = a;
      for (;;) {
        const l = 6 * v;
        const ls = s[l + 1]!;
        let best = Math.max(am[2 * v]!, am[2 * v + 1]!);
        if (ls > 0) {
          const lEnd = (2 * v + 1) * h - base;
          const c = alignedFrom(lEnd - ls, m, sh);
          if (c < lEnd && lEnd - c + s[l + 3]! > best) best = lEnd - c + s[l + 3]!;
        }
        if (am[v] !== best) {
          am[v] = best;
          changed = true;
        }
        if (v === b) break;
        v = b;
      }
      if (b - a > 1) {
        for (let u = a + 1; u < b; u++) {
          let nv = 0;
          if (value === 0) {
            const start = u * 2 * h - base;
            const c = alignedFrom(start, m, sh);
            nv = c < start + 2 * h ? start + 2 * h - c : 0;
          }
          am[u] = nv;
        }
        changed = true;
      }
      a >>>= 1;
      b >>>= 1;
      h *= 2;
    }
  }

  /**
   * The summary for (mask, offset), or undefined: one is made for an alignment only once its
   * searches have had to try many long-enough-but-misaligned runs (each summary costs about one
   * more tree update per set/clear, so alignments that search cheaply do without).
   */
  private summaryFor(mask: number, offset: number, order: number): AlignSummary | undefined {
    const sh = offset & mask;
    const hit = this.summaryByOrder[order];
    if (hit && hit.shift === sh) return hit;
    const tries = this.triesByOrder[order]!;
    // worth it when this alignment's extra tries outnumber the set/clear calls it would slow down
    const worth =
      SUMMARY_AFTER_TRIES < 0 ||
      (tries > SUMMARY_AFTER_TRIES && tries > SUMMARY_TRIES_PER_UPDATE * this.updates);
    if (this.summaries.length === 0 && !worth) return undefined;
    for (const sm of this.summaries) if (sm.mask === mask && sm.shift === sh) return sm;
    if (!worth) return undefined;
    // the aligned arithmetic stays in int32
    if (this.summaries.length >= MAX_SUMMARIES || 32 * this.leaves + 2 * (mask + 1) >= 2 ** 31)
      return undefined;
    const sm: AlignSummary = { mask, shift: sh, am: new Int32Array(2 * this.leaves) };
    this.buildSummary(sm);
    this.summaries.push(sm);
    this.summaryByOrder[order] ??= sm;
    return sm;
  }

  private buildSummary(sm: AlignSummary): void {
    const { am, mask: m, shift: sh } = sm;
    const s = this.s;
    const leaves = this.leaves;
    const base = 32 * leaves;
    for (let w = 0; w < leaves; w++) {
      const x = this.eff(w);
      am[leaves + w] = x === -1 ? 0 : leafAligned(x, w << 5, m, sh);
    }
    let h = 32;
    for (let lvl = leaves >>> 1; lvl >= 1; lvl >>>= 1) {
      for (let v = lvl; v < 2 * lvl; v++) {
        const ls = s[6 * v + 1]!;
        let best = Math.max(am[2 * v]!, am[2 * v + 1]!);
        if (ls > 0) {
          const lEnd = (2 * v + 1) * h - base;
          const c = alignedFrom(lEnd - ls, m, sh);
          if (c < lEnd && lEnd - c + s[6 * v + 3]! > best) best = lEnd - c + s[6 * v + 3]!;
        }
        am[v] = best;
      }
      h *= 2;
    }
  }

  /**
   * First c ≥ p with (c + sh) & mask == 0 and bits [c, c + nr) clear, or -1: the summary's
   * descent. `carry` is where the clear run that reaches the current node began (bits < p count
   * as set); its first aligned bit is the only candidate that run offers.
   */
  private alignedFit(p: number, nr: number, sm: AlignSummary): number {
    const { am, mask: m, shift: sh } = sm;
    const step = m + 1;
    const s = this.s;
    const leaves = this.leaves;
    const base = 32 * leaves;
    let w = p >>> 5;
    const ws = w << 5;
    const x = this.eff(w) | lowMask(p & 31);
    for (let c = alignedFrom(p, m, sh); c < ws + 32; c += step) {
      const k = c - ws;
      if (Math.min(lowClear(x >>> k), 32 - k) >= nr) return c;
    }
    let carry = ws + 32 - highClear(x);
    let v = leaves + w;
    let len = 32;
    for (;;) {
      while (v & 1) {
        if (v === 1) return -1;
        v >>>= 1;
        len *= 2;
      }
      v++;
      const start = v * len - base;
      const pre = s[3 * v]!;
      const c = alignedFrom(carry, m, sh);
      if (c + nr <= start + pre) return c;
      if (am[v]! >= nr) break;
      if (pre !== len) carry = start + len - s[3 * v + 1]!;
    }
    while (v < leaves) {
      len >>>= 1;
      const l = 2 * v;
      const lStart = l * len - base;
      const lp = s[3 * l]!;
      let c = alignedFrom(carry, m, sh);
      if (c + nr <= lStart + lp) return c;
      if (am[l]! >= nr) {
        v = l;
        continue;
      }
      if (lp !== len) carry = lStart + len - s[3 * l + 1]!;
      v = l + 1;
      c = alignedFrom(carry, m, sh);
      if (c + nr <= lStart + len + s[3 * v]!) return c;
    }
    w = v - leaves;
    const y = this.eff(w);
    const ys = w << 5;
    for (let c = alignedFrom(ys, m, sh); c < ys + 32; c += step) {
      const k = c - ys;
      if (Math.min(lowClear(y >>> k), 32 - k) >= nr) return c;
    }
    throw new Error('IndexedBitmap: aligned summary out of step with the bitmap');
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
    const lo = Math.max(start, 0);
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
   * counting only its bits ≥ p; -1 if there is none. `p` < maxno. Sets `runEnd` to the end of
   * that run when the search saw it (a set bit or maxno), else -1.
   */
  private firstFit(p: number, nr: number): number {
    const s = this.s;
    const leaves = this.leaves;
    const base = 32 * leaves;
    let w = p >>> 5;
    const x = this.eff(w) | lowMask(p & 31);
    if (nr <= 32) {
      const at = runStartInWord(~x, nr);
      if (at >= 0) {
        const run = at + lowClear(x >>> at);
        this.runEnd = run < 32 ? (w << 5) + run : -1;
        return (w << 5) + at;
      }
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
      if (carry + pre >= nr) {
        this.runEnd = pre < len ? v * len - base + pre : -1;
        return v * len - base - carry;
      }
      if (s[3 * v + 2]! >= nr) break;
      carry = pre === len ? carry + len : s[3 * v + 1]!;
    }
    // Node v holds a clear run of ≥ nr bits that does not start with the carry: go down to it.
    while (v < leaves) {
      len >>>= 1;
      const l = 2 * v;
      const lp = s[3 * l]!;
      if (carry + lp >= nr) {
        this.runEnd = lp < len ? l * len - base + lp : -1;
        return l * len - base - carry;
      }
      if (s[3 * l + 2]! >= nr) {
        v = l;
        continue;
      }
      carry = lp === len ? carry + len : s[3 * l + 1]!;
      v = l + 1;
      const rp = s[3 * v]!;
      if (carry + rp >= nr) {
        this.runEnd = rp < len ? v * len - base + rp : -1;
        return v * len - base - carry;
      }
    }
    w = v - leaves;
    const y = this.eff(w);
    const at = runStartInWord(~y, nr);
    const run = at + lowClear(y >>> at);
    this.runEnd = run < 32 ? (w << 5) + run : -1;
    return (w << 5) + at;
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
    let order = -1;
    if (alignMask > 0 && start < maxno) {
      order = 31 - Math.clz32(alignMask + 1);
      if (
        order >= 5 &&
        (alignOffset & alignMask) === 0 &&
        2 * (alignMask + 1) <= 32 * this.leaves &&
        BLOCK_SUMMARIES
      ) {
        let bs = this.blocks[order];
        if (!bs) {
          const tries = this.triesByOrder[order]!;
          if (
            SUMMARY_AFTER_TRIES < 0 ||
            (tries > SUMMARY_AFTER_TRIES && tries > BLOCK_TRIES_PER_UPDATE * this.updates)
          )
            bs = this.blockFor(alignMask, order);
        }
        if (bs) {
          if (bs.am[1]! < nr) return maxno + nr;
          const c = this.blockFit(start, nr, bs);
          return c < 0 ? maxno + nr : c;
        }
      } else {
        const sm = this.summaryFor(alignMask, alignOffset, order);
        if (sm) {
          if (sm.am[1]! < nr) return maxno + nr;
          const c = this.alignedFit(start, nr, sm);
          return c < 0 ? maxno + nr : c;
        }
      }
    }
    let p = start;
    let tries = 0;
    const small = 32 * this.leaves + 2 * alignMask + alignOffset < 2 ** 31;
    while (p < maxno) {
      const x = this.firstFit(p, nr);
      if (x < 0) break;
      if (++tries === 4 && order >= 0) this.triesByOrder[order] = (this.triesByOrder[order] ?? 0) + 4;
      else if (tries > 4 && order >= 0) this.triesByOrder[order]!++;
      const c = small
        ? ((x + alignOffset + alignMask) & ~alignMask) - alignOffset
        : alignUp(x + alignOffset, alignMask) - alignOffset;
      if (c === x) return c;
      const end = c + nr;
      if (end > maxno) break;
      let runEnd = this.runEnd;
      if (runEnd < 0) runEnd = this.findNextSet(x + nr, end);
      if (runEnd >= end) return c;
      p = runEnd + 1;
    }
    return maxno + nr;
  }
}

/** A factory for createSystem({ bitmapFactory }) and replays. */
export const indexedBitmapFactory: CmaBitmapFactory = (maxno) => new IndexedBitmap(maxno);
