// Starting a trace worker (parse-worker.ts, binary-worker.ts), and starting the text parse worker
// before the rest of the program is loaded: bin/cma-debug.js has `cma-debug replay FILE` call
// prestartTextParse() first thing, so the worker boots and parses while this thread loads the
// command line (~50–80 ms), and startParallelParse() takes that worker instead of starting one.
// This module imports no more than node's own and parallel-format.ts (node's own only): it is
// loaded before everything else.

import { closeSync, existsSync, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import {
  type BatchMessage,
  type BinaryJob,
  handoffTextJob,
  newHandoff,
  type TextJob,
  type WorkerData,
} from './parallel-format.ts';

/**
 * The worker script next to this module (.cjs in scripts/build-cli.mjs's bundle, .js when built
 * by tsc, .mjs in the bench's bundle, .ts from source).
 * From source, `tsxApi` is tsx's ESM API, which the worker registers before importing the
 * script (a loader registered in this thread or given with --import does not reach workers).
 */
export function workerScript(
  name = 'parse-worker',
  base: string = import.meta.url,
): { url: URL; tsxApi?: string } | null {
  for (const ext of ['.cjs', '.js', '.mjs', '.ts']) {
    const url = new URL(`./${name}${ext}`, base);
    if (url.protocol !== 'file:' || !existsSync(fileURLToPath(url))) continue;
    if (ext !== '.ts') return { url };
    try {
      return { url, tsxApi: import.meta.resolve('tsx/esm/api') };
    } catch {
      return null;
    }
  }
  return null;
}

/** What a worker did, in order: a message, an error, its exit. */
type WorkerEvent =
  | { t: 'message'; m: BatchMessage }
  | { t: 'error'; e: unknown }
  | { t: 'exit'; code: number };

/** A started worker whose events are held until someone listens. */
export interface SpawnedWorker {
  worker: Worker;
  /**
   * [0]: batches posted and not yet processed; [1]: how many may be (the worker waits while
   * [0] is at or above it).
   */
  flag: Int32Array;
  /** Where processed batch buffers go back to the worker (port1; the worker holds port2). */
  recycle: MessageChannel;
  /** The text job's head hand-off (TextJob.handoff), or null. */
  handoff: SharedArrayBuffer | null;
  /** Hands `on` the worker's events: those held since it started at once, then each as it comes. */
  listen(on: (e: WorkerEvent) => void): void;
}

/** Starts a worker on a job; its events wait (in order) for listen(). */
export function spawnWorker(
  script: { url: URL; tsxApi?: string },
  job: TextJob | BinaryJob,
  opts: { maxInflight: number; maxMalformedKept: number; wantMalformed: boolean },
): SpawnedWorker {
  const inflight = new SharedArrayBuffer(8);
  const flag = new Int32Array(inflight);
  flag[1] = opts.maxInflight;
  const recycle = new MessageChannel();
  const data: WorkerData = {
    ...job,
    inflight,
    recycle: recycle.port2,
    maxMalformedKept: opts.maxMalformedKept,
    wantMalformed: opts.wantMalformed,
  };
  const worker = script.tsxApi
    ? new Worker(
        `import(${JSON.stringify(script.tsxApi)}).then((a) => { a.register(); return import(${JSON.stringify(script.url.href)}); });`,
        { eval: true, workerData: data, transferList: [recycle.port2] },
      )
    : new Worker(script.url, { workerData: data, transferList: [recycle.port2] });
  let held: WorkerEvent[] | null = [];
  let to: ((e: WorkerEvent) => void) | null = null;
  const put = (e: WorkerEvent): void => {
    if (to !== null) to(e);
    else held?.push(e);
  };
  worker.on('message', (m: BatchMessage) => put({ t: 'message', m }));
  worker.on('error', (e) => put({ t: 'error', e }));
  worker.on('exit', (code) => put({ t: 'exit', code }));
  return {
    worker,
    flag,
    recycle,
    handoff: job.kind === 'cma-trace-parse' ? (job.handoff ?? null) : null,
    listen(on) {
      const h = held ?? [];
      held = null;
      to = on;
      for (const e of h) on(e);
    },
  };
}

/** Batches a started-early worker may post before the command takes it (each ~0.9 MB). */
export const PRESTART_INFLIGHT = 8;
/**
 * Files from this size on are parsed on a worker (replay.ts's PARALLEL_MIN_BYTES: a worker
 * started early for a smaller file would not be taken).
 */
export const PRESTART_MIN_BYTES = 8 << 20;

/** What a worker started early decodes: the format, the file as it was, the other events. */
interface Prestarted {
  format: 'text' | 'trace.dat' | 'perfetto';
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** The other events it picks out (TextJob/BinaryJob.mmNames). */
  mmNames: string[] | null;
  spawned: SpawnedWorker;
}
/**
 * The one worker started early (text or binary), until taken: held on globalThis, because
 * bin/cma-debug.js starts it from one bundle (dist/cli/prestart.cjs) and takes it in another
 * (dist/cli/hot.cjs), each with its own copy of this module.
 */
const HELD = Symbol.for('cma-debug.prestarted');
const holder = globalThis as { [HELD]?: Prestarted | null };

/**
 * The first 4 KiB of `path` and its stat, when it is a regular file of `minBytes` or more and
 * no worker was started early yet; else null. (stat first: opening a named pipe would wait for,
 * then drop, its writer.)
 */
export function prestartCandidate(path: string, minBytes: number): { head: Uint8Array; st: Stats } | null {
  if ((holder[HELD] ?? null) !== null) return null;
  let fd: number;
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size < minBytes) return null;
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size < minBytes) return null;
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return { head: head.subarray(0, n), st };
  } finally {
    closeSync(fd);
  }
}

