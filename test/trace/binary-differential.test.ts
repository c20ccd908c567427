// Property-based differential tests of the binary readers' fast paths. Event sequences start
// from the real events of the trace.dat fixtures and are mutated (pids large and negative,
// task names of 0–20 characters incl. multi-byte ones over 16 bytes, area names of many
// lengths, counts around and above 2^53, errorno present or not, 7.x count fields, no page,
// equal and out-of-order timestamps across up to 64 CPUs, generic events whose fields are
// added, dropped, reordered, renamed or change value type between consecutive events, tasks
// renamed by process tree packets mid-trace), written by the independent writers
// (bench/write-trace-dat.ts, test/trace/perfetto-writer.ts) and read two ways: in-process
// (readTraceEvents: event objects, the general decode) and through the worker's row path (the
// readers' `rows`, a BatchEncoder, decoded back by BatchDecoder: trace.dat's FastPlan/PlainRows,
// Perfetto's shaped generic events and rows put straight into the batch). Both must give the
// same events field by field, equal to the generated ones in timestamp order (Perfetto: beyond
// the reorder window, as a model of the window lets them through, the late ones counted).
// The real kernels' own trace.dat files (6.1, 6.12, 7.3; v6 and v7) with their cma records'
// field bytes rewritten in place are read both ways too, and a replay gives the same result
// with the worker and without; so do the files with their format files' field sizes and
// signedness changed (as a 32-bit kernel writes them, or where the batch-row plan does not
// apply), and Perfetto generic events in layouts protobufjs does not write (hand-encoded: the
// value before the name, values repeated, unknown parts, the event name among the fields).
// Fixed seeds; ~6 s.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { writeTraceDat } from '../../bench/write-trace-dat.ts';
import { EV_INFO, KIND_BY_NAME, type TraceEvent } from '../../src/sources/trace/events.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { recordType, typeFieldOf } from '../../src/sources/trace/mm-events-read.ts';
import { BatchDecoder } from '../../src/sources/trace/parallel.ts';
import { BatchEncoder, type BatchMessage } from '../../src/sources/trace/parallel-format.ts';
import type { ParseStats } from '../../src/sources/trace/parse.ts';
import { PerfettoReader } from '../../src/sources/trace/perfetto.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import {
  fileByteSource,
  MergedRecords,
  memoryByteSource,
  readTraceDatInfo,
} from '../../src/sources/trace/trace-dat.ts';
import { readTraceDat } from '../../src/sources/trace/trace-dat-reader.ts';
import {
  type EventSnap as Snap,
  eventSnap as snap,
  type WEvent,
  wEvent,
  writePerfetto,
} from './perfetto-writer.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAT = join(ROOT, 'test/fixtures/trace-dat');
const tmp = mkdtempSync(join(tmpdir(), 'cma-bindiff-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

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
    // (0: the same µs as the previous event, on its CPU or another)
    { weight: 2, arbitrary: fc.constant(0) },
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
          // (ties: the lower CPU first, as trace-cmd report merges)
          const want = [...gens].sort((x, y) => x.ts - y.ts || x.cpu - y.cpu).map(datExpected);
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
function pfExpected(
  g: Gen,
  m: FieldMut | undefined,
  typedStart: boolean,
  renamed?: ReadonlyMap<number, string>,
): Omit<Snap, 'line'> {
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
    // (a task renamed mid-trace: its events leave the window after the rename, at the end)
    comm: g.pid === 0 ? '<idle>' : (renamed?.get(g.pid) ?? (known ? g.comm : '<...>')),
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
  /** Tasks renamed (a process tree packet) before the cycle of event `at`: the pid of event `who`. */
  renames: { at: number; who: number; name: string }[];
  /** Android's typed cma_alloc_info after each finish (compared both ways only). */
  info: boolean;
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
  renames: fc.array(fc.record({ at: fc.nat(200), who: fc.nat(200), name: commArb }), { maxLength: 6 }),
  info: fc.nat(3).map((n) => n === 0),
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
            info: pp.info,
            genericStarts: pp.genericStarts,
            ...(pp.compressEvery > 0 ? { compressEvery: pp.compressEvery } : {}),
            fields: (fields, _e, i) => rewrite(fields, fileMut[i]!, i),
            before: (at) => {
              const threads = pp.renames
                .filter((r) => r.at % file.length >= at && r.at % file.length < at + pp.cycle)
                .map((r) => ({ tid: file[r.who % file.length]!.pid, name: r.name, tgid: 1 }));
              return threads.length > 0 ? [{ processTree: { threads } }] : [];
            },
          });
          // the last name each renamed task got (pids from 2^31 on do not fit the packet's
          // int32; an empty name is no name)
          const renamed = new Map<number, string>();
          const cycleOf = (r: { at: number }): number => Math.floor((r.at % file.length) / pp.cycle);
          for (const r of [...pp.renames].sort((x, y) => cycleOf(x) - cycleOf(y))) {
            const pid = file[r.who % file.length]!.pid;
            if (pid !== 0 && pid < 2 ** 31 && r.name !== '') renamed.set(pid, r.name);
          }
          const f = join(tmp, `gen-${n++}.pftrace`);
          writeFileSync(f, bytes);
          const a = await inProcess(f);
          const b = perfettoRows(bytes, pp.chunks);
          assert.deepEqual(b.events, a.events);
          assert.deepEqual(b.stats, a.stats);
          assert.equal(a.stats.lateEvents, 0);
          // (the window merges by ns: the writer's are the µs plus i % 400; equal ns in the order
          // the reader meets them)
          const rank: number[] = [];
          for (const [k, i] of fileOrder(file.length, pp.plan.cpus, pp.cycle).entries()) rank[i] = k;
          const want = file
            .map(
              (g, i) => [pfExpected(g, fileMut[i], !pp.genericStarts, renamed), i % 400, rank[i]!] as const,
            )
            .sort((x, y) => x[0].ts - y[0].ts || x[1] - y[1] || x[2] - y[2])
            .map(([e]) => e);
          assert.deepEqual(a.events.filter((e) => e.kind !== EV_INFO).map(noLine), want);
          if (pp.info) assert.ok(a.events.length > want.length || !file.some((g) => g.kind === 2));
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
      { seed: 0x5eed, numRuns: 3 },
    );
  });
});

