// A tree or snapshot from a 6.12 kernel is recognised as 6.12 by what is present
// (release_pages_success, errorno in the cma_alloc_finish format), never by a version string,
// so `explain`, `analyze` and `--from-snapshot` go on with 6.12's rules.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { treeFromSystem } from '../../src/sources/emulator-source.ts';
import { profileForTree, readAreas } from '../../src/sources/model.ts';
import { systemFromSnapshot } from '../../src/sources/snapshot.ts';
import type { CmaTree, TreeEntry } from '../../src/sources/tree.ts';
import { makeTree, SYSFS_CMA } from '../../src/sources/tree.ts';
import { AREAS_6_12 } from './areas.ts';

function relabel(
  tree: CmaTree,
  release: string | null,
  drop: (p: string) => boolean,
  add: [string, TreeEntry][] = [],
): CmaTree {
  const entries = [...tree.entries].filter(([p]) => !drop(p));
  return makeTree(tree.source, [...entries, ...add], release, tree.capturedAt);
}

const FINISH = 'kernel/tracing/events/cma/cma_alloc_finish/format';

describe('6.12 detection by what is present', () => {
  it('release_pages_success in sysfs → 6.12, even when uname says 6.1', () => {
    const sys = createSystem({ profile: '6.12', areas: [...AREAS_6_12.hugetlb] });
    const tree = relabel(treeFromSystem(sys), '6.1.99', () => false);
    assert.equal(profileForTree(tree, readAreas(tree)).id, '6.12');
  });

  it('no sysfs (CONFIG_CMA_SYSFS off) but errorno in the copied trace format → 6.12', () => {
    const sys = createSystem({ profile: '6.12' });
    const fmt = sys.readFile(`/sys/${FINISH}`);
    assert.ok(fmt.ok && fmt.text.includes('errorno'));
    const tree = relabel(treeFromSystem(sys), null, (p) => p.startsWith(SYSFS_CMA), [
      ['kernel/tracing/events/cma/cma_alloc_finish', { type: 'dir' }],
      [FINISH, { type: 'file', text: fmt.text }],
    ]);
    assert.equal(profileForTree(tree, readAreas(tree)).id, '6.12');
  });

  it('a 6.1 tree (no release_pages_success, 6.1 format) stays 6.1 even when uname says 6.12', () => {
    const sys = createSystem({ profile: '6.1' });
    const fmt = sys.readFile(`/sys/${FINISH}`);
    assert.ok(fmt.ok && !fmt.text.includes('errorno'));
    const tree = relabel(treeFromSystem(sys), '6.12.118', () => false, [
      [FINISH, { type: 'file', text: fmt.text }],
    ]);
    assert.equal(profileForTree(tree, readAreas(tree)).id, '6.1');
  });

  it('ranges/ → 7.3', () => {
    const tree = treeFromSystem(createSystem({ profile: '7.3' }));
    assert.equal(profileForTree(tree, readAreas(tree)).id, '7.3');
  });

  it('--from-snapshot of a 6.12 state continues with 6.12 rules: counters, count=0 start, __cma_alloc dump', () => {
    const sys = createSystem({ profile: '6.12' });
    const A = '/sys/kernel/debug/cma/reserved';
    assert.ok(sys.writeFile(`${A}/alloc`, '4000\n').ok);
    assert.ok(sys.writeFile(`${A}/free`, '8\n').ok);
    const next = systemFromSnapshot(treeFromSystem(sys));
    assert.equal(next.profile.id, '6.12');
    const rel = next.readFile('/sys/kernel/mm/cma/reserved/release_pages_success');
    assert.equal(rel.ok && rel.text, '8\n');
    next.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
    assert.equal(next.writeFile(`${A}/alloc`, '0\n').ok, false);
    assert.equal(next.writeFile(`${A}/alloc`, '200\n').ok, false);
    const trace = next.readFile('/sys/kernel/tracing/trace');
    assert.ok(trace.ok);
    assert.match(trace.text, /cma_alloc_start: name=reserved count=0 align=0\n/);
    assert.match(
      trace.text,
      /cma_alloc_finish: name=reserved pfn=0xffffffffffffffff page=0000000000000000 count=200 align=0 errorno=-12\n/,
    );
    assert.match(
      next.dmesg(),
      /cma: __cma_alloc: reserved: alloc failed, req-size: 200 pages, ret: -12\ncma: number of available pages: 8@0\+96@4000=> 104 free of 4096 total pages\n/,
    );
  });
});
