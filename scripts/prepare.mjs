#!/usr/bin/env node
// `npm install`'s prepare step: builds the WebAssembly, dist/ (tsc) and the dashboard bundle, but
// only when something they are made from (src/, assembly/, the build scripts, tsconfig, package.json)
// is newer than the build: a second `npm install` or `npx cma-debug` in a clone does not rebuild.
// `npm run build` always builds; CMA_DEBUG_REBUILD=1 forces it here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let n = 0;
  for (const e of readdirSync(path)) n = Math.max(n, newest(join(path, e)));
  return n;
}

function oldest(files) {
  let o = Number.POSITIVE_INFINITY;
  for (const f of files) o = Math.min(o, existsSync(f) ? statSync(f).mtimeMs : 0);
  return o;
}

const outputs = [
  join(root, 'dist/frontends/cli/main.js'),
  join(root, 'dist/index.js'),
  join(root, 'dist/web/app.js'),
  join(root, 'dist/cli/hot.cjs'),
];
const inputs = Math.max(
  ...[
    'src',
    'assembly',
    'scripts/build-wasm.mjs',
    'scripts/build-web.mjs',
    'scripts/build-cli.mjs',
    'tsconfig.build.json',
    'package.json',
  ].map((p) => newest(join(root, p))),
);
if (!process.env.CMA_DEBUG_REBUILD && oldest(outputs) >= inputs) {
  process.stdout.write('cma-debug: dist/ is up to date, no rebuild (CMA_DEBUG_REBUILD=1 forces one)\n');
  process.exit(0);
}
for (const [cmd, args] of [
  [process.execPath, [join(root, 'scripts/build-wasm.mjs')]],
  [
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  ],
  [process.execPath, [join(root, 'scripts/build-web.mjs')]],
  [process.execPath, [join(root, 'scripts/build-cli.mjs')]],
]) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
