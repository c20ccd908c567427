// The trace options through the mount against the real kernels (test/fixtures/trace-options/,
// README there): trace_options and options/ as they read and take writes, and `trace` and
// `trace_pipe` as each option prints them. The oracle's transcript, byte for byte (pids, and the
// flags column's need-resched bit set by the timer tick, aside).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { withoutTick } from '../../scripts/reliability/filter-cases.ts';
import {
  adaptScript,
  asSys,
  busyboxScript,
  fuseUnavailable,
  normalisePids,
  ROOT,
  startMount,
} from './helpers.ts';

const skip = fuseUnavailable();
const FIX = join(ROOT, 'test/fixtures/trace-options');
const script = adaptScript(readFileSync(join(FIX, 'options.sh'), 'utf8'));

/** Pids as PID wherever the formats print them (context, tgid, latency, raw and hex columns). */
function pidless(text: string, pid: string): string {
  const hexPid = Number(pid).toString(16).padStart(8, '0');
  return normalisePids(withoutTick(text))
    .replace(new RegExp(`\\(\\s*${pid}\\)`, 'g'), '(TGID)')
    .replace(new RegExp(`^${pid} `, 'gm'), 'PID ')
    .replace(new RegExp(`^${hexPid} `, 'gm'), 'HEXPID ')
    .replace(
      new RegExp(`^(\\s*sh)-${pid}(\\s+)`, 'gm'),
      (_m, a: string, b: string) => `${a}-PID${' '.repeat(Math.max(1, b.length + pid.length - 3))}`,
    );
}

describe('mount: trace options as on the real kernels', { skip: skip ?? false }, () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    test(`${profile}: the oracle's transcript`, async () => {
      const s = await startMount(['--profile', profile]);
      try {
        const r = await busyboxScript(script, s.dir);
        const want = readFileSync(join(FIX, `${profile}.txt`), 'utf8').replace(/^oracle: .*\n?/m, '');
        const got = asSys(r.stdout + r.stderr, s.dir);
        const pidOf = (t: string) => /^\s+sh-(\d+)/m.exec(t)?.[1] ?? '0';
        assert.equal(pidless(got, pidOf(got)), pidless(want, pidOf(want)));
      } finally {
        await s.stop();
      }
    });
  }
});
