// Trace replay on 7.x kernels: traces captured on the real 7.3 kernel with multi-range areas
// (2 ranges, 1 GiB + 2 GiB, 3 ranges not in address order) replay with 0 mismatches into the
// kernel's final state; the 7.3 emulator's own trace on multi-range areas round-trips.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { plainBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { createSystem } from '../../src/core/create.ts';
import { indexedBitmapFactory } from '../../src/core/indexed-bitmap.ts';
import { fileSource, memorySource } from '../../src/sources/trace/input.ts';
import type { ReplayAreaSpec } from '../../src/sources/trace/replay.ts';
import { inferAreas, replayTrace, toReplaySpec } from '../../src/sources/trace/replay.ts';

const FIX = join(import.meta.dirname, '../fixtures/traces/oracle-7.3');

interface Expected73 {
  areas: {
    name: string;
    count: number;
    order_per_bit: number;
    used: number;
    maxchunk: number;
    available_pages: number;
    ranges: { index: number; base_pfn: number; bitmap: string; newline: boolean }[];
  }[];
}

function expected(n: number): Expected73 {
  return JSON.parse(readFileSync(join(FIX, `capture${n}.expected.json`), 'utf8')) as Expected73;
}

/** The areas as the kernel showed them: ranges in index order, sizes implied by the bitmaps. */
function areasOf(exp: Expected73): ReplayAreaSpec[] {
  return exp.areas.map((a) =>
    toReplaySpec({
      name: a.name,
      orderPerBit: a.order_per_bit,
      ranges: a.ranges.map((r) => ({
        basePfn: r.base_pfn,
        count: a.ranges.length === 1 ? a.count : r.bitmap.split(' ').length * 32 * 2 ** a.order_per_bit,
      })),
    }),
  );
}

/** Successful allocations per range index of an area, from the trace. */
function okPerRange(trace: string, area: Expected73['areas'][number], align?: number): number[] {
  const per = area.ranges.map(() => 0);
  const unit = 2 ** area.order_per_bit;
  const re = new RegExp(
    `cma_alloc_finish: name=${area.name} pfn=0x([0-9a-f]+) \\S+ count=\\d+ align=(\\d+) errorno=0`,
    'g',
  );
  for (const m of trace.matchAll(re)) {
    if (align !== undefined && Number(m[2]) !== align) continue;
    const pfn = Number.parseInt(m[1]!, 16);
    const i = area.ranges.findIndex(
      (r) => pfn >= r.base_pfn && pfn < r.base_pfn + r.bitmap.split(' ').length * 32 * unit,
    );
    assert.ok(i >= 0, `pfn 0x${m[1]} in a range`);
    per[i]!++;
  }
  return per;
}

