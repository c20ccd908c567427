// trace.dat and Perfetto decoders against crafted hostile files: huge declared sizes, truncated
// sections, zip bombs in zlib/zstd/deflate blocks, packets and fields that claim more bytes
// than there are. Each is a clear error naming the offset, refused before anything of the
// declared size is allocated (the limits are TRACE_DAT_MAX_BLOCK and PERFETTO_MAX_PACKET).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { PERFETTO_MAX_PACKET, readPerfettoStream } from '../../src/sources/trace/perfetto.ts';
import {
  memoryByteSource,
  readTraceDatInfo,
  TRACE_DAT_MAX_BLOCK,
  TraceDatError,
} from '../../src/sources/trace/trace-dat.ts';
import { readTraceDat } from '../../src/sources/trace/trace-dat-reader.ts';
import { writePerfetto } from '../trace/perfetto-writer.ts';

const FIX = join(import.meta.dirname, '../fixtures/trace-dat');
const v6 = readFileSync(join(FIX, '6.12.dat'));
const v7 = readFileSync(join(FIX, '6.12-v7-zstd.dat'));

/** Every cma event of a trace.dat in memory (throws what the reader throws). */
function readAll(bytes: Uint8Array): number {
  let n = 0;
  readTraceDat(memoryByteSource(bytes), () => {
    n++;
  });
  return n;
}

/** The v7 layout: the first options section and, along the chain, the sections options point at. */
function v7Layout(b: Buffer): { options: number; refs: { id: number; at: number; ref: number }[] } {
  let p = 18;
  p = b.indexOf(0, p) + 1; // compression name
  p = b.indexOf(0, p) + 1; // its version
  const options = Number(b.readBigUInt64LE(p));
  const refs: { id: number; at: number; ref: number }[] = [];
  let next = options;
  while (next !== 0) {
    let q = next + 16;
    const end = q + Number(b.readBigUInt64LE(next + 8));
    next = 0;
    while (q + 6 <= end) {
      const id = b.readUInt16LE(q);
      const size = b.readUInt32LE(q + 2);
      if (id === 0) {
        next = size >= 8 ? Number(b.readBigUInt64LE(q + 6)) : 0;
        break;
      }
      if (id === 16 || id === 18 || id === 21)
        refs.push({ id, at: q + 6, ref: Number(b.readBigUInt64LE(q + 6)) });
      q += 6 + size;
    }
  }
  return { options, refs };
}

const datError = (bytes: Uint8Array, re: RegExp) =>
  assert.throws(
    () => readAll(bytes),
    (e: unknown) => e instanceof TraceDatError && re.test((e as Error).message),
  );

describe('trace.dat: hostile files', () => {
  it('the fixtures read (the crafted files below are them, damaged)', () => {
    assert.ok(readAll(v6) > 0);
    assert.ok(readAll(v7) > 0);
  });

  it('every truncation of a v6 and a v7 file: a TraceDatError naming an offset, or fewer events', () => {
    for (const file of [v6, v7]) {
      const full = readAll(file);
      for (let cut = 0; cut < file.length; cut += Math.max(1, Math.floor(file.length / 97))) {
        try {
          assert.ok(readAll(file.subarray(0, cut)) <= full);
        } catch (e) {
          assert.ok(e instanceof TraceDatError, `cut at ${cut}: ${(e as Error).message}`);
          assert.match(
            (e as Error).message,
            /not a trace\.dat|offset \d+|no flyrecord|bad page size|version/,
          );
        }
      }
    }
  });

  it('a v7 section declaring 2^40 bytes: refused with its offset before any read of that size', () => {
    const b = Buffer.from(v7);
    const { options } = v7Layout(b);
    b.writeBigUInt64LE(2n ** 40n, options + 8);
    datError(
      b,
      new RegExp(
        `the section at offset ${options} declares 1099511627776 bytes, over the ${TRACE_DAT_MAX_BLOCK}-byte limit`,
      ),
    );
  });

  it('a v7 section running past the end of the file: truncated, with the offset and the file size', () => {
    const b = Buffer.from(v7);
    const { options } = v7Layout(b);
    b.writeBigUInt64LE(BigInt(b.length), options + 8);
    datError(
      b,
      new RegExp(
        `truncated: the section at offset ${options} declares ${b.length} bytes, the file ends at ${b.length}`,
      ),
    );
  });

  it('a compressed section declaring 4 GiB uncompressed: refused before allocating it', () => {
    const b = Buffer.from(v7);
    const { refs } = v7Layout(b);
    const comp = refs.map((r) => r.ref).find((at) => (b.readUInt16LE(at + 2) & 1) === 1);
    assert.ok(comp !== undefined, 'a compressed section in the fixture');
    b.writeUInt32LE(0xfffffff0, comp + 20);
    datError(
      b,
      new RegExp(`the zstd block at offset ${comp} declares 4294967280 bytes uncompressed, over the`),
    );
  });

  it('zip bombs: zlib and zstd blocks stop at the size they declare', () => {
    // 96 MiB of zeros as one zlib block that declares 1 MiB, appended as the section every option points at
    const bomb = deflateSync(Buffer.alloc(96 * 1024 * 1024));
    for (const alg of ['zlib', 'zstd'] as const) {
      const base = Buffer.from(v7);
      if (alg === 'zlib') base.write('zlib', 18, 'latin1'); // the same length as "zstd"
      const { refs } = v7Layout(base);
      const at = base.length;
      const sec = Buffer.alloc(16 + 8);
      sec.writeUInt16LE(16, 0);
      sec.writeUInt16LE(1, 2); // compressed
      sec.writeBigUInt64LE(BigInt(8 + bomb.length), 8);
      sec.writeUInt32LE(bomb.length, 16);
      sec.writeUInt32LE(1 << 20, 20);
      const b = Buffer.concat([base, sec, bomb]);
      for (const r of refs) b.writeBigUInt64LE(BigInt(at), r.at);
      const rss0 = process.memoryUsage().rss;
      datError(
        b,
        new RegExp(
          `the ${alg} block at offset ${at} (does not decompress to the 1048576 bytes it declares|decompressed to)`,
        ),
      );
      assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, 'the bomb was not inflated');
    }
  });

  it('v6 metadata declaring a huge header_page: truncated at its offset, not a read of the whole file', () => {
    const b = Buffer.from(v6);
    // the first header string after the initial header is "header_page\0" then its u64 size
    const at = b.indexOf('header_page\0', 0, 'latin1') + 12;
    b.writeBigUInt64LE(2n ** 50n, at);
    datError(b, new RegExp(`truncated at offset ${at + 8} \\(1125899906842624 bytes declared`));
    assert.throws(() => readTraceDatInfo(memoryByteSource(b)), TraceDatError);
  });
});

