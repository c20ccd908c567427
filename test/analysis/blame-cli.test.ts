// `cma-debug blame` and `explain --busy-from` on the real-kernel fixtures (test/fixtures/pinned-pages).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIX = path.join(ROOT, 'test/fixtures/pinned-pages');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cma-debug.js'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A /sys-like tree holding the area as it was before the fixture's N-th write. */
function treeBefore(kernel: string, n: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blame-cli-'));
  const area = Object.fromEntries(
    fs
      .readFileSync(path.join(FIX, kernel, 'area.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')),
  );
  const d = path.join(dir, 'kernel/debug/cma', area.name);
  fs.mkdirSync(d, { recursive: true });
  for (const f of ['base_pfn', 'count', 'order_per_bit']) fs.writeFileSync(path.join(d, f), `${area[f]}\n`);
  fs.copyFileSync(path.join(FIX, kernel, `bitmap-before-${n}.txt`), path.join(d, 'bitmap'));
  return dir;
}

for (const kernel of ['6.12', '6.1', '7.3']) {
  const files = ['trace.txt.gz', 'dmesg.txt.gz', 'page_owner.txt.gz'].map((f) => path.join(FIX, kernel, f));
  const pins = fs.readFileSync(path.join(FIX, kernel, 'pins.txt'), 'utf8');
  const pid = Number(/ready pid=(\d+)/.exec(pins)![1]);

  describe(`cma-debug blame on ${kernel}`, () => {
    it('--json: areas with busy pfns (numbers), holders sorted by retries, a verdict naming the helper', () => {
      const tree = treeBefore(kernel, 1);
      const r = run(['blame', '--json', tree, ...files]);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.areas.length, 1);
      const a = j.areas[0];
      assert.equal(a.name, 'reserved');
      assert.ok(a.busy.length >= 2);
      for (const b of a.busy) {
        assert.equal(typeof b.pfn, 'number');
        assert.ok(b.retries >= 1);
        assert.equal(a.holders[b.holder].comm, 'cma-pinner');
      }
      assert.deepEqual(
        a.holders.map((h: { retries: number }) => h.retries),
        [...a.holders.map((h: { retries: number }) => h.retries)].sort((x: number, y: number) => y - x),
      );
      assert.equal(a.holders[0].pid, pid);
      assert.ok(a.holders[0].stack.length > 3);
      assert.match(a.verdict, new RegExp(`pid ${pid} \\(cma-pinner\\)`));
      fs.rmSync(tree, { recursive: true });
    });

    it('prints a table with the verdict, the holders and the allocations', () => {
      const r = run(['blame', ...files]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^area reserved: \d+ busy retries/m);
      assert.match(r.stdout, /verdict: .*cma-pinner.*still referenced: pinned/);
      assert.match(r.stdout, /#2 +[\d.]+ +2048 +0 +\d+ +failed/);
    });

    it('explain --busy-from lands where the kernel did after its busy retries', () => {
      const tree = treeBefore(kernel, 2);
      const trace = files[0]!;
      const landed = spawnSync('sh', ['-c', `gzip -dc ${trace} | grep 'cma_alloc_finish.*count=200 '`], {
        encoding: 'utf8',
      }).stdout;
      const pfn = Number(/pfn=(0x[0-9a-f]+)/.exec(landed)![1]);
      const blind = JSON.parse(run(['explain', '--root', tree, '--alloc', '200', '--json']).stdout);
      assert.notEqual(blind.pfn, pfn);
      const r = run([
        'explain',
        '--root',
        tree,
        '--alloc',
        '200',
        '--json',
        '--busy-from',
        trace,
        '--busy-from',
        files[1]!,
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).pfn, pfn);
      fs.rmSync(tree, { recursive: true });
    });
  });
}

describe('cma-debug blame usage', () => {
  it('exit 2 without a source, on an unknown file, and for --save without a device', () => {
    assert.equal(run(['blame']).status, 2);
    const f = path.join(FIX, 'README.md');
    const r = run(['blame', f]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a trace, kernel log, page_owner text/);
    assert.equal(run(['blame', '--save', '/tmp/x', path.join(FIX, '6.1/trace.txt.gz')]).status, 2);
  });
  it('exit 1 when a file cannot be read', () => {
    const r = run(['blame', '/nonexistent/trace.txt']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ENOENT/);
  });
  it('--help has a sentence for every option', () => {
    const r = run(['blame', '--help']);
    for (const o of ['--adb', '--ssh', '--json', '--save', '--name', '--timeout', '--pageblock-order'])
      assert.match(r.stdout, new RegExp(`${o}[^\\n]*\\s+\\S`));
  });
});

describe('the dump script (adb, ssh, snapshot) takes page_owner of the areas and the busy events', () => {
  it('a real 6.12 dump holds the area records only, read back by blame from a snapshot', async () => {
    const { treeFromDump } = await import('../../src/sources/dump-script.ts');
    const { formatSnapshot, snapshotFromTree } = await import('../../src/sources/snapshot.ts');
    const { parsePageOwnerText } = await import('../../src/sources/page-owner.ts');
    const tree = treeFromDump(fs.readFileSync(path.join(FIX, 'dump-6.12.txt'), 'latin1'), 'oracle');
    const po = parsePageOwnerText(tree.device!.files.page_owner!);
    assert.deepEqual(po.skipped, []);
    assert.ok(po.records.length >= 8);
    for (const r of po.records) assert.ok(r.pfn >= 125952 && r.pfn < 125952 + 4096, `pfn ${r.pfn}`);
    assert.match(tree.device!.files['busy-trace']!, /cma_alloc_finish: name=reserved pfn=0x1ec00 /);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blame-snap-'));
    const file = path.join(dir, 'snap.json');
    fs.writeFileSync(file, formatSnapshot(snapshotFromTree(tree)));
    const r = run(['blame', '--json', file]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.areas[0].name, 'reserved');
    assert.deepEqual(
      j.areas[0].allocs.map((a: { count: number; pfn: number; result: string }) => [
        a.count,
        a.pfn,
        a.result,
      ]),
      [[8, 125952, 'ok']],
    );
    assert.ok(j.sources.some((s: string) => /page_owner \d+ records/.test(s)));
    fs.rmSync(dir, { recursive: true });
  });
});

describe('blame reads trace.dat (the binary reader) as it reads the text report of the same file', () => {
  for (const k of ['6.12', '7.3']) {
    it(`${k}: same allocations from trace.dat and from trace-cmd report`, () => {
      const dir = path.join(ROOT, 'test/fixtures/trace-dat');
      const allocs = (f: string) => {
        const r = run(['blame', '--json', path.join(dir, f)]);
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout).areas.map(
          (a: { name: string; allocs: { count: number; pfn: number }[] }) => [
            a.name,
            a.allocs.map((x) => [x.count, x.pfn]),
          ],
        );
      };
      const fromDat = allocs(`${k}.dat`);
      assert.ok(fromDat[0][1].length > 5);
      assert.deepEqual(fromDat, allocs(`${k}.report.txt`));
    });
  }
});
