// Every CLI command, registered in the order `--help` lists them.

import type { Command } from 'commander';
import { registerAnalyze } from './analyze.ts';
import { registerAreas } from './areas.ts';
import { registerBlame } from './blame.ts';
import { registerCat } from './cat.ts';
import { registerExec } from './exec.ts';
import { registerExplain } from './explain.ts';
import { registerMount } from './mount.ts';
import { registerPlan } from './plan.ts';
import { registerRender } from './render.ts';
import { registerReplay } from './replay.ts';
import { registerServe } from './serve.ts';
import { registerSnapshot } from './snapshot.ts';
import { registerStatus } from './status.ts';

/** Adds every command to the program. */
export function registerCommands(program: Command): void {
  registerAreas(program);
  registerExec(program);
  registerMount(program);
  registerReplay(program);
  registerPlan(program);
  registerServe(program);
  registerSnapshot(program);
  registerCat(program);
  registerStatus(program);
  registerAnalyze(program);
  registerExplain(program);
  registerBlame(program);
  registerRender(program);
}
