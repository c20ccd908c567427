// scripts/check-layers.mjs: the dependency direction core ← sources ← analysis ← frontends holds
// in this repository, and the check really fails on an upward, sideways or outward import.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(repo, 'scripts', 'check-layers.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'cma-layers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function check(root: string) {
  return spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
}

/** A tree with the given files under src/ (path → source). */
function tree(name: string, files: Record<string, string>): string {
  const root = join(tmp, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'src', path)), { recursive: true });
    writeFileSync(join(root, 'src', path), text);
  }
  return root;
}

const base = {
  'core/a.ts': 'export const a = 1;\n',
  'sources/s.ts': "import { a } from '../core/a.ts';\nexport const s = a;\n",
  'analysis/x.ts': "import { s } from '../sources/s.ts';\nexport const x = s;\n",
  'frontends/render/r.ts': "import { x } from '../../analysis/x.ts';\nexport const r = x;\n",
  'frontends/cli/c.ts':
    "import { r } from '../render/r.ts';\nimport { Command } from 'commander';\nexport const c = [r, Command];\n",
  'index.ts': "export { c } from './frontends/cli/c.ts';\n",
};

describe('check-layers', () => {
  it('passes on this repository', () => {
    const r = check(repo);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /all in the direction/);
  });

  it('passes on a tree that follows the direction', () => {
    const r = check(tree('clean', base));
    assert.equal(r.status, 0, r.stderr);
  });

  it('fails on an upward import and names it', () => {
    const r = check(
      tree('up', {
        ...base,
        'core/a.ts': "import type { s } from '../sources/s.ts';\nexport const a = 1;\n",
      }),
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /src\/core\/a\.ts: imports '\.\.\/sources\/s\.ts' — upward import: core may not depend on sources/,
    );
  });

  it('fails on a dynamic import from analysis into a front end', () => {
    const r = check(
      tree('dyn', {
        ...base,
        'analysis/y.ts': "export const y = () => import('../frontends/render/r.ts');\n",
      }),
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /upward import: analysis may not depend on frontends\/render/);
  });

  it('fails on a sideways import between front ends', () => {
    const r = check(tree('side', { ...base, 'frontends/render/q.ts': "export { c } from '../cli/c.ts';\n" }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sideways import: frontends\/render may not depend on frontends\/cli/);
  });

  it('lets the browser app read the HTTP view types, and only the types', () => {
    const views = { 'frontends/http/views.ts': 'export interface V { a: number }\nexport const MAX = 1;\n' };
    const ok = check(
      tree('web-types', {
        ...base,
        ...views,
        'frontends/web/app/api.ts': "import type { V } from '../../http/views.ts';\nexport type W = V;\n",
      }),
    );
    assert.equal(ok.status, 0, ok.stderr);
    const bad = check(
      tree('web-value', {
        ...base,
        ...views,
        'frontends/web/app/api.ts':
          "import type { V } from '../../http/views.ts';\nimport { MAX } from '../../http/views.ts';\nexport const w: V = { a: MAX };\n",
      }),
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /sideways import: frontends\/web may not depend on frontends\/http/);
  });

  it('fails when the core loads node:* or a package, or src/ imports tests', () => {
    const r = check(
      tree('outward', {
        ...base,
        'core/b.ts': "import { readFileSync } from 'node:fs';\nexport const b = readFileSync;\n",
        'sources/t.ts':
          "import { PNG } from 'pngjs';\nimport { h } from '../../test/helper.ts';\nexport const t = [PNG, h];\n",
      }),
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /src\/core\/b\.ts: imports 'node:fs' — the core imports nothing outside src\/core/,
    );
    assert.match(r.stderr, /src\/sources\/t\.ts: imports 'pngjs' — 'pngjs' belongs to a front end/);
    assert.match(
      r.stderr,
      /src\/sources\/t\.ts: imports '\.\.\/\.\.\/test\/helper\.ts' — src\/ imports from outside src\//,
    );
  });
});
