// `cma-debug plan --threads`: the same answer with a helper thread, a usage error otherwise.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, FIX } from '../cli/helpers.ts';

const TRACE = join(FIX, 'traces/plan/random-20k-failures.trace.gz');
const AREA = ['--area', 'name=reserved,base_pfn=0x80000,count=65536'];

describe('cma-debug plan --threads', () => {
  it('2 answers what 1 answers', () => {
    const one = cli(['plan', TRACE, ...AREA, '--order-per-bit', '0-3', '--json', '--threads', '1']);
    const two = cli(['plan', TRACE, ...AREA, '--order-per-bit', '0-3', '--json', '--threads', '2']);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(two.status, 0, two.stderr);
    assert.deepEqual(JSON.parse(two.stdout), JSON.parse(one.stdout));
    assert.equal(JSON.parse(one.stdout).areas[0].choices.length, 4);
  });

  it('anything but 1 or 2 is a usage error (exit 2)', () => {
    const r = cli(['plan', TRACE, '--threads', '3']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--threads: '3' is not 1 or 2/);
  });
});
