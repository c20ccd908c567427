// The published package: `npm pack` gives a tarball that installs into an empty directory and
// runs `cma-debug --help`, with the subpath exports importable and no Node-22-only dependency.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

test('npm pack installs in an empty directory and runs', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cma-pack-'));
  try {
    // dist/ is built by npm install (prepare) and by the test script before the tests run
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {
      cwd: root,
      stdio: 'pipe',
    });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'npm pack wrote a tarball');
    const listing = execFileSync('tar', ['tzf', join(dir, tgz)], { encoding: 'utf8' }).split('\n');
    assert.ok(listing.includes('package/LICENSE'), 'LICENSE is shipped');
    assert.ok(listing.includes('package/dist/index.js'), 'dist is shipped');
    assert.deepEqual(
      listing.filter((f) => f.endsWith('.map')),
      [],
      'no source maps pointing at an unshipped src/',
    );
    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    const install = execFileSync('npm', ['install', '--no-audit', '--no-fund', join(dir, tgz)], {
      cwd: app,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.doesNotMatch(install, /EBADENGINE/);
    const help = execFileSync(join(app, 'node_modules/.bin/cma-debug'), ['--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.match(help, /Usage: cma-debug/);
    const probe = `
      const core = await import('cma-debug');
      const sys = core.createSystem({});
      const a = await import('cma-debug/analysis');
      const t = await import('cma-debug/trace');
      const s = await import('cma-debug/sources');
      console.log(sys.readFile('/sys/kernel/debug/cma/reserved/count').text.trim(),
        typeof a.explainAlloc, typeof t.replayTrace, typeof a.planTrace, typeof s.systemFromSnapshot);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.equal(out.trim(), '4096 function function function function');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
