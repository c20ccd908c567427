// Parsing a trace file on a second thread: a worker (parse-worker.ts) reads and parses the file
// while the calling thread consumes the events, in file order, with the same callbacks and the
// same reused-event contract as parseTraceStream(). Memory stays bounded: at most MAX_INFLIGHT
// batches of BATCH_EVENTS events exist at a time.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { TraceEvent, TraceEventKind } from './events.ts';
import { CommCache, clearRareFields, TraceEventFields } from './events.ts';
import type { MmEventsOption } from './mm-events.ts';
import {
  BatchEncoder,
  type BatchExtra,
  type BatchMessage,
  type BatchRows,
  type BinaryJob,
  COMM_BYTES,
  claimHead,
  F,
  handoffTextJob,
  newHandoff,
  publishHandoff,
  type RecycledBuffers,
  type TextJob,
} from './parallel-format.ts';
import { type ParseOptions, type ParseStats, TraceLineParser } from './parse.ts';
import { WasmScanner } from './parse-wasm.ts';
import { type SpawnedWorker, spawnWorker, takePrestarted, workerScript } from './worker-spawn.ts';

const NL = 10;

const MAX_INFLIGHT = 4;

export { workerScript } from './worker-spawn.ts';

/** The event handed to onEvent, refilled from each batch record. */
class BatchEvent extends TraceEventFields {
  /** The comm: its bytes at commAt (commLen of them), or commText when commLen < 0. */
  commBytes: Uint8Array = new Uint8Array(0);
  commAt = 0;
  commLen = 0;
  commText = '';
  /** A DataView of commBytes. */
  commView: DataView = new DataView(new ArrayBuffer(0));
  private readonly cache = new CommCache();
  copyComm(_out: Uint8Array, outView: DataView, at: number): number {
    const n = this.commLen;
    if (n < 0) return -1;
    // the batch cell is COMM_BYTES = 16 bytes with the name at its end, like the copy
    const cell = this.commAt + n - COMM_BYTES;
    const v = this.commView;
    outView.setInt32(at, v.getInt32(cell, true), true);
    outView.setInt32(at + 4, v.getInt32(cell + 4, true), true);
    outView.setInt32(at + 8, v.getInt32(cell + 8, true), true);
    outView.setInt32(at + 12, v.getInt32(cell + 12, true), true);
    return n;
  }
  comm(): string {
    return this.commLen < 0
      ? this.commText
      : this.cache.text(this.pid, this.commBytes, this.commAt, this.commLen);
  }
}

/** Hands the events of batches to onEvent, through one reused BatchEvent. */
export class BatchDecoder {
  private readonly ev = new BatchEvent();
  /** ev has fields of an extra (they are reset before the next event without one). */
  private dirty = false;
  /** The batch `at` reads (rows()). */
  private f = new Float64Array(0);
  private names: string[] = [];
  private extras: BatchExtra[] = [];
  /** BatchRows.rows' `at`: row i of the current batch as the reused event. */
  private readonly at = (i: number): TraceEvent => {
    this.fill(this.f, i, this.names, this.extras);
    return this.ev;
  };

  /** Hands the batch to onEvent, or to `rows` (BatchRows) when given. */
  deliver(m: Extract<BatchMessage, { t: 'b' }>, onEvent: (ev: TraceEvent) => void, rows?: BatchRows): void {
    const ev = this.ev;
    const f = new Float64Array(m.buf);
    const { names, extras } = m;
    ev.commBytes = new Uint8Array(m.commBuf);
    ev.commView = new DataView(m.commBuf);
    if (rows !== undefined) {
      this.f = f;
      this.names = names;
      this.extras = extras;
      rows.rows(f, m.n, names, new Int32Array(m.commBuf), this.at);
      return;
    }
    for (let i = 0; i < m.n; i++) {
      this.fill(f, i, names, extras);
      onEvent(ev);
    }
  }

