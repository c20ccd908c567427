// Replaying real 6.12 traces (test/fixtures/golden-6.12): the count=0 start (no finish), the
// start-only oversize request, failures with pfn=-1 errorno=-12, and the busy retry of the
// zero-bit quirk, with no mismatch and no anomaly, ending on the kernel's bitmap.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { replayTrace } from '../../src/sources/trace/replay.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/golden-6.12/${name}`, import.meta.url), 'utf8');

/** The trace lines (no header) of the golden's last `cat /sys/kernel/tracing/trace`. */
function lastTrace(text: string): string {
  const at = text.lastIndexOf('== cat /sys/kernel/tracing/trace\n');
  const body = text.slice(at).split('\n').slice(1);
  return `${body.filter((l) => / cma_/.test(l)).join('\n')}\n`;
}

describe('6.12 traces replayed', () => {
  it('trace-hugetlb.txt (counter clock): 2 areas, count=0 start and start-only oversize, errorno=-12', async () => {
    const r = await replayTrace(lastTrace(fixture('trace-hugetlb.txt')), {
      areas: [
        { name: 'reserved', basePfn: 0x100000, count: 4096, orderPerBit: 0 },
        { name: 'hugetlb0', basePfn: 0x140000, count: 262144, orderPerBit: 9 },
      ],
    });
    assert.equal(r.mismatches, 0);
    assert.deepEqual(r.anomalyList, []);
    assert.equal(r.zeroCountStarts, 1);
    assert.equal(r.allocStarts, 7);
    assert.deepEqual(r.allocs, { ok: 4, failed: 3 });
    assert.deepEqual(r.failureClasses, {
      exhaustion: 1,
      fragmentation: 0,
      busy: 0,
      oversize: 2,
      migration: 0,
    });
    assert.equal(r.pendingAtEnd, 0);
    for (const a of r.areas) assert.equal(a.used, 0, a.name);
  });

  it('extra/pathological.txt: the zero-bit success, its one busy retry, then the page again', async () => {
    const lines = fixture('extra/pathological.txt')
      .split('\n')
      .filter((l) => /^\d+: cma_/.test(l))
      .map((l) => {
        const [ts, body] = l.split(/: (.*)/s) as [string, string];
        // the fixture's sed dropped page=: put it back where the event has one
        const rest = body.replace(
          / pfn=(0x[0-9a-f]+) /,
          (_m, pfn: string) =>
            ` pfn=${pfn} page=${pfn === '0xffffffffffffffff' ? '0000000000000000' : '(____ptrval____)'} `,
        );
        return `              sh-40      [000] .....  ${ts.padStart(11)}: ${rest}`;
      });
    const r = await replayTrace(`${lines.join('\n')}\n`, {
      areas: [
        { name: 'reserved', basePfn: 0x100000, count: 4096, orderPerBit: 0 },
        { name: 'hugetlb0', basePfn: 0x140000, count: 262144, orderPerBit: 9 },
      ],
    });
    assert.equal(r.mismatches, 0, JSON.stringify(r.mismatchList));
    assert.equal(r.zeroCountStarts, 2);
    assert.equal(r.busyRetries, 1);
    for (const a of r.areas) assert.equal(a.used, 0, a.name);
  });
});
