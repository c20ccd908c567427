// Property-based differential tests of the binary readers' fast paths. Event sequences start
// from the real events of the trace.dat fixtures and are mutated (pids large and negative,
// task names of 0–20 characters incl. multi-byte ones over 16 bytes, area names of many
// lengths, counts around and above 2^53, errorno present or not, 7.x count fields, no page,
// timestamps out of order across many CPUs, generic events whose fields are added, dropped,
// reordered, renamed or change value type between consecutive events, task renames
// mid-trace), written by the independent writers (bench/write-trace-dat.ts,
// test/trace/perfetto-writer.ts) and read two ways: in-process (readTraceEvents: event
// objects, the general decode) and through the worker's row path (the readers' `rows`, a
// BatchEncoder, decoded back by BatchDecoder: trace.dat's FastPlan/PlainRows, Perfetto's
// shaped generic events and rows put straight into the batch). Both must give the same events
// field by field, equal to the generated ones in timestamp order; replay gives the same result
// with the worker and without.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { writeTraceDat } from '../../bench/write-trace-dat.ts';
import { EV_INFO, type TraceEvent } from '../../src/sources/trace/events.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { BatchDecoder } from '../../src/sources/trace/parallel.ts';
import { BatchEncoder, type BatchMessage } from '../../src/sources/trace/parallel-format.ts';
import type { ParseStats } from '../../src/sources/trace/parse.ts';
import { PerfettoReader } from '../../src/sources/trace/perfetto.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { fileByteSource } from '../../src/sources/trace/trace-dat.ts';
import { readTraceDat } from '../../src/sources/trace/trace-dat-reader.ts';
import { type WEvent, wEvent, writePerfetto } from './perfetto-writer.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAT = join(ROOT, 'test/fixtures/trace-dat');
const tmp = mkdtempSync(join(tmpdir(), 'cma-bindiff-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Every field of a decoded event. */
interface Snap {
  kind: number;
  line: number;
  pid: number;
  cpu: number;
  ts: number;
  name: string;
  count: number;
  align: number;
  pfn: number;
  hasPage: boolean;
  errorno: number | null;
  availableCount: number;
  totalCount: number;
  comm: string;
  countBig: bigint | null;
  nrMigrated: number;
  errIso: number;
  errMig: number;
  errTest: number;
}

function snap(e: TraceEvent): Snap {
  return {
    kind: e.kind,
    line: e.line,
    pid: e.pid,
    cpu: e.cpu,
    ts: e.ts,
    name: e.name,
    count: e.count,
    align: e.align,
    pfn: e.pfn,
    hasPage: e.hasPage,
    errorno: e.errorno,
    availableCount: e.availableCount,
    totalCount: e.totalCount,
    comm: e.comm(),
    countBig: e.countBig,
    nrMigrated: e.nrMigrated,
    errIso: e.errIso,
    errMig: e.errMig,
    errTest: e.errTest,
  };
}

/** The events of batches, decoded back as the calling thread does (BatchDecoder). */
function rowSink(out: Snap[]): BatchEncoder {
  const dec = new BatchDecoder();
  return new BatchEncoder(
    (m: Extract<BatchMessage, { t: 'b' }>) => dec.deliver(m, (e) => out.push(snap(e))),
    () => undefined,
    // small batches: many flushes, name ids restarting
    4,
  );
}

async function inProcess(path: string): Promise<{ events: Snap[]; stats: ParseStats }> {
  const events: Snap[] = [];
  const stats = await readTraceEvents(fileSource(path), (e) => events.push(snap(e)));
  return { events, stats };
}

function datRows(path: string): { events: Snap[]; stats: ParseStats } {
  const events: Snap[] = [];
  const enc = rowSink(events);
  const bs = fileByteSource(path);
  try {
    const stats = readTraceDat(bs, (ev) => enc.event(ev), { rows: enc });
    enc.flush();
    return { events, stats };
  } finally {
    bs.close();
  }
}

/** The row path of binary-worker.ts, the file fed in chunks of the sizes given (cycled). */
function perfettoRows(bytes: Uint8Array, chunks: number[]): { events: Snap[]; stats: ParseStats } {
  const events: Snap[] = [];
  const enc = rowSink(events);
  const r = new PerfettoReader((ev) => enc.event(ev), { rows: enc });
  // one reused buffer, as the worker reads
  const buf = new Uint8Array(Math.max(...chunks));
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = Math.min(chunks[i % chunks.length]!, bytes.length - pos);
    buf.set(bytes.subarray(pos, pos + n));
    r.feed(buf.subarray(0, n));
    pos += n;
  }
  const stats = r.end();
  enc.flush();
  return { events, stats };
}

/** The property's assertion failures printed as they happen (node:test hides fast-check's cause). */
function shown<A extends unknown[]>(f: (...a: A) => Promise<void>): (...a: A) => Promise<void> {
  return async (...a) => {
    try {
      await f(...a);
    } catch (e) {
      if (process.env.DIFF_VERBOSE) console.error(String((e as Error).message).slice(0, 3000));
      throw e;
    }
  };
}

const noLine = ({ line: _l, ...rest }: Snap): Omit<Snap, 'line'> => rest;

// ---- the generated events ----

/** A generated event: the writer's fields, its CPU and its task name. */
interface Gen extends WEvent {
  cpu: number;
}

let base: Gen[][] = [];

before(async () => {
  base = [];
  for (const f of ['6.1.dat', '6.12.dat', '7.3.dat']) {
    const evs: Gen[] = [];
    await readTraceEvents(fileSource(join(DAT, f)), (e) => evs.push({ ...wEvent(e), cpu: e.cpu }));
    assert.ok(evs.length > 100, f);
    base.push(evs);
  }
});

const TWO53 = 2 ** 53;
const pidArb = fc.oneof(
  fc.integer({ min: 1, max: 4_194_304 }),
  fc.constantFrom(0, 1, 4095, 4096, 8191, 2 ** 31 - 1),
  fc.integer({ min: 1, max: 2 ** 31 - 1 }),
);
/** Task names: 0–20 characters, some of them 2- and 3-byte UTF-8 (over 16 bytes). */
const commArb = fc.string({
  unit: fc.constantFrom('a', 'z', 'K', '0', '9', '-', '_', ':', '/', '.', 'é', 'ß', '字', '😀'),
  minLength: 0,
  maxLength: 20,
});
const areaArb = fc.string({
  unit: fc.constantFrom('c', 'm', 'a', '0', '7', '-', '_', '@', '.', 'é', '字'),
  minLength: 0,
  maxLength: 40,
});
const countArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1 << 20 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 ** 32 + 5 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      2 ** 32 - 1,
      2 ** 32,
      TWO53 - 1,
      TWO53,
      TWO53 + 2,
      2 ** 60,
      2 ** 63,
      2 ** 63 + 2 ** 11,
    ),
  },
);

