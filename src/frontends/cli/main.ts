// The cma-debug command line: one program, commands registered from ./commands.

import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../core/config.ts';
import { VERSION } from '../version.ts';
import { UsageError } from './system-options.ts';

/**
 * Each command's module, loaded only when that command runs: `cma-debug replay` does not load
 * the HTTP server, the FUSE mount or the PNG renderer (start-up is part of every command's time).
 * Anything else (no command, `help`, an unknown name) loads them all, for the full command list.
 */
const ONE: Record<string, () => Promise<(program: Command) => void>> = {
  analyze: async () => (await import('./commands/analyze.ts')).registerAnalyze,
  areas: async () => (await import('./commands/areas.ts')).registerAreas,
  blame: async () => (await import('./commands/blame.ts')).registerBlame,
  cat: async () => (await import('./commands/cat.ts')).registerCat,
  exec: async () => (await import('./commands/exec.ts')).registerExec,
  explain: async () => (await import('./commands/explain.ts')).registerExplain,
  mount: async () => (await import('./commands/mount.ts')).registerMount,
  plan: async () => (await import('./commands/plan.ts')).registerPlan,
  render: async () => (await import('./commands/render.ts')).registerRender,
  replay: async () => (await import('./commands/replay.ts')).registerReplay,
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  snapshot: async () => (await import('./commands/snapshot.ts')).registerSnapshot,
  status: async () => (await import('./commands/status.ts')).registerStatus,
};

// `cma-debug … | head`: a reader that stops early ends the program quietly, as shell tools do
// (Node ignores SIGPIPE; the write's EPIPE would otherwise be an unhandled 'error' and a stack)
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command();
program
  .name('cma-debug')
  .description(
    'See, reproduce and plan Linux CMA behaviour: a faithful emulator of /sys/kernel/debug/cma (6.1, 6.12 and 7.3), ' +
      'a FUSE mount, an HTTP dashboard, and a workbench for real kernels, snapshots and ftrace traces. ' +
      'Exit status: 0 ok, 1 a finding or a failure (a mismatch, a request that does not fit), 2 a usage error.',
  )
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();
const name = process.argv[2];
if (name !== undefined && Object.hasOwn(ONE, name)) (await ONE[name]!())(program);
else (await import('./commands/index.ts')).registerCommands(program);
// the command list shows each command's summary (test/cli/help.test.ts wants one on every command);
// without one, the description's first sentence
for (const cmd of program.commands)
  if (!cmd.summary()) cmd.summary(/^.*?\.(?=\s|$)/.exec(cmd.description().replace(/\s+/g, ' '))?.[0] ?? '');

try {
  await program.parseAsync(process.argv);
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