const ev = (i: number) => ({
  kind: 1,
  pid: 100 + i,
  ts: 1000 + i,
  name: 'reserved',
  count: 8,
  align: 0,
  pfn: -1,
  hasPage: false,
  errorno: null,
  availableCount: -1,
  totalCount: -1,
  comm: 'sh',
});

async function readPf(chunks: Uint8Array[]): Promise<number> {
  let n = 0;
  await readPerfettoStream(
    (async function* () {
      yield* chunks;
    })(),
    () => {
      n++;
    },
  );
  return n;
}

function chunked(b: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

/** A top-level Trace.packet (field 1, length-delimited) holding `body`. */
function packet(body: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from([0x0a]), varint(body.length), body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

describe('Perfetto: hostile files', () => {
  const good = writePerfetto([ev(0), ev(1), ev(2)], { release: '6.12.0' });

  it('a packet declaring 2^40 bytes: refused at its byte offset without buffering the file', async () => {
    const bad = Buffer.concat([good, Buffer.from([0x0a]), varint(2 ** 40), Buffer.alloc(1000)]);
    await assert.rejects(
      readPf(chunked(bad, 64)),
      new RegExp(
        `the packet at byte ${good.length} declares \\d+ bytes, over the ${PERFETTO_MAX_PACKET}-byte limit`,
      ),
    );
  });

  it('a packet longer than the rest of the file: truncated, naming where it starts', async () => {
    const bad = Buffer.concat([good, Buffer.from([0x0a]), varint(5000), Buffer.alloc(100)]);
    await assert.rejects(readPf(chunked(bad, 16)), /incomplete packet of 5003 bytes/);
  });

  it('a field longer than its packet: the packet is corrupt, at its byte offset', async () => {
    // TracePacket.ftrace_events (field 1) claiming 300 bytes inside a 10-byte packet
    const inner = Buffer.concat([Buffer.from([0x0a]), varint(300), Buffer.alloc(7)]);
    const bad = Buffer.concat([good, packet(inner)]);
    await assert.rejects(
      readPf([bad]),
      new RegExp(
        `a packet at byte ${good.length} is corrupt \\(field 1 declares 300 bytes, past the end of its packet\\)`,
      ),
    );
  });

  it('compressed_packets inflating past the limit, or nested in compressed packets: refused', async () => {
    const bomb = deflateSync(Buffer.alloc(PERFETTO_MAX_PACKET + 1024 * 1024));
    const field50 = (b: Uint8Array) => Buffer.concat([Buffer.from([0x92, 0x03]), varint(b.length), b]);
    const rss0 = process.memoryUsage().rss;
    await assert.rejects(
      readPf([packet(field50(bomb))]),
      /compressed packets inflate past the 67108864-byte limit/,
    );
    assert.ok(process.memoryUsage().rss - rss0 < 160 * 1024 * 1024);
    const nested = deflateSync(packet(field50(deflateSync(good))));
    await assert.rejects(
      readPf([packet(field50(nested))]),
      /compressed packets nested inside compressed packets/,
    );
  });

  it('a large packet arriving in many small chunks is read whole', async () => {
    // a 4 MiB padding field (TracePacket field 15 is unknown to the decoder: skipped) between events
    const big = packet(Buffer.concat([Buffer.from([0x7a]), varint(4 << 20), Buffer.alloc(4 << 20)]));
    const b = Buffer.concat([good, big, good]);
    assert.equal(await readPf(chunked(b, 4096)), 6);
  });
});