describe('replay of traces captured on the real 7.3 kernel (multi-range areas)', () => {
  const ranges = { 1: '2 x 1 GiB', 2: '3 x 1 GiB, index order 9G/5G/7G', 3: '1 GiB + 2 GiB' };
  for (const n of [1, 2, 3] as const) {
    it(`capture${n} (${ranges[n]}): 0 mismatches, final used/maxchunk/available/range bitmaps as the kernel printed`, async () => {
      const exp = expected(n);
      const trace = readFileSync(join(FIX, `capture${n}.trace`), 'utf8');
      const hug = exp.areas.find((a) => a.name === 'hugetlb0')!;
      // the capture exercises every range, and 1 GiB hugetlb pages (align 18)
      assert.ok(
        okPerRange(trace, hug).every((k) => k > 0),
        'allocations in every range',
      );
      assert.ok(okPerRange(trace, hug, 18)[0]! > 0, 'a gigantic page in range 0');
      for (const bitmapFactory of [plainBitmapFactory, indexedBitmapFactory]) {
        const r = await replayTrace(fileSource(join(FIX, `capture${n}.trace`)), {
          areas: areasOf(exp),
          bitmapFactory,
        });
        assert.equal(r.malformed, 0);
        assert.equal(r.mismatches, 0, JSON.stringify(r.mismatchList.slice(0, 3)));
        // includes: every cma_alloc_start's available_count/total_count equals the replay's
        assert.equal(r.anomalies, 0, JSON.stringify(r.anomalyList.slice(0, 3)));
        assert.ok(r.allocs.failed > 10, 'the capture has failures');
        assert.equal(r.failureClasses.oversize, 5, 'larger than every range / the area, 2^64-1');
        assert.ok(r.failureClasses.fragmentation > 0 && r.failureClasses.exhaustion > 0);
        for (const e of exp.areas) {
          const a = r.areas.find((x) => x.name === e.name);
          assert.ok(a, e.name);
          assert.equal(a.usedMode, 'exact');
          assert.equal(a.used, e.used, `${e.name} used`);
          assert.equal(a.availablePages, e.available_pages, `${e.name} available_pages`);
          assert.equal(a.maxchunk, e.maxchunk, `${e.name} maxchunk`);
          assert.equal(a.count, e.count);
          assert.equal(a.ranges.length, e.ranges.length);
          e.ranges.forEach((er, i) => {
            const ar = a.ranges[i]!;
            assert.equal(ar.basePfn, er.base_pfn, `${e.name} range ${i} base`);
            assert.equal(ar.bitmapText, er.bitmap + (er.newline ? '\n' : ''), `${e.name} range ${i} bitmap`);
          });
          // the top-level bitmap is range 0's (the kernel's symlink)
          assert.equal(a.bitmapText, a.ranges[0]!.bitmapText);
          assert.equal(a.basePfn, e.ranges[0]!.base_pfn);
        }
      }
    });
  }

  it('capture2: ranges taken in address order instead of index order diverge from the kernel', async () => {
    const exp = expected(2);
    const sorted = areasOf(exp).map((a) =>
      a.ranges ? { ...a, ranges: [...a.ranges].sort((x, y) => x.basePfn - y.basePfn) } : a,
    );
    const r = await replayTrace(fileSource(join(FIX, 'capture2.trace')), { areas: sorted });
    assert.ok(r.mismatches > 0);
  });

  it('capture1 with the areas given as --area strings (core config, profile 7.3)', async () => {
    const exp = expected(1);
    const sys = createSystem({
      profile: '7.3',
      areas: [
        'name=hugetlb0,order_per_bit=9,range=1310720:262144,range=1835008:262144',
        'name=reserved,count=4096,base_pfn=1048576',
      ],
    });
    const r = await replayTrace(fileSource(join(FIX, 'capture1.trace')), {
      areas: sys.areaList().map((a) => ({
        name: a.name,
        orderPerBit: a.orderPerBit,
        ranges: a.ranges.map((g) => ({ basePfn: g.basePfn, count: g.count })),
      })),
    });
    assert.equal(r.mismatches, 0);
    assert.equal(r.anomalies, 0);
    assert.deepEqual(
      r.areas.map((a) => [a.name, a.used, a.maxchunk]),
      exp.areas.map((a) => [a.name, a.used, a.maxchunk]),
    );
  });

  it('without areas: the ranges are inferred from total_count, in index order, and replay exactly', async () => {
    for (const n of [1, 2, 3]) {
      const exp = expected(n);
      const src = fileSource(join(FIX, `capture${n}.trace`));
      const inferred = await inferAreas(src);
      const want = areasOf(exp).map((a) => ({
        name: a.name,
        count: a.count,
        orderPerBit: a.orderPerBit,
        ranges: a.ranges && a.ranges.length > 1 ? a.ranges : undefined,
      }));
      const got = inferred.map((a) => ({
        name: a.name,
        count: a.count,
        orderPerBit: a.orderPerBit,
        ranges: a.ranges,
      }));
      const byName = (x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name);
      assert.deepEqual(got.sort(byName), want.sort(byName), `capture${n}`);
      const r = await replayTrace(src, { areas: 'infer' });
      assert.equal(r.mismatches, 0, `capture${n}`);
      assert.equal(r.anomalies, 0, `capture${n}`);
      for (const e of exp.areas) {
        const a = r.areas.find((x) => x.name === e.name)!;
        for (const [i, er] of e.ranges.entries())
          assert.equal(a.ranges[i]!.bitmapText, er.bitmap + (er.newline ? '\n' : ''));
      }
    }
  });

  it('inferred ranges first used out of index order: the order that replays without mismatches', async () => {
    // range 0 filled, then a request too large for range 1 lands in range 2 first; the next small
    // ones go to range 1, which the first-use order (0, 2, 1) would put in range 2
    const sys = createSystem({
      profile: '7.3',
      areas: [
        'name=hugetlb0,order_per_bit=9,range=0x140000:262144,range=0x1c0000:262144,range=0x240000:524288',
      ],
    });
    sys.writeFile('kernel/tracing/events/cma/enable', '1\n');
    for (const [f, n] of [
      ['alloc', 262144],
      ['alloc', 300000],
      ['alloc', 8],
      ['alloc', 4096],
      ['free', 4096],
      ['alloc', 100000],
      ['alloc', 8],
    ] as const)
      assert.ok(sys.writeFile(`kernel/debug/cma/hugetlb0/${f}`, `${n}\n`).ok);
    const trace = (sys.readFile('kernel/tracing/trace') as { text: string }).text;
    const [h] = await inferAreas(memorySource(trace));
    assert.deepEqual(
      h!.ranges!.map((r) => r.basePfn),
      [0x140000, 0x240000, 0x1c0000],
      'inferAreas: the order of first use',
    );
    const r = await replayTrace(trace, { areas: 'infer' });
    assert.equal(r.areaSource, 'inferred');
    assert.deepEqual(
      r.areas[0]!.ranges.map((x) => [x.basePfn, x.count]),
      [
        [0x140000, 262144],
        [0x1c0000, 262144],
        [0x240000, 524288],
      ],
    );
    assert.equal(r.mismatches, 0);
    const used = sys.readFile('kernel/debug/cma/hugetlb0/used');
    assert.ok(used.ok);
    assert.equal(r.areas[0]!.used, Number(used.text));
  });

  it('a 7.3 trace whose touched units do not add up to total_count keeps the single-span guess', async () => {
    // capture2's events of range 0x1c0000 only: the area's total_count says 3 GiB, the pfns one
    const text = readFileSync(join(FIX, 'capture2.trace'), 'utf8')
      .split('\n')
      .filter((l) => {
        const m = /name=hugetlb0 .*pfn=0x([0-9a-f]+)/.exec(l);
        return (
          m === null || (Number.parseInt(m[1]!, 16) >= 0x1c0000 && Number.parseInt(m[1]!, 16) < 0x200000)
        );
      })
      .join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'infer73-'));
    writeFileSync(join(dir, 't'), text);
    const [h] = (await inferAreas(fileSource(join(dir, 't')))).filter((a) => a.name === 'hugetlb0');
    assert.ok(h);
    assert.equal(h.ranges, undefined);
    rmSync(dir, { recursive: true });
  });

  it('areas that do not match the trace are reported (total_count, available_count)', async () => {
    const exp = expected(1);
    const areas = areasOf(exp).map((a) =>
      a.name === 'hugetlb0' ? { ...a, ranges: a.ranges!.slice(0, 1), count: a.ranges![0]!.count } : a,
    );
    const r = await replayTrace(fileSource(join(FIX, 'capture1.trace')), { areas });
    assert.ok(
      r.anomalyList.some((x) => /total_count=524288 but area hugetlb0 has 262144 pages/.test(x.reason)),
    );
    assert.ok(r.mismatches > 0);
  });
});

