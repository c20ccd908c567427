// Analysis: free runs, alignment-aware largest runs and the verdicts agree with the core's own
// allocator on random bitmaps (property tests), and the pictures are drawn.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { explainAlloc } from '../../src/analysis/explain.ts';
import { freeRuns, largestUsablePages, runHistogram } from '../../src/analysis/free-runs.ts';
import { summarizeArea } from '../../src/analysis/summary.ts';
import { createArea } from '../../src/core/cma.ts';
import { plainBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { PROFILE_6_1, PROFILE_7_3 } from '../../src/core/profile.ts';
import { areaGrid } from '../../src/frontends/render/grid.ts';
import { renderPng } from '../../src/frontends/render/png.ts';
import { renderSvg } from '../../src/frontends/render/svg.ts';
import { renderTerminal } from '../../src/frontends/render/terminal.ts';

function areaWith(opb: number, ranges: { basePfn: number; bits: boolean[] }[]) {
  const area = createArea(
    {
      name: 't',
      orderPerBit: opb,
      ranges: ranges.map((r) => ({ basePfn: r.basePfn, count: r.bits.length * 2 ** opb })),
    },
    plainBitmapFactory,
  );
  let used = 0;
  ranges.forEach((r, i) => {
    r.bits.forEach((b, k) => {
      if (b) {
        area.ranges[i]!.bitmap.set(k, 1);
        used++;
      }
    });
  });
  area.availableCount = area.count - used * 2 ** opb;
  return area;
}

const rangeArb = fc.record({
  basePfn: fc.integer({ min: 0, max: 4096 }).map((x) => x * 512),
  bits: fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }),
});

describe('free runs', () => {
  it('lists runs with pfns and builds a power-of-two histogram', () => {
    const a = areaWith(0, [
      { basePfn: 1000 * 512, bits: [true, false, false, true, false, false, false, false, false] },
    ]);
    assert.deepEqual(
      freeRuns(a).map((r) => [r.startBit, r.bits, r.pfn]),
      [
        [1, 2, 512001],
        [4, 5, 512004],
      ],
    );
    assert.deepEqual(runHistogram(freeRuns(a)), [
      { minPages: 1, maxPages: 1, runs: 0, pages: 0 },
      { minPages: 2, maxPages: 3, runs: 1, pages: 2 },
      { minPages: 4, maxPages: 7, runs: 1, pages: 5 },
    ]);
  });
  it('alignment is absolute (pfn), as cma_bitmap_aligned_offset makes it', () => {
    // base 0x3fe00 (not 1 GiB aligned), order_per_bit 9: a 1 GiB page (align 18) starts at bit 1
    const a = areaWith(9, [{ basePfn: 0x3fe00, bits: Array(1024).fill(false) }]);
    assert.equal(largestUsablePages(a, 18), 1023 * 512);
    assert.deepEqual(explainAlloc(a, PROFILE_6_1, 262144, 18).pfn, 0x40000);
  });
});

describe('verdicts agree with the core allocator', () => {
  it('fits iff pages ≤ the largest usable run at that alignment; exhaustion iff more than free', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(rangeArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 900 }),
        fc.integer({ min: 0, max: 12 }),
        (opb, ranges, pages, align) => {
          const a = areaWith(opb, ranges);
          const profile = ranges.length > 1 ? PROFILE_7_3 : PROFILE_6_1;
          const e = explainAlloc(a, profile, pages, align);
          const bits = Math.ceil(pages / 2 ** opb);
          assert.equal(e.ok, bits * 2 ** opb <= largestUsablePages(a, align));
          if (!e.ok)
            assert.equal(
              e.verdict === 'exhaustion',
              bits * 2 ** opb > e.freePages || bits > a.ranges.reduce((s, r) => s + r.bitmap.maxno, 0),
            );
          if (e.ok) {
            const r = a.ranges[e.range!]!;
            assert.equal(e.pfn, r.basePfn + e.bit! * 2 ** opb);
            assert.equal(e.pfn! % 2 ** Math.max(align, 0) === 0 || align <= opb, true);
          }
          // explain never changes the captured area
          assert.equal(summarizeArea(a, false).usedFromBitmap, a.count - a.availableCount);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('pictures', () => {
  const small = areaWith(0, [
    { basePfn: 0x1ec00, bits: Array.from({ length: 4096 }, (_v, i) => i % 7 < 3 || i > 3000) },
  ]);
  it('a 4096-page area: one bit per cell; PNG and SVG are well formed', () => {
    const g = areaGrid(small, 64, 64 * 128);
    assert.equal(g.bitsPerCell, 1);
    assert.equal(g.ranges[0]!.rows, 64);
    const png = PNG.sync.read(renderPng(g, { used: 1, free: 1, maxchunk: 1 }));
    assert.ok(png.width >= 64 * 8 && png.height > 64 * 8);
    const svg = renderSvg(g, { used: 1, free: 1, maxchunk: 1 });
    assert.match(svg, /^<svg [^>]*width="\d+"/);
    assert.match(svg, /1 cell = 1 page/);
    assert.match(svg, /largest free run/);
  });
  it('a 64 GiB area (16M bits) folds into buckets with fill fractions', () => {
    const big = createArea(
      { name: 'big', orderPerBit: 0, ranges: [{ basePfn: 0x100000, count: 16 * 2 ** 20 }] },
      plainBitmapFactory,
    );
    big.ranges[0]!.bitmap.set(0, 2 ** 23); // first half used
    big.ranges[0]!.bitmap.set(2 ** 23 + 100, 1); // one page in the second half
    const g = areaGrid(big, 128, 128 * 128);
    assert.equal(g.bitsPerCell, 1024);
    const f = g.ranges[0]!.fill;
    assert.equal(f[0], 1);
    assert.equal(f[8192], 1 / 1024);
    assert.equal(f[8193], 0);
    assert.equal(g.largestRun?.pages, 2 ** 23 - 101);
    const t = renderTerminal(areaGrid(big, 64, 64 * 32), { used: 1, free: 1, maxchunk: 1 }, false);
    assert.match(t, /1 cell = 8192 pages \(32 MiB\)/);
    assert.match(t, /█/);
    assert.match(t, /~/);
  });
});