// ---- the real kernels' trace.dat files, their cma records' bytes rewritten in place ----

/** A rewrite of one field of a cma record (its bytes, in place: the record keeps its length). */
interface RecMut {
  field:
    | 'common_pid'
    | 'count'
    | 'request_count'
    | 'pfn'
    | 'page'
    | 'align'
    | 'errorno'
    | 'available_count'
    | 'name'
    | 'loc'
    | 'none';
  value: bigint;
  /** Bytes written over the area name (NULs, newlines, spaces, bytes of no UTF-8 too). */
  bytes: number[];
}

const u64Arb = fc.oneof(
  fc.bigInt({ min: 0n, max: 1n << 20n }),
  fc.constantFrom(
    0n,
    1n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    1n << 32n,
    (1n << 53n) - 1n,
    1n << 53n,
    (1n << 53n) + 1n,
    (1n << 63n) + 5n,
    (1n << 64n) - 1n,
    (1n << 64n) - 2n,
  ),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);

const recMutArb: fc.Arbitrary<RecMut> = fc.record({
  field: fc.constantFrom(
    'common_pid',
    'count',
    'request_count',
    'pfn',
    'page',
    'align',
    'errorno',
    'available_count',
    'name',
    'loc',
    'none',
    'none',
  ),
  value: u64Arb,
  bytes: fc.array(
    fc.constantFrom(0x00, 0x0a, 0x20, 0x61, 0x63, 0x6d, 0x30, 0xc3, 0xa9, 0xe5, 0xad, 0x97, 0xff, 0x80),
    { maxLength: 12 },
  ),
});

