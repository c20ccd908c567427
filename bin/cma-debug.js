#!/usr/bin/env node
// The cma-debug command: the built CLI (dist/), or — in a checkout whose sources are newer than
// the build — the TypeScript sources through tsx, so a stale build is never run.
// This file is CommonJS (bin/package.json): `replay` and `plan` run dist/cli/hot.cjs, one script
// compiled with the V8 code cache made at build time (scripts/build-cli.mjs), and never start
// node's ES module loader (module loading is part of every run).
'use strict';
const { readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const root = join(__dirname, '..');
const built = join(root, 'dist', 'frontends', 'cli', 'main.js');
const hot = join(root, 'dist', 'cli', 'hot.cjs');
const srcDir = join(root, 'src');

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether `file` exists and is at least as new as every file of src/ (when there is a src/). */
function fresh(file, srcMtime) {
  const st = statSync(file, { throwIfNoEntry: false });
  return st !== undefined && st.mtimeMs >= srcMtime;
}

/**
 * dist/cli/hot.cjs compiled as node would a CommonJS module, with dist/cli/hot.cache when there is
 * one and this node's V8 accepts it (`script.cachedDataRejected` says; test/cli/code-cache.test.ts).
 */
function compileHot() {
  const vm = require('node:vm');
  const cacheFile = join(dirname(hot), 'hot.cache');
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // latin1: the bundle is plain ASCII (scripts/build-cli.mjs checks), and node makes a one-byte
  // string of it without UTF-8 decoding (~1 ms of the ~5 ms this read takes); the build wrapped
  // it in node's CommonJS function already
  const script = new vm.Script(readFileSync(hot, 'latin1'), { filename: hot, cachedData });
  return { script, cacheFile, cached: cachedData !== undefined };
}

/**
 * Runs hot.cjs on this process's arguments. CMA_DEBUG_WRITE_CODE_CACHE (the build's) writes the
 * cache at exit: the functions this run compiled are in it.
 */
function runHot() {
  const { script, cacheFile } = compileHot();
  if (process.env.CMA_DEBUG_WRITE_CODE_CACHE)
    process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
  const module = { exports: {} };
  script.runInThisContext()(
    module.exports,
    require('node:module').createRequire(hot),
    module,
    hot,
    dirname(hot),
  );
  return module.exports.run(process.argv);
}

function main() {
  const command = process.argv[2] ?? '';
  // `cma-debug --version` alone: package.json's version, as commander prints it, without loading
  // every command's module first (~0.35 s → ~0.1 s)
  if (process.argv.length === 3 && (command === '--version' || command === '-V')) {
    process.stdout.write(`${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}\n`);
    return;
  }
  const hotCommand = command === 'replay' || command === 'plan';
  // `replay FILE`, `plan FILE`: the trace's parse worker starts first of all (src/frontends/cli/prestart.ts): it
  // boots and parses while the rest loads; stopped below if the build turns out stale
  const prestartScript = join(dirname(hot), 'prestart.cjs');
  if (hotCommand && statSync(prestartScript, { throwIfNoEntry: false }) !== undefined)
    require(prestartScript).prestart(process.argv.slice(2));

  const srcMtime = statSync(srcDir, { throwIfNoEntry: false }) ? newestMtime(srcDir) : 0;
  if (hotCommand && fresh(hot, srcMtime)) runHot();
  else {
    // (worker-spawn.ts holds it there; only hot.cjs, of the same build, may take it)
    const held = Symbol.for('cma-debug.prestarted');
    globalThis[held]?.spawned.worker.terminate();
    globalThis[held] = null;
    if (fresh(built, srcMtime)) import(require('node:url').pathToFileURL(built).href);
    else
      import('tsx/esm/api').then(({ register }) => {
        register();
        return import('../src/frontends/cli/main.ts');
      });
  }
}

if (require.main === module) main();
else module.exports = { compileHot };
