// The other tracefs files a script writes, through the mount against the real kernels
// (test/fixtures/tracefs-misc/, README there): set_event_pid and set_event_notrace_pid (the
// lists and which events they let through), tracing_cpumask (and a masked CPU's events and
// markers), buffer_percent, tracing_thresh, available_tracers, current_tracer, timestamp_mode,
// saved_cmdlines_size's boot value, trace_marker_raw and free_buffer. The oracle's transcript,
// byte for byte (pids, and the flags column's need-resched bit set by the timer tick, aside).

import { withoutTick } from '../../scripts/reliability/filter-cases.ts';
import { oracleScriptTests } from './oracle-script.ts';

// the script prints its own pid as SHELL and its children's as CHILD (padded to the pids' widths)
oracleScriptTests('mount: tracefs files as on the real kernels', 'tracefs-misc', 'misc.sh', (t) =>
  withoutTick(t).replace(/-(SHELL|CHILD) +\[/g, '-$1 ['),
);