/** What to change in one event (undefined: leave it). */
interface Mut {
  pid?: number | undefined;
  count?: number | undefined;
  name?: string | undefined;
  noPage: boolean;
  pfnNone: boolean;
  errorno?: number | null | undefined;
  counts?: [number, number] | null | undefined;
  cpu: number;
  /** µs after the previous event (1: the next microsecond). */
  gap: number;
}

const mutArb: fc.Arbitrary<Mut> = fc.record({
  pid: fc.option(pidArb, { nil: undefined, freq: 3 }),
  count: fc.option(countArb, { nil: undefined, freq: 2 }),
  name: fc.option(areaArb, { nil: undefined, freq: 4 }),
  noPage: fc.boolean(),
  pfnNone: fc.nat(15).map((n) => n === 0),
  errorno: fc.option(fc.oneof(fc.constant(null), fc.integer({ min: -133, max: 0 })), {
    nil: undefined,
    freq: 3,
  }),
  counts: fc.option(fc.oneof(fc.constant(null), fc.tuple(fc.nat(1 << 20), fc.nat(1 << 20))), {
    nil: undefined,
    freq: 3,
  }),
  cpu: fc.nat(63),
  gap: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 2000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 300_000_000 }) },
  ),
});

interface Plan {
  fixture: number;
  from: number;
  muts: Mut[];
  /** Task names by pid (the names pids get, looked up modulo). */
  comms: string[];
  cpus: number;
  start: number;
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  fixture: fc.nat(2),
  from: fc.nat(2000),
  muts: fc.array(mutArb, { minLength: 1, maxLength: 160, size: 'max' }),
  comms: fc.array(commArb, { minLength: 1, maxLength: 12 }),
  cpus: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 64 })),
  start: fc.integer({ min: 1, max: 5_000_000_000 }),
});

