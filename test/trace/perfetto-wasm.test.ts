// The Perfetto reader's WebAssembly fast path (assembly/perfetto-scan.ts, perfetto-wasm.ts)
// against the JavaScript decoder it stands in for: the reader with a sink that takes only
// single rows (RowSink.put: the JavaScript decoder and its reorder window alone) and with a
// BatchEncoder (BulkRowSink: the fast path decodes, holds and writes what it can), fed through
// a plain buffer (bundles copied into the module) and through the reader's own input region
// (bundles decoded in place). Generated traces (protobufjs, perfetto-writer.ts) with random
// bytes changed, and real kernels' events written as Perfetto traces: every event, mm event,
// statistic and error must be the same every way.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fileSource } from '../../src/sources/trace/input.ts';
import { COST_EVENT_NAMES, type MmEvent } from '../../src/sources/trace/mm-events.ts';
import { BatchDecoder } from '../../src/sources/trace/parallel.ts';
import { BatchEncoder, type RowSink } from '../../src/sources/trace/parallel-format.ts';
import type { ParseStats } from '../../src/sources/trace/parse.ts';
import { PerfettoReader } from '../../src/sources/trace/perfetto.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import type { BinaryEvent } from '../../src/sources/trace/trace-dat-reader.ts';
import { type EventSnap, eventSnap, type WEvent, wEvent, writePerfetto } from './perfetto-writer.ts';

/**
 * 'handover': in place with room for few events in the fast path's window (a few rings of 256
 * rows): once a ring cannot grow, the JavaScript decoder takes the window over.
 */
type Way = 'js' | 'copied' | 'in-place' | 'handover';
type Result = { events: EventSnap[]; mm: MmEvent[]; stats: ParseStats } | { error: string };

/**
 * The reader's events, other events (`mmNames`, as replay asks for the migrate counts) and
 * statistics (or its error) one way, fed in chunks of the sizes given (cycled).
 */
function decode(bytes: Uint8Array, chunks: number[], way: Way, mmNames: string[], batch = 64): Result {
  const events: EventSnap[] = [];
  const mm: MmEvent[] = [];
  const dec = new BatchDecoder();
  const enc = new BatchEncoder(
    (m) => dec.deliver(m, (e) => events.push(eventSnap(e))),
    () => undefined,
    batch,
  );
  // only put(): the JavaScript decoder (the fast path needs a sink that takes runs of rows)
  const sink: RowSink = way === 'js' ? { put: (...a: Parameters<RowSink['put']>) => enc.put(...a) } : enc;
  // (the reader's events are BinaryEvents, which the encoder takes)
  const r = new PerfettoReader((ev) => enc.event(ev as BinaryEvent), {
    rows: sink,
    ...(way === 'handover' ? { scanArenaBytes: 3 * 256 * 64 } : {}),
    // (each other event with the count of cma events out before it: the same place in the stream)
    ...(mmNames.length > 0
      ? {
          mm: {
            names: new Set(mmNames),
            onEvent: (e: MmEvent) => void mm.push({ ...e, line: events.length }),
          },
        }
      : {}),
  });
  if (way === 'js') assert.equal(r.input, null);
  else assert.notEqual(r.input, null);
  const buf = way === 'in-place' || way === 'handover' ? r.input! : new Uint8Array(Math.max(...chunks));
  try {
    for (let pos = 0, i = 0; pos < bytes.length; i++) {
      const n = Math.min(chunks[i % chunks.length]!, bytes.length - pos, buf.length);
      buf.set(bytes.subarray(pos, pos + n));
      r.feed(buf.subarray(0, n));
      pos += n;
    }
    const stats = r.end();
    enc.flush();
    return { events, mm, stats };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function threeWays(bytes: Uint8Array, chunks: number[], mmNames: string[] = [], batch?: number): Result {
  const js = decode(bytes, chunks, 'js', mmNames, batch);
  for (const way of ['copied', 'in-place', 'handover'] as const)
    assert.deepEqual(decode(bytes, chunks, way, mmNames, batch), js, way);
  return js;
}

/** The other events replay picks out, and those with a cma event's name. */
const MM_SETS = [[], [...COST_EVENT_NAMES], [...COST_EVENT_NAMES, 'cma_alloc_start', 'cma_release']];

const NAMES = ['reserved', 'linux,cma', 'a-rather-long-area-name-of-a-board', ''];
const COMMS = ['<...>', 'kworker/u16:3', 'surfaceflinger', 'composer@2.4-se', 'a-task-name-longer-than-16'];

const eventArb = fc.record({
  kind: fc.integer({ min: 1, max: 4 }),
  pid: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  dt: fc.integer({ min: 0, max: 3 }),
  name: fc.constantFrom(...NAMES),
  count: fc.oneof(fc.integer({ min: 0, max: 1 << 20 }), fc.constant(2 ** 40)),
  align: fc.integer({ min: 0, max: 12 }),
  pfn: fc.oneof(fc.integer({ min: 0, max: 1 << 30 }), fc.constant(-1)),
  hasPage: fc.boolean(),
  errorno: fc.oneof(fc.constant(null), fc.constant(null), fc.constantFrom(0, -12, -16)),
  comm: fc.constantFrom(...COMMS),
});

const traceArb = fc.record({
  events: fc.array(eventArb, { minLength: 1, maxLength: 300 }),
  cpus: fc.integer({ min: 1, max: 9 }),
  cycle: fc.integer({ min: 1, max: 120 }),
  noise: fc.boolean(),
  info: fc.boolean(),
  genericStarts: fc.boolean(),
  compressEvery: fc.constantFrom(0, 0, 0, 3),
  /** Bytes changed: (where, as a fraction of the file; the new byte). */
  changes: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), {
    maxLength: 3,
  }),
  chunks: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 3 }),
  mm: fc.constantFrom(...MM_SETS),
});

