// scripts/prepare.mjs (npm's prepare step) skips the build when dist/ is newer than its sources.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from './helpers.ts';

const built = ['dist/frontends/cli/main.js', 'dist/index.js', 'dist/web/app.js'].every((f) =>
  existsSync(join(ROOT, f)),
);

it('prepare does not rebuild a fresh dist/', { skip: built ? false : 'dist/ not built' }, () => {
  // (the first run may build if the sources changed since; the second must not)
  spawnSync(process.execPath, [join(ROOT, 'scripts/prepare.mjs')], { cwd: ROOT, encoding: 'utf8' });
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/prepare.mjs')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dist\/ is up to date, no rebuild/);
});
