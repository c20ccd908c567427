// trace_pipe through the mount against the real kernels (test/fixtures/trace-pipe/, README
// there): busybox's cat waits on it for more until killed, a reader in the background gets what
// is recorded after it started, reads of every size take whole lines out of the buffer (what one
// read leaves of its text goes to the same open file's next read), and the counter clock's page
// skips are unchanged by them. The oracle's transcript, byte for byte (pids, and the flags
// column's need-resched bit set by the timer tick, aside).

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
const FIX = join(ROOT, 'test/fixtures/trace-pipe');
const script = adaptScript(readFileSync(join(FIX, 'pipe.sh'), 'utf8'));

describe('mount: trace_pipe as on the real kernels', { skip: skip ?? false }, () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    test(`${profile}: the oracle's transcript`, async () => {
      const s = await startMount(['--profile', profile]);
      try {
        const r = await busyboxScript(script, s.dir);
        const want = readFileSync(join(FIX, `${profile}.txt`), 'utf8').replace(/^oracle: .*\n?/m, '');
        // ls -l: the mount gives trace_pipe st_size 4096 where the kernel has 0 (mount.ts: with 0,
        // cat's sendfile would read EOF without asking the mount), and the owner columns
        const got = asSys(r.stdout + r.stderr, s.dir).replace(
          /^(-r--r-----\s+1) root\s+root\s+4096 /gm,
          '$1 0        0                0 ',
        );
        assert.equal(normalisePids(withoutTick(got)), normalisePids(withoutTick(want)));
      } finally {
        await s.stop();
      }
    });
  }
});
