// The device report through the CLI's front doors: exit codes (1 when the device shows a failed
// allocation, 0 otherwise, unreadable files alone never), `--adb` / `--ssh` of a device without
// debugfs (stand-in adb/ssh/dmesg running the real dump script), a /sys root whose debugfs is not
// mounted (as a FUSE mount of the emulator with --no-debugfs shows it), and `serve --root` of a
// copied device directory answering /api/device and /metrics.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { installFakeRemotes } from '../sources/fake-remotes.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/shipping');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-ship-dev-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bin = path.join(tmp, 'bin');
installFakeRemotes(bin);
// the device's dmesg: the copy's kernel log, not this machine's
fs.writeFileSync(path.join(bin, 'dmesg'), '#!/bin/sh\nexec cat "$FAKE_SYS/../dmesg"\n', { mode: 0o755 });

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cma-debug.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the 7.3 device as if no allocation had failed (counters, vmstat, log). */
function quietDevice(name: string, opts: { sysfs: boolean; vmstatFail: number }): string {
  const dir = path.join(tmp, name);
  fs.cpSync(path.join(FIX, '7.3/device'), dir, { recursive: true });
  if (opts.sysfs) fs.writeFileSync(path.join(dir, 'sys/kernel/mm/cma/reserved/alloc_pages_fail'), '0\n');
  else fs.rmSync(path.join(dir, 'sys'), { recursive: true });
  const log = fs.readFileSync(path.join(dir, 'dmesg'), 'latin1').split('\n');
  fs.writeFileSync(
    path.join(dir, 'dmesg'),
    log
      .filter((l) => !/alloc failed|number of available|range \d+:|^cma: $|free of \d+ total/.test(l))
      .join('\n'),
  );
  const vm = fs.readFileSync(path.join(dir, 'proc/vmstat'), 'latin1');
  fs.writeFileSync(
    path.join(dir, 'proc/vmstat'),
    vm.replace(/^cma_alloc_fail \d+$/m, `cma_alloc_fail ${opts.vmstatFail}`),
  );
  return dir;
}

test('exit codes: 1 when the device shows a failed allocation, 0 when it does not', () => {
  for (const v of ['6.1', '6.12', '7.3', '6.12-hugetlb']) {
    const dir = path.join(FIX, v, 'device');
    for (const cmd of ['analyze', 'status']) {
      const r = cli([cmd, dir]);
      assert.equal(r.status, 1, `${cmd} ${v}: ${r.stderr}`);
      assert.match(r.stderr, /^warning: no CMA debugfs/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  }
  const quiet = quietDevice('quiet', { sysfs: true, vmstatFail: 0 });
  for (const cmd of ['analyze', 'status']) {
    const r = cli([cmd, quiet, '--json']);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).areas[0].lastFailure, null);
  }
  // without CONFIG_CMA_SYSFS, vmstat's cma_alloc_fail is what tells
  const noSysfs = quietDevice('no-sysfs', { sysfs: false, vmstatFail: 2 });
  assert.equal(cli(['analyze', noSysfs]).status, 1);
  const noSysfsQuiet = quietDevice('no-sysfs-quiet', { sysfs: false, vmstatFail: 0 });
  const r = cli(['analyze', noSysfsQuiet, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).areas[0].name, 'reserved'); // named from the log
  // snapshot is a capture, not a finding: 0 whatever the device shows
  assert.equal(cli(['snapshot', path.join(FIX, '6.12/device'), '-o', path.join(tmp, 's.json')]).status, 0);
  // --help says it
  for (const cmd of ['analyze', 'status'])
    assert.match(
      cli([cmd, '--help']).stdout.replace(/\s+/g, ' '),
      /exit 1 when it shows a failed allocation/,
    );
});

for (const remote of ['adb', 'ssh'] as const) {
  test(`--${remote} of a device without debugfs: the same report as its copied files`, () => {
    const dir = path.join(FIX, '6.12/device');
    const env = { PATH: `${bin}:${process.env.PATH}`, FAKE_SYS: path.join(dir, 'sys') };
    const args = remote === 'adb' ? ['--adb', 'emulator-5554'] : ['--ssh', 'phone'];
    const r = cli(['analyze', ...args, '--json'], env);
    assert.equal(r.status, 1, r.stderr); // the capture shows failed allocations
    assert.match(r.stderr, /^warning: no CMA debugfs/);
    const got = JSON.parse(r.stdout);
    const want = JSON.parse(cli(['analyze', dir, '--json']).stdout);
    assert.deepEqual(got.areas, want.areas);
    assert.deepEqual(got.system, want.system);
    assert.equal(got.areas[0].lastFailure.verdict, 'fragmentation');
    const s = cli(['status', ...args], env);
    assert.equal(s.status, 1, s.stderr);
    assert.match(s.stdout, /reserved +~16384 +~15844 +~540 +18548\/12322 .* 22 pages: fragmentation/);
  });
}

