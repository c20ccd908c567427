// 10,000 areas: `status` reads every one (child names come from one index per tree, not a scan
// of every entry per directory). Timing lives in `npm run reliability` (scripts/reliability/).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { timed, writeManyAreaSnapshot } from '../../scripts/reliability/many-areas.ts';
import { childNames, makeTree } from '../../src/sources/tree.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-many-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('many areas', () => {
  it('childNames from the index equals a scan of every entry', () => {
    const tree = makeTree('t', [
      ['kernel/debug/cma/a/count', { type: 'file', text: '1\n' }],
      ['kernel/debug/cma/b/ranges/0/bitmap', { type: 'file', text: '0\n' }],
      ['kernel/mm/cma/a/alloc_pages_success', { type: 'file', text: '0\n' }],
    ]);
    const scan = (dir: string) =>
      [
        ...new Set(
          [...tree.entries.keys()]
            .filter((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'))
            .map((p) => p.slice(dir.length + 1)),
        ),
      ].sort();
    for (const d of [
      'kernel',
      'kernel/debug/cma',
      'kernel/debug/cma/b',
      'kernel/debug/cma/b/ranges/0',
      'kernel/mm/cma',
      'nope',
    ])
      assert.deepEqual(childNames(tree, d), scan(d), d);
  });
  it('status of a 10,000-area snapshot lists every area', { timeout: 120_000 }, async (t) => {
    const f = path.join(tmp, 's.json');
    await writeManyAreaSnapshot(f, 10_000);
    const r = timed(['status', f]);
    t.diagnostic(`status of 10,000 areas: ${r.seconds.toFixed(1)} s`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^a9999 +512 +0 +512 +512 /m);
    assert.match(r.stdout, /^a9998 +512 +1 +511 +511 /m);
  });
});
