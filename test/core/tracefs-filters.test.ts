// Event filters against the real kernels (test/fixtures/tracefs-filters/, README there): what a
// write to an event's or the subsystem's `filter` returns and what the files then read (random
// and hand-picked expressions), and which records the filters let through (random programs of
// filter writes, allocations and frees under the counter clock).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  emulatedFilterOutput,
  emulatedRecords,
  type FilterCase,
  filterCases,
  recordProgram,
  withoutTick,
} from '../../scripts/reliability/filter-cases.ts';
import { createSystem } from '../../src/core/create.ts';
import { globMatch, parseFilter } from '../../src/core/event-filter.ts';
import { PROFILE_6_1 } from '../../src/core/profile.ts';
import { parseState, stateToJson, systemFromState, systemToState } from '../../src/core/state.ts';
import { eventFieldTable } from '../../src/core/trace.ts';

const DIR = join(import.meta.dirname, '../fixtures/tracefs-filters');
const E = '/sys/kernel/tracing/events/cma';

/** A fixture as the oracle printed it, without run.sh's closing line. */
function oracleText(file: string): string {
  return readFileSync(join(DIR, file), 'utf8').replace(/^oracle: .*\n?/m, '');
}

/** The cases' sections that differ (`@@ N` headers split them), as readable text. */
function sectionDiff(kernel: string, ours: string, cases: readonly FilterCase[]): string {
  const a = kernel.split(/^(?=@@ \d+$)/m);
  const b = ours.split(/^(?=@@ \d+$)/m);
  const bad: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const n = Number(/@@ (\d+)/.exec(a[i] ?? b[i] ?? '')?.[1]);
    bad.push(`case ${n} ${JSON.stringify(cases[n])}\n[kernel]\n${a[i]}[ours]\n${b[i]}`);
  }
  return bad.slice(0, 5).join('\n');
}

const fixtures = readdirSync(DIR);

describe('filter files: writes and reads as on the real kernels', () => {
  for (const f of fixtures.filter((x) => /^(random-\d+|hand)-[\d.]+\.txt$/.test(x))) {
    const m = /^(random-(\d+)|hand)-([\d.]+)\.txt$/.exec(f)!;
    const profile = m[3]!;
    it(`${f}`, () => {
      const kernel = oracleText(f);
      const cases: FilterCase[] = m[2]
        ? filterCases(Number(m[2]), kernel.match(/^@@ \d+$/gm)!.length)
        : JSON.parse(readFileSync(join(DIR, 'hand-cases.json'), 'utf8'));
      const ours = emulatedFilterOutput(profile, cases);
      assert.equal(kernel.match(/^@@ \d+$/gm)?.length, cases.length);
      assert.ok(ours === kernel, sectionDiff(kernel, ours, cases));
    });
  }
});

describe('filters: the records they let through, as on the real kernels', () => {
  for (const f of fixtures.filter((x) => /^records-\d+-[\d.]+\.txt$/.test(x))) {
    const [, seed, profile] = /^records-(\d+)-([\d.]+)\.txt$/.exec(f)!;
    it(`${f}`, () => {
      const kernel = withoutTick(oracleText(f));
      const rounds = kernel.split('\n').filter((l) => l === '--').length;
      const pid = Number(/^\s+sh-(\d+)/m.exec(kernel)?.[1] ?? 1);
      const ours = withoutTick(emulatedRecords(profile!, recordProgram(Number(seed), rounds), pid));
      // the programs print something worth comparing: kept and dropped records, refused writes
      assert.ok(/F rc=1/.test(kernel) && /cma_alloc_finish/.test(kernel));
      assert.equal(ours, kernel);
    });
  }
});

