// lib/bitmap.c semantics over u32 words, checked against an obviously correct boolean array.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bitmapClear,
  bitmapFindNextZeroAreaOff,
  bitmapSet,
  bitmapWeight,
  bitmapWeightRange,
  bitsToWords,
  findLastBitIn,
  findNextBit,
  findNextZeroBit,
  forEachZeroRun,
  longestZeroRun,
} from '../../src/core/bitmap.ts';
import {
  formatU32Array,
  formatU32ArrayBytes,
  formatU32ArrayChunks,
  parseU32Array,
} from '../../src/core/u32-array.ts';

/** The smallest s ≥ start with (s+offset)&mask == 0, s+nr ≤ size and bits [s, s+nr) clear; else -1. */
export function naiveFindArea(
  bits: boolean[],
  size: number,
  start: number,
  nr: number,
  mask: number,
  offset: number,
): number {
  for (let s = start; s + nr <= size; s++) {
    if (((s + offset) & mask) !== 0) continue;
    let free = true;
    for (let k = s; k < s + nr; k++) if (bits[k]) free = false;
    if (free) return s;
  }
  return -1;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), a: fc.nat(300), n: fc.nat(80) }),
  fc.record({ kind: fc.constant('clear' as const), a: fc.nat(300), n: fc.nat(80) }),
);

describe('bitmap operations', () => {
  it('set/clear/weight/find agree with a boolean array for any sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.array(op, { maxLength: 40 }), (size, ops) => {
        const map = new Uint32Array(bitsToWords(size));
        const bits = new Array<boolean>(size).fill(false);
        for (const o of ops) {
          const a = Math.min(o.a, size);
          const n = Math.min(o.n, size - a);
          if (o.kind === 'set') bitmapSet(map, a, n);
          else bitmapClear(map, a, n);
          for (let k = a; k < a + n; k++) bits[k] = o.kind === 'set';
        }
        assert.equal(bitmapWeight(map, size), bits.filter(Boolean).length);
        for (let from = 0; from < size; from += 5)
          for (const len of [0, 1, 31, 32, 33, 70, size - from]) {
            const n = Math.min(len, size - from);
            const want = bits.slice(from, from + n).filter(Boolean).length;
            assert.equal(bitmapWeightRange(map, from, n), want, `weight of [${from}, ${from + n})`);
          }
        for (let from = 0; from <= size; from += 7) {
          const ns = bits.indexOf(true, from);
          const nz = bits.indexOf(false, from);
          assert.equal(findNextBit(map, size, from), ns < 0 ? size : ns);
          assert.equal(findNextZeroBit(map, size, from), nz < 0 ? size : nz);
        }
        const last = bits.lastIndexOf(true);
        assert.equal(findLastBitIn(map, 0, size), last);
        let best = 0;
        let run = 0;
        for (const b of bits) {
          run = b ? 0 : run + 1;
          best = Math.max(best, run);
        }
        assert.equal(longestZeroRun(map, size), best);
        let total = 0;
        forEachZeroRun(map, size, (start, length) => {
          assert.ok(
            !bits[start] &&
              (start === 0 || bits[start - 1]) &&
              (start + length === size || bits[start + length]),
          );
          total += length;
        });
        assert.equal(total, bits.filter((b) => !b).length);
      }),
    );
  });

  it('bitmap_find_next_zero_area_off finds the smallest aligned free window ≥ start', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.tuple(fc.nat(200), fc.nat(30)), { maxLength: 12 }),
        fc.nat(200),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 5 }),
        fc.nat(63),
        (size, sets, start, nr, order, rawOffset) => {
          const map = new Uint32Array(bitsToWords(size));
          const bits = new Array<boolean>(size).fill(false);
          for (const [a0, n0] of sets) {
            const a = Math.min(a0, size);
            const n = Math.min(n0, size - a);
            bitmapSet(map, a, n);
            for (let k = a; k < a + n; k++) bits[k] = true;
          }
          const mask = 2 ** order - 1;
          const offset = rawOffset & mask;
          const got = bitmapFindNextZeroAreaOff(map, size, Math.min(start, size), nr, mask, offset);
          const want = naiveFindArea(bits, size, Math.min(start, size), nr, mask, offset);
          if (want < 0) assert.ok(got >= size, `expected no area, got ${got}`);
          else assert.equal(got, want);
        },
      ),
    );
  });
});

