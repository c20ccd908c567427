// The text parse worker's own work, without a worker or a replay: parses whole trace files the
// way parse-worker.ts does (TraceLineParser, the wasm scanner, a BatchEncoder whose batch buffers
// are handed straight back) and prints the time and a digest of everything the worker would post
// (the batches' numbers, task names, area names and extras, malformed lines, annotations, other
// events, stats). Two source trees give the same digests when their parsers agree.
//
//   node --import tsx bench/text-scan.ts [--root DIR] [--repeat N] [--digest] TRACE...
//
// --chunk: bytes read at a time (parse-worker.ts reads 1 MiB).
// --root: the checkout whose src/ to load (default: this one), e.g. a worktree of main to A/B.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
    repeat: { type: 'string', default: '1' },
    digest: { type: 'boolean', default: false },
    chunk: { type: 'string', default: String(1 << 20) },
  },
});
const root = resolve(values.root);
const src = (m: string): string => `${root}/src/sources/trace/${m}`;
const { TraceLineParser } = (await import(src('parse.ts'))) as typeof import('../src/sources/trace/parse.ts');
const { WasmScanner } = (await import(
  src('parse-wasm.ts')
)) as typeof import('../src/sources/trace/parse-wasm.ts');
const { BatchEncoder, COMM_BYTES, F } = (await import(
  src('parallel-format.ts')
)) as typeof import('../src/sources/trace/parallel-format.ts');
const { MM_EVENT_NAMES } = (await import(
  src('mm-events.ts')
)) as typeof import('../src/sources/trace/mm-events.ts');

const CHUNK = Number(values.chunk);

/** One parse of `path` as the worker does it; the digest of its output (or '' without --digest). */
function parse(path: string, digest: boolean): { ms: number; cpu: number; events: number; digest: string } {
  const h = digest ? createHash('sha256') : null;
  const put = (tag: string, v: unknown): void =>
    void h?.update(`${tag}${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}\n`);
  let events = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let spare: { buf: ArrayBuffer; commBuf: ArrayBuffer } | undefined;
  const enc = new BatchEncoder(
    (m) => {
      events += m.n;
      if (h !== null) {
        const f = new Float64Array(m.buf, 0, m.n * F);
        h.update(new Uint8Array(f.buffer, 0, m.n * F * 8));
        const cells = new Uint8Array(m.commBuf);
        for (let i = 0; i < m.n; i++) {
          const n = f[i * F + 6]!;
          if (n > 0) h.update(cells.subarray((i + 1) * COMM_BYTES - n, (i + 1) * COMM_BYTES));
        }
        put('b', [m.n, m.names, m.extras, m.bytes]);
      }
      spare = { buf: m.buf, commBuf: m.commBuf };
    },
    () => {
      const s = spare;
      spare = undefined;
      return s;
    },
  );
  let parser: InstanceType<typeof TraceLineParser>;
  parser = new TraceLineParser(() => enc.event(parser), {
    onAnnotation: (a) => {
      enc.flush();
      put('a', a);
    },
    onMalformed: (m) => {
      enc.flush();
      put('m', m);
    },
    otherEvents: { names: MM_EVENT_NAMES, onEvent: (e) => put('c', e) },
  });
  parser.setFastTarget(enc);
  const scanner = new WasmScanner(CHUNK, enc);
  parser.setBulkScanner(scanner);
  const fd = openSync(path, 'r');
  const buf = scanner.chunk;
  let pos = 0;
  for (;;) {
    const got = readSync(fd, buf, 0, buf.length, pos);
    if (got <= 0) break;
    pos += got;
    enc.bytes = pos;
    parser.feed(got === buf.length ? buf : buf.subarray(0, got));
  }
  closeSync(fd);
  const stats = parser.end();
  enc.flush();
  put('e', stats);
  const c = process.cpuUsage(c0);
  return {
    ms: performance.now() - t0,
    cpu: (c.user + c.system) / 1000,
    events,
    digest: h?.digest('hex') ?? '',
  };
}

for (const path of positionals) {
  let best = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  let last = { ms: 0, cpu: 0, events: 0, digest: '' };
  for (let i = 0; i < Number(values.repeat); i++) {
    last = parse(path, values.digest);
    best = Math.min(best, last.ms);
    cpu = Math.min(cpu, last.cpu);
  }
  console.log(
    `${best.toFixed(1)} ms (cpu ${cpu.toFixed(1)})  ${last.events} events  ${((best * 1e6) / Math.max(1, last.events)).toFixed(0)} ns/event  ${last.digest.slice(0, 16)}  ${path}`,
  );
}
