// Property tests of the 6.1 allocator and debugfs list against a plain reference model written
// independently of the core: a boolean per bitmap bit, first fit by trying every index.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { plainBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { createSystem } from '../../src/core/create.ts';
import { indexedBitmapFactory } from '../../src/core/indexed-bitmap.ts';
import type { CmaSystem } from '../../src/core/system.ts';

interface RefAlloc {
  pfn: number;
  pages: number;
}

/** The obviously-correct model of one area. */
class Reference {
  readonly bits: boolean[];
  readonly records: RefAlloc[] = [];
  readonly drivers: RefAlloc[] = [];
  readonly busy: { pfn: number; count: number }[] = [];
  constructor(
    readonly base: number,
    readonly count: number,
    readonly opb: number,
  ) {
    this.bits = new Array<boolean>(Math.floor(count / 2 ** opb)).fill(false);
  }
  private fits(s: number, n: number): boolean {
    for (let k = s; k < s + n; k++) if (this.bits[k]) return false;
    return true;
  }
  /** cma_alloc: the first index, aligned to an absolute pfn multiple of 2^align, whose bits are free and whose pages are not busy. */
  alloc(pages: number, align: number): number | null {
    const unit = 2 ** this.opb;
    const n = Math.ceil(pages / unit);
    if (pages === 0 || n > this.bits.length) return null;
    for (let s = 0; s + n <= this.bits.length; s++) {
      const pfn = this.base + s * unit;
      const alignUnit = align > this.opb ? 2 ** align : 0;
      // kernel alignment: (s + offset) multiple of 2^(align-opb), offset = (base mod 2^align) >> opb
      if (alignUnit && (s + Math.floor((this.base % 2 ** align) / unit)) % 2 ** (align - this.opb) !== 0)
        continue;
      if (!this.fits(s, n)) continue;
      if (this.busy.some((b) => b.pfn < pfn + pages && pfn < b.pfn + b.count)) continue;
      for (let k = s; k < s + n; k++) this.bits[k] = true;
      return pfn;
    }
    return null;
  }
  release(pfn: number, pages: number): void {
    const unit = 2 ** this.opb;
    const s = Math.floor((pfn - this.base) / unit);
    for (let k = s; k < s + Math.ceil(pages / unit); k++) this.bits[k] = false;
  }
  /** cma_free_mem with a non-negative count. */
  free(count: number): void {
    while (count > 0) {
      const mem = this.records.pop();
      if (!mem) return;
      if (mem.pages <= count) {
        this.release(mem.pfn, mem.pages);
        count -= mem.pages;
      } else if (this.opb === 0) {
        this.release(mem.pfn, count);
        this.records.push({ pfn: mem.pfn + count, pages: mem.pages - count });
        return;
      } else {
        this.records.push(mem);
        return;
      }
    }
  }
  used(): number {
    return this.bits.filter(Boolean).length * 2 ** this.opb;
  }
  maxchunk(): number {
    let best = 0;
    let run = 0;
    for (const b of this.bits) {
      run = b ? 0 : run + 1;
      best = Math.max(best, run);
    }
    return best * 2 ** this.opb;
  }
  words(): number[] {
    const w = new Array<number>(Math.ceil(this.bits.length / 32)).fill(0);
    this.bits.forEach((b, k) => {
      if (b) w[k >> 5] = (w[k >> 5]! | (1 << (k & 31))) >>> 0;
    });
    return w;
  }
}

type Op =
  | { kind: 'alloc'; pages: number }
  | { kind: 'free'; pages: number }
  | { kind: 'driver'; pages: number; align: number }
  | { kind: 'release'; which: number }
  | { kind: 'busy'; at: number; pages: number }
  | { kind: 'unbusy' };

