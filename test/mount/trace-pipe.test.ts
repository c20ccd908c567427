// trace_pipe through the mount against the real kernels (test/fixtures/trace-pipe/, README
// there): busybox's cat waits on it for more until killed, a reader in the background gets what
// is recorded after it started, reads of every size take whole lines out of the buffer (what one
// read leaves of its text goes to the same open file's next read), and the counter clock's page
// skips are unchanged by them. The oracle's transcript, byte for byte (pids, and the flags
// column's need-resched bit set by the timer tick, aside).

import { withoutTick } from '../../scripts/reliability/filter-cases.ts';
import { normalisePids } from './helpers.ts';
import { oracleScriptTests } from './oracle-script.ts';

oracleScriptTests('mount: trace_pipe as on the real kernels', 'trace-pipe', 'pipe.sh', (t) =>
  normalisePids(withoutTick(t))
    // ls -l: the mount gives trace_pipe st_size 4096 where the kernel has 0 (mount.ts: with 0,
    // cat's sendfile would read EOF without asking the mount), and the owner columns
    .replace(/^(-r--r-----\s+1) root\s+root\s+4096 /gm, '$1 0        0                0 '),
);
