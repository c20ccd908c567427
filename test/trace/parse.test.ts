// The byte-level trace parser: every era's format, prefixes of trace/trace-cmd, quirks, errors.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraceEvent } from '../../src/sources/trace/events.ts';
import {
  EV_ALLOC,
  EV_BUSY,
  EV_FINISH,
  EV_INFO,
  EV_RELEASE,
  EV_START,
} from '../../src/sources/trace/events.ts';
import { parseTraceText, TraceLineParser } from '../../src/sources/trace/parse.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';

type Copy = Omit<TraceEvent, 'comm'> & { comm: string };
function events(text: string): { evs: Copy[]; stats: ReturnType<typeof parseTraceText> } {
  const evs: Copy[] = [];
  const stats = parseTraceText(text, (e) => {
    const { comm, ...rest } = e as TraceEvent & Record<string, unknown>;
    const c: Record<string, unknown> = {};
    for (const k of [
      'kind',
      'line',
      'pid',
      'cpu',
      'ts',
      'name',
      'count',
      'countBig',
      'align',
      'pfn',
      'hasPage',
      'errorno',
      'availableCount',
      'totalCount',
      'nrMigrated',
      'errIso',
      'errMig',
      'errTest',
    ])
      c[k] = rest[k];
    c.comm = e.comm();
    evs.push(c as Copy);
  });
  return { evs, stats };
}