/** Keeps the worker started early on `path` (as `st` describes it) until takePrestarted*(). */
export function holdPrestarted(
  format: Prestarted['format'],
  path: string,
  st: Stats,
  mmNames: string[] | null,
  spawned: SpawnedWorker,
): void {
  spawned.worker.unref(); // an unused worker does not keep the process alive
  holder[HELD] = {
    format,
    path: resolve(path),
    dev: st.dev,
    ino: st.ino,
    size: st.size,
    mtimeMs: st.mtimeMs,
    mmNames,
    spawned,
  };
}

/**
 * The worker started early, if it decodes `path` (`st`: the file now, null when it cannot be the
 * same) as `format` for the same `mmNames`, with `maxInflight` batches allowed from now on (the
 * surplus the early start allowed is `surplus`: drop that many processed buffers instead of
 * recycling them); else null (a worker started for anything else is stopped). Taken once.
 */
export function takePrestartedWorker(
  format: Prestarted['format'],
  path: string,
  st: Stats | null,
  maxInflight: number,
  mmNames: string[] | null,
): { spawned: SpawnedWorker; surplus: number } | null {
  const p = holder[HELD] ?? null;
  holder[HELD] = null;
  if (p === null) return null;
  if (
    st === null ||
    p.format !== format ||
    resolve(path) !== p.path ||
    st.dev !== p.dev ||
    st.ino !== p.ino ||
    st.size !== p.size ||
    st.mtimeMs !== p.mtimeMs ||
    String(p.mmNames && [...p.mmNames].sort()) !== String(mmNames && [...mmNames].sort())
  ) {
    void p.spawned.worker.terminate();
    return null;
  }
  const flag = p.spawned.flag;
  const surplus = Math.max(0, flag[1]! - maxInflight);
  Atomics.store(flag, 1, maxInflight);
  p.spawned.worker.ref();
  return { spawned: p.spawned, surplus };
}

/**
 * Starts the text parse worker on `path` now, if it is a plain text file (no gzip, trace.dat
 * or binary magic in its first 4 KiB) of PRESTART_MIN_BYTES or more, with the defaults replay
 * uses (no malformed lines posted, 100 kept). When it is ready it closes the head's hand-off: if
 * startParallelParse() has begun the head by then, it starts where that stops; else it parses
 * from byte 0 and posts up to PRESTART_INFLIGHT full batches, which wait until
 * startParallelParse() takes the worker (asked for the same `mmNames`). Returns whether it
 * started one.
 */
export function prestartTextParse(
  path: string,
  script: { url: URL; tsxApi?: string } | null,
  mmNames: string[] | null = null,
): boolean {
  const c = script === null ? null : prestartCandidate(path, PRESTART_MIN_BYTES);
  if (c === null || script === null) return false;
  for (const b of c.head) {
    // text: no control byte but tab, line feed and carriage return (gzip, trace.dat and
    // Perfetto files have some in their first bytes)
    if (b < 32 && b !== 9 && b !== 10 && b !== 13) return false;
  }
  const spawned = spawnWorker(script, handoffTextJob(path, mmNames, newHandoff(0), true), {
    maxInflight: PRESTART_INFLIGHT,
    maxMalformedKept: 100,
    wantMalformed: false,
  });
  holdPrestarted('text', path, c.st, mmNames, spawned);
  return true;
}

/** The text worker prestartTextParse() started, if it parses the file open as `fd` (see takePrestartedWorker). */
export function takePrestarted(
  path: string,
  fd: number,
  maxInflight: number,
  mmNames: string[] | null = null,
): { spawned: SpawnedWorker; surplus: number } | null {
  return takePrestartedWorker('text', path, fstatSync(fd), maxInflight, mmNames);
}
