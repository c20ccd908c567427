// A script the golden transcripts do not run — ls -la, find and stat around the debugfs root,
// /sys/kernel/mm and tracefs, tail -c / head -c / dd skip= on debugfs files, the text of files
// the emulator does not model, the debugfs tracing automount — prints through the mount what
// each reference kernel printed (test/fixtures/sys-skeleton/mount-check.*). Its listing part
// runs on a mount with the kernel's st_size 0 (--exact-sizes), so `ls -la` is byte for byte too;
// its reading part (after `==== reads`) on the default mount, where busybox cat's sendfile works.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { asSys, busyboxScript, fuseUnavailable, numericOwners, ROOT, startMount } from './helpers.ts';

const FIX = join(ROOT, 'test/fixtures/sys-skeleton');
const skip = fuseUnavailable();

describe('the /sys around the CMA files through the mount', { skip: skip ?? false }, () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    test(`${profile}: mount-check.sh prints what the kernel printed`, async () => {
      const [listing, reads] = readFileSync(join(FIX, 'mount-check.sh'), 'utf8').split(
        /^(?=echo '==== reads')/m,
      );
      const want = readFileSync(join(FIX, `mount-check.${profile}.txt`), 'utf8');
      const cut = want.indexOf('==== reads\n');
      assert.ok(cut > 0 && reads !== undefined);
      const cases = [
        [listing!, ['--exact-sizes'], want.slice(0, cut)],
        // and st_blocks is 0 whatever the reported size, as on the kernel (`total 0`)
        [
          `cd ${'$'}SYS/kernel/debug\n${reads}ls -la cma/reserved | head -n 1\n`,
          [],
          `${want.slice(cut)}total 0\n`,
        ],
      ] as const;
      for (const [part, args, expected] of cases) {
        const s = await startMount(['--profile', profile, ...args]);
        try {
          const r = await busyboxScript(`exec 2>&1\n${part.replaceAll('/sys/', `${s.dir}/`)}`, s.dir);
          assert.equal(numericOwners(asSys(r.stdout, s.dir)), expected);
        } finally {
          await s.stop();
        }
      }
    });
  }
});
