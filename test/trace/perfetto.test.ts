// Perfetto traces written by an independent encoder (protobufjs + Perfetto's field numbers,
// perfetto-writer.ts) from the events of real kernels' recordings (the trace.dat fixtures):
// cma-debug decodes the same events, in timestamp order across CPUs, with the task names of
// the process tree and the kernel of system_info, plain, compressed_packets and gzip; replay
// gives the kernel's final state.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EV_FINISH, type TraceEvent } from '../../src/sources/trace/events.ts';
import { fileSource, memorySource } from '../../src/sources/trace/input.ts';
import { PerfettoReader } from '../../src/sources/trace/perfetto.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { type WEvent, wEvent, writePerfetto } from './perfetto-writer.ts';

const DIR = new URL('../fixtures/trace-dat/', import.meta.url);

async function eventsOf(src: Parameters<typeof readTraceEvents>[0]): Promise<WEvent[]> {
  const out: WEvent[] = [];
  await readTraceEvents(src, (e) => out.push(wEvent(e)));
  return out;
}

function area(k: string): {
  name: string;
  basePfn: number;
  count: number;
  orderPerBit: number;
  bitmap: string;
} {
  return JSON.parse(readFileSync(new URL(`${k}.area.json`, DIR), 'utf8'));
}

describe('Perfetto traces', () => {
  for (const k of ['6.1', '6.12', '7.3']) {
    it(`${k}: the events of the real recording, across 3 CPUs, plain / compressed / gzip`, async () => {
      const real = await eventsOf(fileSource(new URL(`${k}.dat`, DIR).pathname));
      const release = k === '6.1' ? '6.1.192-android14' : `${k}.0`;
      const plain = writePerfetto(real, { release, cpus: 3, noise: true });
      const packed = writePerfetto(real, { release, cpus: 3, compressEvery: 5 });
      for (const bytes of [plain, packed, gzipSync(plain)]) {
        const dir = mkdtempSync(join(tmpdir(), 'cma-pf-'));
        try {
          const f = join(dir, 'trace.pftrace');
          writeFileSync(f, bytes);
          const got = await eventsOf(fileSource(f));
          assert.equal(got.length, real.length);
          for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], real[i], `event ${i + 1}`);
          const a = area(k);
          const r = await replayTrace(fileSource(f), {
            areas: [{ name: a.name, basePfn: a.basePfn, count: a.count, orderPerBit: a.orderPerBit }],
          });
          assert.equal(r.format, 'perfetto');
          assert.equal(r.kernelRelease, release);
          assert.equal(r.mismatches, 0);
          assert.equal(r.areas[0]!.bitmapText, a.bitmap);
          assert.equal(r.otherLines, bytes === packed ? 0 : real.length + Math.ceil(real.length / 40));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    });
  }

  it("5.10 era: Android's cma_alloc_info after each finish; no system_info: --kernel-release", async () => {
    const real = (await eventsOf(fileSource(new URL('6.1.dat', DIR).pathname))).map((e) => ({
      ...e,
      nrMigrated: e.kind === EV_FINISH ? 3 : 0,
    }));
    const bytes = writePerfetto(real, { info: true, cpus: 2 });
    const a = area('6.1');
    const r = await replayTrace(memorySource(bytes), {
      areas: [{ name: a.name, basePfn: a.basePfn, count: a.count, orderPerBit: a.orderPerBit }],
      kernelRelease: '5.10.198',
    });
    assert.equal(r.kernelRelease, '5.10.198');
    assert.equal(r.mismatches, 0);
    assert.equal(r.infoEvents, real.filter((e) => e.kind === EV_FINISH).length);
    const failed = r.failures.filter((f) => f.class !== 'oversize');
    assert.ok(failed.length > 10);
    for (const f of failed) assert.deepEqual(f.info, { nrMigrated: 3, errIso: 0, errMig: 1, errTest: 0 });
    assert.equal(r.areas[0]!.bitmapText, a.bitmap);
  });

  it('a truncated Perfetto trace is a clear error', async () => {
    const real = await eventsOf(fileSource(new URL('6.12.dat', DIR).pathname));
    const bytes = writePerfetto(real, { release: '6.12.0' });
    await assert.rejects(
      readTraceEvents(memorySource(bytes.subarray(0, bytes.length - 7)), () => {}),
      /Perfetto trace: truncated/,
    );
  });

  it("a CPU's events out of order in its bundles: merged into timestamp order all the same", async () => {
    const real = await eventsOf(fileSource(new URL('7.3.dat', DIR).pathname));
    // distinct times 10 µs apart, each cycle of 40 written backwards: every event a CPU's
    // bundle adds is earlier than the ones it holds (it goes first in its queue)
    const timed = real.map((e, i) => ({ ...e, ts: 1000 + 10 * i }));
    const shuffled: WEvent[] = [];
    for (let at = 0; at < timed.length; at += 40) shuffled.push(...timed.slice(at, at + 40).reverse());
    for (const bytes of [
      writePerfetto(shuffled, { release: '7.3.0', cpus: 3, noise: true }),
      writePerfetto(shuffled, { release: '7.3.0', cpus: 5, compressEvery: 2, cycle: 7 }),
    ]) {
      const got: WEvent[] = [];
      const r = new PerfettoReader((e) => got.push(wEvent(e)));
      r.feed(bytes);
      r.end();
      assert.equal(got.length, timed.length);
      for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], timed[i], `event ${i + 1}`);
    }
  });

  it('an event later than the reorder window holds: replayed late and counted, not hidden', async () => {
    // 20,000 finishes in time order, then one whose timestamp is before all of them: by the time
    // it arrives, ~3,600 later events have left the 16,384-event window
    const real = await eventsOf(fileSource(new URL('7.3.dat', DIR).pathname));
    const base = real.find((e) => e.kind === EV_FINISH)!;
    const events: WEvent[] = [];
    for (let i = 0; i < 20000; i++) events.push({ ...base, ts: 1000 + i });
    events.push({ ...base, ts: 500 });
    const got: number[] = [];
    const r = new PerfettoReader((e) => got.push(e.ts));
    const bytes = writePerfetto(events, { release: '7.3.0' });
    r.feed(bytes);
    const stats = r.end();
    assert.equal(got.length, events.length);
    assert.equal(stats.lateEvents, 1);
    assert.equal(got.indexOf(500), 20000 - 16384);
    // the replay says so
    const a = area('7.3');
    const rep = await replayTrace(memorySource(bytes), {
      areas: [{ name: a.name, basePfn: a.basePfn, count: a.count, orderPerBit: a.orderPerBit }],
    });
    assert.equal(rep.lateEvents, 1);
    // without areas: the replay's request for them (thrown from its onEvent once events leave
    // the window) is not mistaken for a corrupt packet
    const inferred = await replayTrace(memorySource(bytes));
    assert.equal(inferred.areaSource, 'inferred');
    assert.equal(inferred.events, events.length);
    // in order within the window: nothing counted
    const inWindow = new PerfettoReader(() => {});
    inWindow.feed(writePerfetto([...events.slice(0, 1000), { ...base, ts: 500 }], { release: '7.3.0' }));
    assert.equal(inWindow.end().lateEvents, 0);
  });

  it('generic events whose fields change from one to the next: each decoded as written', async () => {
    // (the reader learns each kind's layout and reads later events by it while they match)
    const real = await eventsOf(fileSource(new URL('6.12.dat', DIR).pathname));
    const varied = real.map((e, i): WEvent => {
      if (e.kind === 1 || e.kind === 3) return e;
      switch (i % 7) {
        case 1:
          return { ...e, errorno: 0 };
        case 2:
          return { ...e, errorno: -16, pfn: -1, hasPage: false };
        case 3:
          return { ...e, count: 2 ** 53 + 2 };
        case 4:
          return { ...e, name: `${e.name}-other` };
        case 5:
          return { ...e, errorno: null };
        default:
          return e;
      }
    });
    assert.ok(varied.filter((e) => e.kind === 2 || e.kind === 4).length > 300);
    for (const bytes of [
      writePerfetto(varied, { release: '6.12.0', cpus: 2, noise: true }),
      writePerfetto(varied, { release: '6.12.0', cpus: 1, compressEvery: 4 }),
    ]) {
      const got: WEvent[] = [];
      const r = new PerfettoReader((e) => got.push(wEvent(e)));
      r.feed(bytes);
      r.end();
      assert.equal(got.length, varied.length);
      for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], varied[i], `event ${i + 1}`);
    }
  });

  it('fed in chunks of any size (packets and headers cut anywhere): the same events', async () => {
    const real = await eventsOf(fileSource(new URL('7.3.dat', DIR).pathname));
    for (const bytes of [
      writePerfetto(real, { release: '7.3.0', cpus: 3, noise: true }),
      writePerfetto(real, { release: '7.3.0', cpus: 2, compressEvery: 3 }),
    ]) {
      const whole: string[] = [];
      const key = (e: TraceEvent) =>
        JSON.stringify([e.kind, e.line, e.pid, e.cpu, e.ts, e.name, e.count, e.pfn]);
      const a = new PerfettoReader((e) => whole.push(key(e)));
      a.feed(bytes);
      const sa = a.end();
      // chunk sizes from 1 byte up, the reader's input buffer reused (overwritten) after each feed
      let seed = 7;
      const scratch = new Uint8Array(4096);
      for (let round = 0; round < 3; round++) {
        const got: string[] = [];
        const r = new PerfettoReader((e) => got.push(key(e)));
        for (let at = 0; at < bytes.length; ) {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          const n = Math.min(bytes.length - at, 1 + (seed % (round === 0 ? 7 : round === 1 ? 300 : 4096)));
          scratch.set(bytes.subarray(at, at + n));
          r.feed(scratch.subarray(0, n));
          scratch.fill(0xee);
          at += n;
        }
        assert.deepEqual(r.end(), sa);
        assert.deepEqual(got, whole);
      }
      assert.ok(whole.length > 700);
    }
  });
});
