#!/usr/bin/env node
// The cma-debug command: the built CLI (dist/), or — in a checkout whose sources are newer than
// the build — the TypeScript sources through tsx, so a stale build is never run.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/frontends/cli/main.js', import.meta.url));
// replay and plan start from the bundle (scripts/build-cli.mjs): module loading is part of every run
const bundled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const fromBundle = ['replay', 'plan'].includes(process.argv[2] ?? '');
const srcDir = fileURLToPath(new URL('../src', import.meta.url));

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const srcMtime = existsSync(srcDir) ? newestMtime(srcDir) : 0;
const entry = (fromBundle ? [bundled, built] : [built]).find(
  (f) => existsSync(f) && statSync(f).mtimeMs >= srcMtime,
);
if (entry !== undefined) {
  // `replay FILE`: the trace's parse worker starts before the program loads (it boots and parses
  // meanwhile; src/frontends/cli/prestart.ts)
  if (entry === bundled && process.argv[2] === 'replay') {
    const { prestart } = await import(new URL('../dist/cli/prestart.js', import.meta.url).href);
    prestart(process.argv.slice(2));
  }
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/frontends/cli/main.ts');
}
