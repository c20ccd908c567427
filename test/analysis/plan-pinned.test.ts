// plan's answers on two bench-like traces, pinned: expected-plans.json holds what planTrace()
// answered before plan was made fast (a binary search of ~20 full replays per order_per_bit),
// for every order_per_bit 0…9 and failed-request policy. A faster plan must give the same
// sizes, peaks, headrooms and worst moments (only `replays`, the work done, may change).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { PlanChoice, PlanOptions, PlanResult } from '../../src/analysis/plan.ts';
import { planTrace } from '../../src/analysis/plan.ts';

const DIR = join(import.meta.dirname, '../fixtures/traces/plan');
const trace = (name: string) => gunzipSync(readFileSync(join(DIR, `${name}.trace.gz`)));
const expected = JSON.parse(readFileSync(join(DIR, 'expected-plans.json'), 'utf8')) as Record<
  string,
  PlanResult
>;

const gpu = { name: 'reserved', basePfn: 0x80000, count: 262144, orderPerBit: 0 };
const rnd = { name: 'reserved', basePfn: 0x80000, count: 65536, orderPerBit: 0 };

const cases: [string, string, PlanOptions][] = [];
for (const failed of ['transient', 'hold', 'skip'] as const) {
  cases.push([`gpu-40k ${failed}`, 'gpu-40k', { areas: [gpu], failed }]);
  cases.push([`random-20k-failures ${failed}`, 'random-20k-failures', { areas: [rnd], failed }]);
}
cases.push([
  'random-20k-failures transient include-oversize',
  'random-20k-failures',
  { areas: [rnd], includeOversize: true },
]);
cases.push(['random-20k-failures transient inferred', 'random-20k-failures', {}]);

/** The answer without `replays` (how much work was done to find it). */
function answer(r: PlanResult): unknown {
  const strip = (c: PlanChoice | null) => {
    if (!c) return c;
    const { replays: _, ...rest } = c;
    return rest;
  };
  return { ...r, areas: r.areas.map((a) => ({ ...a, choices: a.choices.map(strip), best: strip(a.best) })) };
}

describe('plan: pinned answers on bench-like traces', () => {
  it('the fixtures hold every case', () => {
    assert.deepEqual(Object.keys(expected).sort(), cases.map(([k]) => k).sort());
  });
  for (const [key, file, opts] of cases) {
    it(key, async () => {
      const r = await planTrace(trace(file), opts);
      assert.deepEqual(answer(r), expected[key]);
      for (const a of r.areas) for (const c of a.choices) assert.ok(c.replays >= 1);
    });
  }
});
