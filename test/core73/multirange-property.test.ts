// Property tests of the 7.3 allocator on multi-range areas against a plain reference written
// here, independently of the core: per range a boolean per bit and a naive first fit; the ranges
// are tried in index order (not address order); a block never spans two ranges; `used` is the
// exact page count; the debugfs list is LIFO with the partial-free rules.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CmaBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { plainBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { createSystem } from '../../src/core/create.ts';
import { indexedBitmapFactory } from '../../src/core/indexed-bitmap.ts';
import type { CmaSystem } from '../../src/core/system.ts';

interface Live {
  range: number;
  pfn: number;
  pages: number;
}

/** The obviously-correct model of one multi-range area. */
class Reference {
  readonly bits: boolean[][];
  available: number;
  readonly total: number;
  /** debugfs records, newest last, and driver allocations. */
  readonly records: Live[] = [];
  readonly drivers: Live[] = [];

  constructor(
    readonly ranges: readonly { base: number; count: number }[],
    readonly opb: number,
  ) {
    this.bits = ranges.map((r) => new Array<boolean>(Math.floor(r.count / 2 ** opb)).fill(false));
    this.total = ranges.reduce((s, r) => s + r.count, 0);
    this.available = this.total;
  }

  /** cma_alloc: range 0, 1, … in index order; naive first fit inside each. */
  alloc(pages: number, align: number): Live | null {
    const unit = 2 ** this.opb;
    if (pages <= 0) return null;
    const n = Math.ceil(pages / unit);
    for (let r = 0; r < this.ranges.length; r++) {
      const map = this.bits[r]!;
      if (n > map.length) continue;
      if (pages > this.available) return null;
      const base = this.ranges[r]!.base;
      for (let s = 0; s + n <= map.length; s++) {
        if (align > this.opb && (base + s * unit) % 2 ** align !== 0) continue;
        let free = true;
        for (let k = s; k < s + n; k++) if (map[k]) free = false;
        if (!free) continue;
        for (let k = s; k < s + n; k++) map[k] = true;
        this.available -= pages;
        return { range: r, pfn: base + s * unit, pages };
      }
    }
    return null;
  }

  release(a: Live, pages: number): void {
    const unit = 2 ** this.opb;
    const map = this.bits[a.range]!;
    const first = (a.pfn - this.ranges[a.range]!.base) / unit;
    for (let k = first; k < first + Math.ceil(pages / unit); k++) map[k] = false;
    this.available += pages;
  }

  /** cma_free_mem: LIFO; partial frees only when order_per_bit is 0. */
  free(count: number): void {
    let left = count;
    while (left !== 0) {
      const rec = this.records.pop();
      if (!rec) break;
      if (rec.pages <= left) {
        this.release(rec, rec.pages);
        left -= rec.pages;
      } else if (this.opb === 0) {
        this.release(rec, left);
        this.records.push({ range: rec.range, pfn: rec.pfn + left, pages: rec.pages - left });
        left = 0;
      } else {
        this.records.push(rec);
        break;
      }
    }
  }

  live(): Live[] {
    return [...this.records, ...this.drivers];
  }
}

type Op =
  | { kind: 'alloc'; pages: number }
  | { kind: 'free'; pages: number }
  | { kind: 'cmaAlloc'; pages: number; align: number }
  | { kind: 'cmaRelease'; pick: number };

const opArb = (maxPages: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ kind: fc.constant('alloc' as const), pages: fc.integer({ min: 0, max: maxPages + 8 }) }),
    fc.record({ kind: fc.constant('alloc' as const), pages: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('free' as const), pages: fc.integer({ min: 0, max: maxPages }) }),
    fc.record({
      kind: fc.constant('cmaAlloc' as const),
      pages: fc.integer({ min: 1, max: maxPages }),
      align: fc.integer({ min: 0, max: 12 }),
    }),
    fc.record({ kind: fc.constant('cmaRelease' as const), pick: fc.nat() }),
  );

/** An area: order_per_bit, and ranges given as (slot, bits) in index order, slots distinct. */
const areaArb = fc
  .record({
    opb: fc.integer({ min: 0, max: 3 }),
    ranges: fc.uniqueArray(
      fc.record({ slot: fc.integer({ min: 0, max: 15 }), bits: fc.integer({ min: 1, max: 70 }) }),
      {
        minLength: 1,
        maxLength: 4,
        selector: (r) => r.slot,
      },
    ),
  })
  .map(({ opb, ranges }) => ({
    opb,
    // slots are 2^15 pages apart (no overlap); bases pageblock-aligned; order random, not sorted
    ranges: ranges.map((r) => ({ base: 0x100000 + r.slot * 0x8000, count: r.bits * 2 ** opb })),
  }));

function bitsOf(sys: CmaSystem, range: number): boolean[] {
  const bm = sys.areas[0]!.area.ranges[range]!.bitmap;
  const out: boolean[] = [];
  for (let k = 0; k < bm.maxno; k++) out.push(((bm.words[k >>> 5]! >>> (k & 31)) & 1) === 1);
  return out;
}

function longestZeroRun(bits: readonly boolean[]): number {
  let best = 0;
  let run = 0;
  for (const b of bits) {
    run = b ? 0 : run + 1;
    best = Math.max(best, run);
  }
  return best;
}

