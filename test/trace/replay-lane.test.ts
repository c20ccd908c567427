// The replay engine's fast lane (TraceReplayer.rows: whole parse batches, the common rows
// replayed from their numbers) against the event-by-event path: the same result, failures,
// anomalies, mismatches and allocation records (in the order onAllocation hands them out), on
// every fixture trace (text, trace.dat, Perfetto) and on generated traces that mix the lane's
// rows with every kind of row it leaves to the event path.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { cmaBitmapAlignedMask, cmaBitmapAlignedOffset } from '../../src/core/cma.ts';
import { PlainBitmap } from '../../src/core/cma-bitmap.ts';
import type { AnnotatedArea } from '../../src/sources/trace/events.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { BatchDecoder } from '../../src/sources/trace/parallel.ts';
import { BatchEncoder, type BatchMessage, type BatchRows } from '../../src/sources/trace/parallel-format.ts';
import { emptyParseStats, TraceLineParser } from '../../src/sources/trace/parse.ts';
import type {
  AllocationRecord,
  FailureRecord,
  ReplayAreaSpec,
  ReplayOptions,
  ReplayResult,
} from '../../src/sources/trace/replay.ts';
import { replayTrace, setRowLane, toReplaySpec } from '../../src/sources/trace/replay.ts';
import { setWasmLane, TraceReplayer } from '../../src/sources/trace/replay-engine.ts';
import { setMaxFailureEvents } from '../../src/sources/trace/replay-report.ts';

const FIX = join(import.meta.dirname, '../fixtures');

/** Every replayable fixture trace: text (plain, gzip unpacked), trace.dat, Perfetto. */
function fixtures(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const dir of [
    'traces/gen-trace',
    'traces/oracle-6.1',
    'traces/oracle-7.3',
    'traces/plan',
    'trace-dat',
  ]) {
    let files: string[];
    try {
      files = readdirSync(join(FIX, dir)).sort();
    } catch {
      continue;
    }
    for (const f of files) {
      const p = join(FIX, dir, f);
      if (f.endsWith('.trace.gz'))
        out.push({ name: `${dir}/${f.slice(0, -3)}`, bytes: gunzipSync(readFileSync(p)) });
      // trace.dat: one of each kernel (the compressed variants decode to the same events)
      else if (/\.trace$|^[0-9.]+\.dat$/.test(f)) out.push({ name: `${dir}/${f}`, bytes: readFileSync(p) });
    }
  }
  return out;
}

/** A replay on the parse worker with the lane on or off: the result, and the records and failures handed out. */
async function replayBoth(
  path: string,
  opts: ReplayOptions,
): Promise<{ on: unknown; js: unknown; off: unknown }> {
  const run = async (lane: boolean, wasm = true) => {
    setRowLane(lane);
    setWasmLane(wasm);
    const recs: AllocationRecord[] = [];
    const fails: FailureRecord[] = [];
    const r = await replayTrace(fileSource(path), {
      parallel: true,
      onAllocation: (a) => recs.push(a),
      onFailure: (f) => fails.push(f),
      ...opts,
    });
    return { r, recs, fails, allocations: r.allocations };
  };
  try {
    const off = await run(false);
    const js = await run(true, false);
    const on = await run(true);
    return { on, js, off };
  } finally {
    setRowLane(true);
    setWasmLane(true);
  }
}