/**
 * The events of a plan: real events (from `from` on, cycling) with the mutations applied, at
 * increasing distinct µs timestamps; one task name per pid.
 */
function generate(p: Plan): Gen[] {
  const src = base[p.fixture]!;
  const comms = new Map<number, string>();
  let ts = p.start;
  return p.muts.map((m, i) => {
    const e = { ...src[(p.from + i) % src.length]! };
    if (e.kind === EV_INFO) e.kind = 2;
    // (a count of 2^64 - 1 is 2^64 as a number: what no writer can write back)
    if (e.count >= 1.8e19) e.count = 2 ** 63;
    if (m.pid !== undefined) e.pid = m.pid;
    if (m.count !== undefined) e.count = m.count;
    if (m.name !== undefined) e.name = m.name;
    if (e.kind !== 1 && m.pfnNone) e.pfn = -1;
    if (e.kind !== 1) e.hasPage = !m.noPage && e.pfn >= 0;
    if (m.errorno !== undefined) e.errorno = m.errorno;
    if (m.counts !== undefined) {
      e.availableCount = m.counts === null ? -1 : m.counts[0];
      e.totalCount = m.counts === null ? -1 : m.counts[1];
    }
    ts += m.gap;
    e.ts = ts;
    e.cpu = m.cpu % p.cpus;
    let c = comms.get(e.pid);
    if (c === undefined) {
      c = p.comms[e.pid % p.comms.length]!;
      comms.set(e.pid, c);
    }
    e.comm = c;
    return e;
  });
}

// ---- trace.dat ----

/** A generated event as the bench writer takes it. */
function asTraceEvent(g: Gen): TraceEvent {
  return { ...g, comm: () => g.comm } as unknown as TraceEvent;
}

/**
 * What a 6.1-format trace.dat (bench/write-trace-dat.ts) holds of g: the writer's fields,
 * µs timestamps, `cpus` CPUs.
 */
function datExpected(g: Gen): Omit<Snap, 'line'> {
  const start = g.kind === 1;
  const big = g.count >= TWO53;
  return {
    kind: g.kind,
    pid: g.pid,
    cpu: g.cpu,
    ts: g.ts,
    name: g.name,
    count: g.count,
    align: g.kind === 4 ? -1 : g.align,
    pfn: start ? Number.NaN : g.pfn,
    hasPage: start ? false : g.hasPage,
    errorno: null,
    availableCount: -1,
    totalCount: -1,
    comm: g.pid === 0 ? '<idle>' : g.comm,
    countBig: big ? BigInt(g.count) : null,
    nrMigrated: 0,
    errIso: 0,
    errMig: 0,
    errTest: 0,
  };
}

async function writeDat(path: string, gens: Gen[], cpus: number): Promise<void> {
  // each CPU's records in time order (the writer's deltas)
  const sorted = [...gens].sort((a, b) => a.ts - b.ts);
  await writeTraceDat(
    path,
    async (on) => {
      for (const g of sorted) on(asTraceEvent(g));
    },
    { cpus },
  );
}

/** Negative pids (an int32 common_pid) for trace.dat. */
const datPid = (g: Gen, neg: boolean): Gen => (neg && g.pid > 0 ? { ...g, pid: -g.pid } : g);

describe('trace.dat: the row path (FastPlan, PlainRows) against the general decode', () => {
  it('generated traces: the same events both ways, equal to the generated ones in time order', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        planArb,
        fc.boolean(),
        shown(async (plan, neg) => {
          const gens = generate(plan).map((g) => datPid(g, neg && g.pid % 3 === 0));
          const f = join(tmp, `gen-${n++}.dat`);
          await writeDat(f, gens, plan.cpus);
          const a = await inProcess(f);
          const b = datRows(f);
          assert.deepEqual(b.events, a.events);
          assert.deepEqual(b.stats, a.stats);
          const want = [...gens].sort((x, y) => x.ts - y.ts).map(datExpected);
          assert.deepEqual(a.events.map(noLine), want);
          rmSync(f);
        }),
      ),
      { seed: 0x5eed, numRuns: 60 },
    );
  });
});

