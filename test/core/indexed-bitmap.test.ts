// IndexedBitmap against PlainBitmap (the kernel's linear scan): every result must be identical.

import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { type CmaBitmap, PlainBitmap } from '../../src/core/cma-bitmap.ts';
import {
  DEFAULT_INDEX_POLICY,
  IndexedBitmap,
  indexedBitmapFactory,
  MAX_INDEXED_BITS,
  setIndexPolicy,
} from '../../src/core/indexed-bitmap.ts';
import { assertSameState, rng } from '../bitmap-check.ts';

/** A found area: the exact index, or "none" for every value ≥ maxno (the kernel only tests ≥ maxno). */
function area(b: CmaBitmap, start: number, nr: number, mask: number, offset: number): number | 'none' {
  const r = b.findArea(start, nr, mask, offset);
  return r >= b.maxno ? 'none' : r;
}

type Op =
  | { kind: 'set' | 'clear'; at: number; len: number }
  | { kind: 'find' | 'alloc'; at: number; nr: number; order: number; off: number }
  | { kind: 'next'; at: number; len: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('set' as const, 'clear' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    len: fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 5000 })),
  }),
  fc.record({
    kind: fc.constantFrom('find' as const, 'alloc' as const, 'alloc' as const),
    at: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1.05, noNaN: true })),
    nr: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 3000 })),
    order: fc.integer({ min: 0, max: 11 }),
    // offset 0 (an aligned base) half of the time: it takes the block-summary path
    off: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
  }),
  fc.record({
    kind: fc.constant('next' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    len: fc.integer({ min: 0, max: 5000 }),
  }),
);

/** Applies one op to both bitmaps and checks every observable result. */
function step(ix: IndexedBitmap, pl: PlainBitmap, op: Op): void {
  const maxno = pl.maxno;
  const at = Math.min(Math.floor(op.at * maxno), Math.max(maxno, 0));
  switch (op.kind) {
    case 'set':
    case 'clear': {
      if (at >= maxno) return;
      const len = Math.min(op.len, maxno - at);
      const before = pl.weight();
      const changed = ix[op.kind](at, len);
      // both return how many bits changed: the weight's rise (set) or fall (clear)
      assert.equal(pl[op.kind](at, len), changed, `${op.kind}(${at}, ${len}) changed bits`);
      assert.equal(Math.abs(pl.weight() - before), changed);
      assertSameState(ix, pl, `${op.kind}(${at}, ${len})`);
      return;
    }
    case 'next': {
      const to = Math.min(maxno, at + op.len);
      assert.equal(ix.findNextSet(at, to), pl.findNextSet(at, to), `findNextSet(${at}, ${to})`);
      return;
    }
    default: {
      const mask = 2 ** op.order - 1;
      const off = Math.floor(op.off * (mask + 1));
      const got = area(ix, at, op.nr, mask, off);
      const want = area(pl, at, op.nr, mask, off);
      assert.equal(got, want, `findArea(${at}, ${op.nr}, ${mask}, ${off}) on ${maxno} bits`);
      if (op.kind === 'alloc' && got !== 'none' && op.nr > 0) {
        ix.set(got, op.nr);
        pl.set(got, op.nr);
        assertSameState(ix, pl, `alloc at ${got}`);
      }
    }
  }
}

// The aligned summaries are made only for alignments that search expensively; every test runs
// with them off, with them made at the first aligned search, and with the default policy.
const MODES = [
  { name: 'no aligned summaries', max: 0, after: 20000, blocks: false },
  { name: 'general aligned summaries at once', max: 16, after: -1, blocks: false },
  { name: 'block and general summaries at once', max: 16, after: -1, blocks: true },
  { name: 'default policy', max: 16, after: 20000, blocks: true },
] as const;

