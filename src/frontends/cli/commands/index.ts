// Every CLI command, registered in the order `--help` lists them.

import type { Command } from 'commander';
import { registerAreas } from './areas.ts';
import { registerExec } from './exec.ts';
import { registerMount } from './mount.ts';
import { registerServe } from './serve.ts';

/** Adds every command to the program. */
export function registerCommands(program: Command): void {
  registerAreas(program);
  registerExec(program);
  registerMount(program);
  registerServe(program);
}
