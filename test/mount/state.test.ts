// --state without FUSE: a system saved and restored reads back identically, and bad files are refused.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/core/config.ts';
import { createSystem } from '../../src/core/create.ts';
import { parseState, stateToJson, systemFromState, systemToState } from '../../src/core/state.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { StateFile } from '../../src/frontends/fuse/state.ts';

const FILES = [
  'kernel/debug/cma/reserved/used',
  'kernel/debug/cma/reserved/bitmap',
  'kernel/debug/cma/hugetlb0/ranges/1/bitmap',
  'kernel/debug/cma/hugetlb0/used',
  'kernel/mm/cma/reserved/alloc_pages_success',
  'kernel/mm/cma/reserved/alloc_pages_fail',
  'kernel/mm/cma/hugetlb0/release_pages_success',
  'kernel/tracing/trace_clock',
  'kernel/tracing/events/cma/enable',
];

function view(sys: CmaSystem): string {
  const files = FILES.map((f) => {
    const r = sys.readFile(f);
    return `${f}: ${r.ok ? r.text : r.errno}`;
  });
  const trace = sys.readFile('kernel/tracing/trace');
  return [...files, trace.ok ? trace.text : '', sys.dmesg(), sys.procVmstat()].join('\n');
}

test('a saved system restores every file, record, counter and trace line', () => {
  const sys = createSystem({
    profile: '7.3',
    areas: [
      'name=reserved,base_pfn=1048576,count=4096',
      'name=hugetlb0,order_per_bit=9,range=1310720:262144,range=1835008:262144',
    ],
  });
  sys.writeFile('kernel/tracing/trace_clock', 'counter\n');
  sys.writeFile('kernel/tracing/events/cma/enable', '1\n');
  for (const n of ['8', '0x10', '3']) sys.writeFile('kernel/debug/cma/reserved/alloc', `${n}\n`);
  sys.writeFile('kernel/debug/cma/reserved/free', '5\n');
  sys.writeFile('kernel/debug/cma/hugetlb0/alloc', '262145\n');
  sys.writeFile('kernel/debug/cma/reserved/alloc', '99999\n');
  sys.markBusy('reserved', 1048576 + 100, 4);
  const text = stateToJson(systemToState(sys));
  const back = systemFromState(parseState(text));
  assert.equal(view(back), view(sys));
  assert.deepEqual(back.area('reserved')?.records, sys.area('reserved')?.records);
  assert.deepEqual(back.area('reserved')?.area.busy, sys.area('reserved')?.area.busy);
  // both continue identically: LIFO free of the restored records, busy pages still busy
  for (const s of [sys, back]) {
    s.writeFile('kernel/debug/cma/reserved/free', '1000\n');
    s.writeFile('kernel/debug/cma/reserved/alloc', '200\n');
  }
  assert.equal(view(back), view(sys));
});

test('StateFile: atomic save, missing file, refused garbage left untouched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cma-state-'));
  try {
    const f = new StateFile(join(dir, 's.json'));
    assert.equal(f.load(), null);
    const sys = createSystem();
    sys.writeFile('kernel/debug/cma/reserved/alloc', '8\n');
    f.save(sys);
    const used = f.loadSystem()?.readFile('kernel/debug/cma/reserved/used');
    assert.ok(used?.ok);
    assert.equal(used.text, '8\n');
    writeFileSync(f.path, '{"format":"cma-debug-state","version":1,"profile":"9.9"}');
    assert.throws(
      () => f.load(),
      (e: unknown) => e instanceof ConfigError && /unknown profile '9\.9'/.test(e.message),
    );
    writeFileSync(f.path, 'not json');
    assert.throws(() => f.load(), /not valid JSON/);
    assert.equal(readFileSync(f.path, 'utf8'), 'not json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
