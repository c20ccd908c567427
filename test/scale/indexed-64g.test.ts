// Scale: the indexed bitmap on a 64 GiB area (16,777,216 bits) agrees with the kernel's scan
// (PlainBitmap) placement for placement, including the aligned summaries it makes on the way.
// No timing is asserted here; speed is measured by `npm run bench`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlainBitmap } from '../../src/core/cma-bitmap.ts';
import { DEFAULT_INDEX_POLICY, IndexedBitmap, setIndexPolicy } from '../../src/core/indexed-bitmap.ts';
import { assertSameState, rng } from '../bitmap-check.ts';

describe('IndexedBitmap at 64 GiB', () => {
  for (const [label, after] of [
    ['default summary policy', 20000],
    ['aligned summaries from the first search', -1],
  ] as const)
    it(`places like the plain scan through a fragmenting gpu-like workload (${label})`, () => {
      setIndexPolicy({ summaryAfterTries: after });
      const maxno = 16777216;
      const ix = new IndexedBitmap(maxno);
      const pl = new PlainBitmap(maxno);
      // a busy head: 2 M bits of small allocations with holes, so searches walk many runs
      const r = rng(7);
      let pos = 0;
      while (pos < 2_000_000) {
        const used = 1 + Math.floor(r() * 600);
        const hole = 1 + Math.floor(r() * 900);
        ix.set(pos, used);
        pl.set(pos, used);
        pos += used + hole;
      }
      const live: [number, number][] = [];
      for (let i = 0; i < 1500; i++) {
        if (live.length > 0 && r() < 0.45) {
          const k = Math.floor(r() * live.length);
          const [s, n] = live[k]!;
          live[k] = live[live.length - 1]!;
          live.pop();
          ix.clear(s, n);
          pl.clear(s, n);
          continue;
        }
        const nr = Math.max(1, Math.floor(Math.exp(r() * Math.log(4096))));
        // DMA-style alignment mostly, else a random order up to 10 (masks up to 1023)
        const order = r() < 0.75 ? Math.min(Math.ceil(Math.log2(nr)), 8) : Math.floor(r() * 11);
        const mask = 2 ** order - 1;
        const got = ix.findArea(0, nr, mask, 0);
        const want = pl.findArea(0, nr, mask, 0);
        assert.equal(got, want, `step ${i}: nr ${nr} mask ${mask}`);
        ix.set(got, nr);
        pl.set(got, nr);
        live.push([got, nr]);
      }
      assertSameState(ix, pl, 'the walk');
      setIndexPolicy(DEFAULT_INDEX_POLICY);
    });
});
