// Event triggers through the mount against the real kernels (test/fixtures/tracefs-triggers/,
// README there): what a trigger file takes (EEXIST for a second of a kind, -EINVAL for the rest),
// lists and removes, traceon/traceoff and enable_event/disable_event firing with counts and
// filters, and the soft mode an event's enable file shows (`0*`, `1*`). The oracle's transcript,
// byte for byte (pids, and the flags column's need-resched bit set by the timer tick, aside).

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
const FIX = join(ROOT, 'test/fixtures/tracefs-triggers');
const script = adaptScript(readFileSync(join(FIX, 'triggers.sh'), 'utf8'));

describe('mount: event triggers as on the real kernels', { skip: skip ?? false }, () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    test(`${profile}: the oracle's transcript`, async () => {
      const s = await startMount(['--profile', profile]);
      try {
        const r = await busyboxScript(script, s.dir);
        const want = readFileSync(join(FIX, `${profile}.txt`), 'utf8').replace(/^oracle: .*\n?/m, '');
        const norm = (t: string) => normalisePids(withoutTick(t));
        assert.equal(norm(asSys(r.stdout + r.stderr, s.dir)), norm(want));
      } finally {
        await s.stop();
      }
    });
  }
});