describe('trace parser', () => {
  it('6.1 lines: start, finish (ptrval, hashed, NULL, -1), busy, release; prefix fields', () => {
    const { evs, stats } = events(
      [
        '# tracer: nop',
        '#',
        '              sh-39      [000] .....     1.137494: cma_alloc_start: name=reserved count=8 align=0',
        '              sh-39      [000] .....     1.141103: cma_alloc_finish: name=reserved pfn=0x1ec00 page=(____ptrval____) count=8 align=0',
        '              sh-58      [000] .....     1.222818: cma_alloc_finish: name=reserved pfn=0xffffffffffffffff page=0000000000000000 count=7 align=0',
        '    RenderThread-609     [003] .N...   100.004281: cma_alloc_busy_retry: name=reserved pfn=0x805c0 page=000000005509df70 count=970 align=6',
        ' allocator@4.0-s-799     [002] .....   100.002207: cma_release: name=reserved pfn=0x80c00 page=000000004fcd4f82 count=959',
        '',
      ].join('\n'),
    );
    assert.equal(stats.headerLines, 2);
    assert.equal(stats.events, 5);
    assert.deepEqual(
      evs.map((e) => [e.kind, e.comm, e.pid, e.cpu, e.ts, e.name, e.count, e.align, e.pfn, e.hasPage]),
      [
        [EV_START, 'sh', 39, 0, 1137494, 'reserved', 8, 0, Number.NaN, false],
        [EV_FINISH, 'sh', 39, 0, 1141103, 'reserved', 8, 0, 0x1ec00, true],
        [EV_FINISH, 'sh', 58, 0, 1222818, 'reserved', 7, 0, -1, false],
        [EV_BUSY, 'RenderThread', 609, 3, 100004281, 'reserved', 970, 6, 0x805c0, true],
        [EV_RELEASE, 'allocator@4.0-s', 799, 2, 100002207, 'reserved', 959, -1, 0x80c00, true],
      ],
    );
    assert.deepEqual(
      evs.map((e) => e.line),
      [3, 4, 5, 6, 7],
    );
  });

  it('6.12 errorno, 7.x request/available/total counts, absurd u64 counts', () => {
    const { evs } = events(
      [
        '              sh-39      [000] .....     1.137494: cma_alloc_start: name=reserved request_count=8 available_count=4096 total_count=4096 align=0',
        '              sh-58      [000] .....     1.222818: cma_alloc_finish: name=reserved pfn=0x0 page=0000000000000000 count=7 align=0 errorno=-16',
        '              sh-58      [000] .....     1.222818: cma_alloc_finish: name=reserved pfn=0x1ec00 page=00000000a1b2c3d4 count=7 align=0 errorno=0',
        '              sh-31      [000] .....     1.310536: cma_alloc_start: name=reserved count=18446744073709551615 align=0',
      ].join('\n'),
    );
    assert.equal(evs[0]!.count, 8);
    assert.equal(evs[0]!.availableCount, 4096);
    assert.equal(evs[0]!.totalCount, 4096);
    assert.equal(evs[1]!.errorno, -16);
    assert.equal(evs[1]!.pfn, 0);
    assert.equal(evs[2]!.errorno, 0);
    assert.equal(evs[3]!.countBig, 18446744073709551615n);
    assert.equal(evs[0]!.countBig, null);
  });

  it('4.x cma_alloc/cma_release (no name, pfn without 0x), Android cma_alloc_info', () => {
    const { evs } = events(
      [
        '          <...>-1234  [001] ....   55.123456: cma_alloc: pfn=1ec00 page=ffffea00007b0000 count=8 align=0',
        '          <...>-1234  [001] ....   55.123457: cma_alloc: pfn=ffffffffffffffff page=(null) count=8 align=0',
        '          <...>-1234  [001] ....   55.223456: cma_release: pfn=1ec00 page=ffffea00007b0000 count=8',
        ' binder:1_2-321   [002] ....   60.000001: cma_alloc_info: name=linux,cma pfn=0xffffffffffffffff count=256 align=8 nr_migrated=12 nr_reclaimed=3 nr_mapped=1 err_iso=0 err_mig=2 err_test=1',
      ].join('\n'),
    );
    assert.deepEqual(
      evs.map((e) => [e.kind, e.name, e.pfn, e.hasPage, e.count]),
      [
        [EV_ALLOC, '', 0x1ec00, true, 8],
        [EV_ALLOC, '', -1, false, 8],
        [EV_RELEASE, '', 0x1ec00, true, 8],
        [EV_INFO, 'linux,cma', -1, false, 256],
      ],
    );
    assert.equal(evs[0]!.comm, '<...>');
    assert.equal(evs[3]!.comm, 'binder:1_2');
    assert.deepEqual([evs[3]!.nrMigrated, evs[3]!.errIso, evs[3]!.errMig, evs[3]!.errTest], [12, 0, 2, 1]);
  });

  it('trace-cmd report lines, record-tgid, no irq-info, comm with spaces and dashes, CRLF', () => {
    const { evs } = events(
      [
        'cpus=2',
        '              sh-39    [000]     1.137494: cma_alloc_start:      name=reserved count=8 align=0',
        '     kworker/u2:1-12    (   12) [001] d..1.     2.000001: cma_release: name=reserved pfn=0x1ec00 page=(____ptrval____) count=8',
        '   my task-x-77     [000]     3.000000: cma_alloc_start: name=reserved count=1 align=0\r',
        '              sh-39      [000]     1.137494123: cma_alloc_start: name=reserved count=9 align=0',
      ].join('\n'),
    );
    assert.deepEqual(
      evs.map((e) => [e.comm, e.pid, e.count, e.ts]),
      [
        ['sh', 39, 8, 1137494],
        ['kworker/u2:1', 12, 8, 2000001],
        ['my task-x', 77, 1, 3000000],
        ['sh', 39, 9, 1137494.123],
      ],
    );
  });

  it('6.1 unnamed areas: name=cma0\\n splits every event over two lines; rejoined', () => {
    const { evs, stats } = events(
      [
        '              sh-39      [000] .....     1.137494: cma_alloc_start: name=cma0',
        ' count=8 align=0',
        '              sh-39      [000] .....     1.141103: cma_alloc_finish: name=cma0',
        ' pfn=0x1ec00 page=(____ptrval____) count=8 align=0',
      ].join('\n'),
    );
    assert.equal(stats.joinedSplitLines, 2);
    assert.deepEqual(
      evs.map((e) => [e.kind, e.name, e.count, e.pfn, e.line]),
      [
        [EV_START, 'cma0', 8, Number.NaN, 1],
        [EV_FINISH, 'cma0', 8, 0x1ec00, 3],
      ],
    );
  });

  it('unknown lines are counted and skipped; malformed cma lines are reported with their line number', () => {
    const { evs, stats } = events(
      [
        'garbage line',
        '          <idle>-0       [000] d.s3.   5.000000: sched_switch: prev_comm=swapper',
        '              sh-39      [000] .....     1.137494: cma_alloc_start: name=reserved count=abc align=0',
        '              sh-39      [000] .....     1.141103: cma_alloc_finish: name=reserved page=(____ptrval____) count=8 align=0',
        '              sh-39      [000] .....     1.141103: cma_alloc_at_start: name=reserved pfn=1ec00, request_count=8',
        '              sh-39      [000] .....     1.137494: cma_alloc_start: name=reserved count=8 align=0',
      ].join('\n'),
    );
    assert.equal(evs.length, 1);
    assert.equal(stats.otherLines, 2);
    assert.equal(stats.otherCmaEvents, 1);
    assert.equal(stats.malformed, 2);
    assert.deepEqual(
      stats.malformedLines.map((m) => [m.line, m.reason]),
      [
        [3, 'bad count'],
        [4, 'missing pfn'],
      ],
    );
  });

  it('chunk boundaries do not matter (fed one byte at a time)', () => {
    const text = [
      '# tracer: nop',
      '              sh-39      [000] .....     1.137494: cma_alloc_start: name=cma0',
      ' count=8 align=0',
      '              sh-39      [000] .....     1.141103: cma_alloc_finish: name=reserved pfn=0x1ec00 page=(____ptrval____) count=8 align=0',
    ].join('\n');
    const whole = events(text).evs;
    const bytes = new TextEncoder().encode(text);
    const got: [number, string, number][] = [];
    const p = new TraceLineParser((e) => got.push([e.kind, e.name, e.count]));
    for (let i = 0; i < bytes.length; i++) p.feed(bytes.subarray(i, i + 1));
    const st = p.end();
    assert.equal(st.events, 2);
    assert.deepEqual(
      got,
      whole.map((e) => [e.kind, e.name, e.count]),
    );
  });

  it('replay pairs events by pid and counts anomalies and 4.x allocations', async () => {
    const text = [
      '# cma_area: name=reserved base_pfn=0x1ec00 count=4096 order_per_bit=0',
      '              sh-1       [000] .....     1.000000: cma_alloc_finish: name=reserved pfn=0x1ec00 page=(____ptrval____) count=8 align=0',
      '              sh-2       [000] .....     1.000001: cma_alloc_start: name=reserved count=8 align=0',
      '              sh-3       [000] .....     1.000002: cma_alloc_start: name=reserved count=4 align=0',
      '              sh-3       [000] .....     1.000003: cma_alloc_finish: name=reserved pfn=0x1ec08 page=(____ptrval____) count=4 align=0',
      '              sh-2       [000] .....     1.000004: cma_alloc_finish: name=reserved pfn=0x1ec00 page=(____ptrval____) count=8 align=0',
      '              sh-2       [000] .....     1.000005: cma_release: name=reserved pfn=0x2ec00 page=(____ptrval____) count=8',
      '              sh-2       [000] .....     1.000006: cma_release: name=other pfn=0x2ec00 page=(____ptrval____) count=8',
    ].join('\n');
    const r = await replayTrace(text);
    assert.equal(r.areaSource, 'annotation');
    assert.equal(r.allocs.ok, 2);
    assert.equal(r.mismatches, 0);
    assert.equal(r.anomalies, 2); // finish without start, release outside the area
    assert.equal(r.skippedOtherArea, 1);
    assert.equal(r.areas[0]!.used, 12);
    assert.deepEqual(
      r.allocations.map((a) => [a.pfn, a.pages, a.task, a.pid, a.latencyUs]),
      [
        [0x1ec00, 8, 'sh', 2, 3],
        [0x1ec08, 4, 'sh', 3, 1],
      ],
    );
    const legacy = await replayTrace(
      [
        '  a-1  [000] ....   1.000000: cma_alloc: pfn=1ec00 page=ffffea0000000000 count=8 align=0',
        '  a-1  [000] ....   1.000001: cma_alloc: pfn=1ec10 page=ffffea0000000000 count=8 align=4',
        '  a-1  [000] ....   1.000002: cma_release: pfn=1ec00 page=ffffea0000000000 count=8',
      ].join('\n'),
      { areas: [{ name: 'reserved', basePfn: 0x1ec00, count: 4096, orderPerBit: 0 }] },
    );
    assert.equal(legacy.mismatches, 0);
    assert.equal(legacy.allocs.ok, 2);
    assert.equal(legacy.areas[0]!.used, 8);
  });

  it('inferred areas are a guess rounded to 512 pages', async () => {
    const r = await replayTrace(
      '              sh-1       [000] .....     1.000000: cma_release: name=x pfn=0x1ec10 page=(____ptrval____) count=8\n' +
        '              sh-1       [000] .....     1.000000: cma_release: name=x pfn=0x1f000 page=(____ptrval____) count=520\n',
    );
    assert.equal(r.areaSource, 'inferred');
    assert.deepEqual([r.areas[0]!.basePfn, r.areas[0]!.count], [0x1ec00, 0x1f400 - 0x1ec00]);
  });
});