  /** Fills the reused event with row i of a batch. */
  private fill(f: Float64Array, i: number, names: string[], extras: BatchExtra[]): void {
    const ev = this.ev;
    const o = i * F;
    ev.kind = f[o] as TraceEventKind;
    ev.line = f[o + 1]!;
    ev.pid = f[o + 2]!;
    ev.cpu = f[o + 3]!;
    ev.ts = f[o + 4]!;
    ev.name = names[f[o + 5]!]!;
    ev.commLen = f[o + 6]!;
    // right-aligned in its COMM_BYTES
    ev.commAt = (i + 1) * COMM_BYTES - ev.commLen;
    ev.count = f[o + 7]!;
    ev.align = f[o + 8]!;
    ev.pfn = f[o + 9]!;
    ev.hasPage = f[o + 10] === 1;
    const x = f[o + 11]!;
    if (x >= 0) {
      const e = extras[x]!;
      ev.countBig = e.countBig;
      ev.errorno = e.errorno;
      ev.availableCount = e.availableCount;
      ev.totalCount = e.totalCount;
      ev.nrMigrated = e.nrMigrated;
      ev.errIso = e.errIso;
      ev.errMig = e.errMig;
      ev.errTest = e.errTest;
      if (e.comm !== null) ev.commText = e.comm;
      this.dirty = true;
    } else if (this.dirty) {
      clearRareFields(ev);
      this.dirty = false;
    }
  }
}

/**
 * Bytes the calling thread parses before the worker may take over (a test hook; 0 by default:
 * the worker takes over as soon as it is ready).
 */
let headBytes = 0;

/** Test hook: the head's least size in bytes. */
export function setParallelHeadBytes(n: number): void {
  headBytes = n;
}

/**
 * What the calling thread claims and reads at a time while the worker boots: when the worker is
 * ready it waits for the piece being read to be parsed (~1 ms), then starts at the next line.
 */
const HEAD_PIECE = 256 << 10;
/**
 * Events per batch of the head: its one pair of batch buffers and the scanner's records are
 * paged in only as far as a batch reaches (8192 events: ~460 fresh pages on this thread).
 */
const HEAD_BATCH = 2048;

/**
 * Parses a (plain, not gzip) trace file on a worker thread, calling `onEvent` on this thread
 * for each cma event in order. While the worker boots, this thread parses the file from its
 * start itself (the head); the worker takes the rest from the line where the head stops. If
 * onEvent throws, the worker is stopped and the promise rejects with that error. Read errors
 * reject with an Error carrying the errno `code`.
 */
export function parseFileParallel(
  path: string,
  onEvent: (ev: TraceEvent) => void,
  opts: ParseOptions = {},
): Promise<ParseStats> {
  let started: ParallelParse;
  try {
    started = startParallelParse(path, opts);
  } catch (e) {
    return Promise.reject(e);
  }
  return started.run(onEvent);
}

/** A parse whose worker is already starting: `run` delivers the events; `cancel` stops it. */
export interface ParallelParse {
  /** Delivers the events to onEvent, or the batches to `rows` when given (BatchRows). */
  run(onEvent: (ev: TraceEvent) => void, rows?: BatchRows): Promise<ParseStats>;
  cancel(): void;
}

/**
 * Starts parseFileParallel's worker now (it takes a few tens of ms to boot: do other set-up
 * meanwhile), and returns what runs the parse. Call `run` or `cancel` exactly once. `mm`'s
 * events (ParseOptions.otherEvents) arrive in the same pass, before the cma events after them.
 * `run` parses the head on this thread until the worker is ready (TextJob.handoff): the worker
 * bin/cma-debug.js started early when there is one, else one started here.
 */
