// The allocation bitmap of one CMA range, behind one interface so an index can replace the scan.

import {
  bitmapClear,
  bitmapFindNextZeroAreaOff,
  bitmapSet,
  bitmapWeight,
  bitmapWeightRange,
  bitsToWords,
  findNextBit,
  longestZeroRun,
} from './bitmap.ts';

/**
 * A range's bitmap: `maxno` bits, 1 = allocated. Implementations must give the exact results of
 * the kernel's lib/bitmap.c; only their speed may differ.
 */
export interface CmaBitmap {
  /** Bits in the bitmap (cma_bitmap_maxno). */
  readonly maxno: number;
  /** The u32 words, as the debugfs `bitmap` file shows them. Read-only for callers. */
  readonly words: Uint32Array;
  /** bitmap_find_next_zero_area_off over [0, maxno); a value ≥ maxno means none. */
  findArea(start: number, nr: number, alignMask: number, alignOffset: number): number;
  /** bitmap_set; returns how many of the bits were clear before (the rise of weight()). */
  set(start: number, nbits: number): number;
  /** bitmap_clear; returns how many of the bits were set before (the fall of weight()). */
  clear(start: number, nbits: number): number;
  /** Set bits (bitmap_weight). */
  weight(): number;
  /** Longest run of clear bits, in bits. */
  longestZeroRun(): number;
  /** First set bit in [from, to), or `to`. */
  findNextSet(from: number, to: number): number;
}

/** Makes an empty bitmap of `maxno` bits. */
export type CmaBitmapFactory = (maxno: number) => CmaBitmap;

/** The kernel's own algorithm: a linear scan from bit 0 on every search. The reference. */
export class PlainBitmap implements CmaBitmap {
  readonly words: Uint32Array;
  constructor(readonly maxno: number) {
    this.words = new Uint32Array(bitsToWords(maxno));
  }
  findArea(start: number, nr: number, alignMask: number, alignOffset: number): number {
    return bitmapFindNextZeroAreaOff(this.words, this.maxno, start, nr, alignMask, alignOffset);
  }
  set(start: number, nbits: number): number {
    const [lo, n] = this.inside(start, nbits);
    const was = bitmapWeightRange(this.words, lo, n);
    bitmapSet(this.words, start, nbits);
    return n - was;
  }
  clear(start: number, nbits: number): number {
    const [lo, n] = this.inside(start, nbits);
    const was = bitmapWeightRange(this.words, lo, n);
    bitmapClear(this.words, start, nbits);
    return was;
  }
  /** [start, start + nbits) cut to the bitmap, as [start, length]. */
  private inside(start: number, nbits: number): [number, number] {
    const lo = Math.max(start, 0);
    return [lo, Math.max(0, Math.min(start + nbits, this.maxno) - lo)];
  }
  weight(): number {
    return bitmapWeight(this.words, this.maxno);
  }
  longestZeroRun(): number {
    return longestZeroRun(this.words, this.maxno);
  }
  findNextSet(from: number, to: number): number {
    return findNextBit(this.words, to, from);
  }
}

/** The default factory: the plain scan (an indexed implementation may be registered instead). */
export const plainBitmapFactory: CmaBitmapFactory = (maxno) => new PlainBitmap(maxno);

/**
 * Sets the bits that are set in `words` (a u32 view, as debugfs prints it) on an empty bitmap,
 * run by run through its own set(), so any implementation (an index too) stays consistent.
 */
export function setBitsFromWords(bitmap: CmaBitmap, words: Uint32Array): void {
  let bit = 0;
  const maxno = bitmap.maxno;
  while (bit < maxno) {
    const w = words[bit >>> 5]!;
    if (w === 0 && (bit & 31) === 0) {
      bit += 32;
      continue;
    }
    if (((w >>> (bit & 31)) & 1) === 0) {
      bit++;
      continue;
    }
    let end = bit + 1;
    while (end < maxno && ((words[end >>> 5]! >>> (end & 31)) & 1) === 1) end++;
    bitmap.set(bit, end - bit);
    bit = end;
  }
}