/** `v` into the `size` bytes at `at` (truncated), in the file's byte order. */
function putUns(buf: Uint8Array, at: number, size: number, v: bigint, le: boolean): void {
  for (let k = 0; k < size; k++) {
    const byte = Number((v >> BigInt(8 * k)) & 0xffn);
    buf[le ? at + k : at + size - 1 - k] = byte;
  }
}

/** The uncompressed fixture `name` with each cma record rewritten by muts[i % muts.length]. */
/**
 * A field's size (1, 2, 4 or 8) or signedness in the cma event formats' text changed in place
 * (the same number of characters): the records are then read by other sizes, as on a 32-bit
 * kernel, or by FieldReader where the batch-row plan does not apply.
 */
interface FormatEdit {
  field: 'common_pid' | 'pfn' | 'page' | 'count' | 'align';
  size: 1 | 2 | 4 | 8;
  signed: boolean;
}

const formatEditArb: fc.Arbitrary<FormatEdit> = fc.record({
  field: fc.constantFrom('common_pid', 'pfn', 'page', 'count', 'align'),
  size: fc.constantFrom(1, 2, 4, 4, 8, 8),
  signed: fc.boolean(),
});

function editFormats(bytes: Uint8Array, edits: FormatEdit[]): void {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  for (const ed of edits) {
    // every cma event's field of that name (the common_pid of all events)
    const re = new RegExp(
      `field:[^;\\n]* \\*? ?${ed.field};\\toffset:\\d+;\\tsize:(\\d);\\tsigned:(\\d);`,
      'g',
    );
    for (const m of text.matchAll(re)) {
      const sizeAt = m.index + m[0].lastIndexOf('size:') + 5;
      const signedAt = m.index + m[0].lastIndexOf('signed:') + 7;
      bytes[sizeAt] = 0x30 + ed.size;
      bytes[signedAt] = ed.signed ? 0x31 : 0x30;
    }
  }
}

function rewriteRecords(name: string, muts: RecMut[], edits: FormatEdit[] = []): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(DAT, name)));
  editFormats(bytes, edits);
  // a memory source's pages are views of `bytes`: the records are rewritten where they are
  const src = memoryByteSource(bytes);
  const info = readTraceDatInfo(src);
  const le = info.littleEndian;
  const tf = typeFieldOf(info);
  const r = new MergedRecords(src, info);
  let i = 0;
  while (r.next()) {
    const fmt = info.events.get(recordType(r, tf, le));
    if (fmt === undefined || !KIND_BY_NAME.has(fmt.name)) continue;
    const m = muts[i++ % muts.length]!;
    const f = fmt.fields.find((x) => x.name === (m.field === 'loc' ? 'name' : m.field));
    if (f === undefined || f.offset + f.size > r.len) continue;
    const at = r.start + f.offset;
    if (m.field === 'name' || m.field === 'loc') {
      if (!f.dataLoc && !f.relLoc) continue;
      const loc = r.dv.getUint32(at, le);
      if (m.field === 'loc') {
        // the name's length or place changed: past the record, empty, or cut
        const len = Number(m.value % 70n);
        putUns(
          r.buf,
          at,
          4,
          BigInt(((loc & 0xffff) + (m.bytes.length % 3 === 0 ? 40 : 0)) | (len << 16)),
          le,
        );
      } else {
        const s = r.start + (loc & 0xffff) + (f.relLoc ? f.offset + f.size : 0);
        const n = Math.min(loc >>> 16, r.len - (s - r.start));
        for (let k = 0; k < Math.min(n, m.bytes.length); k++) r.buf[s + k] = m.bytes[k]!;
      }
    } else putUns(r.buf, at, f.size, m.value, le);
  }
  return bytes;
}

