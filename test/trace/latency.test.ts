// The replay's latency percentiles come from counts by value (bounded memory); they must be the
// nearest-rank percentiles a sorted list of every value gives.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LatencyCounts, latencySummary } from '../../src/sources/trace/latency.ts';

/** The reference: sort every finite value, take the value at rank ceil(q·n). */
function sorted(values: number[]) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return null;
  const at = (q: number) => v[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  return { count: n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: v[n - 1]! };
}

describe('latency counts', () => {
  it('equal the sorted list on whole, fractional, negative, large and non-finite values', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 0, max: 200_000 }),
      fc.integer({ min: -50, max: 50 }),
      // (-0 counts as 0: a latency of -0 µs prints as 0)
      fc.double({ min: -1e6, max: 1e9, noNaN: false }).map((x) => (x === 0 ? 0 : x)),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 65535, 65536, 0.5, 65535.5),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 400 }), (values) => {
        assert.deepEqual(latencySummary(values), sorted(values));
      }),
      { numRuns: 500 },
    );
  });

  it("merges the wasm lane's dense counts (addDense) with values counted before and after, any number of times", () => {
    // a step: values add() counts, or a lane's whole values below 65536 handed over as counts
    const whole = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 65535 }));
    const step = fc.oneof(
      fc.record({
        add: fc.array(
          fc.oneof(
            whole,
            // (-0 counts as 0, as in the test above)
            fc.double({ min: -10, max: 1e6, noNaN: true }).map((x) => (x === 0 ? 0 : x)),
          ),
          { maxLength: 30 },
        ),
      }),
      fc.record({ lane: fc.array(whole, { maxLength: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 6 }), (steps) => {
        const c = new LatencyCounts();
        const all: number[] = [];
        for (const s of steps) {
          if ('add' in s) {
            for (const x of s.add) c.add(x);
            all.push(...s.add);
          } else {
            const counts = new Uint32Array(1 << 16);
            for (const x of s.lane) counts[x]!++;
            c.addDense(counts, s.lane.length);
            // (the lane's memory is its own: what addDense keeps must not be a view of it)
            counts.fill(7);
            all.push(...s.lane);
          }
        }
        assert.deepEqual(c.summary(), sorted(all));
      }),
      { numRuns: 400 },
    );
  });

  it('counts a million allocations in a few distinct values', () => {
    const c = new LatencyCounts();
    for (let i = 0; i < 1_000_000; i++) c.add(i % 1000 === 0 ? 70_000 + (i % 7) : i % 97);
    const values: number[] = [];
    for (let i = 0; i < 1_000_000; i++) values.push(i % 1000 === 0 ? 70_000 + (i % 7) : i % 97);
    assert.deepEqual(c.summary(), sorted(values));
    assert.equal(new LatencyCounts().summary(), null);
  });
});
