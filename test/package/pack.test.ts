// The published package: `npm pack` gives a tarball that installs into an empty directory with
// no native build and no engine warning on Node 20, runs `cma-debug --help` and `--version`, and
// exposes exactly its four entry points (`cma-debug`, `/sources`, `/analysis`, `/trace`).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, string | { types: string; import: string }>;
};

/** Every package.json under node_modules (scoped ones included). */
function installedPackages(nodeModules: string): { dir: string; json: Record<string, unknown> }[] {
  const out: { dir: string; json: Record<string, unknown> }[] = [];
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    const dir = join(nodeModules, name);
    if (name.startsWith('@')) {
      out.push(...installedPackages(dir));
      continue;
    }
    const file = join(dir, 'package.json');
    if (existsSync(file)) out.push({ dir, json: JSON.parse(readFileSync(file, 'utf8')) });
    if (existsSync(join(dir, 'node_modules'))) out.push(...installedPackages(join(dir, 'node_modules')));
  }
  return out;
}

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
    assert.deepEqual(
      listing.filter((f) => f.endsWith('.test.js') || f.startsWith('package/src/')),
      [],
      'no tests and no sources',
    );
    // every entry point's JavaScript and declarations are in the tarball
    for (const [sub, target] of Object.entries(pkg.exports)) {
      const files = typeof target === 'string' ? [target] : [target.import, target.types];
      for (const f of files) assert.ok(listing.includes(`package/${f.slice(2)}`), `${sub}: ${f} is shipped`);
    }

    const app = join(dir, 'app');
    mkdirSync(app);
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', join(dir, tgz)], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.equal(install.status, 0, install.stderr);
    const said = `${install.stdout}${install.stderr}`;
    assert.doesNotMatch(said, /EBADENGINE|engine/i, 'no dependency asks for another Node');
    assert.doesNotMatch(said, /gyp|prebuild|compil/i, 'nothing is compiled');
    // no dependency runs an install script or has a binding.gyp: nothing native is built
    const pkgs = installedPackages(join(app, 'node_modules'));
    assert.ok(pkgs.length > 10);
    for (const { dir: d, json } of pkgs) {
      const scripts = (json.scripts ?? {}) as Record<string, string>;
      for (const s of ['preinstall', 'install', 'postinstall'])
        assert.equal(scripts[s], undefined, `${json.name} has a ${s} script`);
      assert.ok(!existsSync(join(d, 'binding.gyp')), `${json.name} has a binding.gyp`);
      const node = (json.engines as { node?: string } | undefined)?.node;
      assert.doesNotMatch(node ?? '', /^>=\s*2[2-9]/, `${json.name} needs Node ${node}`);
    }

    const bin = join(app, 'node_modules/.bin/cma-debug');
    const help = execFileSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
    assert.match(help, /Usage: cma-debug/);
    assert.equal(execFileSync(bin, ['--version'], { cwd: app, encoding: 'utf8' }).trim(), pkg.version);

    // each entry point used as a library user would: the emulator writes a trace, the trace
    // entry replays it, analysis summarizes the area and plans the workload, sources round-trip a
    // snapshot; deep imports past the exports map are refused
    const probe = `
      import { createSystem } from 'cma-debug';
      import { planTrace, summarizeArea } from 'cma-debug/analysis';
      import { formatSnapshot, parseSnapshot, readAreas, snapshotFromTree, systemFromSnapshot,
        treeFromSystem } from 'cma-debug/sources';
      import { replayTrace } from 'cma-debug/trace';
      const sys = createSystem({ profile: '6.1', areas: ['name=reserved,count=4096,base_pfn=125952'] });
      sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\\n');
      sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '8\\n');
      sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '3\\n');
      const trace = sys.readFile('/sys/kernel/tracing/trace').text;
      const areas = [{ name: 'reserved', basePfn: 125952, count: 4096, orderPerBit: 0 }];
      const replay = await replayTrace(trace, { areas });
      const plan = await planTrace(trace, { areas });
      const copy = systemFromSnapshot(parseSnapshot(formatSnapshot(snapshotFromTree(treeFromSystem(sys)))));
      const [model] = readAreas(treeFromSystem(copy));
      let deep = 'allowed';
      try { await import('cma-debug/dist/core/cma.js'); } catch (e) { deep = e.code; }
      console.log(JSON.stringify({ allocs: replay.allocs.ok, mismatches: replay.mismatches,
        plannedRequests: plan.areas[0].requests, copyUsed: copy.readFile('/sys/kernel/debug/cma/reserved/used').text,
        modelUsed: summarizeArea(model.area, true).used, deep }));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), {
      allocs: 2,
      mismatches: 0,
      plannedRequests: 2,
      copyUsed: '11\n',
      modelUsed: 11,
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