describe("trace.dat of real kernels (6.1, 6.12, 7.3; v6, v7), the cma records' bytes rewritten", () => {
  it('the same events and statistics in-process and through the row path', async () => {
    const files = [
      '6.1.dat',
      '6.12.dat',
      '7.3.dat',
      '6.1-v7-none.dat',
      '6.12-v7-none.dat',
      '7.3-v7-none.dat',
    ];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(files.length - 1),
        fc.array(recMutArb, { minLength: 1, maxLength: 60 }),
        shown(async (which, muts) => {
          const f = join(tmp, `rewritten-${n++}.dat`);
          writeFileSync(f, rewriteRecords(files[which]!, muts));
          const a = await inProcess(f);
          const b = datRows(f);
          assert.ok(a.events.length > 100);
          assert.deepEqual(b.events, a.events);
          assert.deepEqual(b.stats, a.stats);
          rmSync(f);
        }),
      ),
      { seed: 0x5eed, numRuns: 60 },
    );
  });

  it('fields of other sizes and signedness (as a 32-bit kernel writes them): the same events both ways', async () => {
    const files = ['6.1.dat', '6.12.dat', '7.3.dat', '6.12-v7-none.dat'];
    let n = 0;
    let edited = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(files.length - 1),
        fc.array(formatEditArb, { minLength: 1, maxLength: 4 }),
        fc.array(recMutArb, { minLength: 1, maxLength: 30 }),
        shown(async (which, edits, muts) => {
          const f = join(tmp, `resized-${n++}.dat`);
          const bytes = rewriteRecords(files[which]!, muts, edits);
          writeFileSync(f, bytes);
          const a = await inProcess(f);
          const b = datRows(f);
          assert.deepEqual(b.events, a.events);
          assert.deepEqual(b.stats, a.stats);
          const info = readTraceDatInfo(memoryByteSource(bytes));
          for (const ev of info.events.values())
            for (const x of ev.fields) if (x.name === edits[0]!.field && x.size === edits[0]!.size) edited++;
          rmSync(f);
        }),
      ),
      { seed: 0x5eed, numRuns: 40 },
    );
    // (the edits did reach the formats read)
    assert.ok(edited > 40);
  });
});

// ---- Perfetto: disorder beyond the reorder window ----

/** Cma events the reader holds for ordering (perfetto.ts WINDOW). */
const WINDOW = 1 << 14;

/**
 * The order events reach the reader in (perfetto-writer.ts: cycles of `cycle` events, each
 * cycle's bundles highest CPU first, event i on CPU i % cpus), as indices into `events`.
 */
function fileOrder(count: number, cpus: number, cycle: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < count; at += cycle)
    for (let c = cpus - 1; c >= 0; c--)
      for (let i = at; i < Math.min(at + cycle, count); i++) if (i % cpus === c) out.push(i);
  return out;
}

/**
 * A model of the reorder window: events arrive in `arrival` order; once more than WINDOW are
 * held, the earliest (by time, then arrival) goes out. Returns the emitted order and how many
 * went out after a later one (late).
 */
function windowModel(ts: number[], arrival: number[]): { order: number[]; late: number } {
  const held: number[] = [];
  const rank = new Map<number, number>();
  arrival.forEach((e, k) => void rank.set(e, k));
  const before = (a: number, b: number): boolean =>
    ts[a]! < ts[b]! || (ts[a] === ts[b] && rank.get(a)! < rank.get(b)!);
  const order: number[] = [];
  let last = -Infinity;
  let late = 0;
  const out = (): void => {
    const e = held.shift()!;
    if (ts[e]! < last) late++;
    else last = ts[e]!;
    order.push(e);
  };
  for (const e of arrival) {
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(held[mid]!, e)) lo = mid + 1;
      else hi = mid;
    }
    held.splice(lo, 0, e);
    if (held.length > WINDOW) out();
  }
  while (held.length > 0) out();
  return { order, late };
}

