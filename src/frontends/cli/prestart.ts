// What bin/cma-debug.js runs before it loads the command line, for `cma-debug replay` and
// `cma-debug plan`: the trace file's parse worker is started at once (worker-spawn.ts), so that it
// boots and parses while the ~50–80 ms of the program's modules load. Only node's own modules are imported here, and
// mm-events.ts (no imports) for the names of the events replay picks out with the cma events.

import { statSync } from 'node:fs';
import { prestartBinaryParse } from '../../sources/trace/binary-prestart.ts';
import { COST_EVENT_NAMES } from '../../sources/trace/mm-events.ts';
import { prestartTextParse, workerScript } from '../../sources/trace/worker-spawn.ts';

/**
 * The options of `cma-debug replay` that take a value (the replay command's and the system
 * options'): the word after one of them is not the trace. test/cli/prestart.test.ts checks the
 * list against the command.
 */
export const REPLAY_VALUE_OPTIONS: readonly string[] = [
  '--allocations',
  '--area',
  '--bitmap',
  '--cmdline',
  '--config',
  '--from-snapshot',
  '--kernel-release',
  '--mem',
  '--pointers',
  '--profile',
  '--save',
  '--show',
  '--timeline',
];

/** The options of `cma-debug plan` that take a value (test/cli/prestart.test.ts checks them too). */
export const PLAN_VALUE_OPTIONS: readonly string[] = [
  '--area',
  '--bitmap',
  '--cmdline',
  '--config',
  '--failed',
  '--from-snapshot',
  '--mem',
  '--order-per-bit',
  '--pointers',
  '--profile',
  '--show',
  '--threads',
];

/**
 * The trace argument of `cma-debug replay ARGS…` (the first operand; `valued`: the command's
 * options that take a value, replay's by default), or null.
 */
export function replayTraceArg(args: readonly string[], valued = REPLAY_VALUE_OPTIONS): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1] ?? null;
    if (a.startsWith('-')) {
      if (!a.includes('=') && valued.includes(a)) i++;
      continue;
    }
    return a;
  }
  return null;
}

/**
 * For `replay TRACE …` or `plan TRACE …` (argv after the node binary and the script): starts the
 * parse worker on TRACE when it is a plain text file big enough for one (for replay, a trace.dat
 * or Perfetto file's decode worker too). Returns whether it did.
 */
export function prestart(argv: readonly string[]): boolean {
  const command = argv[0];
  if (command !== 'replay' && command !== 'plan') return false;
  const trace = replayTraceArg(argv.slice(1), command === 'plan' ? PLAN_VALUE_OPTIONS : REPLAY_VALUE_OPTIONS);
  if (
    trace === null ||
    trace === '-' ||
    // a regular file only: opening a named pipe would wait for its writer, then drop it
    !isFile(trace)
  )
    return false;
  // plan reads the cma events alone (plan-read.ts), and a binary trace on this thread
  if (command === 'plan') return prestartTextParse(trace, workerScript('parse-worker'));
  // (replay picks the migrate counts out in the same pass: replay-costs.ts)
  return (
    prestartTextParse(trace, workerScript('parse-worker'), [...COST_EVENT_NAMES]) ||
    // trace.dat and Perfetto: their decode worker (binary-prestart.ts)
    prestartBinaryParse(trace, workerScript('binary-worker'), [...COST_EVENT_NAMES])
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
