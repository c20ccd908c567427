// One measured replay, in its own process (bundled by bench/run.ts into .bench/replay-child.mjs so
// that start-up is plain node, as for a built cma-debug). Prints one JSON line on stdout.
//
//   node .bench/replay-child.mjs --impl indexed|plain --trace FILE --name N --base-pfn P
//        --count C --opb K [--engine trace|min] [--sync-read] [--micro] [--table]
//
// --engine trace (default) is the project's replay, replayTrace() of src/sources/trace (streaming
// byte parser + 6.1 replay engine, allocation table off). --engine min is bench/replay-min.ts, a
// bench-only minimal replayer kept to measure the cost of the replay loop itself.
//
// --micro additionally times `used`/`maxchunk` reads on the final state, through the core
// (cmaUsedPages/cmaMaxchunkPages of an emulated 6.1 system that owns the replayed bitmap) and
// through the debugfs files (sys.readFile).

import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { cmaMaxchunkPages, cmaUsedPages } from '../src/core/cma.ts';
import { type CmaBitmap, type CmaBitmapFactory, plainBitmapFactory } from '../src/core/cma-bitmap.ts';
import { createSystem } from '../src/core/create.ts';
import { indexedBitmapFactory } from '../src/core/indexed-bitmap.ts';
import { PROFILE_6_1 } from '../src/core/profile.ts';
import { formatU32Array } from '../src/core/u32-array.ts';
import { fileSource } from '../src/sources/trace/input.ts';
import { replayTrace } from '../src/sources/trace/replay.ts';
import { MinReplay } from './replay-min.ts';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

function vmHwmKb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

/** ns per call of fn in steady state: ~20 ms of untimed calls first, then enough to take ~50 ms. */
function timeCalls(fn: () => number): { nsPerCall: number; calls: number; value: number } {
  let sink = 0;
  const warm = process.hrtime.bigint() + 20_000_000n;
  while (process.hrtime.bigint() < warm) for (let i = 0; i < 64; i++) sink += fn();
  sink = 0;
  let calls = 0;
  let batch = 1;
  const t0 = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 50_000_000n) {
    for (let i = 0; i < batch; i++) sink += fn();
    calls += batch;
    batch = Math.min(batch * 2, 1 << 20);
    elapsed = process.hrtime.bigint() - t0;
  }
  return { nsPerCall: Number(elapsed) / calls, calls, value: sink / calls };
}

/** The file as 1 MiB chunks read synchronously (a fresh buffer per chunk). */
async function* syncChunks(path: string): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 20);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const impl = arg('impl');
  const trace = arg('trace');
  const area = {
    name: arg('name', 'reserved'),
    basePfn: Number(arg('base-pfn')),
    count: Number(arg('count')),
    orderPerBit: Number(arg('opb', '0')),
  };
  const maxEvents = Number(arg('max-events', 'Infinity'));
  const engine = arg('engine', 'trace');
  const micro = process.argv.includes('--micro');
  const base: CmaBitmapFactory = impl === 'plain' ? plainBitmapFactory : indexedBitmapFactory;

  // the system (only for --micro) owns the bitmap the replay fills
  const sys = micro
    ? createSystem({
        profile: '6.1',
        areas: [
          `name=${area.name},count=${area.count},base_pfn=${area.basePfn},order_per_bit=${area.orderPerBit}`,
        ],
        bitmapFactory: base,
      })
    : null;
  const sysBitmap: CmaBitmap | undefined = sys?.areas[0]?.area.ranges[0]?.bitmap;
  const factory: CmaBitmapFactory = sysBitmap ? () => sysBitmap : base;

  let made: CmaBitmap | undefined;
  const capture: CmaBitmapFactory = (maxno) => {
    made = factory(maxno);
    return made;
  };
  let result: Record<string, unknown>;
  let bytes = 0;
  if (engine === 'min') {
    const replay = new MinReplay(area, capture, maxEvents);
    const fd = openSync(trace, 'r');
    const buf = new Uint8Array(1 << 20);
    while (replay.wantsMore) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      bytes += n;
      replay.feed(buf.subarray(0, n));
    }
    closeSync(fd);
    result = { ...replay.end() };
  } else {
    // --sync-read: chunks read with readSync instead of fileSource's createReadStream (to measure
    // the stream's cost; the default is the project's own fileSource)
    const source = process.argv.includes('--sync-read') ? () => syncChunks(trace) : fileSource(trace);
    const r = await replayTrace(source, {
      areas: [area],
      bitmapFactory: capture,
      // --table: with the allocation table, as `cma-debug replay` builds it
      allocations: process.argv.includes('--table'),
    });
    const a = r.areas[0];
    result = {
      events: r.events,
      allocsOk: r.allocs.ok,
      allocsFailed: r.allocs.failed,
      busyRetries: r.busyRetries,
      releases: r.releases,
      mismatches: r.mismatches,
      anomalies: r.anomalies,
      malformed: r.malformed,
      engineUsed: a?.used,
      engineMaxchunk: a?.maxchunk,
      engineSha256: a?.bitmapSha256,
    };
  }
  const tReplay = performance.now();
  if (!made) throw new Error('the replay made no bitmap');

  const bm: CmaBitmap = made;
  const unit = 2 ** area.orderPerBit;
  const used = bm.weight() * unit;
  const maxchunk = bm.longestZeroRun() * unit;
  // the engine already hashed the debugfs text; the minimal replayer did not
  const bitmapSha256 =
    typeof result.engineSha256 === 'string'
      ? result.engineSha256
      : createHash('sha256').update(formatU32Array(bm.words, bm.words.length)).digest('hex');
  const tEnd = performance.now();

  const out: Record<string, unknown> = {
    impl,
    trace,
    engine,
    bytesRead: bytes,
    ...result,
    usedPages: used,
    maxchunkPages: maxchunk,
    bitmapSha256,
    replayMs: tReplay - t0,
    debugfsMs: tEnd - tReplay,
    mainMs: tEnd - t0,
    vmHwmKb: vmHwmKb(),
  };

  if (sys?.areas[0]) {
    const a = sys.areas[0].area;
    const dir = `/sys/kernel/debug/cma/${area.name}`;
    const readNum = (f: string): number => {
      const r = sys.readFile(`${dir}/${f}`);
      if (!r.ok) throw new Error(`read ${f}: ${r.errno}`);
      return Number(r.text);
    };
    if (readNum('used') !== used || readNum('maxchunk') !== maxchunk) throw new Error('debugfs disagrees');
    out.micro = {
      bitmapWeight: timeCalls(() => bm.weight()),
      bitmapLongestZeroRun: timeCalls(() => bm.longestZeroRun()),
      cmaUsedPages: timeCalls(() => cmaUsedPages(a, PROFILE_6_1)),
      cmaMaxchunkPages: timeCalls(() => cmaMaxchunkPages(a)),
      debugfsUsed: timeCalls(() => readNum('used')),
      debugfsMaxchunk: timeCalls(() => readNum('maxchunk')),
    };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`replay-child: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