describe('Perfetto: events out of order beyond the reorder window', () => {
  it('both ways the events the window lets through, late ones counted (lateEvents)', async () => {
    let n = 0;
    let late = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          count: fc.integer({ min: WINDOW + 10, max: WINDOW + 6000 }),
          cpus: fc.integer({ min: 1, max: 4 }),
          cycle: fc.integer({ min: 1, max: 3000 }),
          /** Events written later than their time, and by how many places at most. */
          moved: fc.array(fc.tuple(fc.nat(WINDOW + 6000), fc.integer({ min: 1, max: WINDOW + 4000 })), {
            maxLength: 12,
          }),
          fixture: fc.nat(2),
          pids: fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 30 }),
        }),
        shown(async (c) => {
          const src = base[c.fixture]!;
          // distinct µs timestamps in time order, then some events moved later in the file
          const byTime: Gen[] = Array.from({ length: c.count }, (_, i) => {
            const e = { ...src[i % src.length]! };
            if (e.kind === EV_INFO) e.kind = 2;
            if (e.count >= 1.8e19) e.count = 2 ** 63;
            e.pid = c.pids[i % c.pids.length]!;
            e.comm = `task-${e.pid % 97}`;
            e.ts = 1000 + 3 * i;
            return e;
          });
          const written = [...byTime];
          for (const [from, by] of c.moved) {
            const at = from % written.length;
            const [e] = written.splice(at, 1);
            written.splice(Math.min(written.length, at + by), 0, e!);
          }
          const file = written.map((g, i) => ({ ...g, cpu: i % c.cpus }));
          const bytes = writePerfetto(file, { release: '7.3.0', cpus: c.cpus, cycle: c.cycle });
          const f = join(tmp, `window-${n++}.pftrace`);
          writeFileSync(f, bytes);
          const a = await inProcess(f);
          const b = perfettoRows(bytes, [65536]);
          assert.deepEqual(b.events, a.events);
          assert.deepEqual(b.stats, a.stats);
          const model = windowModel(
            file.map((g) => g.ts),
            fileOrder(file.length, c.cpus, c.cycle),
          );
          assert.equal(a.stats.lateEvents, model.late);
          late += model.late;
          assert.deepEqual(
            a.events.map(noLine),
            model.order.map((i) => pfExpected(file[i]!, undefined, true)),
          );
          rmSync(f);
        }),
      ),
      { seed: 0x5eed, numRuns: 4 },
    );
    // (the runs did go beyond the window)
    assert.ok(late > 0);
  });
});

// ---- Perfetto: generic events in layouts no protobuf library writes ----

/** A protobuf varint. */
function varint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? b | 0x80 : b);
  } while (x > 0n);
  return out;
}
const tagged = (field: number, wire: number): number[] => varint(BigInt(field * 8 + wire));
const lenField = (field: number, body: number[]): number[] => [
  ...tagged(field, 2),
  ...varint(BigInt(body.length)),
  ...body,
];
const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];

/** One GenericFtraceEvent.Field, its parts in the order given (and maybe a part no reader knows). */
interface RawField {
  name: string;
  value: { t: 'u' | 'i'; v: bigint } | { t: 's'; v: string };
  /** The value before the name. */
  valueFirst: boolean;
  /** An unknown part (field 9) after the value. */
  junk: boolean;
  /** The value twice (the second one read last). */
  twice: boolean;
}

const rawFieldArb: fc.Arbitrary<RawField> = fc.record({
  name: fc.constantFrom(
    'name',
    'pfn',
    'start',
    'page',
    'count',
    'request_count',
    'align',
    'errorno',
    'available_count',
    'total_count',
    'nr',
    'nam',
    'counts',
  ),
  value: fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('u' as const), v: u64Arb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('i' as const),
        v: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('s' as const), v: areaArb }) },
  ),
  valueFirst: fc.nat(7).map((n) => n === 0),
  junk: fc.nat(7).map((n) => n === 0),
  twice: fc.nat(9).map((n) => n === 0),
});

