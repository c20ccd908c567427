// The worker half of parseFileParallel() (parallel.ts): reads a trace file, parses it with
// TraceLineParser and posts the events as compact batches (a Float64Array of F numbers per
// event and COMM_BYTES bytes of task name per event, transferred, not copied), in order. At most
// a few batches (a limit shared with the main thread) are unprocessed at any time: the worker
// blocks on a shared counter that the main thread decrements (bounded memory). The main thread hands processed buffers back on
// `recycle`; they are reused.

import { parentPort, workerData } from 'node:worker_threads';
import type { MmEvent } from './mm-events.ts';
import {
  type BatchMessage,
  claimWorkerStart,
  feedFile,
  type TextJob,
  type WorkerData,
  workerBatchEncoder,
} from './parallel-format.ts';
import { TraceLineParser } from './parse.ts';
import { WasmScanner } from './parse-wasm.ts';

/** Bytes read at a time. */
const CHUNK = 1 << 20;

const port = parentPort;
const data = workerData as WorkerData | undefined;
if (port !== null && data !== undefined && data.kind === 'cma-trace-parse') run(data);

function run(d: WorkerData & TextJob): void {
  const p = port!;
  // other events (TextJob.mmNames): posted before the batch that follows them
  let mm: MmEvent[] = [];
  const postMm = (): void => {
    if (mm.length === 0) return;
    p.postMessage({ t: 'c', events: mm, kernelRelease: null } satisfies BatchMessage);
    mm = [];
  };
  const enc = workerBatchEncoder(d, p, postMm);
  const flush = (): void => enc.flush();
  let parser: TraceLineParser;
  const onEvent = (): void => enc.event(parser);

  try {
    // the fast path's lines straight into the batch (the others through onEvent), read by the
    // wasm scanner from the chunk in its memory (made before the hand-off: the calling thread
    // parses meanwhile)
    const scanner = new WasmScanner(CHUNK, enc);
    let { start, firstLine } = d;
    if (d.handoff !== undefined) {
      const from = claimWorkerStart(d.handoff);
      // the calling thread reads the whole file itself (it stops this worker)
      if (from === null) return;
      ({ start, firstLine } = from);
      // the calling thread is waiting for the first batch: a small one comes sooner
      if (start > 0) enc.smallFirstBatch();
    }
    parser = new TraceLineParser(onEvent, {
      // in order with the events around them
      onAnnotation: (a) => {
        flush();
        p.postMessage({ t: 'a', a } satisfies BatchMessage);
      },
      ...(d.wantMalformed
        ? {
            onMalformed: (m) => {
              flush();
              p.postMessage({ t: 'm', m } satisfies BatchMessage);
            },
          }
        : {}),
      maxMalformedKept: d.maxMalformedKept,
      firstLine,
      ...(d.mmNames !== null
        ? { otherEvents: { names: new Set(d.mmNames), onEvent: (e) => void mm.push(e) } }
        : {}),
    });
    parser.setFastTarget(enc);
    parser.setBulkScanner(scanner);
    // one reused buffer (in the scanner's memory): the parser copies what it keeps across chunks
    feedFile(d.path, start, scanner.chunk, enc, (chunk) => parser.feed(chunk));
    const stats = parser.end();
    flush();
    postMm();
    p.postMessage({ t: 'e', stats } satisfies BatchMessage);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    p.postMessage({ t: 'x', message: err.message ?? String(e), code: err.code } satisfies BatchMessage);
  }
}
