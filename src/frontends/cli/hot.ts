// `cma-debug replay` and `cma-debug plan` as bin/cma-debug.js runs them: scripts/build-cli.mjs
// bundles this module into one CommonJS script (dist/cli/hot.cjs) with a V8 code cache made at
// build time, so that a run does not spend its first ~50 ms resolving, compiling and linking
// modules. Only prestart.ts is loaded with it: for `replay FILE` the trace's parse worker is
// started before the command line (commander, the replay) is even evaluated.

import { prestart } from './prestart.ts';

/** Runs `argv` (node's: the node binary, the script, then `replay …` or `plan …`). */
export async function run(argv: readonly string[]): Promise<void> {
  prestart(argv.slice(2));
  const { newProgram, runProgram } = await import('./program.ts');
  const program = newProgram();
  if (argv[2] === 'replay') (await import('./commands/replay.ts')).registerReplay(program);
  else (await import('./commands/plan.ts')).registerPlan(program);
  await runProgram(program, argv);
  // Done: end now (with the command's process.exitCode) rather than wait for node's teardown
  // (the worker's exit, freeing the heap and the WebAssembly memories: ~5 ms), unless output is
  // still queued (a pipe that was full): then node ends once it is written.
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit();
}
