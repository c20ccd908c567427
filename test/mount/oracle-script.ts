// A fixture script recorded on the three oracles (test/fixtures/DIR/SCRIPT, each kernel's output
// in DIR/KERNEL.txt) run with busybox against `cma-debug mount --profile KERNEL`: the same bytes,
// once `normalise` has taken out what differs by nature (pids, the timer tick's flag…).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { adaptScript, asSys, busyboxScript, fuseUnavailable, ROOT, startMount } from './helpers.ts';

export function oracleScriptTests(
  title: string,
  fixture: string,
  script: string,
  normalise: (text: string) => string,
): void {
  const skip = fuseUnavailable();
  const dir = join(ROOT, 'test/fixtures', fixture);
  const text = adaptScript(readFileSync(join(dir, script), 'utf8'));
  describe(title, { skip: skip ?? false }, () => {
    for (const profile of ['6.1', '6.12', '7.3']) {
      test(`${profile}: the oracle's transcript`, async () => {
        const s = await startMount(['--profile', profile]);
        try {
          const r = await busyboxScript(text, s.dir);
          const want = readFileSync(join(dir, `${profile}.txt`), 'utf8').replace(/^oracle: .*\n?/m, '');
          assert.equal(normalise(asSys(r.stdout + r.stderr, s.dir)), normalise(want));
        } finally {
          await s.stop();
        }
      });
    }
  });
}
