// replay/plan on 7.x traces with multi-range areas, end to end (through main.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readAreas } from '../../src/sources/model.ts';
import { readSnapshotFile, treeFromSnapshot } from '../../src/sources/snapshot.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIX = join(ROOT, 'test/fixtures/traces/oracle-7.3');
const tmp = mkdtempSync(join(tmpdir(), 'cma-trace-cli73-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/frontends/cli/main.ts'), ...args],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Expected73 {
  areas: {
    name: string;
    used: number;
    maxchunk: number;
    available_pages: number;
    ranges: { base_pfn: number; bitmap: string; newline: boolean }[];
  }[];
}

// capture2: hugetlb0 = 3 ranges of 1 GiB in the kernel's index order 9G, 5G, 7G
const HUGE3 = 'name=hugetlb0,order_per_bit=9,range=2359296:262144,range=1310720:262144,range=1835008:262144';
const RESERVED = 'name=reserved,count=4096,base_pfn=1048576';

describe('cma-debug replay / plan on multi-range (7.x) areas', () => {
  it('replay --area range=… (no --profile) --json --save: 0 mismatches, the saved snapshot keeps the ranges', () => {
    const exp = JSON.parse(readFileSync(join(FIX, 'capture2.expected.json'), 'utf8')) as Expected73;
    const snap = join(tmp, 's2.json');
    const r = cli([
      'replay',
      join(FIX, 'capture2.trace'),
      '--area',
      HUGE3,
      '--area',
      RESERVED,
      '--json',
      '--save',
      snap,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.mismatches, 0);
    assert.equal(j.anomalies, 0);
    assert.equal(j.events, 863);
    for (const e of exp.areas) {
      const a = j.areas.find((x: { name: string }) => x.name === e.name);
      assert.deepEqual(
        [a.used, a.maxchunk, a.availablePages, a.usedMode],
        [e.used, e.maxchunk, e.available_pages, 'exact'],
      );
      assert.deepEqual(
        a.ranges.map((x: { basePfn: number }) => x.basePfn),
        e.ranges.map((x) => x.base_pfn),
      );
      assert.equal(a.ranges[0].words, undefined, 'no bitmap arrays in the JSON');
    }
    // the snapshot: 7.x layout, ranges in index order, the kernel's used/maxchunk and bitmaps
    const s = readSnapshotFile(snap);
    assert.equal(s.symlinks['kernel/debug/cma/hugetlb0/bitmap'], 'ranges/0/bitmap');
    assert.equal(s.symlinks['kernel/debug/cma/hugetlb0/base_pfn'], 'ranges/0/base_pfn');
    const models = readAreas(treeFromSnapshot(s, snap));
    for (const e of exp.areas) {
      const m = models.find((x) => x.name === e.name)!;
      assert.equal(m.layout, 'ranges');
      assert.deepEqual(
        m.area.ranges.map((x) => x.basePfn),
        e.ranges.map((x) => x.base_pfn),
      );
      assert.deepEqual(m.reported, { used: e.used, maxchunk: e.maxchunk });
      assert.equal(m.area.availableCount, e.available_pages);
      e.ranges.forEach((er, i) => {
        assert.equal(
          s.files[`kernel/debug/cma/${e.name}/ranges/${i}/bitmap`],
          er.bitmap + (er.newline ? '\n' : ''),
        );
      });
    }
    // cat through the symlink, and analyze, read it
    const c = cli(['cat', snap, 'hugetlb0/bitmap']);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout, s.files['kernel/debug/cma/hugetlb0/ranges/0/bitmap']);
    const an = cli(['analyze', snap]);
    assert.equal(an.status, 0, an.stderr);
    assert.match(an.stdout, /hugetlb0: 786432 pages, order_per_bit 9, 3 range/);
    assert.match(an.stdout, new RegExp(`used ${exp.areas[0]!.used} `));
    // --from-snapshot takes the ranges back in index order: the replay agrees again
    const again = cli(['replay', join(FIX, 'capture2.trace'), '--from-snapshot', snap, '-q']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /area hugetlb0: 3 ranges count 786432 order_per_bit 9/);
    assert.match(again.stdout, /range 0: base_pfn 0x240000/);
    assert.match(again.stdout, /mismatches: 0\n/);
    assert.match(again.stdout, /used 760094 \(exact pages, 7\.x\)/);
  });

  it('replay: a multi-range area with --profile 6.1 or overlapping ranges is one clear error', () => {
    const a = cli(['replay', join(FIX, 'capture1.trace'), '--profile', '6.1', '--area', HUGE3]);
    assert.equal(a.status, 2);
    assert.match(a.stderr, /^cma-debug: .*3 ranges, but profile 6\.1 allows 1 per area\n$/);
    const b = cli([
      'replay',
      join(FIX, 'capture1.trace'),
      '--area',
      'name=hugetlb0,order_per_bit=9,range=1310720:262144,range=1310720:262144',
    ]);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /^cma-debug: .*overlap\n$/);
  });

  it('plan says it sizes single-range areas when the recorded area has several ranges', () => {
    const args = [
      'plan',
      join(FIX, 'capture1.trace'),
      '--area',
      'name=hugetlb0,order_per_bit=9,range=1310720:262144,range=1835008:262144',
      '--order-per-bit',
      '9',
      '--failed',
      'skip',
    ];
    const r = cli(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /area hugetlb0 was recorded with 2 ranges; plan sizes single-range areas/);
    assert.match(r.stdout, /recorded: 524288 pages in 2 ranges, order_per_bit 9/);
    assert.match(r.stdout, /smallest: \d+ pages/);
    const j = cli([...args, '--json']);
    assert.equal(j.status, 0, j.stderr);
    const p = JSON.parse(j.stdout);
    assert.equal(p.areas[0].recordedRanges, 2);
    assert.equal(p.areas[0].recordedCount, 524288);
  });
});