export function startParallelParse(
  path: string,
  { mm, ...opts }: ParseOptions & { mm?: MmEventsOption } = {},
): ParallelParse {
  const script = workerScript();
  if (script === null) throw new Error('no trace parse worker script next to parallel.ts');
  const fd = openSync(path, 'r');
  let open = true;
  const close = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  let worker: Worker | null = null;
  let tail: ReturnType<typeof startWorker>;
  let size: number;
  let handoff: SharedArrayBuffer;
  try {
    size = fstatSync(fd).size;
    const mmNames = mm ? [...mm.names] : null;
    // the worker bin/cma-debug.js started before the program was loaded, when it parses this
    // file as this call would have it parsed
    const early =
      headBytes === 0 && size > 0 && opts.onMalformed === undefined && (opts.maxMalformedKept ?? 100) === 100
        ? takePrestarted(path, fd, MAX_INFLIGHT, mmNames)
        : null;
    // (prestartTextParse gives every text worker it starts a hand-off)
    if (early !== null && early.spawned.handoff === null)
      throw new Error('a text worker started early without its hand-off');
    handoff = early?.spawned.handoff ?? newHandoff(Math.min(headBytes, size));
    tail = startWorker(
      script,
      handoffTextJob(path, mmNames, handoff),
      { ...opts, ...(mm ? { onMmEvents: mm.onEvents } : {}) },
      early,
    );
    worker = tail.worker;
  } catch (e) {
    close();
    throw e;
  }
  const cancel = (): void => {
    if (worker !== null) void worker.terminate();
    worker = null;
    close();
  };
  const run = async (onEvent: (ev: TraceEvent) => void, rows?: BatchRows): Promise<ParseStats> => {
    try {
      const decoder = new BatchDecoder();
      // the head: parsed here into batches that are delivered at once (their buffers reused)
      let spare: RecycledBuffers | undefined;
      const enc = new BatchEncoder(
        (m) => {
          decoder.deliver(m, onEvent, rows);
          spare = { buf: m.buf, commBuf: m.commBuf };
        },
        () => spare,
        HEAD_BATCH,
        HEAD_BATCH,
      );
      const parser = new TraceLineParser(() => enc.event(parser), {
        ...opts,
        ...(mm ? { otherEvents: { names: mm.names, onEvent: (e) => mm.onEvents([e], null) } } : {}),
        // in order with the events before them
        ...(opts.onAnnotation
          ? {
              onAnnotation: (a) => {
                enc.flush();
                opts.onAnnotation?.(a);
              },
            }
          : {}),
        ...(opts.onMalformed
          ? {
              onMalformed: (m) => {
                enc.flush();
                opts.onMalformed?.(m);
              },
            }
          : {}),
      });
      // read through the wasm scanner's memory, as the worker does (made at the first read)
      let buf: Uint8Array | null = null;
      const read = (pos: number, max: number): number => {
        if (buf === null) {
          const scanner = new WasmScanner(HEAD_PIECE, enc);
          parser.setFastTarget(enc);
          parser.setBulkScanner(scanner);
          buf = scanner.chunk;
        }
        return readSync(fd, buf, 0, Math.min(buf.length, max), pos);
      };
      let pos = 0;
      let last = NL;
      /** Feeds [pos, end) (less where the file ends sooner: `size` becomes its end). */
      const feedTo = (end: number): void => {
        while (pos < end) {
          const n = read(pos, end - pos);
          if (n <= 0) {
            size = pos;
            return;
          }
          parser.feed(buf!.subarray(0, n));
          pos += n;
          last = buf![n - 1]!;
        }
      };
      // pieces claimed one by one until the worker closes the claim, then to the next line start
      for (let closed = false; !closed; ) {
        const c = claimHead(handoff, pos, pos + HEAD_PIECE, size);
        closed = c.closed;
        feedTo(c.end);
        opts.onProgress?.(pos);
      }
      while (last !== NL && pos < size) {
        const n = read(pos, HEAD_PIECE);
        if (n <= 0) break;
        const i = buf!.subarray(0, n).indexOf(NL);
        const k = i < 0 ? n : i + 1;
        parser.feed(buf!.subarray(0, k));
        pos += k;
        last = buf![k - 1]!;
      }
      if (parser.splitPending) {
        // the cut fell inside a split event: this thread reads the rest itself
        publishHandoff(handoff, pos, null);
        void tail.worker.terminate();
        worker = null;
        feedTo(Number.POSITIVE_INFINITY);
        const stats = parser.end();
        enc.flush();
        return stats;
      }
      const first = parser.end();
      publishHandoff(handoff, pos, first.lines);
      enc.flush();
      close();
      const rest = await tail.run(onEvent, decoder, rows, pos);
      worker = null;
      return mergeStats(first, rest, opts.maxMalformedKept ?? 100);
    } finally {
      cancel();
    }
  };
  return { run, cancel };
}

