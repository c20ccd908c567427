// Event triggers through the mount against the real kernels (test/fixtures/tracefs-triggers/,
// README there): what a trigger file takes (EEXIST for a second of a kind, -EINVAL for the rest),
// lists and removes, traceon/traceoff and enable_event/disable_event firing with counts and
// filters, and the soft mode an event's enable file shows (`0*`, `1*`). The oracle's transcript,
// byte for byte (pids, and the flags column's need-resched bit set by the timer tick, aside).

import { withoutTick } from '../../scripts/reliability/filter-cases.ts';
import { normalisePids } from './helpers.ts';
import { oracleScriptTests } from './oracle-script.ts';

oracleScriptTests('mount: event triggers as on the real kernels', 'tracefs-triggers', 'triggers.sh', (t) =>
  normalisePids(withoutTick(t)),
);
