// The cma-debug command line: one program, commands registered from ./commands.

import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../core/config.ts';
import { VERSION } from '../version.ts';
import { registerCommands } from './commands/index.ts';
import { UsageError } from './system-options.ts';

const program = new Command();
program
  .name('cma-debug')
  .description(
    'See, reproduce and plan Linux CMA behaviour: a faithful emulator of /sys/kernel/debug/cma (6.1, 6.12 and 7.3),\n' +
      'a FUSE mount, an HTTP dashboard, and a workbench for real kernels, snapshots and ftrace traces.',
  )
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();
registerCommands(program);
// the command list shows each command's first description line; `cma-debug CMD --help` shows all
for (const cmd of program.commands) if (!cmd.summary()) cmd.summary(cmd.description().split('\n')[0] ?? '');

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof ConfigError || e instanceof UsageError) {
    process.stderr.write(`cma-debug: ${e.message}\n`);
    process.exit(2);
  }
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(`cma-debug: ${err.message ?? String(e)}\n`);
  if (process.env.CMA_DEBUG_STACK) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
