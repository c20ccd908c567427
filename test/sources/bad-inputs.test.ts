// Bad inputs through the CLI: one line on stderr, non-zero exit, never a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { nobodyCli } from '../as-nobody.ts';
import { installFakeRemotes } from './fake-remotes.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/kernels');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-bad-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const bin = path.join(tmp, 'bin');
installFakeRemotes(bin);
// as root, the unreadable-directory case runs the CLI as uid 65534 (a copy of it when the
// checkout sits under a 0700 directory)
const nobody = process.getuid?.() === 0 ? await nobodyCli() : null;
after(() => {
  if (nobody && 'cleanup' in nobody) nobody.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}, asNobody = false) {
  const argv =
    asNobody && nobody && 'argv' in nobody
      ? nobody.argv
      : [process.execPath, path.join(ROOT, 'bin/cma-debug.js')];
  const r = spawnSync(argv[0]!, [...argv.slice(1), ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function copyTree(name: string): string {
  const dst = path.join(tmp, `${name}-${Math.random().toString(36).slice(2)}`);
  fs.cpSync(path.join(FIX, name), dst, { recursive: true, verbatimSymlinks: true });
  return dst;
}

function oneLineError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.match(r.stderr, pattern);
}

describe('bad inputs', () => {
  it('a missing file names it', () => {
    const d = copyTree('6.1-frag20');
    fs.rmSync(path.join(d, 'kernel/debug/cma/reserved/order_per_bit'));
    oneLineError(cli(['analyze', d]), /reserved\/order_per_bit: missing/);
  });
  it('garbage in the bitmap names the word', () => {
    const d = copyTree('6.1-frag20');
    fs.writeFileSync(path.join(d, 'kernel/debug/cma/reserved/bitmap'), '12 0 zz 0\n');
    oneLineError(cli(['analyze', d]), /reserved\/bitmap: word 2 is 'zz', not a u32/);
  });
  it('a bitmap of the wrong length', () => {
    const d = copyTree('6.1-frag20');
    fs.writeFileSync(path.join(d, 'kernel/debug/cma/reserved/bitmap'), `${Array(100).fill('0').join(' ')}\n`);
    oneLineError(cli(['status', d]), /reserved\/bitmap: bitmap of the wrong length: 100 words, expected 128/);
  });
  it('a truncated bitmap (no final newline)', () => {
    const d = copyTree('6.1-frag20');
    const p = path.join(d, 'kernel/debug/cma/reserved/bitmap');
    fs.writeFileSync(p, fs.readFileSync(p, 'latin1').slice(0, 100));
    oneLineError(
      cli(['explain', d, '--area', 'reserved', '--alloc', '1']),
      /reserved\/bitmap: .*(truncated|wrong length)/,
    );
  });
  it('7.x ranges whose bitmaps do not add up to count', () => {
    const d = copyTree('7.3-2ranges-empty');
    fs.writeFileSync(path.join(d, 'kernel/debug/cma/hugetlb0/ranges/1/bitmap'), '0 0 0 0\n');
    oneLineError(cli(['analyze', d]), /hugetlb0\/ranges: bitmap of the wrong length/);
  });
  it('an unreadable directory (as a non-root user)', {
    skip: nobody && 'skip' in nobody ? nobody.skip : false,
  }, () => {
    const d = copyTree('6.1-frag20');
    fs.chmodSync(tmp, 0o755);
    fs.chmodSync(path.join(d, 'kernel/debug'), 0o700);
    const r = cli(['analyze', d], {}, process.getuid?.() === 0);
    oneLineError(r, /permission denied/);
  });
  it('debugfs not mounted, no CMA, not a tree, not a snapshot', () => {
    const empty = path.join(tmp, 'nodebug/kernel/debug');
    fs.mkdirSync(empty, { recursive: true });
    oneLineError(cli(['status', '--root', path.join(tmp, 'nodebug')]), /debugfs is not mounted/);
    fs.mkdirSync(path.join(tmp, 'nocma/kernel/debug/tracing'), { recursive: true });
    oneLineError(cli(['status', path.join(tmp, 'nocma')]), /no CMA in this kernel/);
    oneLineError(cli(['status', path.join(tmp, 'nowhere')]), /no such file or directory/);
    fs.writeFileSync(path.join(tmp, 'bad.json'), '{"format": "something else"}');
    oneLineError(cli(['analyze', path.join(tmp, 'bad.json')]), /not a cma-debug snapshot/);
    fs.writeFileSync(path.join(tmp, 'log.txt'), 'hello\n');
    oneLineError(cli(['analyze', path.join(tmp, 'log.txt')]), /no CMA free-area dump/);
  });
  it('a remote command that fails', () => {
    oneLineError(
      cli(['status', '--adb', 'XYZ'], { FAKE_REMOTE_FAIL: 'XYZ' }),
      /adb -s XYZ: adb failed \(exit 1\): error: device 'XYZ' not found/,
    );
    oneLineError(
      cli(['status', '--ssh', 'board'], { FAKE_REMOTE_FAIL: 'board' }),
      /ssh board: ssh failed \(exit 255\): .*Connection refused/,
    );
  });
  it('a remote command that hangs', () => {
    const r = cli(['status', '--ssh', 'board', '--timeout', '0.5'], { FAKE_REMOTE_HANG: '1' });
    oneLineError(r, /ssh board: no answer within 0.5 s/);
  });
  it('a remote tool that is not installed', () => {
    oneLineError(cli(['status', '--adb'], { PATH: '/nonexistent' }), /'adb' not found on PATH/);
  });
  it('an unknown area and a bad request', () => {
    oneLineError(
      cli(['explain', path.join(FIX, '6.1-frag20'), '--area', 'nope', '--alloc', '1']),
      /no area 'nope' \(have: hugetlb0, reserved\)/,
    );
    oneLineError(
      cli(['explain', path.join(FIX, '6.1-frag20'), '--area', 'reserved', '--alloc', 'x']),
      /--alloc: 'x'/,
    );
  });
});

describe('remote reading end to end', () => {
  it('snapshot over a stand-in adb, then analyze and cat the snapshot', () => {
    const snap = path.join(tmp, 's.json');
    const r = cli(['snapshot', '--adb', 'emulator-5554', '-o', snap], {
      FAKE_SYS: path.join(FIX, '6.1-holes'),
    });
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(cli(['analyze', snap, '--json']).stdout);
    const res = a.areas.find((x: { name: string }) => x.name === 'reserved');
    assert.deepEqual(
      [res.used, res.maxchunk, res.count, res.orderPerBit, res.basePfn],
      [3399, 17, 4096, 0, 0xbee00],
    );
    const c = cli(['cat', snap, '/sys/kernel/debug/cma/reserved/bitmap']);
    assert.equal(
      c.stdout,
      fs.readFileSync(path.join(FIX, '6.1-holes/kernel/debug/cma/reserved/bitmap'), 'latin1'),
    );
  });
});
