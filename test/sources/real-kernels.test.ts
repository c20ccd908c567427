// Trees captured from the real 6.1 and 7.3 kernels (test/fixtures/kernels, see NOTE.md): what we
// compute from the bitmaps equals the kernel's own files, and explain predicts the kernel's next
// allocation (its pfn in the trace, or its failure).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { explainAlloc } from '../../src/analysis/explain.ts';
import { summarizeArea } from '../../src/analysis/summary.ts';
import { readDirTree } from '../../src/sources/dir-source.ts';
import { profileForLayout, readAreas } from '../../src/sources/model.ts';
import { systemFromSnapshot } from '../../src/sources/snapshot.ts';

function text(r: { ok: true; text: string } | { ok: false }): string {
  assert.ok(r.ok);
  return r.text;
}

const FIX = path.join(import.meta.dirname, '../fixtures/kernels');
const trees = fs.readdirSync(FIX).filter((n) => /^\d/.test(n));

interface Next {
  area: string;
  pages: number;
  align: number;
  ok: boolean;
  pfn: number | null;
}

describe('real kernel trees', () => {
  it('has 6.1 trees (order 0 and order_per_bit 9) and 7.3 multi-range trees', () => {
    assert.ok(trees.filter((t) => t.startsWith('6.1-')).length >= 6);
    assert.ok(trees.filter((t) => t.startsWith('7.3-')).length >= 3);
  });
  for (const t of trees) {
    describe(t, () => {
      const dir = path.join(FIX, t);
      const areas = readAreas(readDirTree(dir));
      const info = JSON.parse(fs.readFileSync(path.join(dir, 'oracle-next.json'), 'utf8')) as {
        next: Next[];
      };
      for (const m of areas) {
        it(`${m.name}: used and maxchunk from the bitmap equal the kernel's files`, () => {
          const s = summarizeArea(m.area, m.layout === 'ranges');
          assert.equal(s.maxchunk, m.reported.maxchunk);
          assert.equal(s.used, m.reported.used);
          if (m.layout !== 'ranges' || m.area.orderPerBit === 0)
            assert.equal(s.usedFromBitmap, m.reported.used);
        });
      }
      for (const n of info.next) {
        it(`explain ${n.area} alloc ${n.pages} align ${n.align} → ${n.ok ? `pfn 0x${n.pfn?.toString(16)}` : 'failure'}`, () => {
          const m = areas.find((a) => a.name === n.area)!;
          const e = explainAlloc(m.area, profileForLayout(m.layout), n.pages, n.align);
          assert.equal(e.ok, n.ok);
          assert.equal(e.pfn, n.pfn);
        });
      }
    });
  }
});

describe('layouts', () => {
  it('reads 6.1 named directories and 7.3 ranges/N in index order, not by address', () => {
    const a61 = readAreas(readDirTree(path.join(FIX, '6.1-frag20')));
    assert.deepEqual(
      a61.map((a) => [a.name, a.layout, a.area.orderPerBit]),
      [
        ['hugetlb0', 'named', 9],
        ['reserved', 'named', 0],
      ],
    );
    const h = readAreas(readDirTree(path.join(FIX, '7.3-3ranges'))).find((a) => a.name === 'hugetlb0')!;
    assert.equal(h.layout, 'ranges');
    assert.deepEqual(
      h.area.ranges.map((r) => [r.basePfn, r.count]),
      [
        [0x240000, 262144],
        [0x140000, 262144],
        [0x1c0000, 262144],
      ],
    );
  });
  it('a copy of the cma directory alone, or of one area, reads the same', () => {
    const full = readAreas(readDirTree(path.join(FIX, '6.1-holes')));
    const cmaOnly = readAreas(readDirTree(path.join(FIX, '6.1-holes/kernel/debug/cma')));
    const one = readAreas(readDirTree(path.join(FIX, '6.1-holes/kernel/debug/cma/reserved')));
    assert.deepEqual(
      cmaOnly.map((a) => [a.name, [...a.area.ranges[0]!.bitmap.words]]),
      full.map((a) => [a.name, [...a.area.ranges[0]!.bitmap.words]]),
    );
    assert.equal(one.length, 1);
    assert.deepEqual([...one[0]!.area.ranges[0]!.bitmap.words], [...full[1]!.area.ranges[0]!.bitmap.words]);
    assert.deepEqual(cmaOnly[1]!.sysfs, {}); // no sysfs in a copy of debugfs alone
    assert.equal(full[1]!.sysfs.alloc_pages_fail, 3150n);
  });
});

describe('systemFromSnapshot', () => {
  it('continues from a real 6.1 tree: the next debugfs alloc lands where the kernel put it', () => {
    const sys = systemFromSnapshot(readDirTree(path.join(FIX, '6.1-frag200')));
    const D = '/sys/kernel/debug/cma/reserved';
    assert.equal(text(sys.readFile(`${D}/used`)), '2767\n');
    assert.equal(text(sys.readFile(`${D}/maxchunk`)), '632\n');
    assert.equal(
      text(sys.readFile(`${D}/bitmap`)),
      fs.readFileSync(path.join(FIX, '6.1-frag200/kernel/debug/cma/reserved/bitmap'), 'latin1'),
    );
    // the kernel put 3 pages at 0xbee50 and 40 pages at 0xbfb88 (oracle-next.json)
    assert.deepEqual(sys.cmaAlloc('reserved', 40), { ok: true, pfn: 0xbfb88 });
    assert.ok(sys.writeFile(`${D}/alloc`, '3\n').ok);
    assert.equal(sys.areas.find((s) => s.area.name === 'reserved')!.records[0]!.pfn, 0xbee50);
    assert.equal(text(sys.readFile(`${D}/used`)), '2810\n');
  });
  it('continues from a real 7.3 multi-range tree with the 7.3 profile', () => {
    const sys = systemFromSnapshot(readDirTree(path.join(FIX, '7.3-3ranges')));
    assert.equal(sys.profile.id, '7.3');
    const D = '/sys/kernel/debug/cma/hugetlb0';
    assert.equal(text(sys.readFile(`${D}/used`)), '262852\n');
    assert.equal(text(sys.readFile('/sys/kernel/mm/cma/hugetlb0/available_pages')), `${786432 - 262852}\n`);
    assert.equal(sys.readlink(`${D}/base_pfn`).ok, true);
    assert.equal(text(sys.readFile(`${D}/ranges/0/base_pfn`)), `${0x240000}\n`);
    const r = sys.cmaAlloc('hugetlb0', 262144, 18);
    assert.deepEqual(r, { ok: true, pfn: 0x1c0000 });
  });
});
