// The other tracefs files a script writes, through the mount against the real kernels
// (test/fixtures/tracefs-misc/, README there): set_event_pid and set_event_notrace_pid (the
// lists and which events they let through), tracing_cpumask (and a masked CPU's events and
// markers), buffer_percent, tracing_thresh, available_tracers, current_tracer, timestamp_mode,
// saved_cmdlines_size's boot value, trace_marker_raw and free_buffer. The oracle's transcript,
// byte for byte (pids, and the flags column's need-resched bit set by the timer tick, aside).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { withoutTick } from '../../scripts/reliability/filter-cases.ts';
import { adaptScript, asSys, busyboxScript, fuseUnavailable, ROOT, startMount } from './helpers.ts';

const skip = fuseUnavailable();
const FIX = join(ROOT, 'test/fixtures/tracefs-misc');
const script = adaptScript(readFileSync(join(FIX, 'misc.sh'), 'utf8'));

describe('mount: tracefs files as on the real kernels', { skip: skip ?? false }, () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    test(`${profile}: the oracle's transcript`, async () => {
      const s = await startMount(['--profile', profile]);
      try {
        const r = await busyboxScript(script, s.dir);
        const want = readFileSync(join(FIX, `${profile}.txt`), 'utf8').replace(/^oracle: .*\n?/m, '');
        // the script prints its own pid as SHELL (its trace lines padded to the pid's width)
        const norm = (t: string) => withoutTick(t).replace(/-SHELL +\[/g, '-SHELL [');
        assert.equal(norm(asSys(r.stdout + r.stderr, s.dir)), norm(want));
      } finally {
        await s.stop();
      }
    });
  }
});
