// The cma-debug program (its name, description, version and exit statuses) and the run of one
// command line: shared by main.ts (every command) and hot.ts (replay and plan, started from a
// bundle with a V8 code cache by bin/cma-debug.js).

import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../core/config.ts';
import { VERSION } from '../version.ts';
import { UsageError } from './system-options.ts';

/** The program, with no command registered yet. */
export function newProgram(): Command {
  return new Command()
    .name('cma-debug')
    .description(
      'See, reproduce and plan Linux CMA behaviour: a faithful emulator of /sys/kernel/debug/cma (6.1, 6.12 and 7.3), ' +
        'a FUSE mount, an HTTP dashboard, and a workbench for real kernels, snapshots and ftrace traces. ' +
        'Exit status: 0 ok, 1 a finding or a failure (a mismatch, a request that does not fit), 2 a usage error.',
    )
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
}

/** Parses `argv` (node's, with the script) and runs the command; errors end the process with their status. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  // `cma-debug … | head`: a reader that stops early ends the program quietly, as shell tools do
  // (Node ignores SIGPIPE; the write's EPIPE would otherwise be an unhandled 'error' and a stack)
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  // the command list shows each command's summary (test/cli/help.test.ts wants one on every command);
  // without one, the description's first sentence
  for (const cmd of program.commands)
    if (!cmd.summary()) cmd.summary(/^.*?\.(?=\s|$)/.exec(cmd.description().replace(/\s+/g, ' '))?.[0] ?? '');
  try {
    await program.parseAsync(argv);
  } catch (e) {
    // help and --version exit 0; every parse error (unknown option, missing argument) is a usage error: 2
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`cma-debug: ${e.message}\n`);
      process.exit(2);
    }
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`cma-debug: ${err.message ?? String(e)}\n`);
    if (process.env.CMA_DEBUG_STACK) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  }
}