describe('replay fast lane (TraceReplayer.rows)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cma-lane-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  after(() => setRowLane(true));

  const cases = fixtures();
  it('finds the fixture traces (text, trace.dat)', () => {
    assert.ok(cases.filter((c) => c.name.endsWith('.trace')).length >= 10);
    assert.ok(cases.some((c) => c.name.endsWith('.dat')));
  });
  for (const c of cases) {
    it(`${c.name}: the same result with the lane on and off (parse worker)`, async () => {
      const path = join(dir, c.name.replaceAll('/', '_'));
      writeFileSync(path, c.bytes);
      const { on, js, off } = await replayBoth(path, {});
      assert.deepEqual(on, off);
      assert.deepEqual(js, off);
    });
    if (c.name.endsWith('.trace'))
      it(`${c.name}: the same result in process with the lane on and off (resync off, table off, small batches)`, () => {
        for (const opts of [{}, { resync: false }, { allocations: false }] as ReplayOptions[]) {
          const off = inProcess(c.bytes, 'auto', opts, 'off', true);
          assert.deepEqual(
            inProcess(c.bytes, 'auto', opts, 'js', true).out,
            off.out,
            `js ${JSON.stringify(opts)}`,
          );
          assert.equal(off.laneRows, 0);
          const wasm = inProcess(c.bytes, 'auto', opts, 'wasm', false);
          assert.deepEqual(
            wasm.out,
            inProcess(c.bytes, 'auto', opts, 'off', false).out,
            `wasm ${JSON.stringify(opts)}`,
          );
        }
      });
  }

  it('the lane replays every row a timeline samples through the event path (same timeline)', async () => {
    const c = cases.find((x) => x.name.includes('gpu-concurrency4')) ?? cases[0]!;
    const path = join(dir, 'timeline.trace');
    writeFileSync(path, c.bytes);
    const { on, js, off } = await replayBoth(path, { timelinePoints: 50 });
    assert.deepEqual(on, off);
    assert.deepEqual(js, off);
  });

  it('generated traces (mismatches, failures, busy retries, 7.x starts, releases outside, other areas, long names): lane on = off', () => {
    const lane = { js: 0, wasm: 0 };
    const slow = { js: 0, wasm: 0 };
    fc.assert(
      fc.property(traceArb, fc.boolean(), fc.boolean(), (t, resync, table) => {
        const bytes = new TextEncoder().encode(t.text);
        const opts: ReplayOptions = { resync, ...(table ? {} : { allocations: false }) };
        const off = inProcess(bytes, t.areas, opts, 'off', true);
        const js = inProcess(bytes, t.areas, opts, 'js', true);
        assert.deepEqual(js.out, off.out);
        lane.js += js.laneRows;
        slow.js += js.rows - js.laneRows;
        // the wasm lane: one area (the other areas' rows are another area's)
        const one = [t.areas[t.text.length % 2]!];
        const wasm = inProcess(bytes, one, opts, 'wasm', false);
        assert.deepEqual(wasm.out, inProcess(bytes, one, opts, 'off', false).out);
        lane.wasm += wasm.laneRows;
        slow.wasm += wasm.rows - wasm.laneRows;
      }),
      { numRuns: 300, seed: 19 },
    );
    // both halves ran: thousands of rows in each lane and through event()
    for (const k of ['js', 'wasm'] as const)
      assert.ok(lane[k] > 1500 && slow[k] > 1500, `${k}: lane ${lane[k]} event ${slow[k]}`);
  });

  it('failures past the report records (the wasm lane takes them, listing their event numbers while the list has room), cma_alloc_info after them: lane on = off', () => {
    let taken = 0;
    let failed = 0;
    let busyClass = 0;
    for (const listed of [3, 60]) {
      setMaxFailureEvents(listed);
      try {
        fc.assert(
          fc.property(failArb, fc.boolean(), (t, table) => {
            const bytes = new TextEncoder().encode(t);
            const opts: ReplayOptions = { maxKept: 2, ...(table ? {} : { allocations: false }) };
            const area = [FAIL_AREA];
            const wasm = inProcess(bytes, area, opts, 'wasm', false, -1, false);
            const off = inProcess(bytes, area, opts, 'off', false, -1, false);
            assert.deepEqual(wasm.out, off.out);
            // the rows the lane took besides those it takes when failures are handed out
            taken += wasm.laneRows - inProcess(bytes, area, opts, 'wasm', false, -1, true).laneRows;
            failed += (off.out as { r: ReplayResult }).r.allocs.failed;
            busyClass += (off.out as { r: ReplayResult }).r.failureClasses.busy;
          }),
          { numRuns: 60, seed: 23 + listed },
        );
      } finally {
        setMaxFailureEvents(20000);
      }
    }
    assert.ok(failed > 400 && taken > 120, `failures ${failed}, taken by the lane ${taken}`);
    // failures after a busy retry are their own class, in the lane as in the event path
    assert.ok(busyClass > 0, `failures classed busy: ${busyClass}`);
  });

  it('cma_alloc_info attaches to the failure it follows, never to an older one kept in the list', () => {
    const L = (pid: number, t: number, body: string) =>
      `${'task'.padStart(16)}-${pid}     [000] .....   100.${String(t).padStart(6, '0')}: ${body}`;
    const fail = (t: number) => [
      L(5, t, 'cma_alloc_start: name=f count=200 align=0'),
      L(5, t + 1, 'cma_alloc_finish: name=f pfn=0xffffffffffffffff page=0000000000000000 count=200 align=0'),
    ];
    const info = L(
      5,
      99,
      'cma_alloc_info: name=f pfn=0xffffffffffffffff count=200 nr_migrated=7 err_iso=0 err_mig=1 err_test=0',
    );
    const failures = (lines: string[]) =>
      (
        inProcess(
          new TextEncoder().encode(`${lines.join('\n')}\n`),
          [FAIL_AREA],
          { maxKept: 1 },
          'off',
          false,
          -1,
          false,
        ).out as { r: ReplayResult }
      ).r.failures;
    // the failure it follows is kept: it gets the counters
    assert.equal(failures([...fail(1), info])[0]!.info?.nrMigrated, 7);
    // it follows the second failure, which the list (1 kept) does not hold: nothing gets them
    const two = failures([...fail(1), ...fail(3), info]);
    assert.equal(two.length, 1);
    assert.equal(two[0]!.info, undefined);
  });

  it('allocations handed out from mid-replay on (the wasm lane hands its calls and table over): lane on = off', () => {
    for (const c of cases.filter((x) => x.name.endsWith('.trace'))) {
      for (const from of [1, 4, 9]) {
        const off = inProcess(c.bytes, 'auto', {}, 'off', false, from);
        const wasm = inProcess(c.bytes, 'auto', {}, 'wasm', false, from);
        assert.deepEqual(wasm.out, off.out, `${c.name} from batch ${from}`);
      }
    }
  });

  it('raw batches of arbitrary numbers (pids, counts, alignments, pfns no parser writes): lane on = off', () => {
    const num = (xs: number[]) => fc.oneof(fc.constantFrom(...xs), fc.integer({ min: -2, max: 600 }));
    const rowArb = fc.record({
      kind: fc.constantFrom(1, 1, 2, 2, 3, 4, 4, 5, 6),
      pid: num([0, 1, 2, 3, 65535, 65536, 70000, -1, 2.5]),
      ts: fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.constantFrom(Number.NaN, 1.5, -3, 70000, 1e9)),
      name: fc.constantFrom(0, 0, 0, 1, 2),
      commLen: fc.constantFrom(4, 16, 0, -1),
      count: num([0, 1, 8, 64, 511, 512, 513, 4096, 1e12, 2 ** 52, 0.5, Number.NaN]),
      align: num([-1, 0, 1, 4, 9, 12, 31, 40, 63, 64, 70, Number.NaN, 2.5]),
      pfn: fc.oneof(
        fc.integer({ min: 0x1000 - 8, max: 0x1000 + 600 }),
        fc.constantFrom(-1, Number.NaN, 0x1000 + 0.5, 2 ** 53, 0),
      ),
      hasPage: fc.constantFrom(0, 1, 1),
      extra: fc.constantFrom(-1, -1, -1, -1, 0, 1),
    });
    const extras = [
      {
        countBig: null,
        errorno: -16,
        availableCount: -1,
        totalCount: -1,
        nrMigrated: 0,
        errIso: 0,
        errMig: 0,
        errTest: 0,
        comm: null,
      },
      {
        countBig: null,
        errorno: null,
        availableCount: 100,
        totalCount: 512,
        nrMigrated: 0,
        errIso: 0,
        errMig: 0,
        errTest: 0,
        comm: 'a-long-task-name-here',
      },
    ];
    fc.assert(
      fc.property(
        fc.array(rowArb, { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 0, max: 3 }),
        (rows, opb) => {
          const f = new Float64Array(rows.length * 12);
          const comm = new Uint8Array(rows.length * 16);
          rows.forEach((r, i) => {
            f.set(
              [r.kind, i + 1, r.pid, 0, r.ts, r.name, r.commLen, r.count, r.align, r.pfn, r.hasPage, r.extra],
              i * 12,
            );
            comm.set(
              [...'task'].map((c) => c.charCodeAt(0)),
              i * 16 + 12,
            );
          });
          const msg = () => ({
            t: 'b' as const,
            buf: f.slice().buffer,
            commBuf: comm.slice().buffer,
            n: rows.length,
            names: ['a', 'other', ''],
            extras,
            bytes: 0,
          });
          const area = [{ name: 'a', basePfn: 0x1000, count: 512, orderPerBit: opb }];
          const run = (lane: 'off' | 'js' | 'wasm') => {
            setWasmLane(lane === 'wasm');
            const fails: FailureRecord[] = [];
            const r = new TraceReplayer(area, 'options', { onFailure: (x) => fails.push(x) });
            const d = new BatchDecoder();
            // two batches: the second's rows meet the first's calls in flight
            d.deliver(msg(), (ev) => r.event(ev), lane === 'off' ? undefined : r);
            d.deliver(msg(), (ev) => r.event(ev), lane === 'off' ? undefined : r);
            setWasmLane(true);
            const res = r.finish(emptyParseStats());
            return { res, fails, allocations: res.allocations };
          };
          const off = run('off');
          assert.deepEqual(run('js'), off);
          assert.deepEqual(run('wasm'), off);
        },
      ),
      { numRuns: 300, seed: 5 },
    );
  });

  it('the generated traces have successes, releases, busy retries, failures, mismatches and anomalies', () => {
    const sum = { ok: 0, releases: 0, busy: 0, failed: 0, mismatches: 0, anomalies: 0, other: 0 };
    for (const t of fc.sample(traceArb, { numRuns: 20, seed: 7 })) {
      const { out } = inProcess(new TextEncoder().encode(t.text), t.areas, {}, 'js', false);
      const r = (out as { r: ReplayResult }).r;
      sum.ok += r.allocs.ok;
      sum.releases += r.releases;
      sum.busy += r.busyRetries;
      sum.failed += r.allocs.failed;
      sum.mismatches += r.mismatches;
      sum.anomalies += r.anomalies;
      sum.other += r.skippedOtherArea;
    }
    for (const [k, v] of Object.entries(sum)) assert.ok(v > 0, `${k} ${v}`);
  });
});