test('a /sys root with debugfs unmounted and the emulator files beside it (a --no-debugfs mount)', () => {
  const root = path.join(tmp, 'mnt');
  fs.mkdirSync(path.join(root, 'kernel/debug'), { recursive: true });
  fs.cpSync(path.join(FIX, '6.12/device/sys/kernel/mm'), path.join(root, 'kernel/mm'), { recursive: true });
  fs.mkdirSync(path.join(root, '.cma-debug'));
  for (const f of ['meminfo', 'vmstat', 'zoneinfo', 'pagetypeinfo'])
    fs.copyFileSync(path.join(FIX, '6.12/device/proc', f), path.join(root, '.cma-debug', f));
  fs.copyFileSync(path.join(FIX, '6.12/device/dmesg'), path.join(root, '.cma-debug/dmesg'));
  const r = cli(['analyze', '--root', root, '--json']);
  assert.equal(r.status, 1, r.stderr);
  const want = JSON.parse(cli(['analyze', path.join(FIX, '6.12/device'), '--json']).stdout);
  assert.deepEqual(JSON.parse(r.stdout).areas, want.areas);
});

/** `cma-debug serve ARGS --port 0`: the API's URL and what it printed; stopped at the end of `body`. */
async function withServe(
  args: string[],
  body: (url: string, out: string, stderr: () => string) => Promise<void>,
): Promise<void> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/cma-debug.js'), 'serve', ...args, '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL in time: ${out}`)), 20_000);
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /API: +(http:\/\/\S+)\/api/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}${err}`)));
    });
    await body(url, out, () => err);
  } finally {
    child.kill('SIGTERM');
  }
}

