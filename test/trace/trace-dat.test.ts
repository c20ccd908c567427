// trace.dat (v6 and v7, zstd and uncompressed) recorded with trace-cmd on real 6.1, 6.12 and
// 7.3 kernels, and the zstd files transcoded to zlib (test/fixtures/trace-dat/README.md): every cma event decodes to what
// `trace-cmd report` printed, field by field, and replay gives the kernel's final bitmap and the
// same result as replaying the report's text.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { detectFormat } from '../../src/sources/trace/detect.ts';
import type { TraceEvent } from '../../src/sources/trace/events.ts';
import { fileSource, memorySource } from '../../src/sources/trace/input.ts';
import { parseTraceText } from '../../src/sources/trace/parse.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { memoryByteSource, readTraceDatInfo } from '../../src/sources/trace/trace-dat.ts';
import { zstdToZlib } from '../fixtures/trace-dat/zstd-to-zlib.ts';
import { wEvent } from './perfetto-writer.ts';

const DIR = new URL('../fixtures/trace-dat/', import.meta.url);
const KERNELS = ['6.1', '6.12', '7.3'] as const;
const VARIANTS = ['', '-v7-zstd', '-v7-none', '-v7-zlib'] as const;
const FORMATS = {
  '': 'trace.dat v6',
  '-v7-zstd': 'trace.dat v7 (zstd)',
  '-v7-none': 'trace.dat v7',
  '-v7-zlib': 'trace.dat v7 (zlib)',
} as const;

type Row = Record<string, unknown>;

function row(e: TraceEvent): Row {
  return { ...wEvent(e), cpu: e.cpu };
}

async function decode(
  path: string,
): Promise<{ rows: Row[]; stats: Awaited<ReturnType<typeof readTraceEvents>> }> {
  const rows: Row[] = [];
  const stats = await readTraceEvents(fileSource(path), (e) => rows.push(row(e)));
  return { rows, stats };
}

function area(k: string): {
  name: string;
  basePfn: number;
  count: number;
  orderPerBit: number;
  used: number;
  maxchunk: number;
  bitmap: string;
} {
  return JSON.parse(readFileSync(new URL(`${k}.area.json`, DIR), 'utf8'));
}

