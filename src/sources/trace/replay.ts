// Replays a cma trace on emulated areas: places every request with the kernel's formulas,
// compares with the recorded pfn, resyncs on divergence, rebuilds the allocation table and
// explains every failure (docs/ARCHITECTURE.md, "Replay model"). This file is the orchestration:
// where the areas come from (options, `# cma_area:` annotations, inference) and how the events
// reach the engine (a parse worker for big text files, else the stream readers). The engine is
// replay-engine.ts, an area's state replay-area.ts, the result types replay-types.ts.

import type { AnnotatedArea, TraceEvent } from './events.ts';
import { inferAreas } from './infer-areas.ts';
import type { TraceSource } from './input.ts';
import { memorySource } from './input.ts';
import { heldMmEvents } from './mm-events.ts';
import { type ParallelParse, startParallelParse } from './parallel.ts';
import type { BatchRows } from './parallel-format.ts';
import type { ParseOptions, ParseStats } from './parse.ts';
import { readTraceEvents, sourceFormat, startBinaryParse } from './read-events.ts';
import { TraceReplayer } from './replay-engine.ts';
import type { ReplayAreaSpec, ReplayOptions, ReplayResult } from './replay-types.ts';
import { toReplaySpec } from './replay-types.ts';

export { inferAreas } from './infer-areas.ts';
export type * from './replay-types.ts';
export { toReplaySpec } from './replay-types.ts';

/** Files from this size on are parsed on a worker thread by default (ReplayOptions.parallel). */
const PARALLEL_MIN_BYTES = 8 << 20;

const toSpec = toReplaySpec;

/** The engine takes the parse workers' batches whole (TraceReplayer.rows); off: event by event. */
let rowLane = true;

/** Test hook: the fast lane on or off (the results must be the same). */
export function setRowLane(on: boolean): void {
  rowLane = on;
}

class NeedAreas extends Error {}

/**
 * Replays a cma trace (ftrace `trace`/`trace_pipe`/`trace-cmd report` text, any era) on
 * emulated areas, streaming, in constant memory apart from live allocations. 6.1-era events use
 * the 6.1 allocator; 7.x events (`available_count=`) and multi-range areas (`ranges`, in the
 * kernel's index order) the 7.x one, with exact `used`.
 *
 * ```ts
 * const r = await replayTrace(fileSource('gpu.trace'), {
 *   areas: [{ name: 'reserved', basePfn: 0x80000, count: 262144, orderPerBit: 0 }],
 *   bitmapFactory: (maxno) => new PlainBitmap(maxno),   // or an indexed CmaBitmap
 *   allocations: false,                                   // skip the table for speed
 * });
 * r.events; r.allocs.ok; r.allocs.failed; r.releases; r.mismatches;
 * r.areas[0].used; r.areas[0].maxchunk; r.areas[0].bitmapSha256;
 * // 7.x: { name: 'hugetlb0', orderPerBit: 9, ranges: [{ basePfn: 0x240000, count: 262144 }, …] }
 * // (as toReplaySpec() builds it); r.areas[0].ranges[i].bitmapText, .usedMode === 'exact'
 * ```
 *
 * `source` is a TraceSource (fileSource, memorySource, openTraceSource), a string/bytes, or a
 * function returning a fresh AsyncIterable<Uint8Array>. Areas default to the trace's
 * `# cma_area:` lines, else they are inferred (a guess, see ReplayOptions.areas), which needs
 * a source that can be read twice.
 */
export async function replayTrace(
  source: TraceSource | string | Uint8Array | (() => AsyncIterable<Uint8Array>),
  opts: ReplayOptions = {},
): Promise<ReplayResult> {
  const src: TraceSource =
    typeof source === 'string' || source instanceof Uint8Array
      ? memorySource(source)
      : typeof source === 'function'
        ? { open: source, size: null, gzip: false, label: '<stream>', dispose: () => {} }
        : source;
  const mode = opts.areas ?? 'auto';
  if (mode === 'infer') return run(src, await inferredOrder(src, opts), 'inferred', opts);
  if (mode !== 'auto') return run(src, mode.map(toSpec), 'options', opts);
  try {
    return await run(src, null, 'annotation', opts);
  } catch (e) {
    if (!(e instanceof NeedAreas)) throw e;
    return run(src, await inferredOrder(src, opts), 'inferred', opts);
  }
}

/** Orders of an inferred multi-range area's ranges tried at most (4 ranges: all of them). */
const MAX_ORDER_TRIALS = 24;

/**
 * The inferred areas, with each multi-range area's ranges in the order that replays with the
 * fewest mismatches. inferAreas() orders them as the trace first uses them, which is the
 * allocator's index order unless a request skipped a range it did not fit; quiet replays (no
 * callbacks, no table) try that order first and stop at one without mismatches in those areas.
 */