/**
 * A replay of text in this process: parsed into batches (BatchEncoder, small ones first: rows
 * meet batch ends), delivered as the parse worker's batches are, to the lane (rows) or one event
 * at a time. Returns the result with the records and failures handed out, and how many rows the
 * lane took itself.
 */
function inProcess(
  bytes: Uint8Array,
  areas: readonly ReplayAreaSpec[] | 'auto',
  opts: ReplayOptions,
  lane: 'off' | 'js' | 'wasm',
  handOut: boolean,
  /** From this batch on, allocations are handed out (onAllocation set mid-replay, as the CLI's migrate-cost collector does). */
  handOutFrom = -1,
  /** Failures are handed out (onFailure); without it, the failures past the report's lists are only counted. */
  failuresOut = true,
): { out: unknown; rows: number; laneRows: number } {
  const batches: Extract<BatchMessage, { t: 'b' }>[] = [];
  const annotated: AnnotatedArea[] = [];
  const enc = new BatchEncoder(
    (m) => batches.push(m),
    () => undefined,
    5,
  );
  const parser = new TraceLineParser(() => enc.event(parser), { onAnnotation: (a) => annotated.push(a) });
  parser.feed(bytes);
  const stats = parser.end();
  enc.flush();
  const recs: AllocationRecord[] = [];
  const fails: FailureRecord[] = [];
  const specs = areas === 'auto' ? annotated : areas;
  // the records handed out as they go (onAllocation; the wasm lane runs only while none is)
  const ropts: ReplayOptions = {
    ...opts,
    ...(handOut ? { onAllocation: (a: AllocationRecord) => recs.push(a) } : {}),
    ...(failuresOut ? { onFailure: (f: FailureRecord) => fails.push(f) } : {}),
  };
  const r = new TraceReplayer(specs.map(toReplaySpec), 'options', ropts);
  setWasmLane(lane === 'wasm');
  const d = new BatchDecoder();
  let rows = 0;
  let slow = 0;
  const sink: BatchRows = {
    rows: (f, n, names, comm, at) => {
      rows += n;
      r.rows(f, n, names, comm, (i) => {
        slow++;
        return at(i);
      });
    },
  };
  for (const [k, m] of batches.entries()) {
    if (k === handOutFrom) ropts.onAllocation = (a) => recs.push(a);
    d.deliver(
      m,
      (ev) => {
        rows++;
        slow++;
        r.event(ev);
      },
      lane !== 'off' ? sink : undefined,
    );
  }
  setWasmLane(true);
  const res = r.finish(stats);
  return {
    out: { r: res, recs, fails, allocations: res.allocations },
    rows,
    laneRows: rows - slow,
  };
}

