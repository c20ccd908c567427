// Helpers of the index's differential tests (src/core/indexed-bitmap.test.ts, test/scale/).

import assert from 'node:assert/strict';
import type { CmaBitmap } from '../src/core/cma-bitmap.ts';

/** Deterministic PRNG (mulberry32) for the long randomised walks. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The two bitmaps hold the same words, weight and longest clear run. */
export function assertSameState(a: CmaBitmap, b: CmaBitmap, what: string): void {
  assert.deepEqual(a.words, b.words, `words after ${what}`);
  assert.equal(a.weight(), b.weight(), `weight after ${what}`);
  assert.equal(a.longestZeroRun(), b.longestZeroRun(), `longestZeroRun after ${what}`);
}
