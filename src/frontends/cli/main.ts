// The cma-debug command line: one program, commands registered from ./commands.

import type { Command } from 'commander';
import { newProgram, runProgram } from './program.ts';

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

const program = newProgram();
const name = process.argv[2];
if (name !== undefined && Object.hasOwn(ONE, name)) (await ONE[name]!())(program);
else (await import('./commands/index.ts')).registerCommands(program);
await runProgram(program, process.argv);
