// The allocation table of a replay (the rows `--allocations` writes): every finished allocation
// becomes a row, a partial release moves the row's first pfn, a full release closes it, and the
// rows still live at the end are the result's `allocations`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AllocationRecord } from '../../src/sources/trace/replay.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';

const line = (task: string, pid: number, ts: string, ev: string) =>
  `${task.padStart(16)}-${String(pid).padEnd(7)} [000] ..... ${ts.padStart(12)}: ${ev}\n`;

const TRACE = [
  line('camera', 101, '100.000010', 'cma_alloc_start: name=reserved count=16 align=0'),
  line(
    'camera',
    101,
    '100.000050',
    'cma_alloc_finish: name=reserved pfn=0x80000 page=000000000c8a55f7 count=16 align=0',
  ),
  line('gpu', 102, '100.000100', 'cma_alloc_start: name=reserved count=8 align=0'),
  line(
    'gpu',
    102,
    '100.000130',
    'cma_alloc_finish: name=reserved pfn=0x80010 page=000000001c8a55f7 count=8 align=0',
  ),
  line('camera', 101, '100.000200', 'cma_release: name=reserved pfn=0x80000 page=000000000c8a55f7 count=4'),
  line('camera', 101, '100.000300', 'cma_release: name=reserved pfn=0x80004 page=000000002c8a55f7 count=12'),
  line('gpu', 103, '100.000400', 'cma_alloc_start: name=reserved count=4 align=0'),
  line(
    'gpu',
    103,
    '100.000420',
    'cma_alloc_finish: name=reserved pfn=0x80000 page=000000003c8a55f7 count=4 align=0',
  ),
].join('');

describe('allocation table', () => {
  it('rows: partial release moves the first pfn, a full release closes the row, live rows at the end', async () => {
    const handed: AllocationRecord[] = [];
    const r = await replayTrace(TRACE, {
      areas: [{ name: 'reserved', basePfn: 0x80000, count: 1024, orderPerBit: 0 }],
      onAllocation: (rec) => handed.push({ ...rec }),
    });
    assert.equal(r.mismatches, 0);
    assert.equal(r.anomalies, 0);
    // the closed row first (at its release), then the live ones at the end, by pfn
    assert.deepEqual(
      handed.map((h) => [h.pfn, h.pages, h.task, h.pid, h.releaseTs]),
      [
        [0x80004, 12, 'camera', 101, 100000300],
        [0x80000, 4, 'gpu', 103, null],
        [0x80010, 8, 'gpu', 102, null],
      ],
    );
    assert.equal(handed[0]!.latencyUs, 40);
    assert.equal(handed[0]!.startTs, 100000010);
    assert.equal(handed[0]!.finishTs, 100000050);
    assert.deepEqual(
      r.allocations.map((a) => [a.area, a.pfn, a.pages, a.busyRetries, a.latencyUs, a.line]),
      [
        ['reserved', 0x80000, 4, 0, 20, 8],
        ['reserved', 0x80010, 8, 0, 30, 4],
      ],
    );
    assert.deepEqual(r.areas[0]!.latencyUs, { count: 3, p50: 30, p90: 40, p99: 40, max: 40 });
  });

  it('live rows at the end: counted per area, the records built once when read', async () => {
    const r = await replayTrace(TRACE, {
      areas: [
        { name: 'reserved', basePfn: 0x80000, count: 1024, orderPerBit: 0 },
        { name: 'other', basePfn: 0x90000, count: 1024, orderPerBit: 0 },
      ],
    });
    assert.deepEqual(
      r.areas.map((a) => [a.name, a.liveAllocations]),
      [
        ['reserved', 2],
        ['other', 0],
      ],
    );
    // read twice: the same list (built once), one record a live row, by area then pfn
    assert.equal(r.allocations, r.allocations);
    assert.deepEqual(
      r.allocations.map((a) => [a.area, a.pfn]),
      [
        ['reserved', 0x80000],
        ['reserved', 0x80010],
      ],
    );
    // a member like the others: JSON and spreads see the records
    assert.equal(JSON.parse(JSON.stringify(r)).allocations.length, 2);
    assert.equal({ ...r }.allocations.length, 2);
  });

  it('no table: no rows, the same placements', async () => {
    const r = await replayTrace(TRACE, {
      areas: [{ name: 'reserved', basePfn: 0x80000, count: 1024, orderPerBit: 0 }],
      allocations: false,
    });
    assert.equal(r.mismatches, 0);
    assert.equal(r.allocations.length, 0);
    assert.equal(r.areas[0]!.used, 12);
  });
});