/** Stats of a head and the rest that follows it. */
function mergeStats(a: ParseStats, b: ParseStats, maxKept: number): ParseStats {
  return {
    bytes: a.bytes + b.bytes,
    lines: b.lines,
    events: a.events + b.events,
    headerLines: a.headerLines + b.headerLines,
    blankLines: a.blankLines + b.blankLines,
    otherLines: a.otherLines + b.otherLines,
    otherCmaEvents: a.otherCmaEvents + b.otherCmaEvents,
    malformed: a.malformed + b.malformed,
    malformedLines: [...a.malformedLines, ...b.malformedLines].slice(0, maxKept),
    joinedSplitLines: a.joinedSplitLines + b.joinedSplitLines,
    annotations: [...a.annotations, ...b.annotations],
  };
}

/**
 * Starts a worker on a job (a text file from a byte offset: parse-worker.ts; a binary trace:
 * binary-worker.ts), or takes one started early on it (`early`); `run` then delivers its events.
 */
export function startWorker(
  script: { url: URL; tsxApi?: string },
  job: TextJob | BinaryJob,
  opts: ParseOptions & { onMmEvents?: MmEventsOption['onEvents'] },
  early: { spawned: SpawnedWorker; surplus: number } | null = null,
): {
  worker: Worker;
  run: (
    onEvent: (ev: TraceEvent) => void,
    decoder: BatchDecoder,
    rows?: BatchRows,
    start?: number,
  ) => Promise<ParseStats>;
} {
  const spawned =
    early?.spawned ??
    spawnWorker(script, job, {
      maxInflight: MAX_INFLIGHT,
      maxMalformedKept: opts.maxMalformedKept ?? 100,
      wantMalformed: opts.onMalformed !== undefined,
    });
  const { worker, flag, recycle } = spawned;
  // processed buffers not handed back (the early start's extra batches: memory stays bounded)
  let drop = early?.surplus ?? 0;
  const run = (
    onEvent: (ev: TraceEvent) => void,
    decoder: BatchDecoder,
    rows?: BatchRows,
    /** The file offset the worker started at (its stats' bytes are counted from there). */
    start = job.kind === 'cma-trace-parse' ? job.start : 0,
  ): Promise<ParseStats> => {
    return new Promise<ParseStats>((resolve, reject) => {
      let done = false;
      const fail = (e: unknown): void => {
        if (done) return;
        done = true;
        recycle.port1.close();
        void worker.terminate();
        reject(e);
      };
      const onMessage = (m: BatchMessage): void => {
        switch (m.t) {
          case 'b': {
            decoder.deliver(m, onEvent, rows);
            if (drop > 0) drop--;
            else
              recycle.port1.postMessage({ buf: m.buf, commBuf: m.commBuf } satisfies RecycledBuffers, [
                m.buf,
                m.commBuf,
              ]);
            Atomics.sub(flag, 0, 1);
            Atomics.notify(flag, 0);
            opts.onProgress?.(m.bytes);
            break;
          }
          case 'a':
            opts.onAnnotation?.(m.a);
            break;
          case 'm':
            opts.onMalformed?.(m.m);
            break;
          case 'c':
            opts.onMmEvents?.(m.events, m.kernelRelease);
            break;
          case 'e':
            done = true;
            recycle.port1.close();
            opts.onProgress?.(start + m.stats.bytes);
            resolve(m.stats);
            break;
          case 'x': {
            const err = new Error(m.message) as NodeJS.ErrnoException;
            if (m.code !== undefined) err.code = m.code;
            fail(err);
            break;
          }
        }
      };
      spawned.listen((e) => {
        if (done) return;
        if (e.t === 'error') fail(e.e);
        else if (e.t === 'exit') fail(new Error(`the trace parse worker stopped (exit code ${e.code})`));
        else
          try {
            onMessage(e.m);
          } catch (err) {
            fail(err);
          }
      });
    });
  };
  return { worker, run };
}