// ---------------------------------------------------------------- generated traces

/** A small area that many requests do not fit: failures of both classes. */
const FAIL_AREA = { name: 'f', basePfn: 0x4000, count: 96, orderPerBit: 0 };

/**
 * A trace of allocations and releases on FAIL_AREA where most requests fail (fragmentation or
 * exhaustion), with busy retries before some failures (their pfn the last busy one), failures
 * at a pfn that is not -1 or at another count (mismatch, anomaly), and cma_alloc_info after
 * failures.
 */
const failArb = fc
  .array(
    fc.record({
      release: fc.boolean(),
      pid: fc.integer({ min: 1, max: 4 }),
      count: fc.integer({ min: 1, max: 60 }),
      align: fc.integer({ min: 0, max: 3 }),
      twist: fc.integer({ min: 0, max: 15 }),
      pick: fc.nat(),
    }),
    { minLength: 20, maxLength: 120 },
  )
  .map((steps) => {
    const lines: string[] = [];
    let ts = 100_000_000;
    const bm = new PlainBitmap(FAIL_AREA.count);
    const live: { pfn: number; count: number }[] = [];
    const line = (pid: number, body: string) => {
      ts += 3;
      const t = `${Math.floor(ts / 1e6)}.${String(ts % 1e6).padStart(6, '0')}`;
      lines.push(
        `${`task ${pid}`.padStart(16)}-${String(pid).padEnd(7)} [000] .....  ${t.padStart(11)}: ${body}`,
      );
    };
    const hex = (n: number) => `0x${n.toString(16)}`;
    for (const s of steps) {
      if (s.release && live.length > 0) {
        const r = live.splice(s.pick % live.length, 1)[0]!;
        line(s.pid, `cma_release: name=f pfn=${hex(r.pfn)} page=(____ptrval____) count=${r.count}`);
        bm.clear(r.pfn - FAIL_AREA.basePfn, r.count);
        continue;
      }
      line(s.pid, `cma_alloc_start: name=f count=${s.count} align=${s.align}`);
      const mask = cmaBitmapAlignedMask(0, s.align);
      const off = cmaBitmapAlignedOffset(FAIL_AREA.basePfn, 0, s.align);
      let bit = bm.findArea(0, s.count, mask, off);
      let busyPfn = -1;
      if (s.twist === 1 && bit + s.count <= bm.maxno) {
        busyPfn = FAIL_AREA.basePfn + bit;
        line(
          s.pid,
          `cma_alloc_busy_retry: name=f pfn=${hex(busyPfn)} page=(____ptrval____) count=${s.count} align=${s.align}`,
        );
        bit = bm.findArea(bit + mask + 1, s.count, mask, off);
      }
      if (bit + s.count > bm.maxno) {
        // twist 2: a failure at a pfn that is not -1 (a mismatch); 3: at another count (an anomaly)
        const pfn =
          s.twist === 2
            ? hex(FAIL_AREA.basePfn + (s.pick % 8))
            : busyPfn >= 0
              ? hex(busyPfn)
              : '0xffffffffffffffff';
        line(
          s.pid,
          `cma_alloc_finish: name=f pfn=${pfn} page=0000000000000000 count=${s.count + (s.twist === 3 ? 1 : 0)} align=${s.align}`,
        );
        if (s.twist >= 12)
          line(
            s.pid,
            `cma_alloc_info: name=f pfn=0xffffffffffffffff count=${s.count} align=${s.align} nr_migrated=${s.twist} err_iso=0 err_mig=1 err_test=0`,
          );
        continue;
      }
      const pfn = FAIL_AREA.basePfn + bit;
      line(
        s.pid,
        `cma_alloc_finish: name=f pfn=${hex(pfn)} page=(____ptrval____) count=${s.count} align=${s.align}`,
      );
      bm.set(bit, s.count);
      live.push({ pfn, count: s.count });
    }
    return `${lines.join('\n')}\n`;
  });

