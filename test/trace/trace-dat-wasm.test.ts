// Differential tests of the trace.dat reader's WebAssembly fast path (trace-dat-wasm.ts,
// assembly/trace-dat-scan.ts) against its JavaScript path (MergedRecords, PlainRows and the
// general decode): readTraceDat's batch-row mode with `wasm` on and off must post the same
// batches (every number, task-name cell, name table and extra, batch by batch), the same mm
// events between them and the same statistics — or fail with the same error. Inputs: the real
// kernels' trace.dat fixtures (6.1, 6.12, 7.3; v6 and v7), generated traces on up to 64 CPUs
// (time extends, long records, long names, equal timestamps across CPUs), and both of those with
// their ring-buffer pages damaged (commit words with the missed-events bits and odd sizes, event
// headers turned into padding, time extends, absolute timestamps or long records, page
// timestamps near 2^53 and 2^59, random bytes). Fixed seeds.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { writeTraceDat } from '../../bench/write-trace-dat.ts';
import type { TraceEvent } from '../../src/sources/trace/events.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { MM_EVENT_NAMES, type MmEvent } from '../../src/sources/trace/mm-events.ts';
import { typeFieldOf } from '../../src/sources/trace/mm-events-read.ts';
import { BatchEncoder, COMM_BYTES, F } from '../../src/sources/trace/parallel-format.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import {
  type ByteSource,
  fileByteSource,
  memoryByteSource,
  readTraceDatInfo,
} from '../../src/sources/trace/trace-dat.ts';
import { readTraceDat } from '../../src/sources/trace/trace-dat-reader.ts';
import { wasmScannable } from '../../src/sources/trace/trace-dat-wasm.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAT = join(ROOT, 'test/fixtures/trace-dat');
const tmp = mkdtempSync(join(tmpdir(), 'cma-datwasm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const FIXTURES = ['6.1.dat', '6.12.dat', '7.3.dat', '6.1-v7-none.dat', '6.12-v7-none.dat', '7.3-v7-none.dat'];

/** Everything readTraceDat's row mode hands on, in order (or its error). */
function rowsOf(src: ByteSource, wasm: boolean, firstCap: number, mm: boolean): unknown {
  const out: unknown[] = [];
  const mmEvents: MmEvent[] = [];
  const enc = new BatchEncoder(
    (m) => {
      out.push({
        // the mm events before this batch (the worker posts them first)
        mmBefore: mmEvents.length,
        n: m.n,
        names: m.names,
        extras: m.extras,
        rows: Array.from(new Float64Array(m.buf, 0, m.n * F)),
        comm: Array.from(new Uint8Array(m.commBuf, 0, m.n * COMM_BYTES)),
      });
    },
    () => undefined,
    firstCap,
  );
  try {
    const stats = readTraceDat(src, (ev) => enc.event(ev), {
      rows: enc,
      wasm,
      ...(mm ? { mm: { names: MM_EVENT_NAMES, onEvent: (e: MmEvent) => void mmEvents.push(e) } } : {}),
    });
    enc.flush();
    return { out, mmEvents, stats };
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

function bothWays(bytes: Uint8Array, firstCap: number, mm: boolean): { js: unknown; wasm: unknown } {
  return {
    js: rowsOf(memoryByteSource(bytes), false, firstCap, mm),
    wasm: rowsOf(memoryByteSource(bytes), true, firstCap, mm),
  };
}

describe('trace.dat: the WebAssembly fast path against the JavaScript path', () => {
  it('the real kernels’ files (read from the file and from memory): the same batches, mm events and statistics', () => {
    for (const f of FIXTURES) {
      const path = join(DAT, f);
      for (const mm of [false, true]) {
        // (the fast path takes these files)
        const info = readTraceDatInfo(memoryByteSource(readFileSync(path)));
        assert.ok(wasmScannable(info, typeFieldOf(info)), f);
        const want = rowsOf(fileByteSource(path), false, 4, mm) as { out: { n: number }[]; stats: unknown };
        assert.ok(!('error' in want) && want.out.reduce((s, b) => s + b.n, 0) > 100, f);
        assert.deepEqual(rowsOf(fileByteSource(path), true, 4, mm), want, f);
        assert.deepEqual(
          rowsOf(memoryByteSource(readFileSync(path)), true, 256, mm),
          rowsOf(memoryByteSource(readFileSync(path)), false, 256, mm),
          f,
        );
      }
    }
  });

  it('generated traces on up to 64 CPUs (time extends, long records, equal timestamps)', async () => {
    const base: TraceEvent[] = [];
    await readTraceEvents(fileSource(join(DAT, '6.1.dat')), (e) => {
      base.push({
        ...e,
        comm: (
          (c) => () =>
            c
        )(e.comm()),
      } as TraceEvent);
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          cpus: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 64 })),
          events: fc.integer({ min: 1, max: 3000 }),
          from: fc.nat(500),
          gaps: fc.array(
            fc.oneof(
              { weight: 3, arbitrary: fc.constant(0) },
              { weight: 6, arbitrary: fc.integer({ min: 1, max: 2000 }) },
              { weight: 1, arbitrary: fc.integer({ min: 1, max: 600_000_000 }) },
            ),
            { minLength: 1, maxLength: 50 },
          ),
          longName: fc.nat(7),
          pids: fc.array(fc.integer({ min: -5, max: 70_000 }), { minLength: 1, maxLength: 20 }),
          firstCap: fc.constantFrom(1, 3, 256, 8192),
        }),
        async (p) => {
          const f = join(tmp, `gen-${n++}.dat`);
          let ts = 1_000_000;
          const evs = Array.from({ length: p.events }, (_, i) => {
            const e = base[(p.from + i) % base.length]!;
            ts += p.gaps[i % p.gaps.length]!;
            const pid = p.pids[i % p.pids.length]!;
            return {
              ...e,
              ts,
              cpu: (i * 7 + (i >> 3)) % p.cpus,
              pid,
              comm: () => (pid % 5 === 0 ? 'a-task-name-of-more-than-16' : `t${pid}`),
              name: i % 8 === p.longName ? `area-${'x'.repeat(100 + (i % 40))}` : e.name,
            } as TraceEvent;
          });
          await writeTraceDat(
            f,
            async (on) => {
              for (const e of evs) on(e);
            },
            { cpus: p.cpus },
          );
          const bytes = new Uint8Array(readFileSync(f));
          rmSync(f);
          const { js, wasm } = bothWays(bytes, p.firstCap, false);
          assert.ok(!Object.hasOwn(js as object, 'error'));
          assert.deepEqual(wasm, js);
        },
      ),
      { seed: 0xda7, numRuns: 40 },
    );
  });

  it('damaged ring-buffer pages: the same records, losses and errors both ways', async () => {
    const files = await Promise.all(
      [...FIXTURES.slice(0, 4).map((f) => join(DAT, f)), null].map(async (f) => {
        if (f !== null) return new Uint8Array(readFileSync(f));
        // a generated file on 8 CPUs with time extends
        const base: TraceEvent[] = [];
        await readTraceEvents(fileSource(join(DAT, '6.12.dat')), (e) => {
          base.push({
            ...e,
            comm: (
              (c) => () =>
                c
            )(e.comm()),
          } as TraceEvent);
        });
        const path = join(tmp, 'damage-base.dat');
        let ts = 5_000;
        await writeTraceDat(
          path,
          async (on) => {
            base.forEach((e, i) => {
              ts += i % 9 === 0 ? 200_000_000 : i % 3;
              on({ ...e, ts, cpu: i % 8 } as TraceEvent);
            });
          },
          { cpus: 8 },
        );
        return new Uint8Array(readFileSync(path));
      }),
    );
    const damage = fc.record({
      kind: fc.constantFrom('commit', 'size', 'header', 'ts', 'byte', 'byte'),
      page: fc.nat(10_000),
      at: fc.nat(4095),
      value: fc.nat(0xffffffff),
      typeLen: fc.constantFrom(0, 1, 2, 29, 30, 31, 28, 7),
      big: fc.constantFrom(0, 2 ** 53 - 1, 2 ** 53 + 4096, 2 ** 59 - 1000, 2 ** 59 + 5, 2 ** 63),
    });
    await fc.assert(
      fc.property(
        fc.nat(files.length - 1),
        fc.array(damage, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(2, 256),
        fc.boolean(),
        (which, damages, firstCap, mm) => {
          const bytes = files[which]!.slice();
          const info = readTraceDatInfo(memoryByteSource(bytes));
          const ps = info.pageSize;
          const pages: number[] = [];
          for (const c of info.cpus) for (let o = 0; o + ps <= c.size; o += ps) pages.push(c.offset + o);
          assert.ok(pages.length > 0);
          const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          for (const d of damages) {
            const pg = pages[d.page % pages.length]!;
            const at4 = pg + 16 + ((d.at & ~3) % (ps - 16));
            switch (d.kind) {
              case 'commit': {
                // events lost before this page, their number stored after the data (or not)
                const size = dv.getUint32(pg + 8, true) & ((1 << 27) - 1);
                dv.setUint32(pg + 8, (size | (d.value & 0xc0000000)) >>> 0, true);
                if (pg + 16 + size + 8 <= pg + ps)
                  dv.setBigUint64(pg + 16 + size, BigInt(d.value % 1000), true);
                break;
              }
              case 'size':
                dv.setUint32(pg + 8, d.value % (ps + 200), true);
                break;
              case 'header':
                dv.setUint32(at4, ((d.value << 5) | d.typeLen) >>> 0, true);
                if (at4 + 8 <= pg + ps) dv.setUint32(at4 + 4, d.value % 300, true);
                break;
              case 'ts':
                dv.setBigUint64(pg, BigInt(d.big + (d.value % 1000)), true);
                break;
              case 'byte':
                bytes[pg + (d.at % ps)] = d.value & 0xff;
                break;
            }
          }
          const { js, wasm } = bothWays(bytes, firstCap, mm);
          assert.deepEqual(wasm, js);
        },
      ),
      { seed: 0xbad, numRuns: 150 },
    );
  });
});
