#!/usr/bin/env node
// Bundles the command line (src/frontends/cli/main.ts, and the trace and plan workers next to it)
// into dist/cli/ with esbuild: a few files instead of the ~100 modules of tsc's dist/, so that
// `cma-debug replay` and `cma-debug plan` (bin/cma-debug.js starts them from here) do not spend
// ~60 ms of every run resolving and compiling modules. npm dependencies stay external.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outdir = join(root, 'dist', 'cli');
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: [
    join(root, 'src', 'frontends', 'cli', 'main.ts'),
    // loaded by bin/cma-debug.js before main.js (starts `replay`'s parse worker at once)
    join(root, 'src', 'frontends', 'cli', 'prestart.ts'),
    // found by parallel.ts next to itself (./parse-worker.js, ./binary-worker.js)
    join(root, 'src', 'sources', 'trace', 'parse-worker.ts'),
    join(root, 'src', 'sources', 'trace', 'binary-worker.ts'),
    // found by plan-parallel.ts next to itself (./plan-worker.js)
    join(root, 'src', 'analysis', 'plan-worker.ts'),
  ],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  entryNames: '[name]',
  external: Object.keys(pkg.dependencies ?? {}),
  logLevel: 'warning',
});
