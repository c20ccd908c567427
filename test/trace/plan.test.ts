// plan: the smallest area on which a recorded workload never fails.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { planOrderPerBit, planTrace, sequencesFromText, simulateSequence } from '../../src/analysis/plan.ts';
import { indexedBitmapFactory } from '../../src/core/indexed-bitmap.ts';

const FIX = join(import.meta.dirname, '../fixtures/traces/gen-trace');
const text = (name: string) => gunzipSync(readFileSync(join(FIX, `${name}.trace.gz`)));

describe('plan', () => {
  for (const [name, base] of [
    ['camera-opb0', 0x80000],
    ['gpu-opb2', 0x80000],
    ['gpu-concurrency4', 0x80000],
  ] as const) {
    it(`${name}: the planned size never fails, one granule less fails`, () => {
      const seq = sequencesFromText(text(name)).get('reserved')!;
      assert.ok(seq.allocs > 500);
      for (const opb of [0, 2, 5]) {
        const c = planOrderPerBit(seq, base, opb, indexedBitmapFactory);
        assert.ok(c, `opb ${opb}`);
        assert.equal(c.pages, c.bits * 2 ** opb);
        assert.equal(
          simulateSequence(seq, base, opb, c.bits).failedAt,
          -1,
          `opb ${opb}: ${c.bits} bits pass`,
        );
        assert.ok(
          simulateSequence(seq, base, opb, c.bits - 1).failedAt >= 0,
          `opb ${opb}: ${c.bits - 1} bits fail`,
        );
        assert.equal(c.headroomPages, c.pages - c.peakUsedPages);
        assert.ok(c.maxchunkAtWorst <= c.headroomPages);
      }
    });
  }

  it('planTrace: every order_per_bit asked, best choice, failed-request policies', async () => {
    const t = text('gpu-busy-acr-oversize');
    const r = await planTrace(t, { orderPerBits: [0, 3], bitmapFactory: indexedBitmapFactory });
    assert.equal(r.areaSource, 'annotation');
    const a = r.areas[0]!;
    assert.equal(a.name, 'reserved');
    assert.ok(a.failedInTrace > 0);
    assert.deepEqual(
      a.choices.map((c) => c.orderPerBit),
      [0, 3],
    );
    assert.ok(a.best);
    assert.equal(a.best.pages, Math.min(...a.choices.map((c) => c.pages)));
    // the recorded area (16384 pages) was too small for this workload with its oversize requests
    assert.ok(a.best.pages > a.recordedCount);
    const skip = await planTrace(t, { orderPerBits: [0], failed: 'skip' });
    const hold = await planTrace(t, { orderPerBits: [0], failed: 'hold' });
    assert.ok(skip.areas[0]!.choices[0]!.pages <= a.choices[0]!.pages);
    assert.ok(hold.areas[0]!.choices[0]!.pages >= a.choices[0]!.pages);
  });
});
