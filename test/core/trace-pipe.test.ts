// trace_pipe on the emulator's file API (the whole script runs through the mount, with busybox,
// in test/mount/trace-pipe.test.ts): the reads of test/fixtures/trace-pipe/pipe.sh's third
// section, each a fresh open as dd makes it, take what the kernels' took; a read with nothing to
// give is EAGAIN (where the kernel's reader waits); the mini-shell's cat takes what is there.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { runCommand } from '../../src/frontends/shell/mini-shell.ts';

const FIX = join(import.meta.dirname, '../fixtures/trace-pipe');
const T = '/sys/kernel/tracing';
const D = '/sys/kernel/debug/cma/reserved';

/** `dd if=trace_pipe bs=BS count=N`: one open, N reads; the bytes. */
function dd(sys: CmaSystem, bs: number, count: number): number {
  const o = sys.open(`${T}/trace_pipe`);
  assert.ok(o.ok);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const r = sys.read(o.fh, bs);
    assert.ok(r.ok);
    n += r.data.length;
  }
  sys.close(o.fh);
  return n;
}

function entries(sys: CmaSystem): string {
  const r = sys.readFile(`${T}/trace`);
  assert.ok(r.ok);
  return /^# entries-in-buffer.*$/m.exec(r.text)![0];
}

describe('trace_pipe reads as on the real kernels', () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    it(`${profile}: reads of 8192, 4095 and 2000 bytes, 2000 twice, 10, 1 three times`, () => {
      const want = readFileSync(join(FIX, `${profile}.txt`), 'utf8');
      const section = want.slice(want.indexOf('== reads of'), want.indexOf('== a reader'));
      const sys = createSystem({ profile });
      const w = (p: string, t: string) => assert.ok(sys.writeFile(p, t).ok, p);
      w(`${T}/trace_clock`, 'counter\n');
      w(`${T}/events/cma/enable`, '1\n');
      for (const n of [1, 2, 3, 4, 5, 6]) w(`${D}/alloc`, `${n}\n`);
      dd(sys, 1 << 16, 1); // the script's cat and head took these
      for (let i = 0; i < 60; i++) w(`${D}/alloc`, '1\n');
      const got: string[] = [];
      got.push(String(dd(sys, 8192, 1)), entries(sys));
      got.push(String(dd(sys, 4095, 1)), entries(sys));
      got.push(String(dd(sys, 2000, 1)), entries(sys));
      for (let i = 0; i < 30; i++) {
        w(`${D}/alloc`, '7\n');
        w(`${D}/free`, '7\n');
      }
      got.push(String(dd(sys, 2000, 2)), entries(sys));
      dd(sys, 10, 1);
      got.push(entries(sys));
      dd(sys, 1, 3);
      got.push(entries(sys));
      const lines = section.split('\n').filter((l) => /^\d+$|^# entries/.test(l));
      assert.deepEqual(got, lines);
    });
  }

  it('nothing to read: EAGAIN, and cat in the mini-shell takes what there is', () => {
    const sys = createSystem({ profile: '6.12' });
    const o = sys.open(`${T}/trace_pipe`);
    assert.ok(o.ok);
    const r = sys.read(o.fh, 4096);
    assert.ok(!r.ok && r.errno === 'EAGAIN');
    sys.close(o.fh);
    const out = [
      `echo 1 > ${T}/events/cma/enable`,
      `echo 8 > ${D}/alloc`,
      `cat ${T}/trace_pipe`,
      `cat ${T}/trace_pipe`,
      `cat ${T}/trace`,
    ]
      .map((c) => runCommand(sys, c).output)
      .join('');
    const lines = out.split('\n').filter((l) => l.includes('cma_alloc_'));
    assert.equal(lines.length, 2, out);
    assert.match(out, /entries-in-buffer\/entries-written: 0\/0/);
  });
});
