// `cma-debug exec`: run shell-like commands (echo N > …/alloc, cat …/used) on an emulated system.

import type { Command } from 'commander';
import { runCommand } from '../../shell/mini-shell.ts';
import { systemFromFlags } from '../system-from-flags.ts';
import type { SystemFlags } from '../system-options.ts';
import { addSystemOptions } from '../system-options.ts';

export function registerExec(program: Command): void {
  addSystemOptions(
    program
      .command('exec')
      .summary('Run shell-like commands (echo, cat, ls, dmesg) on a fresh emulated system.')
      .description(
        'Run commands on a fresh emulated system and print their output, for example:\n\n' +
          "  cma-debug exec 'echo 8 > /sys/kernel/debug/cma/reserved/alloc' 'cat /sys/kernel/debug/cma/reserved/used'",
      )
      .argument(
        '<commands...>',
        'command lines: echo/printf … > PATH, cat PATH… (also /proc/{meminfo,vmstat,zoneinfo,pagetypeinfo}; cat of trace_pipe takes what it holds and stops where the kernel would wait), ls DIR, dmesg.',
      )
      .option('--transcript', 'print each command as "$ cmd", then its output and "rc=N".')
      .option(
        '--no-debugfs',
        'hide /sys/kernel/debug/cma as a production kernel does (debugfs not mounted); sysfs counters, /proc/{meminfo,vmstat,zoneinfo,pagetypeinfo} and the kernel log stay.',
      ),
  ).action((commands: string[], flags: SystemFlags & { transcript?: boolean; debugfs?: boolean }) => {
    const sys = systemFromFlags(flags);
    sys.debugfsMounted = flags.debugfs !== false;
    let status = 0;
    for (const line of commands) {
      const r = runCommand(sys, line);
      if (flags.transcript) process.stdout.write(`$ ${line}\n${r.output}rc=${r.status}\n`);
      else process.stdout.write(r.output);
      status = r.status;
    }
    process.exitCode = status;
  });
}