describe('round trip: the 7.3 emulator on multi-range areas', () => {
  it('debugfs writes, driver allocations with align, busy pages in several ranges: 0 mismatches, same ranges/used', async () => {
    const sys = createSystem({
      profile: '7.3',
      areas: [
        // index order is not address order, sizes differ
        'name=multi,order_per_bit=0,range=0x50000:1024,range=0x40000:512,range=0x48000:3000',
        'name=huge,order_per_bit=9,range=0x240000:16384,range=0x140000:8192',
        'name=single,count=4096,base_pfn=0x100000',
      ],
    });
    assert.ok(sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n').ok);
    sys.markBusy('multi', 0x50000 + 700, 5);
    sys.markBusy('multi', 0x48000 + 100, 2);
    sys.markBusy('multi', 0x40000 + 480, 4, -12);
    sys.markBusy('single', 0x100000 + 2000, 2, -12);
    sys.markBusy('huge', 0x140000 + 2048, 1);
    sys.markBusy('single', 0x100000 + 1000, 3);
    let x = 99;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return Math.floor(x / 65536) % n;
    };
    const names = ['multi', 'huge', 'single'];
    const max = { multi: 900, huge: 6000, single: 500 } as Record<string, number>;
    const held: { name: string; pfn: number; count: number }[] = [];
    for (let i = 0; i < 700; i++) {
      const area = names[rnd(3)]!;
      const op = rnd(10);
      if (op < 4) sys.writeFile(`/sys/kernel/debug/cma/${area}/alloc`, `${rnd(max[area]!) + 1}\n`);
      else if (op < 6) sys.writeFile(`/sys/kernel/debug/cma/${area}/free`, `${rnd(max[area]!) + 1}\n`);
      else if (op < 8) {
        const count = rnd(max[area]!) + 1;
        const r = sys.cmaAlloc(area, count, rnd(area === 'huge' ? 14 : 8));
        if (r.ok) held.push({ name: area, pfn: r.pfn, count });
      } else if (held.length > 0) {
        const h = held.splice(rnd(held.length), 1)[0]!;
        assert.ok(sys.cmaRelease(h.name, h.pfn, h.count).ok);
      }
    }
    sys.writeFile('/sys/kernel/debug/cma/multi/alloc', '4000\n'); // fits the area, no range
    sys.writeFile('/sys/kernel/debug/cma/huge/alloc', '4294967295\n'); // 2^64-1 pages: 0 bits
    const text = sys.tracing.text();
    const pfns: { area: string; pfn: number }[] = [];
    const r = await replayTrace(text, {
      onAllocation: (rec) => pfns.push({ area: rec.area, pfn: rec.pfn }),
      areas: sys.areaList().map((a) => ({
        name: a.name,
        orderPerBit: a.orderPerBit,
        ranges: a.ranges.map((g) => ({ basePfn: g.basePfn, count: g.count })),
      })),
    });
    assert.equal(r.malformed, 0);
    assert.equal(r.mismatches, 0, JSON.stringify(r.mismatchList.slice(0, 3)));
    assert.equal(r.anomalies, 0, JSON.stringify(r.anomalyList.slice(0, 3)));
    assert.ok(r.busyRetries > 0, 'busy retries happened');
    assert.ok(r.failureClasses.migration > 0, 'a non-EBUSY migration failure happened');
    assert.ok(r.failureClasses.oversize >= 2);
    for (const a of r.areas) {
      const dir = `/sys/kernel/debug/cma/${a.name}`;
      const read = (p: string) => {
        const f = sys.readFile(p);
        assert.ok(f.ok, p);
        return f.text;
      };
      assert.equal(`${a.used}\n`, read(`${dir}/used`), `${a.name} used (exact)`);
      assert.equal(`${a.maxchunk}\n`, read(`${dir}/maxchunk`), `${a.name} maxchunk`);
      assert.equal(`${a.availablePages}\n`, read(`/sys/kernel/mm/cma/${a.name}/available_pages`));
      a.ranges.forEach((rg, i) => {
        assert.equal(rg.bitmapText, read(`${dir}/ranges/${i}/bitmap`), `${a.name} range ${i} bitmap`);
        assert.equal(`${rg.basePfn}\n`, read(`${dir}/ranges/${i}/base_pfn`));
      });
      // successful allocations landed in every range
      for (const rg of a.ranges)
        assert.ok(
          pfns.some((p) => p.area === a.name && p.pfn >= rg.basePfn && p.pfn < rg.basePfn + rg.count),
          `${a.name}: an allocation in the range at ${rg.basePfn}`,
        );
    }
  });
});

