// Trace replay against real 6.1 captures, ref-replay results on gen-trace traces, and the
// emulator's own trace (round trip).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { plainBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { createSystem } from '../../src/core/create.ts';
import { indexedBitmapFactory } from '../../src/core/indexed-bitmap.ts';
import { parseU32Array } from '../../src/core/u32-array.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';

const FIX = join(import.meta.dirname, '../fixtures/traces');

interface OracleExpected {
  areas: {
    name: string;
    base_pfn: number;
    count: number;
    order_per_bit: number;
    used: number;
    maxchunk: number;
    bitmap: string;
  }[];
}

describe('replay of traces captured on the real 6.1 kernel', () => {
  for (const n of [1, 2, 3]) {
    it(`capture${n}: 0 mismatches, final used/maxchunk/bitmap as the kernel printed`, async () => {
      const exp = JSON.parse(
        readFileSync(join(FIX, `oracle-6.1/capture${n}.expected.json`), 'utf8'),
      ) as OracleExpected;
      const areas = exp.areas.map((a) => ({
        name: a.name,
        basePfn: a.base_pfn,
        count: a.count,
        orderPerBit: a.order_per_bit,
      }));
      for (const bitmapFactory of [plainBitmapFactory, indexedBitmapFactory]) {
        const r = await replayTrace(fileSource(join(FIX, `oracle-6.1/capture${n}.trace`)), {
          areas,
          bitmapFactory,
        });
        assert.equal(r.mismatches, 0, JSON.stringify(r.mismatchList.slice(0, 3)));
        assert.equal(r.anomalies, 0, JSON.stringify(r.anomalyList.slice(0, 3)));
        assert.equal(r.malformed, 0);
        assert.ok(r.allocs.failed > 0, 'the capture has failures');
        assert.equal(
          r.failureClasses.exhaustion + r.failureClasses.fragmentation + r.failureClasses.oversize,
          r.allocs.failed,
        );
        for (const e of exp.areas) {
          const a = r.areas.find((x) => x.name === e.name);
          assert.ok(a, e.name);
          assert.equal(a.used, e.used, `${e.name} used`);
          assert.equal(a.maxchunk, e.maxchunk, `${e.name} maxchunk`);
          assert.deepEqual(a.words, parseU32Array(`${e.bitmap}\n`), `${e.name} bitmap`);
          assert.equal(a.bitmapText.trimEnd(), e.bitmap);
        }
      }
    });
  }
});

interface RefReplay {
  mismatches: number;
  lines: number;
  areas: {
    name: string;
    base_pfn: number;
    count: number;
    order_per_bit: number;
    alloc_start: number;
    allocs_ok: number;
    allocs_failed: number;
    failed_no_space: number;
    failed_acr_error: number;
    failed_oversize_no_finish: number;
    busy_retries: number;
    releases: number;
    used_pages: number;
    maxchunk_pages: number;
    bitmap_sha256: string;
  }[];
}

describe('replay of gen-trace traces equals ref-replay', () => {
  const dir = join(FIX, 'gen-trace');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.trace.gz'))) {
    const name = f.replace(/\.trace\.gz$/, '');
    it(name, async () => {
      const ref = JSON.parse(readFileSync(join(dir, `${name}.ref.json`), 'utf8')) as RefReplay;
      const refArea = ref.areas[0]!;
      const areas = name.includes('noannotate')
        ? [
            {
              name: refArea.name,
              basePfn: refArea.base_pfn,
              count: refArea.count,
              orderPerBit: refArea.order_per_bit,
            },
          ]
        : 'auto';
      for (const bitmapFactory of [plainBitmapFactory, indexedBitmapFactory]) {
        const r = await replayTrace(fileSource(join(dir, f)), { areas, bitmapFactory });
        assert.equal(r.areaSource, name.includes('noannotate') ? 'options' : 'annotation');
        assert.equal(r.mismatches, 0, JSON.stringify(r.mismatchList.slice(0, 3)));
        assert.equal(r.anomalies, 0, JSON.stringify(r.anomalyList.slice(0, 3)));
        assert.equal(r.lines, ref.lines);
        const a = r.areas[0]!;
        assert.equal(a.name, refArea.name);
        assert.equal(a.allocStarts, refArea.alloc_start);
        assert.equal(a.allocsOk, refArea.allocs_ok);
        assert.equal(a.allocsFailed, refArea.allocs_failed);
        assert.equal(a.failedNoSpace, refArea.failed_no_space);
        assert.equal(a.failedMigration, refArea.failed_acr_error);
        assert.equal(a.failedOversize, refArea.failed_oversize_no_finish);
        assert.equal(a.busyRetries, refArea.busy_retries);
        assert.equal(a.releases, refArea.releases);
        assert.equal(a.used, refArea.used_pages);
        assert.equal(a.maxchunk, refArea.maxchunk_pages);
        assert.equal(a.bitmapSha256, refArea.bitmap_sha256);
      }
    });
  }
});