const AREAS = [
  { name: 'a', basePfn: 0x1000, count: 256, orderPerBit: 0 },
  { name: 'b', basePfn: 0x8000, count: 512, orderPerBit: 2 },
  // a 7.x multi-range area (the lane leaves its rows to the event path)
  {
    name: 'm',
    basePfn: 0x20000,
    count: 192,
    orderPerBit: 0,
    ranges: [
      { basePfn: 0x20000, count: 128 },
      { basePfn: 0x10000, count: 64 },
    ],
  },
];

/** One step of a generated trace (what the model turns into lines). */
type Step = {
  op: 'alloc' | 'release' | 'noise';
  area: number;
  pid: number;
  count: number;
  align: number;
  /** 0: as the kernel would; else a deviation (wrong pfn, failure, busy retries, …). */
  twist: number;
  pick: number;
};

const stepArb: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom('alloc', 'alloc', 'alloc', 'release', 'release', 'noise'),
  area: fc.constantFrom(0, 0, 0, 1, 1, 2, 3),
  pid: fc.constantFrom(11, 12, 13, 14, 70000),
  count: fc.oneof(fc.integer({ min: 1, max: 24 }), fc.constantFrom(0, 1, 2, 4, 8, 16, 64, 300, 1000)),
  align: fc.integer({ min: 0, max: 4 }),
  twist: fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 12 })),
  pick: fc.nat(1000),
});

