// Running the CLI as an unprivileged user (uid/gid 65534) from a test, wherever the checkout is.
//
// A checkout under a 0700 directory (/root, a private home) cannot be read by that user: then
// the CLI is bundled (esbuild, already a dependency) into a fresh world-readable directory
// under the system's temporary directory and run from there. When that is impossible the
// caller gets the reason to skip with.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(import.meta.dirname, '..');
const NOBODY = 65534;
/** Packages with native addons (`.node` files), kept out of the bundle. */
const NATIVE = ['@napi-rs/canvas'];

/** How to start the CLI as nobody: a command and its leading arguments, or why not. */
export type NobodyCli =
  | { readonly argv: readonly string[]; readonly cleanup: () => void }
  | { readonly skip: string };

/** Whether uid 65534 can reach `p`: every ancestor searchable by others, the file readable. */
function readableByOthers(p: string): boolean {
  let dir = path.dirname(p);
  for (;;) {
    const st = fs.statSync(dir);
    if (st.uid !== NOBODY && (st.mode & 0o001) === 0) return false;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return (fs.statSync(p).mode & 0o004) !== 0;
}

function usable(dir: string): boolean {
  // the checkout's launcher, its sources and node_modules (tsx) must all be reachable
  return [
    'bin/cma-debug.js',
    'src/frontends/cli/main.ts',
    'package.json',
    'node_modules/tsx/package.json',
  ].every((f) => fs.existsSync(path.join(dir, f)) && readableByOthers(path.join(dir, f)));
}

/** The CLI as nobody (needs root and setpriv); bundled to a readable place when needed. */
export async function nobodyCli(): Promise<NobodyCli> {
  if (process.getuid?.() !== 0) return { skip: 'needs root to run the CLI as uid 65534' };
  if (spawnSync('setpriv', ['--version']).status !== 0)
    return { skip: 'setpriv (util-linux) is not installed' };
  const pre = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath];
  if (usable(ROOT)) return { argv: [...pre, path.join(ROOT, 'bin/cma-debug.js')], cleanup: () => {} };
  // a 0700 ancestor: bundle the CLI where uid 65534 can read it (package.json two directories
  // up from the bundle, where src/frontends/version.ts looks for it)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-nobody-cli-'));
  const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const esbuild = await import('esbuild');
    const out = path.join(tmp, 'cli/bundle/cma-debug.mjs');
    await esbuild.build({
      entryPoints: [path.join(ROOT, 'src/frontends/cli/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: out,
      // native addons cannot be bundled: they load from a copy of their packages (below)
      external: NATIVE,
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
      logLevel: 'silent',
    });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(tmp, 'package.json'));
    // the bundle resolves them from tmp/node_modules (the render command's canvas, a prebuilt Skia)
    fs.mkdirSync(path.join(tmp, 'node_modules'));
    for (const scope of new Set(NATIVE.map((n) => n.split('/')[0]!))) {
      const from = path.join(ROOT, 'node_modules', scope);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(tmp, 'node_modules', scope), { recursive: true });
    }
    fs.chmodSync(path.join(tmp, 'node_modules'), 0o755);
    for (const p of [tmp, path.join(tmp, 'cli'), path.join(tmp, 'cli/bundle')]) fs.chmodSync(p, 0o755);
    for (const p of [out, path.join(tmp, 'package.json')]) fs.chmodSync(p, 0o644);
    if (!readableByOthers(out)) {
      cleanup();
      return {
        skip: `the checkout sits under a directory uid ${NOBODY} cannot enter, and so does ${os.tmpdir()}`,
      };
    }
    return { argv: [...pre, out], cleanup };
  } catch (e) {
    cleanup();
    return {
      skip: `the checkout is not readable by uid ${NOBODY} and bundling the CLI failed: ${(e as Error).message}`,
    };
  }
}
