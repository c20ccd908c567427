// A 7.3 area of several ranges seen without debugfs: the real kernel's free-range dumps
// (test/fixtures/shipping/7.3-multirange, from the oracle runs of test/fixtures/golden-7.3)
// print each range's free runs but not its size. The device report settles the sizes when the
// runs seen in the area's dumps reach as far as the area is long, checked against the debugfs
// bitmaps the same runs printed (golden-7.3/multirange-*.txt); otherwise it says they are unknown.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { deviceReport } from '../../src/sources/device-model.ts';
import { makeTree } from '../../src/sources/tree.ts';

const FIX = path.resolve(import.meta.dirname, '../fixtures');
const log = (g: string) => fs.readFileSync(path.join(FIX, 'shipping/7.3-multirange', `dmesg-${g}`), 'latin1');
const golden = (g: string) => fs.readFileSync(path.join(FIX, 'golden-7.3', `multirange-${g}.txt`), 'latin1');

function report(text: string) {
  const r = deviceReport(makeTree('dmesg', [], null, undefined, { files: { dmesg: text }, unreadable: {} }));
  return r.areas.find((a) => a.name === 'hugetlb0')!;
}

/** The pages of each range of hugetlb0 as debugfs showed them (`ranges/N: … -> P pages`). */
function rangePages(g: string): number[] {
  return [...golden(g).matchAll(/^ {2}ranges\/\d+: base_pfn=\d+ .* -> (\d+) pages$/gm)].map((m) =>
    Number(m[1]),
  );
}

/** The bitmap words debugfs showed right after the command `cmd` (its first occurrence). */
function bitmapsAfter(g: string, cmd: string): number[][] {
  const text = golden(g);
  const at = text.indexOf(`$ ${cmd}\n`);
  assert.ok(at >= 0, cmd);
  const block = text.slice(at).split('\n$ ')[0]!;
  return [...block.matchAll(/^ {2}ranges\/\d+\/bitmap: (.*)$/gm)].map((m) => m[1]!.split(' ').map(Number));
}

/** The log up to the end of its first free-range dump (the first failure is the last one). */
const firstFailureOnly = (text: string) => text.slice(0, text.indexOf('\n', text.indexOf('\n=> ') + 1) + 1);

for (const [g, request] of [
  ['1G+2G', 786432],
  ['2x1G', 524288],
] as const) {
  test(`${g}: the ranges' sizes from the dump's runs, the area at the failure bit for bit`, () => {
    const a = report(firstFailureOnly(log(g)));
    const f = a.lastFailure!;
    assert.equal(f.request, request);
    assert.equal(f.runs!.length, 2);
    assert.deepEqual(
      f.rangeBits,
      rangePages(g).map((p) => p / 512),
    );
    const at = a.atLastFailure!;
    assert.ok(at);
    const truth = bitmapsAfter(g, `echo ${request} > /sys/kernel/debug/cma/hugetlb0/alloc`);
    at.ranges.forEach((r, i) => {
      assert.deepEqual([...r.bitmap.words], truth[i], `range ${i}`);
    });
    // a block never spans two ranges: the longest run is one range's
    assert.equal(f.maxchunk, Math.max(...f.runs!.map((rs) => Math.max(0, ...rs.map((x) => x.pages)))));
  });

  test(`${g}: a later dump with no free run keeps the sizes the earlier one settled`, () => {
    const a = report(log(g));
    const f = a.lastFailure!;
    assert.deepEqual(
      f.runs!.map((r) => r.length),
      [0, 0],
    );
    assert.deepEqual(
      f.rangeBits,
      rangePages(g).map((p) => p / 512),
    );
    assert.equal(f.verdict, 'exhaustion');
    assert.ok(a.atLastFailure!.ranges.every((r) => r.bitmap.weight() === r.bitmap.maxno));
  });
}

test('dumps that do not reach the ends: the sizes are unknown and the report says so, not a guess', () => {
  const text = log('1G+2G');
  const later =
    text.slice(0, text.indexOf('cma: __cma_alloc_frozen')) + text.slice(text.indexOf('\n=> ') + 1);
  assert.ok(!/range 1: 524288@0/.test(later));
  const a = report(later);
  assert.deepEqual(a.lastFailure!.rangeBits, [null, null]);
  assert.equal(a.atLastFailure, null);
  assert.ok(a.notes.some((n) => /sizes are not in the log/.test(n)));
});