describe('property: any 7.3 emulator run on random multi-range areas replays exactly', () => {
  it('0 mismatches/anomalies; per-range bitmaps, exact used, available and maxchunk equal the emulator', async () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('alloc' as const), n: fc.integer({ min: 1, max: 80 }) }),
      fc.record({ k: fc.constant('free' as const), n: fc.integer({ min: 1, max: 80 }) }),
      fc.record({
        k: fc.constant('driver' as const),
        n: fc.integer({ min: 1, max: 80 }),
        align: fc.integer({ min: 0, max: 12 }),
      }),
      fc.record({ k: fc.constant('release' as const), i: fc.nat() }),
    );
    const geometry = fc.record({
      opb: fc.integer({ min: 0, max: 3 }),
      // range sizes in bits and gaps between ranges (pages), then a shuffle of the index order
      bits: fc.array(fc.integer({ min: 4, max: 120 }), { minLength: 2, maxLength: 4 }),
      gaps: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 4, maxLength: 4 }),
      order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      // pinned pages near the start of a range, where first fit looks first
      busy: fc.array(
        fc.record({
          range: fc.nat(),
          at: fc.integer({ min: 0, max: 40 }),
          n: fc.integer({ min: 1, max: 4 }),
          ebusy: fc.boolean(),
        }),
        { maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(geometry, fc.array(op, { minLength: 20, maxLength: 80 }), async (g, ops) => {
        const unit = 2 ** g.opb;
        // bases are pageblock-aligned (512 pages, as cma_declare_contiguous_multi needs) but
        // not all 4096-aligned: align 10…12 requests get non-zero offsets
        let pfn = 0x40000 + 512;
        const ranges = g.bits.map((b, i) => {
          const r = { basePfn: pfn, count: b * unit };
          pfn += Math.ceil(r.count / 512) * 512 + g.gaps[i]! * 512;
          return r;
        });
        // index order is a permutation of the address order
        const idx = ranges.map((_, i) => i).sort((a, b) => (g.order[a]! % 7) - (g.order[b]! % 7) || a - b);
        const inIndexOrder = idx.map((i) => ranges[i]!);
        const spec = `name=m,order_per_bit=${g.opb},${inIndexOrder.map((r) => `range=${r.basePfn}:${r.count}`).join(',')}`;
        const sys = createSystem({ profile: '7.3', areas: [spec] });
        assert.ok(sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n').ok);
        for (const b of g.busy) {
          const r = inIndexOrder[b.range % inIndexOrder.length]!;
          sys.markBusy('m', r.basePfn + (b.at % r.count), b.n, b.ebusy ? -16 : -12);
        }
        const held: { pfn: number; count: number }[] = [];
        for (const o of ops) {
          if (o.k === 'alloc') sys.writeFile('/sys/kernel/debug/cma/m/alloc', `${o.n}\n`);
          else if (o.k === 'free') sys.writeFile('/sys/kernel/debug/cma/m/free', `${o.n}\n`);
          else if (o.k === 'driver') {
            const r = sys.cmaAlloc('m', o.n, o.align);
            if (r.ok) held.push({ pfn: r.pfn, count: o.n });
          } else if (held.length > 0) {
            const h = held.splice(o.i % held.length, 1)[0]!;
            assert.ok(sys.cmaRelease('m', h.pfn, h.count).ok);
          }
        }
        const r = await replayTrace(sys.tracing.text(), {
          areas: [{ name: 'm', orderPerBit: g.opb, ranges: inIndexOrder }],
        });
        assert.equal(r.mismatches, 0, JSON.stringify(r.mismatchList.slice(0, 2)));
        assert.equal(r.anomalies, 0, JSON.stringify(r.anomalyList.slice(0, 2)));
        const a = r.areas[0]!;
        const read = (p: string) => {
          const f = sys.readFile(p);
          assert.ok(f.ok, p);
          return f.text;
        };
        if (r.allocStarts > 0) assert.equal(`${a.used}\n`, read('/sys/kernel/debug/cma/m/used'));
        assert.equal(`${a.maxchunk}\n`, read('/sys/kernel/debug/cma/m/maxchunk'));
        a.ranges.forEach((rg, i) => {
          assert.equal(rg.bitmapText, read(`/sys/kernel/debug/cma/m/ranges/${i}/bitmap`));
        });
      }),
      { numRuns: 150, seed: 20240607 },
    );
  });
});
