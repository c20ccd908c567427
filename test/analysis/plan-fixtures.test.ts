// plan's one-replay sizing against the binary search it replaced, on every kernel capture and
// golden trace of the repository (6.1, 6.12 with its 0-page requests, 7.3; text and trace.dat):
// for every area, order_per_bit 0…9 and failed-request policy, the same choice.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planOrderPerBit, planOrderPerBitBySearch, planTrace } from '../../src/analysis/plan.ts';
import { type FailedPolicy, sequenceCollector, setAsideOversize } from '../../src/analysis/plan-sequence.ts';
import { openTraceSource } from '../../src/sources/trace/input.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';

const FIX = join(import.meta.dirname, '../fixtures');
const files = [
  ...['golden-6.1', 'golden-6.12', 'golden-7.3'].flatMap((d) =>
    readdirSync(join(FIX, d))
      .filter((f) => f.startsWith('trace-'))
      .map((f) => join(d, f)),
  ),
  ...['oracle-6.1', 'oracle-7.3'].flatMap((d) =>
    readdirSync(join(FIX, 'traces', d))
      .filter((f) => f.endsWith('.trace'))
      .map((f) => join('traces', d, f)),
  ),
  ...readdirSync(join(FIX, 'kernels/raw'))
    .filter((f) => f.startsWith('capture'))
    .map((f) => join('kernels/raw', f)),
  ...['6.1.dat', '6.12.dat', '7.3.dat'].map((f) => join('trace-dat', f)),
];

describe('plan: one replay = the binary search on every kernel capture', () => {
  it('finds the captures', () => assert.ok(files.length >= 12, files.join(' ')));
  for (const f of files) {
    it(f, async () => {
      const src = await openTraceSource(join(FIX, f), true);
      try {
        const areas = new Map((await planTrace(src, { orderPerBits: [] })).areas.map((a) => [a.name, a]));
        for (const failed of ['transient', 'hold'] as FailedPolicy[]) {
          const col = sequenceCollector(failed);
          await readTraceEvents(src, col.onEvent);
          for (const [name, seq] of col.finish()) {
            const area = areas.get(name);
            if (area === undefined) continue;
            // with the requests larger than the area, then without them (plan's default)
            for (const kept of [true, false]) {
              if (!kept) setAsideOversize(seq, area.recordedCount);
              // (with a kept 99999999-page request the binary search replays areas of up to ~10^8
              // bits at order_per_bit 0-2, 4-7 s each on the captures: 80 s of the suite; the
              // fast path is compared with it from 3 up there, and at every order_per_bit without)
              for (let opb = kept ? 3 : 0; opb <= 9; opb++) {
                const fast = planOrderPerBit(seq, area.basePfn, opb);
                const slow = planOrderPerBitBySearch(seq, area.basePfn, opb);
                const what = `${name} ${failed}${kept ? ' oversize kept' : ''} opb ${opb}`;
                assert.deepEqual(fast && { ...fast, replays: 0 }, slow && { ...slow, replays: 0 }, what);
              }
            }
          }
        }
      } finally {
        src.dispose();
      }
    });
  }
});
