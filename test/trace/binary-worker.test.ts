// Binary traces decoded on a worker thread (binary-worker.ts through startBinaryParse, as replay
// does for files of 8 MiB or more) give the same events, in the same order, with the same
// statistics as the same file decoded on the calling thread; the other events asked for (the
// migrate counts) come out of the same pass, equal to those of a separate read; a bad file is
// the same clear error either way.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { prestartBinaryParse, takePrestartedBinary } from '../../src/sources/trace/binary-prestart.ts';
import { EV_INFO } from '../../src/sources/trace/events.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { COST_EVENT_NAMES, type MmEvent } from '../../src/sources/trace/mm-events.ts';
import { readTraceDatMmEvents } from '../../src/sources/trace/mm-events-read.ts';
import { readPerfettoMmFile } from '../../src/sources/trace/perfetto.ts';
import { readTraceEvents, startBinaryParse } from '../../src/sources/trace/read-events.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { gunzippedByteSource } from '../../src/sources/trace/trace-dat.ts';
import { workerScript } from '../../src/sources/trace/worker-spawn.ts';
import { type EventSnap, eventSnap as snap, type WEvent, wEvent, writePerfetto } from './perfetto-writer.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAT = join(ROOT, 'test/fixtures/trace-dat');
const PINNED = join(ROOT, 'test/fixtures/pinned-pages/6.12-dat/trace.dat.gz');
const tmp = mkdtempSync(join(tmpdir(), 'cma-binworker-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Read {
  events: EventSnap[];
  mm: MmEvent[];
  release: string | null;
  stats: unknown;
}

const mmOf = (out: Read) => ({
  names: COST_EVENT_NAMES,
  onEvents: (events: readonly MmEvent[], release: string | null) => {
    out.mm.push(...events);
    out.release = release;
  },
});

async function here(path: string): Promise<Read> {
  const out: Read = { events: [], mm: [], release: null, stats: null };
  out.stats = await readTraceEvents(fileSource(path), (e) => out.events.push(snap(e)), { mm: mmOf(out) });
  return out;
}

async function onWorker(path: string, format: 'trace.dat' | 'perfetto', gzip: boolean): Promise<Read> {
  const out: Read = { events: [], mm: [], release: null, stats: null };
  out.stats = await startBinaryParse(path, format, gzip, { mm: mmOf(out) }).run((e) =>
    out.events.push(snap(e)),
  );
  return out;
}

/** Perfetto forms of a trace.dat fixture's events (3 CPUs, noise), written by protobufjs. */
async function perfettoForms(dat: string): Promise<[string, boolean][]> {
  const real: WEvent[] = [];
  await readTraceEvents(fileSource(dat), (e) => real.push(wEvent(e)));
  const plain = writePerfetto(real, { release: '6.12.0', cpus: 3, noise: true, info: true });
  const packed = writePerfetto(real, { release: '6.12.0', cpus: 3, compressEvery: 5, info: true });
  const files: [string, boolean][] = [];
  for (const [name, bytes, gz] of [
    ['plain.pftrace', plain, false],
    ['packed.pftrace', packed, false],
    ['plain.pftrace.gz', gzipSync(plain), true],
  ] as const) {
    const f = join(tmp, name);
    writeFileSync(f, bytes);
    files.push([f, gz]);
  }
  return files;
}

describe('binary traces decoded on a worker', () => {
  for (const name of ['6.1.dat', '6.12-v7-zstd.dat', '7.3-v7-none.dat']) {
    it(`${name}: the same events and statistics as on this thread`, async () => {
      const f = join(DAT, name);
      const a = await here(f);
      const b = await onWorker(f, 'trace.dat', false);
      assert.ok(a.events.length > 100);
      assert.deepEqual(b.events, a.events);
      assert.deepEqual(b.stats, a.stats);
    });
  }

  it('a gzip trace.dat with migrate counts: the counts come from the same pass, equal to a separate read', async () => {
    const a = await here(PINNED);
    const b = await onWorker(PINNED, 'trace.dat', true);
    assert.deepEqual(b.events, a.events);
    const bs = await gunzippedByteSource(PINNED);
    const separate = readTraceDatMmEvents(bs, COST_EVENT_NAMES);
    bs.close();
    assert.ok(separate.length > 1000);
    assert.deepEqual(a.mm, separate);
    assert.deepEqual(b.mm, separate);
    assert.equal(b.release, a.release);
    assert.match(String(b.release), /^6\.12\./);
  });

  it("Perfetto (plain, compressed_packets, gzip; Android's cma_alloc_info): the same events and counts", async () => {
    for (const [f, gz] of await perfettoForms(join(DAT, '6.12.dat'))) {
      const a = await here(f);
      const b = await onWorker(f, 'perfetto', gz);
      assert.ok(a.events.length > 100, f);
      assert.deepEqual(b.events, a.events, f);
      assert.deepEqual(b.stats, a.stats, f);
      // every cma_alloc_info (also a cma event, EV_INFO) is a cost event, and so is the
      // noise's mm_alloc_contig_migrate_range_info
      const infos = a.events.filter((e) => e.kind === EV_INFO).length;
      assert.ok(infos > 100, f);
      assert.equal(a.mm.filter((e) => e.event === 'cma_alloc_info').length, infos, f);
      assert.deepEqual(b.mm, a.mm, f);
      // (in file order here; the separate read sorts them by time)
      const separate = await readPerfettoMmFile(f, COST_EVENT_NAMES);
      const sorted = [...b.mm].sort((x, y) => x.time - y.time || x.line - y.line);
      assert.deepEqual(
        sorted.map((e) => [e.pid, e.time, e.event, e.fields]),
        separate.map((e) => [e.pid, e.time, e.event, e.fields]),
        f,
      );
      assert.equal(b.release, '6.12.0');
    }
  });

  it('Perfetto task names longer than a batch cell (multi-byte UTF-8): the same events on the worker', async () => {
    const real: WEvent[] = [];
    await readTraceEvents(fileSource(join(DAT, '6.12.dat')), (e) => real.push(wEvent(e)));
    // every third task gets a 15-character name of 2-byte characters (30 bytes)
    const named = real.map((e) => (e.pid % 3 === 0 ? { ...e, comm: 'ÄÖÜäöüßÉÈÊéèêÀà' } : e));
    const f = join(tmp, 'long-comms.pftrace');
    writeFileSync(f, writePerfetto(named, { release: '6.12.0', cpus: 3 }));
    const a = await here(f);
    const b = await onWorker(f, 'perfetto', false);
    assert.equal(a.events.length, real.length);
    assert.ok(a.events.filter((e) => e.comm === 'ÄÖÜäöüßÉÈÊéèêÀà').length > 10);
    assert.deepEqual(b.events, a.events);
    assert.deepEqual(b.stats, a.stats);
  });

  it('started early (bin/cma-debug.js): taken only for the same file, format and events; the same events', async () => {
    const dat = join(DAT, '6.12.dat');
    const [pf] = await perfettoForms(dat);
    const names = [...COST_EVENT_NAMES];
    const script = workerScript('binary-worker');
    // a text trace is not for this worker
    const text = join(tmp, 'some.trace');
    writeFileSync(text, '# tracer: nop\n');
    assert.equal(prestartBinaryParse(text, script, names, 0), false);
    // not taken for other events, another format or another file (and then stopped)
    assert.equal(prestartBinaryParse(dat, script, names, 0), true);
    assert.equal(takePrestartedBinary(dat, 'trace.dat', false, 4, ['cma_alloc_info']), null);
    assert.equal(prestartBinaryParse(dat, script, names, 0), true);
    assert.equal(takePrestartedBinary(dat, 'perfetto', false, 4, names), null);
    assert.equal(prestartBinaryParse(dat, script, names, 0), true);
    assert.equal(takePrestartedBinary(pf![0], 'trace.dat', false, 4, names), null);
    assert.equal(prestartBinaryParse(dat, script, names, 0), true);
    const taken = takePrestartedBinary(dat, 'trace.dat', false, 4, names);
    assert.ok(taken !== null);
    assert.equal(taken.surplus, 4);
    await taken.spawned.worker.terminate();
    // taken by startBinaryParse: the events, counts and statistics of a read on this thread
    for (const [f, format] of [
      [dat, 'trace.dat'],
      [pf![0], 'perfetto'],
    ] as const) {
      assert.equal(prestartBinaryParse(f, script, names, 0), true);
      const a = await here(f);
      const b = await onWorker(f, format, false);
      assert.deepEqual(b.events, a.events, f);
      assert.deepEqual(b.mm, a.mm, f);
      assert.deepEqual(b.stats, a.stats, f);
      assert.equal(takePrestartedBinary(f, format, false, 4, names), null, 'taken once');
    }
  });

  it('replay with the worker (parallel: true) and without gives the same result', async () => {
    const a = JSON.parse(readFileSync(join(DAT, '7.3.area.json'), 'utf8'));
    const areas = [{ name: a.name, basePfn: a.basePfn, count: a.count, orderPerBit: a.orderPerBit }];
    for (const f of [join(DAT, '7.3.dat'), join(DAT, '7.3-v7-zstd.dat')]) {
      const x = await replayTrace(fileSource(f), { areas, parallel: true });
      const y = await replayTrace(fileSource(f), { areas, parallel: false });
      assert.deepEqual(x, y);
      assert.equal(x.areas[0]!.bitmapText, a.bitmap);
    }
  });

  it('a damaged file is the same clear error on the worker', async () => {
    const bytes = readFileSync(join(DAT, '6.12-v7-zstd.dat'));
    const f = join(tmp, 'cut.dat');
    writeFileSync(f, bytes.subarray(0, bytes.length - 3000));
    const here1 = await readTraceEvents(fileSource(f), () => {}).catch((e: Error) => e.message);
    const there = await startBinaryParse(f, 'trace.dat', false)
      .run(() => {})
      .catch((e: Error) => e.message);
    assert.match(String(here1), /trace\.dat/);
    assert.equal(there, here1);
  });
});