const opArb = (count: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('alloc' as const),
        pages: fc.integer({ min: 0, max: Math.max(1, count >> 2) }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('free' as const),
        pages: fc.integer({ min: 0, max: Math.max(1, count >> 2) }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('driver' as const),
        pages: fc.integer({ min: 1, max: Math.max(1, count >> 3) }),
        align: fc.integer({ min: 0, max: 10 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), which: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('busy' as const),
        at: fc.nat(count - 1),
        pages: fc.integer({ min: 1, max: 16 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unbusy' as const) }) },
  );

function check(sys: CmaSystem, ref: Reference): void {
  const D = '/sys/kernel/debug/cma/t';
  const st = sys.area('t')!;
  assert.deepEqual([...st.area.ranges[0]!.bitmap.words], ref.words(), 'bitmap = reference bits');
  assert.equal(
    sys.readFile(`${D}/used`).ok && (sys.readFile(`${D}/used`) as { text: string }).text,
    `${ref.used()}\n`,
  );
  assert.equal((sys.readFile(`${D}/maxchunk`) as { text: string }).text, `${ref.maxchunk()}\n`);
  // the bitmap is the union of every live allocation (debugfs records and driver allocations)
  const union = new Reference(ref.base, ref.count, ref.opb);
  for (const a of [...ref.records, ...ref.drivers]) {
    const unit = 2 ** ref.opb;
    const s = Math.floor((a.pfn - ref.base) / unit);
    for (let k = s; k < s + Math.ceil(a.pages / unit); k++) {
      assert.ok(!union.bits[k], `bit ${k} held twice`);
      union.bits[k] = true;
    }
  }
  assert.deepEqual(union.words(), ref.words(), 'bitmap = union of live allocations');
  assert.deepEqual(
    st.records.map((r) => ({ pfn: r.pfn, pages: Number(r.count) })),
    ref.records,
    'the debugfs LIFO list',
  );
}

const BITMAPS = [
  ['the plain scan', plainBitmapFactory],
  ['the index', indexedBitmapFactory],
] as const;

describe('the 6.1 allocator against a plain first-fit reference', () => {
  for (const [label, bitmapFactory] of BITMAPS)
    for (const opb of [0, 1, 2, 9]) {
      it(`${label}, order_per_bit ${opb}: every placement, the bitmap, used and maxchunk after any alloc/free/busy sequence`, () => {
        fc.assert(
          fc.property(
            fc
              .integer({ min: 1, max: 24 })
              .chain((units) =>
                fc.tuple(
                  fc.constant(units * 32 * 2 ** opb + (opb === 0 ? 0 : 0)),
                  fc.integer({ min: 0, max: 64 }).map((k) => 0x80000 + k * 512),
                ),
              )
              .chain(([count, base]) =>
                fc.tuple(fc.constant(count), fc.constant(base), fc.array(opArb(count), { maxLength: 60 })),
              ),
            ([count, base, ops]) => {
              const sys = createSystem({
                areas: [`name=t,count=${count},base_pfn=${base},order_per_bit=${opb}`],
                bitmapFactory,
              });
              const ref = new Reference(base, count, opb);
              for (const o of ops) {
                switch (o.kind) {
                  case 'alloc': {
                    const r = sys.writeFile('/sys/kernel/debug/cma/t/alloc', `${o.pages}\n`);
                    const want = ref.alloc(o.pages, 0);
                    assert.equal(r.ok, want !== null, `alloc ${o.pages}`);
                    if (!r.ok) assert.equal(r.errno, 'ENOMEM');
                    if (want !== null) ref.records.push({ pfn: want, pages: o.pages });
                    break;
                  }
                  case 'free':
                    assert.ok(sys.writeFile('/sys/kernel/debug/cma/t/free', `${o.pages}\n`).ok);
                    ref.free(o.pages);
                    break;
                  case 'driver': {
                    const r = sys.cmaAlloc('t', o.pages, o.align);
                    const want = ref.alloc(o.pages, o.align);
                    assert.equal(r.ok ? r.pfn : null, want, `cma_alloc(${o.pages}, align ${o.align})`);
                    if (want !== null) ref.drivers.push({ pfn: want, pages: o.pages });
                    break;
                  }
                  case 'release': {
                    if (ref.drivers.length === 0) break;
                    const [a] = ref.drivers.splice(o.which % ref.drivers.length, 1);
                    assert.ok(sys.cmaRelease('t', a!.pfn, a!.pages).ok);
                    ref.release(a!.pfn, a!.pages);
                    break;
                  }
                  case 'busy':
                    assert.ok(sys.markBusy('t', base + o.at, o.pages).ok);
                    ref.busy.push({ pfn: base + o.at, count: o.pages });
                    break;
                  case 'unbusy':
                    sys.clearBusy('t');
                    ref.busy.length = 0;
                    break;
                }
                check(sys, ref);
              }
            },
          ),
          { numRuns: opb === 9 ? 40 : 120 },
        );
      });
    }

  it('counts vmstat calls and sysfs pages for every outcome', () => {
    const sys = createSystem({ areas: ['name=t,count=1024,base_pfn=0x80000'] });
    sys.writeFile('/sys/kernel/debug/cma/t/alloc', '8\n');
    sys.writeFile('/sys/kernel/debug/cma/t/alloc', '2000\n');
    sys.writeFile('/sys/kernel/debug/cma/t/alloc', '0\n');
    assert.deepEqual(sys.vmstat, { cma_alloc_success: 1, cma_alloc_fail: 2 });
    assert.equal((sys.readFile('/sys/kernel/mm/cma/t/alloc_pages_success') as { text: string }).text, '8\n');
    assert.equal((sys.readFile('/sys/kernel/mm/cma/t/alloc_pages_fail') as { text: string }).text, '2000\n');
  });
});
