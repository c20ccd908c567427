// An indexed CMA bitmap: the kernel's first-fit placement without the kernel's linear scan.
//
// The index runs as WebAssembly: assembly/indexed-bitmap.ts (AssemblyScript, our own code, built
// by scripts/build-wasm.mjs) holds the words and the tree in its memory; this class is its
// TypeScript face (one instance and one memory per bitmap) and keeps arguments the wasm side
// does not take (beyond int32, zero-length areas) on exact TypeScript paths. Why wasm: the same
// algorithm as JIT-compiled TypeScript is as fast once V8 has warmed it up, but a replay of a
// 1 GiB trace spends ~80 ms of ~500 warming it up; wasm runs at full speed from the first call.
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
// search resumes at the first aligned index past b (a run that reaches it is cut there). Runs
// shorter than nr are never visited, which is what the kernel's scan spends its time on.
//
// When an alignment's searches keep trying runs that are long enough but misaligned (a
// fragmented 64 GiB area), a summary is made for it: per node, the longest clear stretch that
// starts at an aligned bit inside it, so the descent goes straight to the first aligned fit. For
// alignments of 32 bits or more with offset 0 the aligned bits are the starts of the tree's nodes
// of that size, and the summary (a "block summary") is kept only above them. A summary costs
// about one more tree update per set/clear, so one is made only once its alignment's extra tries
// outnumber the updates it would slow down (the policy's numbers are below, with a test hook).

import { alignUp, bitmapFindNextZeroAreaOff, bitsToWords } from './bitmap.ts';
import { type CmaBitmap, type CmaBitmapFactory, PlainBitmap } from './cma-bitmap.ts';
import { INDEXED_BITMAP_WASM_BASE64 } from './wasm/indexed-bitmap-wasm.ts';
import { lazyWasmModule } from './wasm-module.ts';

/** The wasm side's exports (assembly/indexed-bitmap.ts). */
interface IndexExports {
  readonly memory: WebAssembly.Memory;
  init(maxno: number): number;
  setPolicy(
    blocksOn: number,
    blockTries: number,
    maxSummaries: number,
    after: number,
    perUpdate: number,
  ): void;
  set(start: number, n: number): number;
  clear(start: number, n: number): number;
  weight(): number;
  longestZeroRun(): number;
  nextClear(from: number): number;
  findNextSet(from: number, to: number): number;
  findArea(start: number, nr: number, alignMask: number, alignOffset: number): number;
}

const indexModule = lazyWasmModule(INDEXED_BITMAP_WASM_BASE64);

/** Largest bitmap the index takes (its positions are int32); indexedBitmapFactory scans above. */
export const MAX_INDEXED_BITS = 2 ** 30;

// ---- the summary policy (a test hook; every bitmap picks a change up at its next search)

/** When summaries are made (see the file comment); the defaults are the measured best. */
export interface IndexPolicy {
  /** Block summaries (alignment ≥ 32 bits, offset 0) at all. */
  readonly blockSummaries: boolean;
  /** A block summary is made once its alignment's extra tries exceed this many per set/clear. */
  readonly blockTriesPerUpdate: number;
  /** Aligned summaries kept per bitmap (0–16); further alignments search unaligned and verify. */
  readonly maxAlignSummaries: number;
  /** Extra runs tried by one alignment's searches (2 for each past a search's first) before a summary is made (-1: at once)… */
  readonly summaryAfterTries: number;
  /** …and more than this many per set/clear. */
  readonly summaryTriesPerUpdate: number;
}

export const DEFAULT_INDEX_POLICY: IndexPolicy = {
  blockSummaries: true,
  blockTriesPerUpdate: 6,
  maxAlignSummaries: 16,
  summaryAfterTries: 20000,
  summaryTriesPerUpdate: 16,
};

let policy: IndexPolicy = DEFAULT_INDEX_POLICY;
let policyVersion = 0;

/** Test hook: changes the policy for every bitmap (DEFAULT_INDEX_POLICY restores it). */
export function setIndexPolicy(change: Partial<IndexPolicy>): void {
  policy = { ...policy, ...change };
  policyVersion++;
}

/** The index: same results as PlainBitmap, found in O(log n) per clear run of length ≥ nr. */
export class IndexedBitmap implements CmaBitmap {
  private readonly x: IndexExports;
  private readonly wordsAt: number;
  private readonly nWords: number;
  private view: Uint32Array;
  private policy = -1;