describe('filters: details', () => {
  const fields = eventFieldTable(PROFILE_6_1, 'cma_alloc_finish').all;

  it('reads the fields from the format file, with the generic ones', () => {
    assert.deepEqual(fields.get('name'), { kind: 'string', signed: true, size: 4 });
    assert.deepEqual(fields.get('pfn'), { kind: 'number', signed: false, size: 8 });
    assert.deepEqual(fields.get('align'), { kind: 'number', signed: false, size: 4 });
    assert.deepEqual(fields.get('common_pid'), { kind: 'number', signed: true, size: 4 });
    assert.equal(fields.get('common_comm'), undefined);
    assert.equal(fields.get('COMM')?.kind, 'string');
  });

  it('compares at the field size: 4294967296 is 0 to an int', () => {
    const r = parseFilter('common_pid < 4294967296', fields);
    assert.ok(r.ok);
    assert.equal(
      r.filter.test(() => 32n),
      false,
    );
    const u = parseFilter('common_flags == 18446744073709551615', fields);
    assert.ok(u.ok);
    assert.equal(
      u.filter.test(() => 255n),
      true,
    );
  });

  it('globs: sets, negation, escapes, stars', () => {
    const cases: [string, boolean][] = [
      ['[!r]eserved', false],
      ['[^r]eserved', true],
      ['[a-s]eserved', true],
      ['[]r]eserved', true],
      ['\\*', false],
      ['res\\erved', true],
      ['**', true],
      ['*?*', true],
      ['reserve?', true],
      ['reserved?', false],
      ['*d', true],
      ['x*', false],
      ['re*ed', true],
      ['[r', false],
      ['*[r]*', true],
      ['', false],
      ['RES*', false],
    ];
    for (const [pat, want] of cases) assert.equal(globMatch(pat, 'reserved'), want, pat);
  });

  it('a refused write leaves the event unfiltered and the error in the file; 0 clears it', () => {
    const sys = createSystem({ profile: '6.1' });
    const F = `${E}/cma_alloc_finish/filter`;
    assert.ok(sys.writeFile(F, 'count > 4\n').ok);
    assert.equal(sys.tracing.filters.get('cma_alloc_finish')?.filter !== null, true);
    const w = sys.writeFile(F, 'count > abc\n');
    assert.ok(!w.ok && w.errno === 'EINVAL');
    assert.equal(sys.tracing.filters.get('cma_alloc_finish')?.filter, null);
    const r = sys.readFile(F);
    assert.ok(r.ok);
    assert.equal(r.text, 'count > abc\n         ^\nparse_error: Invalid value (did you forget quotes)?\n\n');
    assert.ok(sys.writeFile(F, ' 0 \n').ok);
    const n = sys.readFile(F);
    assert.ok(n.ok && n.text === 'none\n');
    // a page or more is refused and changes nothing
    assert.ok(sys.writeFile(F, 'count > 1\n').ok);
    const big = sys.writeFile(F, `count > 2${' '.repeat(4096)}`);
    assert.ok(!big.ok && big.errno === 'EINVAL');
    const k = sys.readFile(F);
    assert.ok(k.ok && k.text === 'count > 1\n');
  });

  it('a state file keeps the filters, set and refused', () => {
    const sys = createSystem({ profile: '7.3' });
    assert.ok(sys.writeFile(`${E}/cma_alloc_start/filter`, 'request_count > 4\n').ok);
    assert.ok(!sys.writeFile(`${E}/cma_release/filter`, 'count >\n').ok);
    assert.ok(sys.writeFile(`${E}/enable`, '1\n').ok);
    const back = systemFromState(parseState(stateToJson(systemToState(sys))));
    for (const e of ['cma_alloc_start', 'cma_release', 'cma_alloc_finish']) {
      const a = sys.readFile(`${E}/${e}/filter`);
      const b = back.readFile(`${E}/${e}/filter`);
      assert.ok(a.ok && b.ok && a.text === b.text, e);
    }
    assert.ok(back.writeFile('/sys/kernel/debug/cma/reserved/alloc', '2\n').ok);
    assert.ok(back.writeFile('/sys/kernel/debug/cma/reserved/alloc', '8\n').ok);
    const t = back.readFile('/sys/kernel/tracing/trace');
    assert.ok(t.ok);
    assert.deepEqual(
      t.text
        .split('\n')
        .filter((l) => l.includes('cma_alloc_start'))
        .map((l) => /request_count=(\d+)/.exec(l)?.[1]),
      ['8'],
    );
  });
});