for (const mode of MODES)
  describe(`IndexedBitmap (${mode.name})`, () => {
    beforeEach(() =>
      setIndexPolicy({
        maxAlignSummaries: mode.max,
        summaryAfterTries: mode.after,
        blockSummaries: mode.blocks,
      }),
    );
    after(() => setIndexPolicy(DEFAULT_INDEX_POLICY));

    it('agrees with PlainBitmap on random op sequences (tiny sizes)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 200 }), fc.array(opArb, { maxLength: 60 }), (maxno, ops) => {
          const ix = new IndexedBitmap(maxno);
          const pl = new PlainBitmap(maxno);
          assertSameState(ix, pl, 'construction');
          for (const op of ops) step(ix, pl, op);
        }),
        { numRuns: 400 },
      );
    });

    it('agrees with PlainBitmap on random op sequences (sizes around 1024 bits, 32 words)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 900, max: 1100 }), fc.array(opArb, { maxLength: 80 }), (maxno, ops) => {
          const ix = new IndexedBitmap(maxno);
          const pl = new PlainBitmap(maxno);
          for (const op of ops) step(ix, pl, op);
          assertSameState(ix, pl, 'the ops');
        }),
        { numRuns: 200 },
      );
    });

    it('agrees with PlainBitmap on random op sequences (sizes up to 20000, not multiples of 32)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 33, max: 20000 }),
          fc.array(opArb, { maxLength: 120 }),
          (maxno, ops) => {
            const ix = new IndexedBitmap(maxno);
            const pl = new PlainBitmap(maxno);
            for (const op of ops) step(ix, pl, op);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('agrees with PlainBitmap when ranges and runs start or end next to block boundaries', () => {
      // positions within a few bits of multiples of 32–4096 bits (word, node and block edges,
      // and the edges of wider leaves an index might use), on sizes next to such multiples
      const edge = fc
        .tuple(
          fc.integer({ min: 5, max: 12 }),
          fc.integer({ min: 0, max: 8 }),
          fc.integer({ min: -3, max: 3 }),
        )
        .map(([log, k, d]) => Math.max(0, k * 2 ** log + d));
      const edgeOp: fc.Arbitrary<(maxno: number) => Op> = fc.oneof(
        fc.record({ kind: fc.constantFrom('set' as const, 'clear' as const), from: edge, to: edge }).map(
          ({ kind, from, to }) =>
            (maxno: number): Op => ({
              kind,
              at: (Math.min(from, to) + 0.5) / maxno,
              len: Math.max(1, Math.abs(to - from)),
            }),
        ),
        fc
          .record({
            kind: fc.constantFrom('find' as const, 'alloc' as const),
            at: edge,
            nr: fc.oneof(edge, fc.integer({ min: 1, max: 70 })),
            order: fc.integer({ min: 0, max: 11 }),
          })
          .map(
            ({ kind, at, nr, order }) =>
              (maxno: number): Op => ({ kind, at: (at + 0.5) / maxno, nr, order, off: 0 }),
          ),
        fc.record({ from: edge, len: fc.integer({ min: 0, max: 5000 }) }).map(
          ({ from, len }) =>
            (maxno: number): Op => ({ kind: 'next', at: (from + 0.5) / maxno, len }),
        ),
      );
      fc.assert(
        fc.property(
          edge.filter((n) => n > 0),
          fc.array(edgeOp, { maxLength: 80 }),
          (maxno, ops) => {
            const ix = new IndexedBitmap(maxno);
            const pl = new PlainBitmap(maxno);
            for (const op of ops) step(ix, pl, op(maxno));
          },
        ),
        { numRuns: 150 },
      );
    });

    it('agrees on long allocate/release walks that fragment the bitmap', () => {
      for (const [seed, maxno] of [
        [1, 65536],
        [2, 100003],
        [3, 4099],
        [4, 262144],
      ] as const) {
        const r = rng(seed);
        const ix = new IndexedBitmap(maxno);
        const pl = new PlainBitmap(maxno);
        const live: [number, number][] = [];
        for (let i = 0; i < 3000; i++) {
          const used = pl.weight() / maxno;
          if (live.length > 0 && (r() < 0.3 || (used > 0.8 && r() < 0.7))) {
            const k = Math.floor(r() * live.length);
            const [s, n] = live[k]!;
            live[k] = live[live.length - 1]!;
            live.pop();
            ix.clear(s, n);
            pl.clear(s, n);
          } else {
            const nr = Math.max(1, Math.floor(Math.exp(r() * Math.log(maxno / 16))));
            const order = r() < 0.75 ? Math.min(Math.ceil(Math.log2(nr)), 8) : Math.floor(r() * 11);
            const mask = 2 ** order - 1;
            const off = r() < 0.5 ? 0 : Math.floor(r() * (mask + 1));
            const start = r() < 0.8 ? 0 : Math.floor(r() * maxno);
            const got = area(ix, start, nr, mask, off);
            assert.equal(got, area(pl, start, nr, mask, off), `seed ${seed} step ${i}`);
            if (got !== 'none' && start === 0) {
              ix.set(got, nr);
              pl.set(got, nr);
              live.push([got, nr]);
            }
          }
          assert.equal(ix.weight(), pl.weight());
          assert.equal(ix.longestZeroRun(), pl.longestZeroRun());
        }
        assert.deepEqual(ix.words, pl.words);
      }
    });

    it('keeps several block summaries exact together (orders 5–12, updates across block edges)', () => {
      // the block summaries climb together after each set/clear: every order made at once here
      // (in the summary modes), updates of 1 bit to several blocks, and searches from 0 (straight
      // down from the root) and from anywhere
      for (const [seed, maxno] of [
        [11, 1 << 15],
        [12, (1 << 16) + 4000],
        [13, 3 * 4096 + 31],
      ] as const) {
        const r = rng(seed);
        const ix = new IndexedBitmap(maxno);
        const pl = new PlainBitmap(maxno);
        for (let i = 0; i < 1500; i++) {
          const order = 5 + Math.floor(r() * 8);
          const mask = 2 ** order - 1;
          const u = r();
          if (u < 0.5) {
            // an update starting or ending near a block edge of some order
            const edge = Math.floor(r() * (maxno >> order)) << order;
            const at = Math.min(maxno - 1, Math.max(0, edge + Math.floor(r() * 7) - 3));
            const len = Math.min(maxno - at, 1 + Math.floor(r() ** 2 * (mask + 1) * 3));
            const kind = r() < 0.55 ? 'set' : 'clear';
            assert.equal(ix[kind](at, len), pl[kind](at, len), `${kind}(${at}, ${len})`);
          } else {
            const nr = 1 + Math.floor(r() ** 3 * (mask + 1) * 2);
            const start = r() < 0.6 ? 0 : Math.floor(r() * maxno);
            assert.equal(
              area(ix, start, nr, mask, 0),
              area(pl, start, nr, mask, 0),
              `seed ${seed} step ${i}`,
            );
          }
        }
        assert.deepEqual(ix.words, pl.words);
        assert.equal(ix.longestZeroRun(), pl.longestZeroRun());
      }
    });

    it('finds aligned areas among many runs that are long enough but misaligned', () => {
      // runs of 100 clear bits, each starting 1 past a multiple of 128: nothing of 100 bits is
      // 64-aligned until the last run, which is made longer
      const maxno = 128 * 500 + 7;
      const ix = new IndexedBitmap(maxno);
      const pl = new PlainBitmap(maxno);
      ix.set(0, maxno);
      pl.set(0, maxno);
      for (let i = 0; i < 500; i++) {
        const len = i === 400 ? 200 : 100;
        ix.clear(128 * i + 1, len);
        pl.clear(128 * i + 1, len);
      }
      for (const [nr, mask, off] of [
        [100, 63, 0],
        [100, 63, 1],
        [100, 63, 63],
        [99, 63, 0],
        [64, 127, 0],
        [100, 0, 0],
        [101, 0, 0],
        [127, 0, 0],
        [128, 0, 0],
      ] as const) {
        for (const start of [0, 1, 2, 128 * 400, 128 * 400 + 2, maxno - 1, maxno, maxno + 5]) {
          assert.equal(
            area(ix, start, nr, mask, off),
            area(pl, start, nr, mask, off),
            `${start} ${nr} ${mask} ${off}`,
          );
        }
      }
      assert.equal(area(ix, 0, 100, 63, 0), 128 * 400 + 64);
    });

    it('resumes an aligned search at the next aligned bit past a run that did not fit', () => {
      // runs that fail their aligned candidate, then runs that reach the next aligned bit (cut
      // there, they start a fit at it) or start just past it, with offsets that move the grid
      for (const [runs, nr, mask, off] of [
        [
          [
            [100, 150],
            [200, 300],
          ],
          40,
          63,
          0,
        ],
        [
          [
            [100, 150],
            [180, 260],
          ],
          40,
          63,
          0,
        ],
        [
          [
            [100, 150],
            [180, 231],
          ],
          40,
          63,
          0,
        ],
        [
          [
            [100, 150],
            [193, 300],
          ],
          40,
          63,
          0,
        ],
        [
          [
            [100, 150],
            [180, 260],
          ],
          40,
          63,
          5,
        ],
        [
          [
            [1, 1024],
            [1030, 2100],
          ],
          1000,
          1023,
          0,
        ],
        [
          [
            [1, 1024],
            [1030, 2100],
          ],
          1000,
          1023,
          1000,
        ],
        [
          [
            [3, 40],
            [60, 70],
            [129, 200],
            [250, 400],
          ],
          8,
          127,
          0,
        ],
      ] as const) {
        const ix = new IndexedBitmap(4096 + 17);
        const pl = new PlainBitmap(4096 + 17);
        ix.set(0, ix.maxno);
        pl.set(0, pl.maxno);
        for (const [a, b] of runs) {
          ix.clear(a, b - a);
          pl.clear(a, b - a);
        }
        for (const start of [0, 1, 101, 151, 192, 193])
          assert.equal(area(ix, start, nr, mask, off), area(pl, start, nr, mask, off), `${runs} ${start}`);
      }
    });

    it('handles the deterministic edge cases', () => {
      // empty bitmap, zero-length requests, requests larger than the bitmap
      const z = new IndexedBitmap(0);
      assert.equal(z.weight(), 0);
      assert.equal(z.longestZeroRun(), 0);
      assert.ok(z.findArea(0, 1, 0, 0) >= 0);
      assert.equal(z.findNextSet(0, 0), 0);
      for (const maxno of [1, 31, 32, 33, 64, 95, 1024, 1025]) {
        const ix = new IndexedBitmap(maxno);
        const pl = new PlainBitmap(maxno);
        assert.equal(ix.longestZeroRun(), maxno);
        for (const nr of [0, 1, maxno - 1, maxno, maxno + 1]) {
          for (const start of [0, 1, maxno - 1, maxno, maxno + 3]) {
            for (const [mask, off] of [
              [0, 0],
              [3, 1],
              [31, 0],
              [31, 17],
            ] as const) {
              assert.equal(area(ix, start, nr, mask, off), area(pl, start, nr, mask, off));
              // a zero-length area is the aligned first clear bit, exactly as the kernel returns it
              if (nr === 0) assert.equal(ix.findArea(start, 0, mask, off), pl.findArea(start, 0, mask, off));
            }
          }
        }
        // full, then one hole at the end
        ix.set(0, maxno);
        pl.set(0, maxno);
        assertSameState(ix, pl, 'fill');
        assert.equal(area(ix, 0, 1, 0, 0), 'none');
        assert.equal(ix.findArea(0, 0, 0, 0), pl.findArea(0, 0, 0, 0));
        ix.clear(maxno - 1, 1);
        pl.clear(maxno - 1, 1);
        assertSameState(ix, pl, 'hole');
        assert.equal(area(ix, 0, 1, 0, 0), maxno - 1);
        assert.equal(area(ix, 0, 2, 0, 0), 'none');
        assert.equal(ix.findNextSet(0, maxno), maxno > 1 ? 0 : 1);
        assert.equal(ix.findNextSet(maxno - 1, maxno), maxno);
      }
    });

    it('absolute alignment: an offset moves the first fit like the kernel (base 0x80200, align 10)', () => {
      // mask (1 << 10) - 1, offset 0x200: the first 1024-aligned pfn is at bit 512
      const ix = new IndexedBitmap(4096);
      assert.equal(ix.findArea(0, 8, 1023, 0x200), 512);
      ix.set(512, 8);
      assert.equal(ix.findArea(0, 8, 1023, 0x200), 1536);
      assert.equal(ix.findArea(513, 1, 0, 0), 520);
    });

    it('keeps a 64 GiB area (16,777,216 bits) small and exact', () => {
      const maxno = 16777216;
      const before = process.memoryUsage().arrayBuffers;
      const ix = indexedBitmapFactory(maxno);
      const bytes = process.memoryUsage().arrayBuffers - before;
      assert.ok(bytes < 20 * 1024 * 1024, `index uses ${bytes} bytes`);
      assert.equal(ix.longestZeroRun(), maxno);
      ix.set(0, maxno - 5000);
      ix.clear(1001, 10);
      assert.equal(ix.weight(), maxno - 5010);
      assert.equal(ix.longestZeroRun(), 5000);
      assert.equal(ix.findArea(0, 10, 0, 0), 1001);
      assert.equal(ix.findArea(0, 10, 7, 0), maxno - 5000);
      assert.equal(ix.findArea(0, 4096, 4095, 0), maxno - 4096);
      assert.ok(ix.findArea(0, 5001, 0, 0) >= maxno);
      assert.equal(ix.findNextSet(1001, maxno), 1011);
      assert.equal(ix.findNextSet(maxno - 5000, maxno), maxno);
    });
  });