async function inferredOrder(src: TraceSource, opts: ReplayOptions): Promise<ReplayAreaSpec[]> {
  const areas = await inferAreas(src);
  const perms = areas.map((a) => (a.ranges && a.ranges.length > 1 ? permutations(a.ranges.length) : [[0]]));
  const trials = Math.max(...perms.map((p) => p.length));
  if (trials === 1) return areas;
  const quiet: ReplayOptions = {
    ...(opts.bitmapFactory ? { bitmapFactory: opts.bitmapFactory } : {}),
    ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
    ...(opts.kernelRelease !== undefined ? { kernelRelease: opts.kernelRelease } : {}),
    ...(opts.resync !== undefined ? { resync: opts.resync } : {}),
    allocations: false,
    maxKept: 0,
  };
  const ordered = (t: number): ReplayAreaSpec[] =>
    areas.map((a, i) => {
      const p = perms[i]![t % perms[i]!.length]!;
      if (p.length < 2) return a;
      const ranges = p.map((k) => a.ranges![k]!);
      return { ...a, basePfn: ranges[0]!.basePfn, ranges };
    });
  const best = areas.map(() => ({ trial: 0, mismatches: Infinity }));
  for (let t = 0; t < trials; t++) {
    const r = await run(src, ordered(t), 'inferred', quiet);
    areas.forEach((a, i) => {
      const m = r.areas.find((x) => x.name === a.name)?.mismatches ?? 0;
      if (t < perms[i]!.length && m < best[i]!.mismatches) best[i] = { trial: t, mismatches: m };
    });
    if (best.every((b) => b.mismatches === 0)) break;
  }
  return areas.map((_, i) => ordered(best[i]!.trial)[i]!);
}

/** The first MAX_ORDER_TRIALS orders of 0…n-1, the identity first (n! of them are not made). */
function permutations(n: number): number[][] {
  const out: number[][] = [];
  for (const p of orders(n)) if (out.push(p) === MAX_ORDER_TRIALS) break;
  return out;
}

/** Every order of 0…n-1, the identity first, one at a time. */
function* orders(n: number): Generator<number[]> {
  if (n <= 1) {
    yield [0];
    return;
  }
  for (const rest of orders(n - 1))
    for (let at = rest.length; at >= 0; at--) yield [...rest.slice(0, at), n - 1, ...rest.slice(at)];
}

async function run(
  src: TraceSource,
  areas: ReplayAreaSpec[] | null,
  areaSource: ReplayResult['areaSource'],
  opts: ReplayOptions,
): Promise<ReplayResult> {
  const annotated: AnnotatedArea[] = [];
  const parseOpts: ParseOptions = {
    onAnnotation: (a) => {
      annotated.push(a);
    },
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  // the parse worker boots while this thread builds the areas (a 64 GiB index takes a while)
  const par = opts.parallel ?? 'auto';
  let parallel: ParallelParse | null = null;
  // other events (the migrate counts), read in the same pass: held until the areas are known
  const held = opts.mmEvents ? heldMmEvents(opts.mmEvents, areas !== null) : null;
  const mm = held ? { mm: held.option } : {};
  const fmt =
    par !== false && src.path !== undefined && (par === true || (src.size ?? 0) >= PARALLEL_MIN_BYTES)
      ? sourceFormat(src)?.format
      : undefined;
  if (src.path !== undefined && fmt !== undefined) {
    try {
      if (fmt === 'text' && !src.gzip) parallel = startParallelParse(src.path, { ...parseOpts, ...mm });
      // trace.dat and Perfetto: decoded on a worker too (binary-worker.ts)
      else if (fmt === 'trace.dat' || fmt === 'perfetto')
        parallel = startBinaryParse(src.path, fmt, src.gzip, { ...parseOpts, ...mm, ...release(opts) });
    } catch {
      // no worker script, or the file cannot be opened: the stream path reports it as before
      parallel = null;
    }
  }
  let replayer: TraceReplayer | null;
  try {
    replayer = areas === null ? null : new TraceReplayer(areas, areaSource, opts);
  } catch (e) {
    parallel?.cancel();
    throw e;
  }
  const engine = (): TraceReplayer => {
    if (replayer === null) {
      if (annotated.length === 0) throw new NeedAreas();
      replayer = new TraceReplayer(annotated.map(toSpec), 'annotation', opts);
      held?.open();
    }
    return replayer;
  };
  const onEvent = (ev: TraceEvent): void => {
    (replayer ?? engine()).event(ev);
  };
  // the fast lane: whole batches to the engine
  const rows: BatchRows = {
    rows: (f, n, names, comm, at) => {
      (replayer ?? engine()).rows(f, n, names, comm, at);
    },
  };
  let stats: ParseStats;
  if (parallel !== null) {
    stats = await parallel.run(onEvent, rowLane ? rows : undefined);
  } else {
    stats = await readTraceEvents(src, onEvent, { ...parseOpts, ...mm, ...release(opts) });
  }
  held?.open();
  if (replayer === null) {
    if (annotated.length === 0 && areas === null) {
      // no cma event at all: an empty replay on no area
      replayer = new TraceReplayer([], areaSource, opts);
    } else replayer = new TraceReplayer((areas ?? annotated).map(toSpec), areaSource, opts);
  }
  return (replayer as TraceReplayer).finish(stats);
}

function release(opts: ReplayOptions): { kernelRelease?: string } {
  return opts.kernelRelease !== undefined ? { kernelRelease: opts.kernelRelease } : {};
}
