// The kernel's bitmap operations (lib/bitmap.c, include/linux/find.h) over u32 words.
//
// Bit b lives in word b >>> 5 at bit b & 31: exactly the u32 view that debugfs prints for a
// little-endian unsigned long bitmap. Every loop here works on whole words.

/** A bitmap of `nbits` bits stored as u32 words; bits past `nbits` in the last word stay 0. */
export type Words = Uint32Array;

/** Words needed for `nbits` bits (DIV_ROUND_UP(nbits, 32)). */
export function bitsToWords(nbits: number): number {
  return Math.ceil(nbits / 32);
}

/** Index of the lowest set bit of a non-zero word. */
function ctz32(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Number of set bits in a u32. */
export function popcount32(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Mask of bits [lo, hi) inside one word, 0 ≤ lo < hi ≤ 32. */
function rangeMask(lo: number, hi: number): number {
  const upper = hi === 32 ? 0xffffffff : (1 << hi) - 1;
  return (upper & ~((1 << lo) - 1)) >>> 0;
}

/** bitmap_set: set `nbits` bits from `start`. */
export function bitmapSet(map: Words, start: number, nbits: number): void {
  if (nbits <= 0) return;
  const end = start + nbits;
  let w = start >>> 5;
  const lastW = (end - 1) >>> 5;
  if (w === lastW) {
    map[w]! |= rangeMask(start & 31, ((end - 1) & 31) + 1);
    return;
  }
  map[w]! |= rangeMask(start & 31, 32);
  for (w++; w < lastW; w++) map[w] = 0xffffffff;
  map[lastW]! |= rangeMask(0, ((end - 1) & 31) + 1);
}

/** bitmap_clear: clear `nbits` bits from `start`. */
export function bitmapClear(map: Words, start: number, nbits: number): void {
  if (nbits <= 0) return;
  const end = start + nbits;
  let w = start >>> 5;
  const lastW = (end - 1) >>> 5;
  if (w === lastW) {
    map[w]! &= ~rangeMask(start & 31, ((end - 1) & 31) + 1);
    return;
  }
  map[w]! &= ~rangeMask(start & 31, 32);
  for (w++; w < lastW; w++) map[w] = 0;
  map[lastW]! &= ~rangeMask(0, ((end - 1) & 31) + 1);
}

/** bitmap_weight: set bits among the first `nbits`. */
export function bitmapWeight(map: Words, nbits: number): number {
  const full = nbits >>> 5;
  let sum = 0;
  for (let w = 0; w < full; w++) sum += popcount32(map[w]!);
  if (nbits & 31) sum += popcount32(map[full]! & rangeMask(0, nbits & 31));
  return sum;
}

/** Set bits in [start, start + n) of a word array (bitmap_weight of a range). */
export function bitmapWeightRange(map: Words, start: number, n: number): number {
  let c = 0;
  let b = start;
  const end = start + n;
  while (b < end) {
    const lo = b & 31;
    const len = Math.min(32 - lo, end - b);
    let word = map[b >>> 5]! >>> lo;
    if (len < 32) word &= (1 << len) - 1;
    c += popcount32(word);
    b += len;
  }
  return c;
}

/** find_next_bit: first set bit ≥ `offset` and < `size`, or `size` if none. */
export function findNextBit(map: Words, size: number, offset: number): number {
  if (offset >= size) return size;
  let w = offset >>> 5;
  let word = map[w]! & ~((1 << (offset & 31)) - 1);
  const lastW = (size - 1) >>> 5;
  while (word === 0) {
    if (++w > lastW) return size;
    word = map[w]!;
  }
  const bit = (w << 5) + ctz32(word);
  return Math.min(bit, size);
}

/** find_next_zero_bit: first clear bit ≥ `offset` and < `size`, or `size` if none. */
export function findNextZeroBit(map: Words, size: number, offset: number): number {
  if (offset >= size) return size;
  let w = offset >>> 5;
  let word = ~map[w]! & ~((1 << (offset & 31)) - 1);
  const lastW = (size - 1) >>> 5;
  while (word === 0) {
    if (++w > lastW) return size;
    word = ~map[w]!;
  }
  const bit = (w << 5) + ctz32(word);
  return Math.min(bit, size);
}

/** find_last_bit in [from, to): last set bit, or -1 if none. */
export function findLastBitIn(map: Words, from: number, to: number): number {
  if (to <= from) return -1;
  let w = (to - 1) >>> 5;
  const firstW = from >>> 5;
  let word = map[w]! & rangeMask(0, ((to - 1) & 31) + 1);
  for (;;) {
    if (w === firstW) word &= rangeMask(from & 31, 32);
    if (word !== 0) return (w << 5) + 31 - Math.clz32(word);
    if (w === firstW) return -1;
    word = map[--w]!;
  }
}

/**
 * bitmap_find_next_zero_area_off: the smallest index ≥ `start` with `(index + alignOffset) &
 * alignMask` zero, `index + nr ≤ size`, and bits [index, index + nr) clear.
 * Returns a value ≥ `size` when there is none (callers test `>= maxno`, as the kernel does).
 */
export function bitmapFindNextZeroAreaOff(
  map: Words,
  size: number,
  start: number,
  nr: number,
  alignMask: number,
  alignOffset: number,
): number {
  for (;;) {
    let index = findNextZeroBit(map, size, start);
    // __ALIGN_MASK(index + offset, mask) - offset, on non-negative integers
    index = alignUp(index + alignOffset, alignMask) - alignOffset;
    const end = index + nr;
    if (end > size) return end;
    const i = findNextBit(map, end, index);
    if (i >= end) return index;
    start = i + 1;
  }
}

/** (x + mask) & ~mask for a mask of the form 2^k - 1, without 32-bit overflow. */
export function alignUp(x: number, mask: number): number {
  if (mask === 0) return x;
  return Math.floor((x + mask) / (mask + 1)) * (mask + 1);
}

/** Calls `fn(start, length)` for every maximal run of clear bits in [0, size), in order. */
export function forEachZeroRun(map: Words, size: number, fn: (start: number, length: number) => void): void {
  let pos = 0;
  while (pos < size) {
    const start = findNextZeroBit(map, size, pos);
    if (start >= size) return;
    const end = findNextBit(map, size, start + 1);
    fn(start, end - start);
    pos = end + 1;
  }
}

/** Length in bits of the longest run of clear bits in [0, size). */
export function longestZeroRun(map: Words, size: number): number {
  let best = 0;
  forEachZeroRun(map, size, (_start, length) => {
    if (length > best) best = length;
  });
  return best;
}