function rawField(f: RawField): number[] {
  const name = lenField(1, utf8(f.name));
  const one =
    f.value.t === 's'
      ? lenField(3, utf8(f.value.v))
      : [...tagged(f.value.t === 'i' ? 4 : 5, 0), ...varint(f.value.v)];
  const value = f.twice ? [...one, ...one] : one;
  const body = f.valueFirst ? [...value, ...name] : [...name, ...value];
  return lenField(2, f.junk ? [...body, ...tagged(9, 0), 1] : body);
}

interface RawEvent {
  event: string;
  fields: RawField[];
  /** Where the event name goes among the fields (past the end: last). */
  nameAt: number;
  ts: bigint;
  pid: number;
  /** pid before timestamp. */
  pidFirst: boolean;
}

const rawEventArb: fc.Arbitrary<RawEvent> = fc.record({
  event: fc.constantFrom(
    'cma_alloc_start',
    'cma_alloc_finish',
    'cma_alloc_busy_retry',
    'cma_release',
    'cma_alloc',
    'cma_alloc_info',
    'cma_alloc_fin',
  ),
  fields: fc.array(rawFieldArb, { maxLength: 8 }),
  nameAt: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(9) }),
  ts: fc.bigInt({ min: 0n, max: 1n << 45n }),
  pid: fc.nat(70000),
  pidFirst: fc.nat(7).map((n) => n === 0),
});

function rawEvent(e: RawEvent): number[] {
  const parts = e.fields.map(rawField);
  parts.splice(Math.min(e.nameAt, parts.length), 0, lenField(1, utf8(e.event)));
  const generic = lenField(327, parts.flat());
  const ts = [...tagged(1, 0), ...varint(e.ts)];
  const pid = [...tagged(2, 0), ...varint(BigInt(e.pid))];
  return lenField(2, e.pidFirst ? [...pid, ...ts, ...generic] : [...ts, ...pid, ...generic]);
}

describe('Perfetto: generic events in unusual layouts (value before name, repeated values, unknown parts)', () => {
  it('the same events in-process and through the row path (the shaped decode falls back)', async () => {
    let n = 0;
    let decoded = 0;
    await fc.assert(
      fc.asyncProperty(
        // events, and how many times each is repeated (one layout, other values: a shape learned)
        fc.array(fc.tuple(rawEventArb, fc.integer({ min: 1, max: 6 }), fc.array(u64Arb, { maxLength: 3 })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 8 }),
        shown(async (evs, cpus) => {
          const packets: number[][] = [];
          evs.forEach(([e, times, values], k) => {
            for (let t = 0; t < times; t++) {
              // the same layout with other numbers (the varints' widths change)
              const fields = e.fields.map((f, j) =>
                f.value.t === 'u' && values.length > 0
                  ? { ...f, value: { t: 'u' as const, v: values[(j + t) % values.length]! } }
                  : f,
              );
              const ev = rawEvent({ ...e, fields, ts: e.ts + BigInt(t * 1000) });
              packets.push(
                lenField(1, lenField(1, [...tagged(1, 0), ...varint(BigInt((k + t) % cpus)), ...ev])),
              );
            }
          });
          const bytes = new Uint8Array(packets.flat());
          const f = join(tmp, `raw-${n++}.pftrace`);
          writeFileSync(f, bytes);
          const a = await inProcess(f);
          const b = perfettoRows(bytes, [bytes.length]);
          assert.deepEqual(b.events, a.events);
          assert.deepEqual(b.stats, a.stats);
          decoded += a.events.length;
          rmSync(f);
        }),
      ),
      { seed: 0x5eed, numRuns: 150 },
    );
    // (most of them cma events)
    assert.ok(decoded > 1000, String(decoded));
  });
});