function events(
  gen: {
    kind: number;
    pid: number;
    dt: number;
    name: string;
    count: number;
    align: number;
    pfn: number;
    hasPage: boolean;
    errorno: number | null;
    comm: string;
  }[],
): WEvent[] {
  // the same pid keeps one task name (a process tree names it once)
  const comms = new Map<number, string>();
  let ts = 1_000_000;
  return gen.map((g) => {
    ts += g.dt;
    const comm = comms.get(g.pid) ?? (g.pid === 0 ? '<idle>' : g.comm);
    comms.set(g.pid, comm);
    return {
      kind: g.kind,
      pid: g.pid,
      ts,
      name: g.name,
      count: g.count,
      align: g.align,
      pfn: g.pfn,
      hasPage: g.hasPage && g.pfn >= 0,
      errorno: g.kind === 2 ? g.errorno : null,
      availableCount: -1,
      totalCount: -1,
      comm,
    };
  });
}

describe('Perfetto: the WebAssembly fast path against the JavaScript decoder', () => {
  it('generated traces, some bytes changed: the same events, statistics or error three ways', () => {
    let decoded = 0;
    let failed = 0;
    fc.assert(
      fc.property(traceArb, (t) => {
        const bytes = writePerfetto(events(t.events), {
          release: '6.1.0',
          cpus: t.cpus,
          cycle: t.cycle,
          noise: t.noise,
          info: t.info,
          genericStarts: t.genericStarts,
          ...(t.compressEvery > 0 ? { compressEvery: t.compressEvery } : {}),
        });
        const changed = bytes.slice();
        for (const [at, v] of t.changes)
          changed[Math.min(changed.length - 1, Math.floor(at * changed.length))] = v;
        const r = threeWays(changed, t.chunks, t.mm);
        if ('error' in r) failed++;
        else decoded++;
      }),
      { seed: 0x9f70, numRuns: 300 },
    );
    // both kinds of outcome were compared
    assert.ok(decoded > 100 && failed > 0, `${decoded} decoded, ${failed} failed`);
  });

  it('events out of time order beyond the reorder window (late ones), a bundle over the scratch region, many CPUs', () => {
    // 70,000 events on one CPU in one bundle (over 4 MiB), in time order but for a run of 200
    // written 20,000 places late; then 1,100 CPUs (more than the module's queues) with events of equal times
    const n = 70_000;
    const base = events(
      Array.from({ length: n }, (_v, i) => ({
        kind: 1 + (i % 4),
        pid: 1 + (i % 50),
        dt: 1,
        name: NAMES[i % 3]!,
        count: 1 + (i % 64),
        align: i % 5,
        pfn: i % 7 === 0 ? -1 : 0x80000 + i,
        hasPage: i % 3 !== 0,
        errorno: i % 11 === 0 ? -16 : null,
        comm: COMMS[i % COMMS.length]!,
      })),
    );
    const moved = [
      ...base.slice(0, 100),
      ...base.slice(300, 20_300),
      ...base.slice(100, 300),
      ...base.slice(20_300),
    ];
    const big = threeWays(
      writePerfetto(moved, { release: '6.1.0', cpus: 1, cycle: n, noise: true }),
      [1 << 20, 77_777],
      [...COST_EVENT_NAMES],
      8192,
    );
    assert.ok(!('error' in big));
    assert.equal(big.events.length, n);
    assert.ok((big.stats.lateEvents ?? 0) > 0);
    const many = events(
      Array.from({ length: 3000 }, (_v, i) => ({
        kind: 1 + (i % 4),
        pid: i % 9,
        dt: i % 2,
        name: 'reserved',
        count: 8,
        align: 0,
        pfn: 0x80000 + i,
        hasPage: true,
        errorno: null,
        comm: COMMS[i % 4]!,
      })),
    );
    const r = threeWays(writePerfetto(many, { release: '6.1.0', cpus: 1100, cycle: 3000 }), [4096]);
    assert.ok(!('error' in r));
    assert.equal(r.events.length, 3000);
    assert.equal(new Set(r.events.map((e) => e.cpu)).size, 1100);
  });

  it('generic fields renamed to their neighbours (the same length, one letter off) and retyped: the same events', () => {
    // each field's name: kept, one letter off at its end (no field the reader knows), or
    // swapped with the other known name of its length ('count' and 'align'); its value: as
    // written, or signed
    const nearMiss: Record<string, string> = {
      count: 'counu',
      align: 'aligo',
      pfn: 'pfm',
      page: 'pagf',
      name: 'namf',
    };
    const swap: Record<string, string> = { count: 'align', align: 'count' };
    const mutArb = fc.record({
      how: fc.constantFrom('keep', 'keep', 'near', 'swap'),
      signed: fc.boolean(),
      which: fc.nat(4),
    });
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 20, maxLength: 200 }),
        fc.array(mutArb, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 12 }),
        (gen, muts, run) => {
          const bytes = writePerfetto(events(gen), {
            release: '6.1.0',
            cpus: 2,
            cycle: 50,
            genericStarts: true,
            fields: (fields, _e, i) => {
              const m = muts[Math.floor(i / run) % muts.length]!;
              return fields.map((f, k) => {
                const g = { ...f } as Record<string, unknown>;
                const name = g.name as string;
                if (k === m.which % fields.length) {
                  if (m.how === 'near') g.name = nearMiss[name] ?? name;
                  else if (m.how === 'swap') g.name = swap[name] ?? name;
                }
                if (m.signed && typeof g.uintValue === 'number') {
                  g.intValue = g.uintValue;
                  delete g.uintValue;
                }
                return g;
              });
            },
          });
          const r = threeWays(bytes, [1 << 16]);
          assert.ok(!('error' in r));
        },
      ),
      { seed: 0x9f71, numRuns: 150 },
    );
  });

  it("real kernels' events (the trace.dat fixtures of 6.1, 6.12, 7.3) written as Perfetto traces: the same four ways", async () => {
    for (const k of ['6.1', '6.12', '7.3']) {
      const real: WEvent[] = [];
      await readTraceEvents(
        fileSource(new URL(`../fixtures/trace-dat/${k}.dat`, import.meta.url).pathname),
        (e) => real.push(wEvent(e)),
      );
      assert.ok(real.length > 0);
      for (const opts of [
        { release: `${k}.0`, cpus: 3, noise: true },
        { release: `${k}.0`, cpus: 3, compressEvery: 5 },
        { cpus: 2, info: true },
      ])
        for (const mm of MM_SETS) {
          const r = threeWays(writePerfetto(real, opts), [4096, 333], mm);
          assert.ok(!('error' in r) && r.events.length >= real.length, k);
        }
    }
  });
});