// ---- Perfetto ----

type Field = Record<string, unknown>;

/** How one generic event's fields are rewritten (the decoded event stays the same but for `drop`). */
interface FieldMut {
  /** A rotation of the fields (the name's place changes too). */
  rotate: number;
  /** count ↔ request_count, pfn → start (read alike). */
  rename: boolean;
  /** Small numbers as int_value (else uint_value). */
  signed: boolean;
  /** The page pointer as text ("0x…", "(nil)"). */
  pageText: boolean;
  /** A field of a name cma-debug does not read, at this place (-1: none). */
  unknownAt: number;
  dropAlign: boolean;
  dropPage: boolean;
}

const fieldMutArb: fc.Arbitrary<FieldMut> = fc.record({
  rotate: fc.nat(7),
  rename: fc.boolean(),
  signed: fc.boolean(),
  pageText: fc.nat(3).map((n) => n === 0),
  unknownAt: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(6) }),
  dropAlign: fc.nat(5).map((n) => n === 0),
  dropPage: fc.nat(5).map((n) => n === 0),
});

const UNKNOWN = ['nr', 'counts', 'pfn_', 'align2', 'x', '', 'nr_pages', 'request'];

function rewrite(fields: Field[], m: FieldMut, i: number): Field[] {
  let out = fields.map((f) => ({ ...f }));
  if (m.dropAlign) out = out.filter((f) => f.name !== 'align');
  if (m.dropPage) out = out.filter((f) => f.name !== 'page');
  for (const f of out) {
    if (m.rename) {
      if (f.name === 'count') f.name = 'request_count';
      else if (f.name === 'request_count') f.name = 'count';
      else if (f.name === 'pfn') f.name = 'start';
    }
    const v = f.uintValue;
    if (m.signed && f.name !== 'page' && typeof v === 'number' && v < TWO53) {
      delete f.uintValue;
      f.intValue = v;
    }
    if (m.pageText && f.name === 'page') {
      const p = f.uintValue;
      delete f.uintValue;
      f.strValue =
        p === 0 || p === '0' ? (i % 2 === 0 ? '(nil)' : '0x0') : `0x${BigInt(p as string).toString(16)}`;
    }
  }
  if (m.unknownAt >= 0)
    out.splice(Math.min(m.unknownAt, out.length), 0, { name: UNKNOWN[i % UNKNOWN.length], uintValue: i });
  const r = m.rotate % out.length;
  return [...out.slice(r), ...out.slice(0, r)];
}

/** What the Perfetto trace holds of g (perfetto-writer.ts's fields, after `m`). */
function pfExpected(g: Gen, m: FieldMut | undefined, typedStart: boolean): Omit<Snap, 'line'> {
  const start = g.kind === 1;
  const typed = typedStart && start && g.availableCount < 0 && g.count < 2 ** 32;
  const big = g.count >= TWO53 && !typed;
  // (the process tree's pids are int32: a pid from 2^31 on is written negative, no match)
  const known = g.comm !== '<...>' && g.pid < 2 ** 31;
  let align = g.kind === 4 ? -1 : g.align;
  let hasPage = start ? false : g.hasPage;
  if (!typed && m?.dropAlign) align = -1;
  // (no page field: a cma_alloc_finish has none; only Android's cma_alloc is read by its pfn)
  if (!typed && !start && m?.dropPage) hasPage = false;
  return {
    kind: g.kind,
    pid: g.pid,
    cpu: g.cpu,
    ts: g.ts,
    name: g.name,
    count: g.count,
    align,
    pfn: start ? Number.NaN : g.pfn,
    hasPage,
    errorno: start ? null : g.errorno,
    availableCount: start && !typed ? g.availableCount : -1,
    totalCount: start && !typed && g.availableCount >= 0 ? g.totalCount : -1,
    comm: g.pid === 0 ? '<idle>' : known ? g.comm : '<...>',
    countBig: big ? BigInt(g.count) : null,
    nrMigrated: 0,
    errIso: 0,
    errMig: 0,
    errTest: 0,
  };
}

