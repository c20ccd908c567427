// Events of different CPUs printed in the same microsecond: a Perfetto trace stores nanoseconds,
// and the kernel's order is theirs (trace_processor sorts by them; cma->lock serialises the calls
// they record). Perfetto writes each CPU's events in bundles of their own, so the file can hold
// the later event first; the reader must merge by the nanoseconds, not by the microsecond they
// print as (then the file's order would decide, and a finish could come before its start).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileSource, memorySource } from '../../src/sources/trace/input.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { type WEvent, writePerfetto } from './perfetto-writer.ts';

const AREA = { name: 'reserved', basePfn: 0x80000, count: 64, orderPerBit: 0 };

function ev(kind: number, pid: number, ts: number, count: number, pfn = -1): WEvent {
  return {
    kind,
    pid,
    ts,
    name: AREA.name,
    count,
    align: kind === 4 ? -1 : 0,
    pfn,
    hasPage: pfn >= 0,
    errorno: null,
    availableCount: -1,
    totalCount: -1,
    comm: `task-${pid}`,
  };
}

/**
 * In the same microsecond: a release on CPU 0, then a start and its finish on CPUs 1 and 0 that
 * reuse the released pages. writePerfetto puts event i on CPU i % 2, i nanoseconds into its
 * microsecond, and each cycle's bundles highest CPU first: the file holds them out of order.
 */
const EVENTS: WEvent[] = [
  ev(1, 7, 999, 64),
  ev(2, 7, 999, 64, 0x80000),
  ev(4, 7, 1000, 64, 0x80000),
  ev(1, 9, 1000, 64),
  ev(2, 9, 1000, 64, 0x80000),
];

describe('Perfetto: CPUs merged by nanoseconds', () => {
  const bytes = writePerfetto(EVENTS, { cpus: 2, cycle: EVENTS.length });

  it('reads the events in their nanoseconds order, with their microsecond timestamps', async () => {
    const got: [number, number, number][] = [];
    await readTraceEvents(memorySource(bytes), (e) => got.push([e.kind, e.pid, e.ts]));
    assert.deepEqual(
      got,
      EVENTS.map((e) => [e.kind, e.pid, e.ts]),
    );
  });

  for (const parallel of [false, true]) {
    it(`replays them as the kernel ran them (${parallel ? 'decode worker' : 'one thread'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cma-pf-order-'));
      try {
        const f = join(dir, 't.pftrace');
        writeFileSync(f, bytes);
        const r = await replayTrace(fileSource(f), { areas: [AREA], parallel });
        assert.equal(r.mismatches, 0);
        assert.equal(r.anomalies, 0);
        assert.deepEqual(r.allocs, { ok: 2, failed: 0 });
        assert.equal(r.releases, 1);
        assert.equal(r.areas[0]!.used, 64);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
