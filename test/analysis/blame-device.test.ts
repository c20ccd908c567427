// `cma-debug blame --adb / --ssh / live` end to end, with fake `adb`, `ssh`, `dd` and `dmesg`
// executables first on PATH: they run the script cma-debug sends with the host's sh/awk against a
// fake device tree built from the real 6.12 pinned-pages fixture (no network, no device).
// The fake `dd` ignores skip= because the kernel's page_owner seeks by pfn (read_page_owner()),
// which a regular file cannot do; the script's awk keeps only the area's records either way.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIX = path.join(ROOT, 'test/fixtures/pinned-pages/6.12');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'blame-dev-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

const gz = (f: string) => gunzipSync(fs.readFileSync(path.join(FIX, f)));

/** The fake device: DEV/sys (debugfs cma, tracing, page_owner), DEV/proc, DEV/dmesg.txt. */
function makeDevice(dir: string, pageOwner: boolean): void {
  const area = Object.fromEntries(
    fs
      .readFileSync(path.join(FIX, 'area.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')),
  );
  const d = path.join(dir, 'sys/kernel/debug/cma', area.name);
  fs.mkdirSync(d, { recursive: true });
  for (const f of ['base_pfn', 'count', 'order_per_bit', 'used', 'maxchunk'])
    fs.writeFileSync(path.join(d, f), `${area[f]}\n`);
  fs.copyFileSync(path.join(FIX, 'bitmap-before-1.txt'), path.join(d, 'bitmap'));
  fs.mkdirSync(path.join(dir, 'sys/kernel/tracing'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sys/kernel/tracing/trace'), gz('trace.txt.gz'));
  if (pageOwner) fs.writeFileSync(path.join(dir, 'sys/kernel/debug/page_owner'), gz('page_owner.txt.gz'));
  fs.mkdirSync(path.join(dir, 'proc/sys/kernel'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'proc/sys/kernel/osrelease'), fs.readFileSync(path.join(FIX, 'uname.txt')));
  fs.copyFileSync(path.join(FIX, 'meminfo.txt'), path.join(dir, 'proc/meminfo'));
  fs.writeFileSync(path.join(dir, 'dmesg.txt'), gz('dmesg.txt.gz'));
}

const BIN = path.join(work, 'bin');
fs.mkdirSync(BIN);
const script = (name: string, text: string) => {
  fs.writeFileSync(path.join(BIN, name), `#!/bin/sh\n${text}\n`);
  fs.chmodSync(path.join(BIN, name), 0o755);
};
// the device's root for the script: R=/sys and the absolute /proc path of the release
const REWRITE = `sed -e "s#R=/sys#R=$FAKE_DEVICE/sys#g" -e "s#/proc/sys/kernel/osrelease#$FAKE_DEVICE/proc/sys/kernel/osrelease#g"`;
script(
  'adb',
  `serial=
if [ "$1" = -s ]; then serial=$2; shift 2; fi
case "$serial" in
  unauthorized) echo "error: device unauthorized." >&2
    echo "This adb server's \\$ADB_VENDOR_KEYS is not set" >&2; exit 1 ;;
  gone) echo "adb: device '$serial' not found" >&2; exit 1 ;;
esac
[ -n "$FAKE_DEVICE" ] || { echo "adb: no devices/emulators found" >&2; exit 1; }
[ "$1" = shell ] || { echo "fake adb: only shell" >&2; exit 1; }
shift
printf '%s\\n' "$*" | ${REWRITE} > "$FAKE_DEVICE/last-script"
exec sh "$FAKE_DEVICE/last-script"`,
);
script(
  'ssh',
  `host=
while [ $# -gt 0 ]; do
  case "$1" in -o|-p|-i) shift 2 ;; -*) shift ;; *) host=$1; shift; break ;; esac
done
case "$host" in
  unreachable) echo "ssh: connect to host unreachable port 22: Connection refused" >&2; exit 255 ;;
  locked) echo "root@locked: Permission denied (publickey)." >&2; exit 255 ;;
esac
${REWRITE} > "$FAKE_DEVICE/last-script"
exec sh "$FAKE_DEVICE/last-script"`,
);
script('dmesg', 'cat "$FAKE_DEVICE/dmesg.txt"');
script(
  'dd',
  `for a in "$@"; do case "$a" in if=*) exec cat "\${a#if=}" ;; esac; done
exec /bin/dd "$@"`,
);

function run(args: string[], device: string | null) {
  const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, FAKE_DEVICE: device ?? '' };
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cma-debug.js'), ...args], {
    encoding: 'utf8',
    env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const pins = fs.readFileSync(path.join(FIX, 'pins.txt'), 'utf8');
const pid = Number(/ready pid=(\d+)/.exec(pins)![1]);

/** The answer from the fixture files themselves (the reference). */
function fromFiles() {
  const dev = path.join(work, 'ref');
  makeDevice(dev, true);
  const r = run(
    [
      'blame',
      '--json',
      path.join(dev, 'sys'),
      ...['trace.txt.gz', 'dmesg.txt.gz', 'page_owner.txt.gz'].map((f) => path.join(FIX, f)),
    ],
    null,
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).areas;
}

const holders = (areas: { holders: unknown[]; busy: unknown[]; verdict: string }[]) =>
  areas.map((a) => ({ holders: a.holders, busy: a.busy, verdict: a.verdict }));

describe('blame on a device through fake adb/ssh executables', () => {
  const ref = fromFiles();

  for (const how of [['--adb'], ['--adb', 'emulator-5554'], ['--ssh', 'root@board']]) {
    it(`${how.join(' ')}: the same holders and verdict as from the files; --save keeps what was read`, () => {
      const dev = path.join(work, `dev-${how.join('-').replace(/[^\w-]/g, '')}`);
      makeDevice(dev, true);
      const saved = path.join(dev, 'saved');
      const r = run(['blame', '--json', ...how, '--save', saved], dev);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout).areas;
      assert.equal(j[0].name, 'reserved');
      assert.equal(j[0].holders[0].pid, pid);
      assert.equal(j[0].holders[0].comm, 'cma-pinner');
      assert.deepEqual(holders(j), holders(ref));
      // the device saw the dump script and its page_owner section, filtered to the area
      assert.match(fs.readFileSync(path.join(dev, 'last-script'), 'utf8'), /@@CMA-DEBUG-DUMP/);
      const po = fs.readFileSync(path.join(saved, 'page_owner.txt'), 'utf8');
      assert.ok(po.split('\n\n').filter((p) => /PFN /.test(p)).length > 100);
      assert.ok(fs.readFileSync(path.join(saved, 'dmesg.txt'), 'utf8').includes('page dumped because'));
    });
  }

  it('without page_owner on the device: answered from trace and log, the holder unnamed, said so', () => {
    const dev = path.join(work, 'dev-nopo');
    makeDevice(dev, false);
    const r = run(['blame', '--adb'], dev);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^area reserved: \d+ busy retries/m);
    // the fallback collect script ran as a second round trip (no page_owner to filter)
    assert.match(fs.readFileSync(path.join(dev, 'last-script'), 'utf8'), /@@BUSY-COLLECT/);
    const out = JSON.parse(run(['blame', '--json', '--adb'], dev).stdout);
    const j = out.areas[0];
    assert.ok(j.busy.length >= 2, JSON.stringify(out).slice(0, 400));
    // anonymous pins are never dumped: without page_owner only the dumped shmem page has a holder
    assert.ok(j.holders.length >= 1);
    assert.ok(
      j.holders.every((h: { kind: string }) => h.kind === 'shmem'),
      JSON.stringify(j.holders),
    );
  });

  it('live with --root: the tree, trace buffer, page_owner and dmesg of "this machine"', () => {
    const dev = path.join(work, 'dev-live');
    makeDevice(dev, true);
    const r = run(['blame', '--json', 'live', '--root', path.join(dev, 'sys')], dev);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(holders(JSON.parse(r.stdout).areas), holders(ref));
    assert.equal(run(['blame', '--root', dev], dev).status, 2);
  });

  const failures: [string, string[], RegExp][] = [
    ['no device attached', ['--adb'], /no devices\/emulators found/],
    ['a serial that is not there', ['--adb', 'gone'], /device 'gone' not found/],
    ['an unauthorized device', ['--adb', 'unauthorized'], /unauthorized/],
    ['an unreachable host', ['--ssh', 'unreachable'], /ssh unreachable: .*Connection refused/],
    ['a host that refuses the key', ['--ssh', 'locked'], /Permission denied/],
  ];
  for (const [what, args, msg] of failures)
    it(`${what}: exit 1 and one line naming the cause`, () => {
      const r = run(['blame', ...args], what === 'no device attached' ? null : path.join(work, 'ref'));
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, msg);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
    });

  it('adb not installed: exit 1, "not found on PATH"', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cma-debug.js'), 'blame', '--adb'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: path.join(work, 'empty') },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /'adb' not found on PATH/);
  });
});
