// The allocation table's pfn index against a Map, on random operations (colliding pfns too).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PfnSlots } from '../../src/sources/trace/pfn-slots.ts';

describe('PfnSlots', () => {
  it('behaves as a Map from pfn to slot under sets, puts, overwrites, deletes and takes', () => {
    const pfn = fc.oneof(
      // few distinct keys (overwrites, deletes of present keys), aligned keys, large and odd keys
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 4096 }).map((x) => 0x100000 + x * 256),
      fc.integer({ min: 0, max: 2 ** 20 }).map((x) => x * 2 ** 32),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0.5, Number.NaN, 2 ** 60),
    );
    const op = fc.tuple(
      fc.constantFrom('set', 'set', 'put', 'delete', 'take', 'get'),
      pfn,
      fc.nat(1_000_000),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
        const t = new PfnSlots();
        const m = new Map<number, number>();
        for (const [what, k, v] of ops) {
          if (what === 'set') {
            t.set(k, v);
            m.set(k, v);
          } else if (what === 'put') {
            // set, answering the slot it replaced
            assert.equal(t.put(k, v), m.get(k) ?? -1);
            m.set(k, v);
          } else if (what === 'delete') {
            t.delete(k);
            m.delete(k);
          } else if (what === 'take') {
            // delete, answering the slot it removed
            assert.equal(t.take(k), m.get(k) ?? -1);
            m.delete(k);
          }
          assert.equal(t.get(k), m.get(k) ?? -1);
        }
        assert.equal(t.size, m.size);
        for (const [k, v] of m) assert.equal(t.get(k), v);
        assert.deepEqual(
          t.values().sort((a, b) => a - b),
          [...m.values()].sort((a, b) => a - b),
        );
      }),
      { numRuns: 300 },
    );
  });
});