describe("round trip: the emulator's own trace replays into the same state", () => {
  for (const profile of ['6.1', '7.3']) {
    it(`profile ${profile}: debugfs writes, driver allocations with align, busy pages`, async () => {
      const sys = createSystem({
        profile,
        areas: [
          'name=reserved,count=4096,base_pfn=125952',
          'name=big,count=8192,base_pfn=0x40000,order_per_bit=2',
        ],
      });
      assert.ok(sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n').ok);
      let x = 7;
      const rnd = (n: number) => {
        x = (x * 1103515245 + 12345) % 2147483648;
        return Math.floor(x / 65536) % n;
      };
      sys.markBusy('reserved', 125952 + 900, 3);
      sys.markBusy('big', 0x40000 + 64, 8, -12);
      const held: { name: string; pfn: number; count: number }[] = [];
      for (let i = 0; i < 400; i++) {
        const area = rnd(2) === 0 ? 'reserved' : 'big';
        const op = rnd(10);
        if (op < 4) sys.writeFile(`/sys/kernel/debug/cma/${area}/alloc`, `${rnd(300) + 1}\n`);
        else if (op < 6) sys.writeFile(`/sys/kernel/debug/cma/${area}/free`, `${rnd(300) + 1}\n`);
        else if (op < 8) {
          const count = rnd(200) + 1;
          const r = sys.cmaAlloc(area, count, rnd(6));
          if (r.ok) held.push({ name: area, pfn: r.pfn, count });
        } else if (held.length > 0) {
          const h = held.splice(rnd(held.length), 1)[0]!;
          sys.cmaRelease(h.name, h.pfn, h.count);
        }
      }
      sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '99999\n'); // larger than the area
      const text = sys.tracing.text();
      const areas = sys.areaList().map((a) => ({
        name: a.name,
        basePfn: a.ranges[0]!.basePfn,
        count: a.count,
        orderPerBit: a.orderPerBit,
      }));
      const r = await replayTrace(text, { areas });
      assert.equal(r.malformed, 0);
      assert.equal(r.mismatches, 0, JSON.stringify(r.mismatchList.slice(0, 3)));
      assert.equal(r.anomalies, 0, JSON.stringify(r.anomalyList.slice(0, 3)));
      assert.ok(r.busyRetries > 0, 'busy retries happened');
      assert.ok(r.allocs.failed > 0, 'failures happened');
      for (const a of r.areas) {
        const dir = `/sys/kernel/debug/cma/${a.name}`;
        const bitmap = sys.readFile(`${dir}/bitmap`);
        assert.ok(bitmap.ok);
        assert.equal(a.bitmapText, bitmap.text, `${a.name} bitmap`);
        const maxchunk = sys.readFile(`${dir}/maxchunk`);
        assert.ok(maxchunk.ok);
        assert.equal(`${a.maxchunk}\n`, maxchunk.text);
        if (profile === '6.1') {
          const used = sys.readFile(`${dir}/used`);
          assert.ok(used.ok);
          assert.equal(`${a.used}\n`, used.text);
        }
      }
    });
  }
});

describe('areas no kernel can have: a clear error before any bitmap is allocated', () => {
  const line = (count: string) =>
    `              sh-38      [000] .....     7.667875: cma_release: name=reserved pfn=0x1c800 page=(____ptrval____) count=${count}\n`;
  it('inferred from a count that ends past the largest pfn (2^40)', async () => {
    await assert.rejects(
      replayTrace(line('1099511627776')),
      /the area its pfns and counts give is impossible \(area 'reserved': base_pfn 116736 \+ count 1099511627776 ends past the largest pfn/,
    );
  });
  it('given: past the largest pfn, or more bits than one bitmap holds', async () => {
    await assert.rejects(
      replayTrace(line('1'), {
        areas: [{ name: 'reserved', basePfn: 0x1c800, count: 2 ** 40, orderPerBit: 0 }],
      }),
      /area 'reserved': base_pfn 116736 \+ count 1099511627776 ends past the largest pfn a kernel can have/,
    );
    await assert.rejects(
      replayTrace(line('1'), {
        areas: [{ name: 'reserved', basePfn: 0x1c800, count: 2 ** 32, orderPerBit: 0 }],
      }),
      /more than one bitmap can hold \(at most 2\^31/,
    );
  });
});
