#!/usr/bin/env node
// The cma-debug command: the built CLI (dist/), or — in a checkout whose sources are newer than
// the build — the TypeScript sources through tsx, so a stale build is never run.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/frontends/cli/main.js', import.meta.url));
const srcDir = fileURLToPath(new URL('../src', import.meta.url));

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const useBuilt = existsSync(built) && (!existsSync(srcDir) || statSync(built).mtimeMs >= newestMtime(srcDir));
if (useBuilt) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/frontends/cli/main.ts');
}
