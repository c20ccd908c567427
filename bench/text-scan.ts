// The text parse worker's own work, without a worker or a replay: parses whole trace files the
// way parse-worker.ts does (TraceLineParser, the wasm scanner, a BatchEncoder whose batch buffers
// come back after 4 others, as a replay hands them back) and prints the time and a digest of everything the worker would post
// (the batches' numbers, task names, area names and extras, malformed lines, annotations, other
// events, stats). Two source trees give the same digests when their parsers agree.
//
//   node --import tsx bench/text-scan.ts [--root DIR]... [--chunk BYTES]... [--repeat N] [--digest] TRACE...
//
// --root (repeatable): a checkout whose src/ to load (default: this one), e.g. a worktree of main
// to A/B; --chunk (repeatable): bytes read at a time (parse-worker.ts reads 1 MiB). Every
// root × chunk is run in turn, repeat times; each prints its fastest time and CPU time (and the
// CPU time's ratio to the first's).

import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
// the read loop is the workers' own (this tree's; the roots compared differ in the scan)
import { feedFile } from '../src/sources/trace/parallel-format.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    root: { type: 'string', multiple: true, default: [resolve(import.meta.dirname, '..')] },
    repeat: { type: 'string', default: '1' },
    digest: { type: 'boolean', default: false },
    chunk: { type: 'string', multiple: true, default: [String(1 << 20)] },
  },
});

/** The worker's parts, from one source tree. */
async function load(dir: string) {
  const src = (m: string): string => `${resolve(dir)}/src/sources/trace/${m}`;
  const { TraceLineParser } = (await import(
    src('parse.ts')
  )) as typeof import('../src/sources/trace/parse.ts');
  const { WasmScanner } = (await import(
    src('parse-wasm.ts')
  )) as typeof import('../src/sources/trace/parse-wasm.ts');
  const { BatchEncoder, COMM_BYTES, F } = (await import(
    src('parallel-format.ts')
  )) as typeof import('../src/sources/trace/parallel-format.ts');
  const { MM_EVENT_NAMES } = (await import(
    src('mm-events.ts')
  )) as typeof import('../src/sources/trace/mm-events.ts');
  return { TraceLineParser, WasmScanner, BatchEncoder, COMM_BYTES, F, MM_EVENT_NAMES };
}
type Parts = Awaited<ReturnType<typeof load>>;

/** One parse of `path` as the worker does it; the digest of its output (or '' without --digest). */
function parse(
  { TraceLineParser, WasmScanner, BatchEncoder, COMM_BYTES, F, MM_EVENT_NAMES }: Parts,
  chunk: number,
  path: string,
  digest: boolean,
): { ms: number; cpu: number; events: number; digest: string } {
  const h = digest ? createHash('sha256') : null;
  const put = (tag: string, v: unknown): void =>
    void h?.update(`${tag}${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}\n`);
  let events = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  // the batch buffers come back after MAX_INFLIGHT others (parallel.ts: 4 in flight), as in a replay
  const spare: { buf: ArrayBuffer; commBuf: ArrayBuffer }[] = [];
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
      spare.push({ buf: m.buf, commBuf: m.commBuf });
    },
    () => (spare.length >= 4 ? spare.shift() : undefined),
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
  const scanner = new WasmScanner(chunk, enc);
  parser.setBulkScanner(scanner);
  feedFile(path, 0, scanner.chunk, enc, (chunk) => parser.feed(chunk));
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

// every tree × chunk size, alternated run by run (a ratio measured in the same run)
const variants: { name: string; parts: Parts; chunk: number }[] = [];
for (const r of values.root)
  for (const c of values.chunk)
    variants.push({ name: `${r} chunk ${c}`, parts: await load(r), chunk: Number(c) });
for (const path of positionals) {
  const best = variants.map(() => ({
    ms: Number.POSITIVE_INFINITY,
    cpu: Number.POSITIVE_INFINITY,
    events: 0,
    digest: '',
  }));
  for (let i = 0; i < Number(values.repeat); i++)
    variants.forEach((v, j) => {
      const r = parse(v.parts, v.chunk, path, values.digest);
      const b = best[j]!;
      b.ms = Math.min(b.ms, r.ms);
      b.cpu = Math.min(b.cpu, r.cpu);
      b.events = r.events;
      b.digest = r.digest;
    });
  variants.forEach((v, j) => {
    const b = best[j]!;
    console.log(
      `${b.ms.toFixed(1)} ms (cpu ${b.cpu.toFixed(1)}, ${(b.cpu / best[0]!.cpu).toFixed(2)}x)  ${b.events} events  ${((b.cpu * 1e6) / Math.max(1, b.events)).toFixed(0)} ns/event  ${b.digest.slice(0, 16)}  ${path}  ${v.name}`,
    );
  });
}
