#!/usr/bin/env node
// Bundles what `cma-debug replay` and `cma-debug plan` run into dist/cli/ with esbuild, as CommonJS
// scripts: no module loader at start-up (resolving, compiling and linking tsc's ~100 modules of
// dist/ took ~60 ms of every run; node's ES module loader itself a few ms more, in the main thread
// and in each worker).
// - dist/cli/hot.cjs (src/frontends/cli/hot.ts): the two commands, which bin/cma-debug.js
//   compiles with the V8 code cache made here (dist/cli/hot.cache, by running bin/cma-debug.js on
//   generated traces with CMA_DEBUG_WRITE_CODE_CACHE set): the functions a replay runs come
//   compiled. A node whose V8 rejects the cache compiles the script as usual.
// - dist/cli/{parse,binary,plan}-worker.cjs: the workers, found next to hot.cjs by
//   worker-spawn.ts's workerScript() (a CommonJS worker boots ~15 ms sooner than an ES module one).
// npm dependencies stay external, except the two every command loads at start-up (BUNDLED):
// commander and valibot (tree-shaken to the schemas we use).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outdir = join(root, 'dist', 'cli');
const BUNDLED = ['commander', 'valibot'];
const external = Object.keys(pkg.dependencies ?? {}).filter((d) => !BUNDLED.includes(d));

/**
 * commander loads node:child_process (and with it net, dgram, streams: ~2–3 ms) at start-up for
 * its executable subcommands, which cma-debug has none of: it is required when first used instead.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) return undefined;
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: text.replace(eager, lazy), loader: 'js' };
    });
  },
};

/** What every bundle shares: CommonJS for node 20, import.meta.url the script's own URL. */
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  plugins: [lazyChildProcess],
  // (worker scripts and package.json are found from it)
  define: { 'import.meta.url': '__cmaDebugScriptUrl' },
  banner: { js: "const __cmaDebugScriptUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import() of a package (cli-progress) as require(): a vm.Script has no module loader of its own
  supported: { 'dynamic-import': false },
  // no comments, no indentation: less to read, and plain ASCII (a comment's "µs" or "≤" would make
  // the whole source a two-byte string)
  minifyWhitespace: true,
  logLevel: 'warning',
};

rmSync(outdir, { recursive: true, force: true });
// replay and plan: one script (bin/cma-debug.js gives it require, module, __filename), wrapped
// in node's CommonJS function here: compiled from the file's text as it is, V8 does not copy the
// 540 KB source once more to flatten the wrapper's concatenation (~130 page faults at start)
await esbuild.build({
  ...common,
  entryPoints: [join(root, 'src', 'frontends', 'cli', 'hot.ts')],
  outfile: join(outdir, 'hot.cjs'),
  banner: { js: `(function (exports, require, module, __filename, __dirname) {${common.banner.js}` },
  footer: { js: '\n})' },
});
// bin/cma-debug.js reads it as latin1, which is exact for ASCII only (esbuild escapes non-ASCII
// characters in code and strings; a kept comment could still hold some)
{
  const bytes = readFileSync(join(outdir, 'hot.cjs'));
  const at = bytes.findIndex((b) => b > 0x7f);
  if (at >= 0) throw new Error(`build-cli: dist/cli/hot.cjs has a non-ASCII byte at offset ${at}`);
}
await esbuild.build({
  ...common,
  entryPoints: [
    // run by bin/cma-debug.js before hot.cjs: `replay FILE`'s parse worker starts at once
    join(root, 'src', 'frontends', 'cli', 'prestart.ts'),
    join(root, 'src', 'sources', 'trace', 'parse-worker.ts'),
    join(root, 'src', 'sources', 'trace', 'binary-worker.ts'),
    join(root, 'src', 'analysis', 'plan-worker.ts'),
  ],
  outdir,
  entryNames: '[name]',
  outExtension: { '.js': '.cjs' },
});
writeCodeCache();

/**
 * dist/cli/hot.cache: the V8 code cache of hot.cjs as bin/cma-debug.js compiles it, taken after
 * it ran the commands a run of `replay` and `plan` runs (a trace big enough for the parse worker,
 * its --json output, a plan), so that those functions come compiled too. Without it (a failure
 * here is only a warning) the command works, compiling as it goes.
 */
function writeCodeCache() {
  const cache = join(outdir, 'hot.cache');
  const dir = mkdtempSync(join(tmpdir(), 'cma-debug-cache-'));
  try {
    const big = join(dir, 'big.trace');
    writeFileSync(big, generatedTrace(9 << 20));
    const small = join(dir, 'small.trace');
    writeFileSync(small, generatedTrace(64 << 10));
    const area = ['--area', 'name=reserved,base_pfn=0x80000,count=8192'];
    for (const args of [
      ['replay', big, ...area, '--json', '-q'],
      ['plan', small, ...area, '--json'],
    ]) {
      const r = spawnSync(process.execPath, [join(root, 'bin', 'cma-debug.js'), ...args], {
        env: { ...process.env, CMA_DEBUG_WRITE_CODE_CACHE: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`cma-debug ${args[0]}: status ${r.status}: ${r.stderr}`);
    }
  } catch (e) {
    rmSync(cache, { force: true });
    process.stderr.write(`build-cli: no code cache for dist/cli/hot.cjs (${e.message})\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A text trace of `bytes` or more on an 8192-page area from pfn 0x80000: calls that allocate a
 * block and free it (each one where the allocator puts it: at the area's start).
 */
function generatedTrace(bytes) {
  const line = (pid, ts, ev) =>
    `${'RenderThread'.padStart(16)}-${String(pid).padEnd(7)} [001] ..... ${(100 + ts / 1e6).toFixed(6).padStart(12)}: ${ev}\n`;
  const parts = ['# tracer: nop\n'];
  let size = 0;
  let ts = 0;
  for (let i = 0; size < bytes; i++) {
    const pfn = '0x80000';
    const count = 1 + (i % 50);
    const pid = 600 + (i % 7);
    const l =
      line(pid, ts++, `cma_alloc_start: name=reserved count=${count} align=4`) +
      line(
        pid,
        ts++,
        `cma_alloc_finish: name=reserved pfn=${pfn} page=000000000c8a55f7 count=${count} align=4`,
      ) +
      line(pid, ts++, `cma_release: name=reserved pfn=${pfn} count=${count}`);
    parts.push(l);
    size += l.length;
  }
  return parts.join('');
}