const traceArb = fc.array(stepArb, { minLength: 20, maxLength: 300 }).map((steps) => genTrace(steps));

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Lines of a trace from steps: a model of each area (the kernel's first fit on a plain bitmap)
 * gives the pfns the kernel would print, and each step's twist bends the trace away from it.
 */
function genTrace(steps: Step[]): { text: string; areas: typeof AREAS } {
  const lines: string[] = [];
  let ts = 100_000_000;
  const models = AREAS.map((a) => {
    const r0 = a.ranges?.[0] ?? { basePfn: a.basePfn, count: a.count };
    const unit = 2 ** a.orderPerBit;
    return {
      a,
      base: r0.basePfn,
      unit,
      bm: new PlainBitmap(Math.floor(r0.count / unit)),
      live: [] as { pfn: number; count: number }[],
    };
  });
  const line = (
    pid: number,
    body: string,
    comm = pid === 13 ? 'a-task-name-longer-than-16' : `task ${pid}`,
  ) => {
    ts += 1 + (pid % 7);
    const t = `${Math.floor(ts / 1e6)}.${String(ts % 1e6).padStart(6, '0')}`;
    lines.push(`${comm.padStart(16)}-${String(pid).padEnd(7)} [000] .....  ${t.padStart(11)}: ${body}`);
  };
  for (const s of steps) {
    // area 3: a name the replay does not know
    const m = s.area < 3 ? models[s.area]! : null;
    const name = m?.a.name ?? 'other';
    if (s.op === 'noise') {
      // a start with no finish (the next start of the pid is an anomaly), a finish with no start,
      // a cma_alloc_info, a 4.x cma_alloc
      if (s.twist % 4 === 0) line(s.pid, `cma_alloc_start: name=${name} count=${s.count} align=${s.align}`);
      else if (s.twist % 4 === 1)
        line(
          s.pid,
          `cma_alloc_finish: name=${name} pfn=${hex(0x1000 + s.pick)} page=(____ptrval____) count=${s.count} align=${s.align}`,
        );
      else if (s.twist % 4 === 2)
        line(
          s.pid,
          `cma_alloc_info: name=${name} pfn=0xffffffffffffffff count=${s.count} align=${s.align} nr_migrated=3 err_iso=0 err_mig=1 err_test=0`,
        );
      else
        line(
          s.pid,
          `cma_release: name=${name} pfn=${hex(0x1000 + s.pick)} page=(____ptrval____) count=${s.count}`,
        );
      continue;
    }
    if (s.op === 'release') {
      if (m === null || m.live.length === 0 || s.twist === 5) {
        line(
          s.pid,
          `cma_release: name=${name} pfn=${hex((m?.base ?? 0x1000) + s.pick)} page=(____ptrval____) count=${s.count}`,
        );
        continue;
      }
      const k = s.pick % m.live.length;
      const r = m.live[k]!;
      // twist 3: a partial release from the front; 4: past the end of the area
      const count =
        s.twist === 3 && r.count > 1 ? Math.ceil(r.count / 2) : s.twist === 4 ? r.count + m.a.count : r.count;
      line(s.pid, `cma_release: name=${name} pfn=${hex(r.pfn)} page=(____ptrval____) count=${count}`);
      const bit = Math.floor((r.pfn - m.base) / m.unit);
      m.bm.clear(bit, Math.ceil(Math.min(count, r.count) / m.unit));
      if (count < r.count) m.live[k] = { pfn: r.pfn + count, count: r.count - count };
      else m.live.splice(k, 1);
      continue;
    }
    // an allocation: start, maybe busy retries, finish
    const v7 = s.twist === 6;
    const avail = m ? m.a.count - m.bm.weight() * m.unit : 0;
    line(
      s.pid,
      v7
        ? `cma_alloc_start: name=${name} request_count=${s.count} available_count=${avail} total_count=${m?.a.count ?? 0} align=${s.align}`
        : `cma_alloc_start: name=${name} count=${s.count} align=${s.align}`,
      // twist 7: a long task name on the start only
      s.twist === 7 ? 'another-very-long-task-name' : undefined,
    );
    if (m === null || s.count === 0) {
      if (s.twist === 8)
        line(
          s.pid,
          `cma_alloc_finish: name=${name} pfn=0xffffffffffffffff page=0000000000000000 count=${s.count} align=${s.align}`,
        );
      continue;
    }
    const bits = Math.ceil(s.count / m.unit);
    const mask = cmaBitmapAlignedMask(m.a.orderPerBit, s.align);
    const off = cmaBitmapAlignedOffset(m.base, m.a.orderPerBit, s.align);
    let bit = bits <= m.bm.maxno ? m.bm.findArea(0, bits, mask, off) : m.bm.maxno;
    // twist 1-2: busy retries at the placement, the search goes on after it
    for (let b = 0; b < (s.twist === 1 ? 1 : s.twist === 2 ? 2 : 0) && bit + bits <= m.bm.maxno; b++) {
      line(
        s.pid,
        `cma_alloc_busy_retry: name=${name} pfn=${hex(m.base + bit * m.unit)} page=(____ptrval____) count=${s.count} align=${s.align}`,
      );
      bit = m.bm.findArea(bit + mask + 1, bits, mask, off);
    }
    const fits = bit + bits <= m.bm.maxno;
    if (s.twist === 9) continue; // no finish
    if (!fits || s.twist === 10) {
      const err = s.twist === 10 && s.pick % 2 === 0 ? ' errorno=-16' : '';
      line(
        s.pid,
        `cma_alloc_finish: name=${name} pfn=0xffffffffffffffff page=0000000000000000 count=${s.count} align=${s.align}${err}`,
      );
      continue;
    }
    // twist 11: a pfn that is not ours (a mismatch); 12: a count that does not match the start
    let pfn = m.base + bit * m.unit;
    if (s.twist === 11) pfn += m.unit * (1 + (s.pick % 5));
    const count = s.twist === 12 ? s.count + 1 : s.count;
    line(
      s.pid,
      `cma_alloc_finish: name=${name} pfn=${hex(pfn)} page=(____ptrval____) count=${count} align=${s.align}${v7 ? ' errorno=0' : ''}`,
    );
    const at = Math.floor((pfn - m.base) / m.unit);
    if (at + bits <= m.bm.maxno) {
      m.bm.set(at, bits);
      m.live.push({ pfn, count: s.count });
    }
  }
  return { text: `${lines.join('\n')}\n`, areas: AREAS };
}