interface PfPlan {
  plan: Plan;
  fieldMuts: FieldMut[];
  genericStarts: boolean;
  cycle: number;
  /** Events swapped with a later one up to this far (in file order). */
  shuffle: number;
  compressEvery: number;
  noise: boolean;
  chunks: number[];
  bigPids: boolean;
  /** Events in a row with the same field rewrite (one shape per kind). */
  run: number;
}

const pfPlanArb: fc.Arbitrary<PfPlan> = fc.record({
  plan: planArb,
  fieldMuts: fc.array(fieldMutArb, { minLength: 1, maxLength: 40 }),
  run: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 60 })),
  genericStarts: fc.boolean(),
  cycle: fc.integer({ min: 1, max: 120 }),
  shuffle: fc.nat(40),
  compressEvery: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 })),
  noise: fc.boolean(),
  chunks: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 4 }),
  bigPids: fc.boolean(),
});

/** The events in a file order out of time order (each swapped with one up to `far` later). */
function disorder<T>(xs: T[], far: number, seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length && far > 0; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = Math.min(out.length - 1, i + (s % (far + 1)));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('Perfetto: the row path and the shaped generic events against the general decode', () => {
  it('generated traces: the same events both ways, equal to the generated ones in time order', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        pfPlanArb,
        shown(async (pp) => {
          // pids up to 2^32 - 1 (FtraceEvent.pid is a uint32)
          const gens = generate(pp.plan).map((g) =>
            pp.bigPids && g.pid > 0 && g.pid % 3 === 0 ? { ...g, pid: 2 ** 32 - g.pid } : g,
          );
          // file order: out of time order, then spread over the CPUs by the writer (i % cpus)
          const file = disorder(gens, pp.shuffle, pp.plan.start).map((g, i) => ({
            ...g,
            cpu: i % pp.plan.cpus,
          }));
          const fileMut = file.map((_g, i) => pp.fieldMuts[Math.floor(i / pp.run) % pp.fieldMuts.length]!);
          const bytes = writePerfetto(file, {
            release: '6.12.0',
            cpus: pp.plan.cpus,
            cycle: pp.cycle,
            noise: pp.noise,
            genericStarts: pp.genericStarts,
            ...(pp.compressEvery > 0 ? { compressEvery: pp.compressEvery } : {}),
            fields: (fields, _e, i) => rewrite(fields, fileMut[i]!, i),
          });
          const f = join(tmp, `gen-${n++}.pftrace`);
          writeFileSync(f, bytes);
          const a = await inProcess(f);
          const b = perfettoRows(bytes, pp.chunks);
          assert.deepEqual(b.events, a.events);
          assert.deepEqual(b.stats, a.stats);
          assert.equal(a.stats.lateEvents, 0);
          const want = file
            .map((g, i) => pfExpected(g, fileMut[i], !pp.genericStarts))
            .sort((x, y) => x.ts - y.ts);
          assert.deepEqual(a.events.map(noLine), want);
          rmSync(f);
        }),
      ),
      { seed: 0x5eed, numRuns: 80 },
    );
  });
});

/** A replay's result, or its error's message. */
async function replayed(path: string, parallel: boolean): Promise<unknown> {
  try {
    return await replayTrace(fileSource(path), { parallel });
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('replay of generated binary traces: the same with the worker (row paths) and without', () => {
  it('trace.dat and Perfetto', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        planArb,
        fc.boolean(),
        shown(async (plan, perfetto) => {
          const t0 = performance.now();
          // areas inferred from the events: the kernel's own counts, pfns and area names
          const muts = plan.muts.map((m) => ({ ...m, count: undefined, name: undefined, pfnNone: false }));
          const gens = generate({ ...plan, muts });
          const f = join(tmp, `replay-${n++}.${perfetto ? 'pftrace' : 'dat'}`);
          if (perfetto) writeFileSync(f, writePerfetto(gens, { release: '6.12.0', cpus: plan.cpus }));
          else await writeDat(f, gens, plan.cpus);
          const x = await replayed(f, true);
          const y = await replayed(f, false);
          assert.deepEqual(x, y);
          if (process.env.DIFF_VERBOSE)
            console.error(
              'replay',
              gens.length,
              performance.now() - t0,
              JSON.stringify(y, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 150),
            );
          rmSync(f);
        }),
      ),
      { seed: 0x5eed, numRuns: 4 },
    );
  });
});