  /**
   * An empty bitmap of `maxno` bits; with `reuse`, in that bitmap's wasm instance, made anew (its
   * memory and the bindings wasmIndex() gave stay: plan's passes; `reuse` is not used again).
   */
  constructor(
    readonly maxno: number,
    reuse?: IndexedBitmap,
  ) {
    if (!Number.isInteger(maxno) || maxno < 0 || maxno > MAX_INDEXED_BITS) {
      throw new RangeError(`bitmap size out of range: ${maxno}`);
    }
    this.x = reuse?.x ?? (new WebAssembly.Instance(indexModule(), {}).exports as unknown as IndexExports);
    this.nWords = bitsToWords(maxno);
    this.wordsAt = this.x.init(maxno);
    this.view = new Uint32Array(this.x.memory.buffer, this.wordsAt, this.nWords);
    this.syncPolicy();
  }

  /** The words in wasm memory (a fresh view after the memory grew for a summary). */
  get words(): Uint32Array {
    const buf = this.x.memory.buffer;
    if (this.view.buffer !== buf) this.view = new Uint32Array(buf, this.wordsAt, this.nWords);
    return this.view;
  }

  private syncPolicy(): void {
    this.x.setPolicy(
      policy.blockSummaries ? 1 : 0,
      policy.blockTriesPerUpdate,
      Math.max(0, Math.min(policy.maxAlignSummaries, 16)),
      policy.summaryAfterTries,
      policy.summaryTriesPerUpdate,
    );
    this.policy = policyVersion;
  }

  /**
   * The wasm index's own set, clear and findArea, for another wasm module to import (its calls
   * are then direct: replay-lane.ts): int32 arguments in range, as this class's methods pass
   * them. Brings the summary policy up to date (call it again after setIndexPolicy).
   */
  wasmIndex(): {
    set(start: number, n: number): number;
    clear(start: number, n: number): number;
    findArea(start: number, nr: number, alignMask: number, alignOffset: number): number;
  } {
    if (this.policy !== policyVersion) this.syncPolicy();
    return { set: this.x.set, clear: this.x.clear, findArea: this.x.findArea };
  }

  set(start: number, nbits: number): number {
    return this.fill(start, nbits, true);
  }

  clear(start: number, nbits: number): number {
    return this.fill(start, nbits, false);
  }

  /** set() or clear() of [start, start + nbits) cut to the bitmap; the bits that changed. */
  private fill(start: number, nbits: number, set: boolean): number {
    const lo = Math.max(start, 0);
    const n = Math.min(start + nbits, this.maxno) - lo;
    if (!(n > 0)) return 0;
    return set ? this.x.set(lo, n) : this.x.clear(lo, n);
  }

  weight(): number {
    return this.x.weight();
  }

  longestZeroRun(): number {
    return this.x.longestZeroRun();
  }

  findNextSet(from: number, to: number): number {
    if (to > this.maxno) to = this.maxno;
    if (from >= to) return to;
    if (from < 0) from = 0;
    return this.x.findNextSet(from, to);
  }

  findArea(start: number, nr: number, alignMask: number, alignOffset: number): number {
    const maxno = this.maxno;
    if (start < 0) start = 0;
    else if (start > maxno) start = maxno;
    if (nr <= 0) {
      // a zero-length area: the kernel returns the aligned first clear bit, whatever follows it
      const z = this.x.nextClear(start);
      return alignUp(z + alignOffset, alignMask) - alignOffset;
    }
    if (nr > maxno) return maxno + nr;
    if (
      alignMask >= 2 ** 30 ||
      alignOffset >= 2 ** 30 ||
      alignMask < 0 ||
      alignOffset < 0 ||
      (alignMask & (alignMask + 1)) !== 0
    ) {
      // alignments past int32 arithmetic, or masks that are not 2^k - 1 (cma_bitmap_aligned_mask
      // makes no others; the index's searches step by whole alignments): the kernel's scan, exact
      return bitmapFindNextZeroAreaOff(this.words, maxno, start, nr, alignMask, alignOffset);
    }
    if (this.policy !== policyVersion) this.syncPolicy();
    return this.x.findArea(start, nr, alignMask, alignOffset);
  }
}

/** A factory for createSystem({ bitmapFactory }) and replays (the kernel's scan past MAX_INDEXED_BITS). */
export const indexedBitmapFactory: CmaBitmapFactory = (maxno) =>
  maxno <= MAX_INDEXED_BITS ? new IndexedBitmap(maxno) : new PlainBitmap(maxno);
