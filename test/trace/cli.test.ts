// The replay and plan commands end to end (through main.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readAreas } from '../../src/sources/model.ts';
import { readSnapshotFile, treeFromSnapshot } from '../../src/sources/snapshot.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIX = join(ROOT, 'test/fixtures/traces');
const tmp = mkdtempSync(join(tmpdir(), 'cma-trace-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], input?: string) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/frontends/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      ...(input !== undefined ? { input } : {}),
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cma-debug replay / plan', () => {
  it('replay --json --save --timeline --allocations on a real 6.1 capture', () => {
    const snap = join(tmp, 's.json');
    const svg = join(tmp, 't.svg');
    const png = join(tmp, 't.png');
    const csv = join(tmp, 'a.csv');
    const r = cli([
      'replay',
      join(FIX, 'oracle-6.1/capture3.trace'),
      'name=reserved,count=4096,base_pfn=125952',
      '--json',
      '--save',
      snap,
      '--timeline',
      svg,
      '--allocations',
      csv,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.events, 1241);
    assert.deepEqual(j.allocs, { ok: 276, failed: 110 });
    assert.equal(j.releases, 470);
    assert.equal(j.mismatches, 0);
    assert.deepEqual(
      j.areas.map((a: { name: string; used: number; maxchunk: number }) => [a.name, a.used, a.maxchunk]),
      [['reserved', 2794, 899]],
    );
    const areas = readAreas(treeFromSnapshot(readSnapshotFile(snap), snap));
    assert.equal(areas[0]!.reported.used, 2794);
    assert.equal(areas[0]!.reported.maxchunk, 899);
    assert.match(readFileSync(svg, 'utf8'), /^<svg[\s\S]*polyline[\s\S]*<\/svg>\n$/);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'area,pfn,pages,task,pid,start_ts,finish_ts,latency_us,busy_retries,release_ts');
    assert.equal(rows.length - 1, 276); // every successful allocation, released or live
    const p = cli([
      'replay',
      join(FIX, 'oracle-6.1/capture3.trace'),
      '--from-snapshot',
      snap,
      '--timeline',
      png,
      '-q',
    ]);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /mismatches: 0/);
    assert.deepEqual([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  });

  it('replay reads .gz and stdin, uses # cma_area: lines, infers areas (saying so)', () => {
    const r = cli(['replay', join(FIX, 'gen-trace/random-opb0.trace.gz'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const ref = JSON.parse(readFileSync(join(FIX, 'gen-trace/random-opb0.ref.json'), 'utf8'));
    const j = JSON.parse(r.stdout);
    assert.equal(j.areaSource, 'annotation');
    assert.equal(j.areas[0].bitmapSha256, ref.areas[0].bitmap_sha256);
    const s = cli(
      ['replay', '-', '--area', 'name=reserved,count=4096,base_pfn=125952'],
      readFileSync(join(FIX, 'oracle-6.1/capture3.trace'), 'utf8'),
    );
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /used 2794 {2}maxchunk 899/);
    const inf = cli(['replay', join(FIX, 'oracle-6.1/capture3.trace')]);
    assert.match(inf.stdout, /INFERRED/);
  });

  it('bad input: one clear line, non-zero exit; garbage lines are skipped', () => {
    const missing = cli(['replay', join(tmp, 'nope.trace')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^cma-debug: cannot read trace .*nope\.trace: ENOENT\n$/);
    const g = join(tmp, 'g.trace');
    writeFileSync(
      g,
      'hello\n\u0000\u0001 binary\n   sh-1 [000] ..... 1.0: cma_alloc_start: name=r count=x align=0\n',
    );
    const r = cli(['replay', g, '--area', 'name=r,count=4096,base_pfn=0x10000']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 other lines skipped, 1 malformed/);
    assert.match(r.stdout, /line 3: bad count/);
    const bad = cli(['replay', g, '--timeline', 'x.jpg']);
    assert.equal(bad.status, 2);
  });

  it('plan --json: smallest size per order_per_bit', () => {
    const r = cli(['plan', join(FIX, 'gen-trace/camera-opb0.trace.gz'), '--order-per-bit', '0,2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const a = j.areas[0];
    assert.deepEqual(
      a.choices.map((c: { orderPerBit: number; bits: number }) => [c.orderPerBit, c.bits]),
      [
        [0, 18349],
        [2, 4588],
      ],
    );
    const t = cli(['plan', join(FIX, 'gen-trace/camera-opb0.trace.gz'), '--order-per-bit', '0']);
    assert.match(t.stdout, /smallest: 18349 pages/);
  });
});
