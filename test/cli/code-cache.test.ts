// `cma-debug replay` and `plan` run dist/cli/hot.cjs compiled with the V8 code cache the build
// made (scripts/build-cli.mjs, bin/cma-debug.js): the cache must be there and accepted by this
// node, or every run compiles the bundle again (~20 ms) without anything failing.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from './helpers.ts';

const built = existsSync(join(ROOT, 'dist/cli/hot.cjs'));

it('the bundle of replay and plan compiles with its code cache', {
  skip: built ? false : 'dist/ not built',
}, () => {
  const bin = createRequire(import.meta.url)(join(ROOT, 'bin/cma-debug.js')) as {
    compileHot(): { script: { cachedDataRejected?: boolean }; cached: boolean };
  };
  const { script, cached } = bin.compileHot();
  assert.equal(cached, true, 'dist/cli/hot.cache exists');
  assert.equal(script.cachedDataRejected, false, "this node's V8 accepts the cache");
});
