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

test('analyze text of a 6.1 device: the verdict is unknown and the report points to a trace or debugfs', () => {
  const r = cli(['analyze', path.join(FIX, '6.1/device')]);
  assert.equal(r.status, 1); // it shows a failed allocation
  assert.match(r.stdout, /last failure \(log line \d+\): 22 pages, ret -12: unknown: .*trace.*debugfs/);
  assert.match(r.stdout, /== reserved: ~16384 pages at pfn ~0x1bc00, order_per_bit ~0/);
  assert.match(r.stdout, /CmaTotal 16384 {2}CmaFree 540/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('half the files unreadable (as nobody): which ones, the rest shown, exit 0 with a warning line', {
  skip: nobody && 'skip' in nobody ? nobody.skip : false,
}, () => {
  const dir = path.join(tmp, 'half');
  fs.cpSync(path.join(FIX, '7.3/device'), dir, { recursive: true });
  fs.chmodSync(tmp, 0o755);
  for (const p of [
    'proc/pagetypeinfo',
    'proc/zoneinfo',
    'dmesg',
    'sys/kernel/mm/cma/reserved/alloc_pages_fail',
  ])
    fs.chmodSync(path.join(dir, p), 0o600);
  const asRoot = process.getuid?.() === 0;
  const r = cli(['analyze', dir, '--json'], asRoot);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  if (asRoot) {
    assert.match(r.stderr, /not readable: .*proc\/pagetypeinfo \(permission denied\)/);
    const d = JSON.parse(r.stdout);
    assert.equal(d.unreadable['proc/zoneinfo'], 'permission denied');
    assert.equal(d.unreadable.dmesg, 'permission denied');
    assert.equal(d.unreadable['sys/kernel/mm/cma/reserved/alloc_pages_fail'], 'permission denied');
    assert.equal(d.areas[0].counters.available_pages, 540);
    assert.equal(d.areas[0].free, 540);
    assert.equal(d.areas[0].lastFailure, null);
    assert.equal(d.system.cmaFree, 540);
  }
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
