#!/usr/bin/env node
// Bundles the command line (src/frontends/cli/main.ts, and the trace and plan workers next to it)
// into dist/cli/ with esbuild: a few files instead of the ~100 modules of tsc's dist/, so that
// `cma-debug replay` and `cma-debug plan` (bin/cma-debug.js starts them from here) do not spend
// ~60 ms of every run resolving and compiling modules. npm dependencies stay external, except
// the two every command loads at start-up (BUNDLED): commander (CommonJS: through node's
// CommonJS-from-ESM loader it costs ~10 ms of CPU, bundled ~3 ms) and valibot (tree-shaken to
// the schemas we use: ~5 ms less). Node's `require` is given to the bundled CommonJS code.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outdir = join(root, 'dist', 'cli');
const BUNDLED = ['commander', 'valibot'];
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
  external: Object.keys(pkg.dependencies ?? {}).filter((d) => !BUNDLED.includes(d)),
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
