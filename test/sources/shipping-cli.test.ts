// The CLI on devices without debugfs: analyze/status/snapshot of a copied device directory, a
// bug report, a half-unreadable capture (run as nobody) and a snapshot with a "device" section.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { nobodyCli } from '../as-nobody.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/shipping');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-ship-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// as root, the half-unreadable capture is read by uid 65534 (a copy of the CLI when the checkout
// sits under a 0700 directory)
const nobody = process.getuid?.() === 0 ? await nobodyCli() : null;
after(() => {
  if (nobody && 'cleanup' in nobody) nobody.cleanup();
});

function cli(args: string[], asNobody = false) {
  const argv =
    asNobody && nobody && 'argv' in nobody
      ? nobody.argv
      : [process.execPath, path.join(ROOT, 'bin/cma-debug.js')];
  const r = spawnSync(argv[0]!, [...argv.slice(1), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function analyzeJson(args: string[]) {
  const r = cli(['analyze', ...args, '--json']);
  // every fixture's workload ends with a failed allocation: a finding, exit 1
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^warning: no CMA debugfs/);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  return JSON.parse(r.stdout);
}

test('analyze DIR --json of the 6.12 device: per area name, geometry, provenance, counters, lastFailure', () => {
  const d = analyzeJson([path.join(FIX, '6.12/device')]);
  assert.equal(d.debugfs, false);
  assert.equal(d.kernelRelease, '6.12.118');
  const a = d.areas[0];
  assert.equal(a.name, 'reserved');
  assert.equal(a.basePfn, 113664);
  assert.equal(a.count, 16384);
  assert.equal(a.orderPerBit, 0);
  assert.deepEqual(a.source, {
    name: 'known',
    basePfn: 'inferred',
    count: 'inferred',
    orderPerBit: 'inferred',
    used: 'inferred',
    free: 'inferred',
    counters: 'known',
  });
  assert.deepEqual(a.counters, {
    alloc_pages_fail: 12322,
    alloc_pages_success: 18548,
    release_pages_success: 2704,
  });
  assert.equal(a.lastFailure.request, 22);
  assert.equal(a.lastFailure.free, 540);
  assert.equal(a.lastFailure.maxchunk, 21);
  assert.equal(a.lastFailure.verdict, 'fragmentation');
  // analyze of the full tree of the same moment says the same
  const full = cli(['analyze', path.join(FIX, '6.12/truth'), '--json', '--alloc', '22']);
  assert.equal(full.status, 1, full.stderr); // a request that fails is a finding
  const t = JSON.parse(full.stdout).areas[0];
  assert.equal(t.requests[0].verdict, a.lastFailure.verdict);
  assert.equal(t.fitsUpTo, a.lastFailure.fitsUpTo);
  assert.equal(t.free, a.lastFailure.free);
});

for (const v of ['6.1', '6.12', '7.3', '6.1-hugetlb', '6.12-hugetlb', '7.3-hugetlb']) {
  test(`${v}: analyze of the capture states the areas, counters, verdict and largest fit analyze of the full tree states`, () => {
    const req = (
      JSON.parse(fs.readFileSync(path.join(FIX, v, 'workload.json'), 'utf8')) as { lastRequest: number }
    ).lastRequest;
    const d = analyzeJson([path.join(FIX, v, 'device')]);
    const full = cli(['analyze', path.join(FIX, v, 'truth'), '--json', '--alloc', String(req)]);
    const t = JSON.parse(full.stdout) as {
      areas: {
        name: string;
        basePfn: number;
        count: number;
        orderPerBit: number;
        fitsUpTo: number;
        sysfs: Record<string, string>;
        requests: { verdict: string }[];
      }[];
    };
    assert.deepEqual(d.areas.map((a: { name: string }) => a.name).sort(), t.areas.map((a) => a.name).sort());
    for (const a of d.areas) {
      const x = t.areas.find((y) => y.name === a.name)!;
      for (const k of ['name', 'basePfn', 'count', 'orderPerBit', 'source', 'counters', 'lastFailure'])
        assert.ok(k in a, `${a.name}: ${k}`);
      // the base is inferred from the boot line; 7.3 prints none for hugetlb areas: unknown, not guessed
      if (a.basePfn === null) assert.equal(a.source.basePfn, 'unknown');
      else assert.equal(a.basePfn, x.basePfn);
      assert.equal(a.count, x.count);
      assert.equal(a.orderPerBit, x.orderPerBit);
      assert.deepEqual(
        a.counters,
        Object.fromEntries(Object.entries(x.sysfs).map(([k, n]) => [k, Number(n)])),
      );
      const f = a.lastFailure;
      if (f === null) continue;
      for (const k of ['request', 'free', 'maxchunk', 'verdict']) assert.ok(k in f, `lastFailure.${k}`);
      assert.equal(f.request, req);
      if (v === '6.1' || v === '6.1-hugetlb')
        assert.equal(f.verdict, 'unknown'); // 6.1 prints no dump
      else {
        assert.equal(f.verdict, x.requests[0]!.verdict);
        assert.equal(f.fitsUpTo, x.fitsUpTo);
      }
    }
  });
}

test('analyze text of a 6.1 device: the verdict is unknown and the report points to a trace or debugfs', () => {
  const r = cli(['analyze', path.join(FIX, '6.1/device')]);
  assert.equal(r.status, 1); // it shows a failed allocation
  assert.match(r.stdout, /last failure \(log line \d+\): 22 pages, ret -12: unknown: .*trace.*debugfs/);
  assert.match(r.stdout, /== reserved: ~16384 pages at pfn ~0x1bc00, order_per_bit ~0/);
  assert.match(r.stdout, /CmaTotal 16384 {2}CmaFree 540/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

/** A copy of the 7.3 device whose `files` cannot be read by who runs the CLI. */
function halfUnreadable(name: string, files: string[]): { dir: string; asNobody: boolean } {
  const dir = path.join(tmp, name);
  fs.cpSync(path.join(FIX, '7.3/device'), dir, { recursive: true });
  fs.chmodSync(tmp, 0o755);
  // root reads any file: it runs the CLI as nobody against owner-only files; others lose their own
  const asNobody = process.getuid?.() === 0;
  for (const p of files) fs.chmodSync(path.join(dir, p), asNobody ? 0o600 : 0o000);
  return { dir, asNobody };
}

test('half the files unreadable (as nobody): which ones, the rest shown, exit 0 with a warning line', {
  skip: nobody && 'skip' in nobody ? nobody.skip : false,
}, () => {
  const { dir, asNobody } = halfUnreadable('half', [
    'proc/pagetypeinfo',
    'proc/zoneinfo',
    'dmesg',
    'sys/kernel/mm/cma/reserved/alloc_pages_fail',
  ]);
  const r = cli(['analyze', dir, '--json'], asNobody);
  // nothing readable shows a failed allocation: unreadable files alone are no finding
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.match(r.stderr, /^warning: .*not readable: .*proc\/pagetypeinfo \(permission denied\)/);
  const d = JSON.parse(r.stdout);
  assert.equal(d.unreadable['proc/zoneinfo'], 'permission denied');
  assert.equal(d.unreadable.dmesg, 'permission denied');
  assert.equal(d.unreadable['sys/kernel/mm/cma/reserved/alloc_pages_fail'], 'permission denied');
  assert.equal(d.areas[0].counters.available_pages, 540);
  assert.equal(d.areas[0].free, 540);
  assert.equal(d.areas[0].lastFailure, null);
  assert.equal(d.system.cmaFree, 540);
});

test('half the files unreadable but the log readable: the failure still shown, exit 1 (a finding), one warning line', {
  skip: nobody && 'skip' in nobody ? nobody.skip : false,
}, () => {
  const { dir, asNobody } = halfUnreadable('half-failing', [
    'proc/pagetypeinfo',
    'proc/zoneinfo',
    'proc/meminfo',
  ]);
  const r = cli(['analyze', dir], asNobody);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.match(r.stderr, /not readable: .*proc\/meminfo \(permission denied\)/);
  assert.match(r.stdout, /last failure .*22 pages, ret -16: fragmentation/);
});

test('snapshot of a device keeps the "device" section; analyze of it says the same; old snapshots still work', () => {
  const snap = path.join(tmp, 'phone.json');
  const w = cli(['snapshot', path.join(FIX, '7.3-hugetlb/device'), '-o', snap]);
  assert.equal(w.status, 0, w.stderr);
  const doc = JSON.parse(fs.readFileSync(snap, 'utf8'));
  assert.ok(doc.device.files['proc/pagetypeinfo'].includes('Number of blocks type'));
  assert.ok(doc.device.files.dmesg.includes('hugetlb_cma: reserved 1024 MiB on node 0'));
  const a = analyzeJson([snap]);
  const b = analyzeJson([path.join(FIX, '7.3-hugetlb/device')]);
  assert.deepEqual(a.areas, b.areas);
  // a snapshot from before (no "device" section) reads as before
  const old = path.join(tmp, 'old.json');
  assert.equal(cli(['snapshot', path.join(FIX, '6.12/truth'), '-o', old]).status, 0);
  const o = JSON.parse(fs.readFileSync(old, 'utf8'));
  delete o.device;
  fs.writeFileSync(old, JSON.stringify(o));
  const r = cli(['analyze', old, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).areas[0].maxchunk, 21);
  // a malformed device section is a clear error
  fs.writeFileSync(old, JSON.stringify({ ...o, device: { files: 3 } }));
  const bad = cli(['analyze', old]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /"device" must be/);
});

test('status of a device and of a bug report', () => {
  const r = cli(['status', path.join(FIX, '7.3-hugetlb/device'), '--json']);
  assert.equal(r.status, 1, r.stderr); // it shows failed allocations
  const d = JSON.parse(r.stdout);
  assert.deepEqual(
    d.areas.map((a: { name: string; used: number; free: number }) => [a.name, a.used, a.free]),
    [
      ['hugetlb0', 101512, 160632],
      ['reserved', 500, 3596],
    ],
  );
  assert.deepEqual(d.areas[0].lastFailure, { request: 200000, verdict: 'exhaustion' });
  const br = cli(['status', path.join(FIX, 'bugreport/bugreport-6.12-excerpt.txt')]);
  assert.equal(br.status, 1, br.stderr);
  assert.match(br.stdout, /reserved +~16384 +~15844 +~540 +-\/- +- +22 pages: fragmentation/);
  assert.match(br.stderr, /proc\/pagetypeinfo \(permission denied\)/);
});

test('--help describes the device report', () => {
  for (const c of ['analyze', 'status', 'snapshot']) {
    const r = cli([c, '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /debugfs/i);
  }
});
