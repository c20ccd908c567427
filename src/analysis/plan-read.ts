// Reading a trace's cma events for plan: a large plain text file is parsed on a worker thread
// (the parse of replay, startParallelParse) while this thread collects the sequence; any other
// source (gzip, stdin, trace.dat, Perfetto, small files) through readTraceEvents.

import type { AnnotatedArea, TraceEvent } from '../sources/trace/events.ts';
import type { TraceSource } from '../sources/trace/input.ts';
import { type ParallelParse, startParallelParse } from '../sources/trace/parallel.ts';
import type { ParseStats } from '../sources/trace/parse.ts';
import { readTraceEvents, sourceFormat } from '../sources/trace/read-events.ts';

/** Text files from this size on are parsed on a worker thread (as replay does). */
const PARALLEL_MIN_BYTES = 8 << 20;

/** Calls onEvent for every cma event of `src` in order, onAnnotation for `# cma_area:` lines. */
export async function readPlanEvents(
  src: TraceSource,
  onEvent: (ev: TraceEvent) => void,
  onAnnotation: (a: AnnotatedArea) => void,
): Promise<ParseStats> {
  let parallel: ParallelParse | null = null;
  if (
    src.path !== undefined &&
    !src.gzip &&
    (src.size ?? 0) >= PARALLEL_MIN_BYTES &&
    sourceFormat(src)?.format === 'text'
  ) {
    try {
      parallel = startParallelParse(src.path, { onAnnotation });
    } catch {
      // no worker script, or the file cannot be opened: the stream path reports it as before
      parallel = null;
    }
  }
  if (parallel !== null) return parallel.run(onEvent);
  return readTraceEvents(src, onEvent, { onAnnotation });
}