describe('trace.dat from real kernels', () => {
  for (const k of KERNELS) {
    const report = readFileSync(new URL(`${k}.report.txt`, DIR));
    const expected: Row[] = [];
    parseTraceText(report, (e) => expected.push(row(e)));
    for (const v of VARIANTS) {
      it(`${k}${v}: the events equal trace-cmd report's, field by field`, async () => {
        const { rows, stats } = await decode(new URL(`${k}${v}.dat`, DIR).pathname);
        assert.ok(expected.length > 700);
        assert.equal(rows.length, expected.length);
        for (let i = 0; i < rows.length; i++) assert.deepEqual(rows[i], expected[i], `event ${i + 1}`);
        assert.equal(stats.format, FORMATS[v]);
        assert.equal(stats.kernelRelease?.split('.').slice(0, 2).join('.'), k);
        assert.equal(stats.otherLines, 1); // sched_process_exec
        assert.equal(stats.lostEvents, 0);
      });
    }
    it(`${k}: replay of the trace.dat = the kernel's final state = replay of the report text`, async () => {
      const a = area(k);
      const spec = [{ name: a.name, basePfn: a.basePfn, count: a.count, orderPerBit: a.orderPerBit }];
      const bin = await replayTrace(fileSource(new URL(`${k}-v7-zstd.dat`, DIR).pathname), { areas: spec });
      const txt = await replayTrace(memorySource(report), { areas: spec });
      assert.equal(bin.mismatches, 0);
      assert.equal(bin.anomalies, 0);
      const ar = bin.areas[0]!;
      assert.equal(ar.used, a.used);
      assert.equal(ar.maxchunk, a.maxchunk);
      assert.equal(ar.bitmapText, a.bitmap);
      for (const key of ['events', 'allocStarts', 'allocs', 'failedBy', 'releases', 'mismatches'] as const)
        assert.deepEqual(bin[key], txt[key], key);
      assert.equal(ar.bitmapSha256, txt.areas[0]!.bitmapSha256);
      // latency: start → successful finish of the same pid, from the report's rows
      const lat: number[] = [];
      const startOf = new Map<number, number>();
      for (const e of expected) {
        if (e.kind === 1) startOf.set(e.pid as number, e.ts as number);
        else if (e.kind === 2 && e.hasPage && e.errorno !== -12 && e.errorno !== -16)
          lat.push((e.ts as number) - startOf.get(e.pid as number)!);
      }
      lat.sort((x, y) => x - y);
      assert.deepEqual(bin.areas[0]!.latencyUs, txt.areas[0]!.latencyUs);
      assert.equal(ar.latencyUs?.count, ar.allocsOk);
      assert.equal(ar.latencyUs?.max, lat.at(-1));
      assert.equal(ar.latencyUs?.p50, lat[Math.ceil(lat.length / 2) - 1]);
      assert.equal(bin.format, 'trace.dat v7 (zstd)');
      assert.equal(txt.format, 'text');
    });
  }

  it('7.3: failures print page=(nil) pfn=0x0 errorno=-16 and are failures, not placements at pfn 0', async () => {
    const report = readFileSync(new URL('7.3.report.txt', DIR), 'utf8');
    assert.match(report, /pfn=0x0 page=\(nil\) count=\d+ align=\d+ errorno=-16/);
    const r = await replayTrace(report, {
      areas: [{ name: 'reserved', basePfn: 125440, count: 4096, orderPerBit: 0 }],
    });
    assert.equal(r.mismatches, 0);
    assert.ok(r.allocs.failed > 50);
    assert.equal(
      r.allocations.every((x) => x.pfn >= 125440),
      true,
    );
  });

  it('a gzip of a trace.dat and a trace.dat in memory read the same', async () => {
    const raw = readFileSync(new URL('6.12.dat', DIR));
    const dir = mkdtempSync(join(tmpdir(), 'cma-dat-'));
    try {
      const gz = join(dir, 't.dat.gz');
      writeFileSync(gz, gzipSync(raw));
      const a = await decode(new URL('6.12.dat', DIR).pathname);
      const b = await decode(gz);
      const c: Row[] = [];
      await readTraceEvents(memorySource(raw), (e) => c.push(row(e)));
      assert.deepEqual(b.rows, a.rows);
      assert.deepEqual(c, a.rows);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the zlib files: every section and CPU chunk is zlib, transcoded from the zstd recording', () => {
    for (const k of KERNELS) {
      const zlib = new Uint8Array(readFileSync(new URL(`${k}-v7-zlib.dat`, DIR)));
      const info = readTraceDatInfo(memoryByteSource(zlib));
      assert.equal(info.version, 7);
      assert.equal(info.compression, 'zlib');
      assert.ok(info.compressedData);
      // no zstd frame left (magic 28 b5 2f fd), and zlib streams (78 da: best compression)
      const has = (b: Uint8Array, m: number[]) => b.some((_, i) => m.every((x, j) => b[i + j] === x));
      assert.ok(!has(zlib, [0x28, 0xb5, 0x2f, 0xfd]));
      assert.ok(has(zlib, [0x78, 0xda]));
      // the script that made them makes a file that decodes the same
      const again = zstdToZlib(new Uint8Array(readFileSync(new URL(`${k}-v7-zstd.dat`, DIR))));
      const a = readTraceDatInfo(memoryByteSource(again));
      assert.deepEqual([...a.cmdlines], [...info.cmdlines]);
      assert.deepEqual(
        a.cpus.map((c) => c.size),
        info.cpus.map((c) => c.size),
      );
    }
  });

  it('lost events marked in a page header are counted', async () => {
    const raw = new Uint8Array(readFileSync(new URL('6.1.dat', DIR)));
    const info = readTraceDatInfo(memoryByteSource(raw));
    const page = info.cpus[0]!.offset;
    const dv = new DataView(raw.buffer, raw.byteOffset);
    const commit = dv.getUint32(page + 8, true);
    const size = commit & ((1 << 27) - 1);
    assert.ok(size + 16 + 8 <= info.pageSize, 'room after the data for the count');
    // RB_MISSED_EVENTS | RB_MISSED_STORED, and the count after the data (a long)
    dv.setUint32(page + 8, (size | 0x80000000 | 0x40000000) >>> 0, true);
    dv.setUint32(page + 16 + size, 7, true);
    dv.setUint32(page + 16 + size + 4, 0, true);
    const all: Row[] = [];
    const stats = await readTraceEvents(memorySource(raw), (e) => all.push(row(e)));
    assert.equal(stats.lostEvents, 7);
    assert.equal(stats.lostEventPages, 1);
    assert.ok(all.length > 700);
  });

  it('a truncated trace.dat is a clear error', async () => {
    const raw = readFileSync(new URL('7.3-v7-zstd.dat', DIR)).subarray(0, 3000);
    await assert.rejects(
      readTraceEvents(memorySource(raw), () => {}),
      /trace\.dat is truncated/,
    );
  });
});

describe('format detection', () => {
  it('names the formats', () => {
    assert.equal(detectFormat(readFileSync(new URL('6.1.dat', DIR))).format, 'trace.dat');
    assert.equal(detectFormat(readFileSync(new URL('6.1.report.txt', DIR))).format, 'text');
    assert.equal(
      detectFormat(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0])).what,
      'an ELF executable or object',
    );
    assert.equal(detectFormat(new Uint8Array([0x0a, 0x03, 0x08, 0x96, 0x01])).format, 'perfetto');
  });

  it('binary data that is no trace: one clear error', async () => {
    const junk = new Uint8Array(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
    junk[0] = 0xf3;
    await assert.rejects(
      readTraceEvents(memorySource(junk, 'junk.bin'), () => {}),
      /junk\.bin is not a trace: it looks like binary data of an unknown format/,
    );
  });
});