describe('zero-length requests (the 6.1 wrap-around of cma_bitmap_pages_to_bits)', () => {
  it('land on the first clear bit, or fail when there is none', () => {
    const map = new Uint32Array(1);
    bitmapSet(map, 0, 3);
    assert.equal(bitmapFindNextZeroAreaOff(map, 8, 0, 0, 0, 0), 3);
    bitmapSet(map, 3, 5);
    assert.ok(bitmapFindNextZeroAreaOff(map, 8, 0, 0, 0, 0) >= 8);
  });
});

describe('u32 array text (debugfs_create_u32_array)', () => {
  it('prints "%u" words joined by spaces and a newline', () => {
    assert.equal(formatU32Array(new Uint32Array([255, 0, 0]), 3), '255 0 0\n');
    assert.equal(formatU32Array(new Uint32Array([0xffffffff, 255]), 2), '4294967295 255\n');
  });
  it('loses the newline when every word prints with 10 digits (11 bytes per element buffer)', () => {
    const full = new Uint32Array(128).fill(0xffffffff);
    const text = formatU32Array(full, 128);
    assert.equal(text.length, 128 * 11 - 1);
    assert.ok(!text.endsWith('\n'));
    full[0] = 4294967294;
    assert.ok(!formatU32Array(full, 128).endsWith('\n'));
    full[0] = 999999999;
    assert.ok(formatU32Array(full, 128).endsWith('\n'));
  });
  it('is empty with no elements, and round-trips through the parser', () => {
    assert.equal(formatU32Array(new Uint32Array(0), 0), '');
    const words = new Uint32Array([1, 2, 4294967295]);
    assert.deepEqual(parseU32Array(formatU32Array(words, 3)), words);
    assert.equal(parseU32Array('1 2 x\n'), null);
    assert.equal(parseU32Array('4294967296\n'), null);
  });
  it('prints each word as String() does, for any words (the digit writer against the obvious join)', () => {
    const word = fc.oneof(
      fc.constantFrom(
        0,
        1,
        4294967294,
        4294967295,
        ...Array.from({ length: 9 }, (_, k) => 10 ** (k + 1) + (k % 2) - 1),
      ),
      fc.constantFrom(...Array.from({ length: 9 }, (_, k) => 10 ** (k + 1)), 99, 999999999),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 99999 }),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 40 }), fc.nat(40), (list, cut) => {
        const words = Uint32Array.from(list);
        const n = Math.min(cut, words.length);
        const joined = list.slice(0, n).join(' ');
        const tenEach = list.slice(0, n).every((v) => v >= 1000000000);
        assert.equal(formatU32Array(words, n), n === 0 ? '' : tenEach ? joined : `${joined}\n`);
      }),
      { numRuns: 2000 },
    );
  });
  it('gives the same text in pieces (formatU32ArrayChunks) as in one buffer, at every piece boundary', () => {
    const pieces = (words: Uint32Array, n: number): Buffer => {
      const got: Buffer[] = [];
      formatU32ArrayChunks(words, n, (c) => got.push(Buffer.from(c)));
      return Buffer.concat(got);
    };
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 12289),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom('random', 'ten digits', 'one short word last', 'digit boundaries'),
        (n, seed, kind) => {
          const words = new Uint32Array(n);
          // every number of digits at both ends: 0, 9, 10, 99, 100, …, 999999999, 1000000000, 2^32 − 1
          const bounds = [0, 0xffffffff];
          for (let p = 10; p <= 1e9; p *= 10) bounds.push(p - 1, p);
          let x = seed;
          for (let k = 0; k < n; k++) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            words[k] =
              kind === 'random'
                ? x >>> (x & 31)
                : kind === 'digit boundaries'
                  ? bounds[(k + seed) % bounds.length]!
                  : 1000000000 + (x % 3294967296);
          }
          if (kind === 'one short word last' && n > 0) words[n - 1] = 7;
          assert.deepEqual(pieces(words, n), Buffer.from(formatU32ArrayBytes(words, n)));
          assert.equal(pieces(words, n).toString('latin1'), formatU32Array(words, n));
        },
      ),
      { numRuns: 60 },
    );
  });
});