const read = (sys: CmaSystem, p: string): string => {
  const r = sys.readFile(p);
  if (!r.ok) throw new Error(`${p}: ${r.errno}`);
  return r.text;
};

function checkState(sys: CmaSystem, ref: Reference): void {
  const A = '/sys/kernel/debug/cma/a';
  const unit = 2 ** ref.opb;
  // bitmaps = the reference's, and = the union of the live allocations
  const union = ref.bits.map((m) => m.map(() => false));
  for (const l of ref.live()) {
    const first = (l.pfn - ref.ranges[l.range]!.base) / unit;
    for (let k = first; k < first + Math.ceil(l.pages / unit); k++) {
      assert.equal(union[l.range]![k], false, 'live allocations overlap');
      union[l.range]![k] = true;
    }
  }
  ref.bits.forEach((m, r) => {
    const actual = bitsOf(sys, r);
    assert.deepEqual(actual, m, `range ${r} bitmap`);
    assert.deepEqual(actual, union[r], `range ${r} bitmap = union of live allocations`);
  });
  const exactUsed = ref.live().reduce((s, l) => s + l.pages, 0);
  assert.equal(read(sys, `${A}/used`), `${exactUsed}\n`);
  assert.equal(read(sys, '/sys/kernel/mm/cma/a/available_pages'), `${ref.total - exactUsed}\n`);
  const maxchunk = Math.max(...ref.bits.map(longestZeroRun)) * unit;
  assert.equal(read(sys, `${A}/maxchunk`), `${maxchunk}\n`);
  assert.equal(read(sys, `${A}/count`), `${ref.total}\n`);
}

function run(
  factory: CmaBitmapFactory,
  area: { opb: number; ranges: { base: number; count: number }[] },
  ops: Op[],
) {
  const spec = `name=a,order_per_bit=${area.opb},${area.ranges.map((r) => `range=${r.base}:${r.count}`).join(',')}`;
  const sys = createSystem({ profile: '7.3', areas: [spec], bitmapFactory: factory, now: () => 0 });
  const ref = new Reference(area.ranges, area.opb);
  sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
  for (const op of ops) {
    if (op.kind === 'alloc') {
      const expected = ref.alloc(op.pages, 0);
      const before = sys.tracing.entries.length;
      const r = sys.writeFile('/sys/kernel/debug/cma/a/alloc', `${op.pages}\n`);
      assert.equal(r.ok, expected !== null, `alloc ${op.pages}`);
      if (!r.ok) assert.equal(r.errno, 'ENOMEM');
      if (expected) {
        ref.records.push(expected);
        const finish = sys.tracing.entries.slice(before).find((e) => e.event?.event === 'cma_alloc_finish');
        assert.ok(finish?.event && 'pfn' in finish.event);
        assert.equal(finish.event.pfn, BigInt(expected.pfn), `alloc ${op.pages} placement`);
      }
    } else if (op.kind === 'free') {
      ref.free(op.pages);
      assert.ok(sys.writeFile('/sys/kernel/debug/cma/a/free', `${op.pages}\n`).ok);
    } else if (op.kind === 'cmaAlloc') {
      const expected = ref.alloc(op.pages, op.align);
      const r = sys.cmaAlloc('a', op.pages, op.align);
      assert.equal(
        r.ok ? r.pfn : null,
        expected ? expected.pfn : null,
        `cmaAlloc ${op.pages} align ${op.align}`,
      );
      if (expected) ref.drivers.push(expected);
    } else if (ref.drivers.length > 0) {
      const [d] = ref.drivers.splice(op.pick % ref.drivers.length, 1);
      ref.release(d!, d!.pages);
      assert.ok(sys.cmaRelease('a', d!.pfn, d!.pages).ok);
    }
    checkState(sys, ref);
  }
}

describe('7.3 multi-range allocator against a plain per-range first fit', () => {
  for (const [name, factory] of [
    ['plain bitmap', plainBitmapFactory],
    ['indexed bitmap', indexedBitmapFactory],
  ] as const) {
    it(`placements, bitmaps, used, maxchunk, available_pages (${name})`, () => {
      fc.assert(
        fc.property(
          areaArb.chain((area) =>
            fc.tuple(
              fc.constant(area),
              fc.array(opArb(area.ranges.reduce((s, r) => s + r.count, 0)), { maxLength: 40 }),
            ),
          ),
          ([area, ops]) => run(factory, area, ops),
        ),
        { numRuns: 150 },
      );
    });
  }

  it('index order, not address order: range 0 is tried first even when it is the highest', () => {
    const sys = createSystem({
      profile: '7.3',
      areas: ['name=a,order_per_bit=0,range=0x300000:512,range=0x100000:512'],
    });
    const r = sys.cmaAlloc('a', 8);
    assert.deepEqual(r, { ok: true, pfn: 0x300000 });
    // a block bigger than every range fails even though the area has room in total
    assert.equal(sys.cmaAlloc('a', 600).ok, false);
    assert.deepEqual(sys.cmaAlloc('a', 510), { ok: true, pfn: 0x100000 });
  });
});