describe('IndexedBitmap: the TypeScript face of the wasm index', () => {
  after(() => setIndexPolicy(DEFAULT_INDEX_POLICY));
  it('keeps `words` current when the wasm memory grows for a summary made later', () => {
    setIndexPolicy(DEFAULT_INDEX_POLICY);
    const maxno = 1 << 20;
    const ix = new IndexedBitmap(maxno);
    const pl = new PlainBitmap(maxno);
    const before = ix.words;
    for (let i = 0; i < 2000; i++) {
      ix.set(i * 500 + 3, 200);
      pl.set(i * 500 + 3, 200);
    }
    // every aligned search now makes its summaries at once: the memory grows
    setIndexPolicy({ summaryAfterTries: -1 });
    for (const [nr, order, off] of [
      [100, 3, 1],
      [300, 9, 0],
      [64, 6, 5],
    ] as const) {
      const mask = 2 ** order - 1;
      assert.equal(area(ix, 0, nr, mask, off), area(pl, 0, nr, mask, off));
    }
    ix.set(7, 1);
    pl.set(7, 1);
    assert.deepEqual(ix.words, pl.words);
    assert.notEqual(ix.words.buffer, before.buffer, 'a fresh view after the growth');
  });
  it("made anew in another bitmap's instance (reuse): as a new bitmap, whatever summaries the old one made", () => {
    setIndexPolicy({ summaryAfterTries: -1 });
    try {
      const old = new IndexedBitmap(1 << 16);
      for (let i = 0; i < 300; i++) old.set(i * 211, 90);
      for (const order of [3, 6, 9]) area(old, 0, 40, 2 ** order - 1, 0);
      const r = rng(7);
      for (const maxno of [5000, 1 << 17]) {
        const again = new IndexedBitmap(maxno, old);
        const fresh = new IndexedBitmap(maxno);
        const pl = new PlainBitmap(maxno);
        for (let k = 0; k < 3000; k++) {
          const nr = 1 + Math.floor(r() * 70);
          const mask = 2 ** Math.floor(r() * 8) - 1;
          const at = area(pl, 0, nr, mask, 0);
          assert.equal(area(again, 0, nr, mask, 0), at);
          assert.equal(area(fresh, 0, nr, mask, 0), at);
          if (at !== 'none') for (const b of [again, fresh, pl]) b.set(at, nr);
          const c = Math.floor(r() * maxno);
          for (const b of [again, fresh, pl]) b.clear(c, 50);
        }
        assertSameState(again, pl, `reuse, ${maxno} bits`);
        assertSameState(fresh, pl, `fresh, ${maxno} bits`);
      }
    } finally {
      setIndexPolicy(DEFAULT_INDEX_POLICY);
    }
  });
  it('answers alignments beyond int32 arithmetic exactly (the kernel scan on the same words)', () => {
    const ix = new IndexedBitmap(4096);
    const pl = new PlainBitmap(4096);
    ix.set(0, 100);
    pl.set(0, 100);
    for (const [mask, off] of [
      [2 ** 31 - 1, 0],
      [2 ** 40 - 1, 2 ** 39],
      [2 ** 30 - 1, 17],
      [2 ** 12 - 1, 2 ** 31],
    ] as const) {
      // a zero-length area is the aligned first clear bit, exactly; otherwise found or none
      assert.equal(ix.findArea(0, 0, mask, off), pl.findArea(0, 0, mask, off));
      for (const nr of [1, 50]) assert.equal(area(ix, 0, nr, mask, off), area(pl, 0, nr, mask, off));
    }
  });
  it('answers masks that are not 2^k - 1 as the kernel does (its scan)', () => {
    // cma_bitmap_aligned_mask makes only 2^k - 1; bitmap_find_next_zero_area_off takes any mask
    // (__ALIGN_MASK), and the index's searches, stepping by whole alignments, do not
    setIndexPolicy({ summaryAfterTries: -1 });
    const ix = new IndexedBitmap(4096);
    const pl = new PlainBitmap(4096);
    for (const [s, n] of [
      [0, 3],
      [40, 5],
      [100, 30],
      [300, 200],
    ] as const) {
      ix.set(s, n);
      pl.set(s, n);
    }
    for (const mask of [5, 33, 40, 96])
      for (const nr of [1, 4, 10, 40])
        for (const start of [0, 37])
          assert.equal(area(ix, start, nr, mask, 3), area(pl, start, nr, mask, 3), `mask ${mask} nr ${nr}`);
    for (const nr of [1, 40]) assert.equal(area(ix, 0, nr, 40, 0), area(pl, 0, nr, 40, 0));
    setIndexPolicy(DEFAULT_INDEX_POLICY);
  });
  it('takes up to MAX_INDEXED_BITS; the factory scans above it', () => {
    assert.throws(() => new IndexedBitmap(MAX_INDEXED_BITS + 1), RangeError);
    assert.throws(() => new IndexedBitmap(-1), RangeError);
    assert.ok(indexedBitmapFactory(1000) instanceof IndexedBitmap);
    assert.ok(indexedBitmapFactory(MAX_INDEXED_BITS + 32) instanceof PlainBitmap);
  });
});
