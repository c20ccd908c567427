// The trace options through the mount against the real kernels (test/fixtures/trace-options/,
// README there): trace_options and options/ as they read and take writes, and `trace` and
// `trace_pipe` as each option prints them. The oracle's transcript, byte for byte (pids, and the
// flags column's need-resched bit set by the timer tick, aside).

import { withoutTick } from '../../scripts/reliability/filter-cases.ts';
import { normalisePids } from './helpers.ts';
import { oracleScriptTests } from './oracle-script.ts';

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

const pidOf = (t: string) => /^\s+sh-(\d+)/m.exec(t)?.[1] ?? '0';

oracleScriptTests('mount: trace options as on the real kernels', 'trace-options', 'options.sh', (t) =>
  pidless(t, pidOf(t)),
);