test('serve CAPTURE: a bug report, a device snapshot and a copied device directory, read-only', async () => {
  const snap = path.join(tmp, 'device-7.3.json');
  const r = cli(['snapshot', path.join(FIX, '7.3/device'), '-o', snap]);
  assert.equal(r.status, 0, r.stderr);
  for (const [args, label, verdict] of [
    [
      [path.join(FIX, 'bugreport/bugreport-6.12-excerpt.txt')],
      /serving bugreport .*read-only capture/,
      'fragmentation',
    ],
    [
      ['--from-snapshot', snap],
      /serving .*device-7\.3\.json \(read-only capture, kernel 7\.3\.4; no debugfs\)/,
      'fragmentation',
    ],
    [
      [path.join(FIX, '6.1/device')],
      /serving .*6\.1\/device \(read-only capture, kernel 6\.1\.192/,
      'unknown',
    ],
  ] as const)
    await withServe([...args], async (url, out) => {
      assert.match(out, label);
      // a capture on loopback asks for no token
      assert.match(out, /read-only: nothing to write, no token needed/);
      assert.doesNotMatch(out, /token: /);
      const d = (await (await fetch(`${url}/api/device`)).json()) as {
        areas: { name: string; lastFailure: { verdict: string } | null }[];
      };
      assert.deepEqual(
        d.areas.map((a) => [a.name, a.lastFailure?.verdict]),
        [['reserved', verdict]],
      );
      const w = await fetch(`${url}/sys/kernel/debug/cma/reserved/alloc`, { method: 'PUT', body: '1\n' });
      assert.equal(w.status, 405);
      assert.match(
        ((await w.json()) as { message: string }).message,
        /capture of a device, served read-only/,
      );
      assert.match(
        await (await fetch(`${url}/metrics`)).text(),
        /^cma_area_total_pages\{area="reserved",source="/m,
      );
    });
  // what a capture could not read is said in one warning line, and the rest served
  await withServe([path.join(FIX, 'bugreport/bugreport-6.12-excerpt.txt')], async (url, _out, stderr) => {
    for (let i = 0; i < 100 && !stderr().includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(stderr().trimEnd().split('\n').length, 1, stderr());
    assert.match(
      stderr(),
      /^cma-debug: warning: not readable in this capture .*proc\/pagetypeinfo \(permission denied\)/,
    );
    assert.equal((await fetch(`${url}/api/device`)).status, 200);
  });
  const notes = path.join(tmp, 'notes.txt');
  fs.writeFileSync(notes, 'not a capture\n');
  const bad = cli(['serve', notes, '--port', '0']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trimEnd().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /notes\.txt.*no CMA lines/);
  const help = cli(['serve', '--help']).stdout;
  assert.match(help, /one capture to serve/);
  assert.match(help, /bug report/);
});

test('serve --root of a copied device directory: /api/device and /metrics over a real socket', async () => {
  await withServe(['--root', path.join(FIX, '7.3-hugetlb/device')], async (url, out) => {
    assert.match(out, /serving device copy .* no debugfs/);
    const d = (await (await fetch(`${url}/api/device`)).json()) as {
      areas: { name: string; free: number; lastFailure: { verdict: string } | null }[];
      failing: boolean;
    };
    assert.equal(d.failing, true);
    assert.deepEqual(
      d.areas.map((a) => [a.name, a.free, a.lastFailure?.verdict ?? null]),
      [
        ['hugetlb0', 160632, 'exhaustion'],
        ['reserved', 3596, null],
      ],
    );
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /^cma_area_free_pages\{area="hugetlb0",source="known"\} 160632$/m);
    assert.match(
      m,
      /^cma_area_last_failure_request_pages\{area="hugetlb0",verdict="exhaustion",source="known"\} 200000$/m,
    );
  });
});

test('analyze of a 7.3 device whose area has two ranges: each range drawn, the pfns said to be offsets', () => {
  const dir = path.join(tmp, 'multirange');
  fs.mkdirSync(dir, { recursive: true });
  const log = fs.readFileSync(path.join(FIX, '7.3-multirange/dmesg-1G+2G'), 'latin1');
  // up to the first failure, whose runs reach the end of both ranges
  fs.writeFileSync(path.join(dir, 'dmesg'), log.slice(0, log.indexOf('\n', log.indexOf('\n=> ') + 1) + 1));
  const r = cli(['analyze', dir]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /786432 pages, ret -16: exhaustion/);
  assert.match(
    r.stdout,
    /the picture's pfns: counted from 0 \(the base is not in the log\); later ranges drawn end to end/,
  );
  assert.match(r.stdout, /^range 0: /m);
  assert.match(r.stdout, /^range 1: /m);
});

test('render of a device draws the area at its last failure: the same picture as the debugfs truth', () => {
  for (const v of ['6.12', '7.3']) {
    const d = path.join(tmp, `device-${v}.png`);
    const t = path.join(tmp, `truth-${v}.png`);
    const r = cli(['render', path.join(FIX, v, 'device'), '--png', d]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /reserved: drawn from the free-range dump after the failure at kernel log line \d+ \(22 pages, fragmentation\), not the present state/,
    );
    assert.equal(cli(['render', path.join(FIX, v, 'truth'), '--png', t]).status, 0);
    assert.ok(fs.readFileSync(d).equals(fs.readFileSync(t)), `${v}: the PNGs differ`);
  }
  // two areas: the one with a dump is chosen; its base is unknown on 7.3 and it says so
  const svg = path.join(tmp, 'h.svg');
  const h = cli(['render', path.join(FIX, '7.3-hugetlb/device'), '--svg', svg]);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stderr, /hugetlb0: drawn .* \(200000 pages, exhaustion\).*base pfn is unknown/);
  assert.match(fs.readFileSync(svg, 'utf8'), /used 101512 {2}free 160632 {2}maxchunk 160256 pages/);
  // 6.1 prints no dump: nothing to draw, said in one line, exit 1
  const r = cli(['render', path.join(FIX, '6.1/device'), '--png', path.join(tmp, 'x.png')]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /nothing to draw without debugfs: the last failure printed no free-range dump.*trace.*debugfs/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(fs.existsSync(path.join(tmp, 'x.png')), false);
  const q = cli(['render', path.join(FIX, '6.12-hugetlb/device'), '--name', 'reserved']);
  assert.equal(q.status, 1);
  assert.match(q.stderr, /reserved: nothing to draw without debugfs: no failure with a free-range dump/);
});
