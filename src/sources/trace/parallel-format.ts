// What parse-worker.ts sends to parallel.ts: event batches of F numbers per event.

import { closeSync, openSync, readSync } from 'node:fs';
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { AnnotatedArea, MalformedLine, RareFields, TraceEvent } from './events.ts';
import type { MmEvent } from './mm-events.ts';
import type { FastTarget, ParseStats } from './parse.ts';

/**
 * Numbers per event: kind, line, pid, cpu, ts, name id, comm length (its bytes end at
 * COMM_BYTES × (event + 1) in the batch's comm bytes; -1: the comm is in the event's extra), count,
 * align, pfn, hasPage, extra index (-1: none).
 */
export const F = 12;
/** Comm bytes kept per event (the kernel's TASK_COMM_LEN is 16). */
export const COMM_BYTES = 16;
/** Events per batch at most (8192 × 12 × 8 bytes = 768 KiB). */
const BATCH_EVENTS = 8192;
/** Events in a first batch by default (the next ones double up to BATCH_EVENTS). */
const FIRST_BATCH = 256;

/** The rarely set fields of an event (7.x, 6.12, Android, counts ≥ 2^53). */
export interface BatchExtra extends RareFields {
  /** The comm when it is longer than COMM_BYTES. */
  comm: string | null;
}

/** A text trace for parse-worker.ts. */
export interface TextJob {
  kind: 'cma-trace-parse';
  path: string;
  /** Byte offset to start at (a line start), and the lines before it. */
  start: number;
  firstLine: number;
  /** Other events to pick out of the lines and post as 'c' messages (none: null). */
  mmNames: string[] | null;
  /** 'full': every batch BATCH_EVENTS long (a worker started before its consumer is ready). */
  firstBatch?: 'full';
  /**
   * The head's hand-off (HANDOFF_WORDS BigInt64 words, see claimWorkerStart): the calling thread
   * parses the file from byte 0 while this worker boots, and the worker takes the rest from the
   * line start where the calling thread stops. `start` and `firstLine` are then not used.
   */
  handoff?: SharedArrayBuffer;
}

/** A trace.dat or Perfetto file (plain or gzip) for binary-worker.ts. */
export interface BinaryJob {
  kind: 'cma-binary-decode';
  path: string;
  format: 'trace.dat' | 'perfetto';
  gzip: boolean;
  /** Other events to decode in the same pass and post as 'c' messages (none: null). */
  mmNames: string[] | null;
}

export type WorkerData = (TextJob | BinaryJob) & {
  /**
   * Two int32: the count of batches posted and not yet processed, and how many may be (the
   * worker waits while the count is at or above it; the main thread may lower it).
   */
  inflight: SharedArrayBuffer;
  /** Where the main thread returns processed batch buffers (RecycledBuffers). */
  recycle: MessagePort;
  maxMalformedKept: number;
  /** Post every malformed line as it is found (the caller has onMalformed). */
  wantMalformed: boolean;
};

export type BatchMessage =
  | {
      t: 'b';
      buf: ArrayBuffer;
      /** COMM_BYTES bytes per event. */
      commBuf: ArrayBuffer;
      n: number;
      /** Names by id, for this batch only. */
      names: string[];
      extras: BatchExtra[];
      /** Bytes read so far. */
      bytes: number;
    }
  | { t: 'a'; a: AnnotatedArea }
  | { t: 'm'; m: MalformedLine }
  | { t: 'e'; stats: ParseStats }
  /** Other events (BinaryJob/TextJob.mmNames), before the batch that follows them. */
  | { t: 'c'; events: MmEvent[]; kernelRelease: string | null }
  | { t: 'x'; message: string; code: string | undefined };

/**
 * A consumer of whole batches (the replay engine's fast lane): `rows` gets rows [0, n) of a
 * batch — `f` holds F numbers per row, `names` the batch's area names by id, `comm` the comm
 * cells (COMM_BYTES per row, as int32 words) — and `at(i)` fills the decoder's reused event with
 * row i (what onEvent would get) for the rows it does not handle itself. Rows are consumed in
 * order: `at(i)` is called at row i's turn, never for a row after a later one was handled.
 */
export interface BatchRows {
  rows(
    f: Float64Array,
    n: number,
    names: readonly string[],
    comm: Int32Array,
    at: (i: number) => TraceEvent,
  ): void;
}

/** Buffers of a processed batch, handed back to the worker. */
export interface RecycledBuffers {
  buf: ArrayBuffer;
  commBuf: ArrayBuffer;
}

/**
 * Where a binary reader writes an event without rare fields whose task name fits a batch cell
 * straight into a batch row (BatchEncoder.put), instead of filling an event object for event().
 */
export interface RowSink {
  put(
    kind: number,
    line: number,
    pid: number,
    cpu: number,
    ts: number,
    name: string,
    count: number,
    align: number,
    pfn: number,
    hasPage: boolean,
    comm: Int32Array,
    commLen: number,
  ): void;
}

/**
 * A RowSink that also takes runs of rows already in the batch layout (a WebAssembly decoder's:
 * perfetto-wasm.ts), as BatchEncoder.append.
 */
export interface BulkRowSink extends RowSink {
  /** Events the current batch still takes. */
  readonly room: number;
  nextNameId(name: string): number;
  append(rec: Float64Array, comm: Uint8Array, k: number, name: string): void;
}

/**
 * Packs parsed events into batches (the worker's half; the calling thread uses it too for the
 * head it parses while the worker boots, so that both halves reach onEvent the same way).
 * `event(ev, parser)` appends one event; a full batch (or flush()) goes to `emit`, which owns
 * the buffers from then on. `fresh` supplies the buffers of the next batch.
 */
export class BatchEncoder implements BulkRowSink, FastTarget {
  private f64: Float64Array;
  private comm: Uint8Array;
  private commView: DataView;
  private n = 0;
  private cap: number;
  private names: string[] = [];
  private nameIds = new Map<string, number>();
  private lastName: string | null = null;
  private lastNameId = 0;
  private extras: BatchExtra[] = [];
  /** Bytes read so far (reported with each batch, for progress). */
  bytes = 0;

  constructor(
    private readonly emit: (msg: Extract<BatchMessage, { t: 'b' }>) => void,
    private readonly fresh: () => RecycledBuffers | undefined,
    /** Events in the first batch; later ones double up to BATCH_EVENTS (the consumer starts sooner). */
    firstCap = FIRST_BATCH,
    /**
     * Events per batch at most (≤ BATCH_EVENTS): the buffers are BATCH_EVENTS long whatever it
     * is, but only the rows written are ever paged in.
     */
    private readonly maxCap = BATCH_EVENTS,
  ) {
    this.cap = Math.min(firstCap, maxCap);
    [this.f64, this.comm] = this.buffers();
    this.commView = new DataView(this.comm.buffer);
  }

  /** FastTarget: the batch's numbers, and where the next event's start. */
  get out(): Float64Array {
    return this.f64;
  }
  get at(): number {
    return this.n * F;
  }

  /**
   * Completes the event the parser's fast path wrote at `at` (FastTarget): its line, name id,
   * task name (the line's first 16 bytes: right-aligned, as copyComm puts them) and no extra —
   * the numbers event() writes for the same event.
   */
  fast(dv: DataView, s: number, line: number, name: string): void {
    const f64 = this.f64;
    const n = this.n;
    const o = n * F;
    f64[o + 1] = line;
    if (name !== this.lastName) {
      let ni = this.nameIds.get(name);
      if (ni === undefined) {
        ni = this.names.length;
        this.names.push(name);
        this.nameIds.set(name, ni);
      }
      this.lastName = name;
      this.lastNameId = ni;
    }
    f64[o + 5] = this.lastNameId;
    // the comm's length: from where it starts (the parser put that here) to column 16
    f64[o + 6] = s + 16 - f64[o + 6]!;
    const cv = this.commView;
    const c = n * COMM_BYTES;
    cv.setInt32(c, dv.getInt32(s, true), true);
    cv.setInt32(c + 4, dv.getInt32(s + 4, true), true);
    cv.setInt32(c + 8, dv.getInt32(s + 8, true), true);
    cv.setInt32(c + 12, dv.getInt32(s + 12, true), true);
    f64[o + 11] = -1;
    this.n = n + 1;
    if (this.n === this.cap) this.flush();
  }

  /** Makes the first batch the default's small one (before any event: a consumer is waiting). */
  smallFirstBatch(): void {
    if (this.n === 0) this.cap = Math.min(this.cap, FIRST_BATCH);
  }

  /** Events the current batch still takes. */
  get room(): number {
    return this.cap - this.n;
  }

  /** The id the next event of area `name` gets in this batch (nothing is registered). */
  nextNameId(name: string): number {
    if (name === this.lastName) return this.lastNameId;
    return this.nameIds.get(name) ?? this.names.length;
  }

  /**
   * Appends `k` (≤ room) events of area `name` given as batch records (`rec`: F numbers each,
   * their name id the one nextNameId(name) gave; `comm`: COMM_BYTES per event), as the wasm
   * scanner writes them (parse-wasm.ts).
   */
  append(rec: Float64Array, comm: Uint8Array, k: number, name: string): void {
    if (name !== this.lastName) {
      let ni = this.nameIds.get(name);
      if (ni === undefined) {
        ni = this.names.length;
        this.names.push(name);
        this.nameIds.set(name, ni);
      }
      this.lastName = name;
      this.lastNameId = ni;
    }
    const n = this.n;
    this.f64.set(k * F === rec.length ? rec : rec.subarray(0, k * F), n * F);
    this.comm.set(k * COMM_BYTES === comm.length ? comm : comm.subarray(0, k * COMM_BYTES), n * COMM_BYTES);
    this.n = n + k;
    if (this.n === this.cap) this.flush();
  }

  private buffers(): [Float64Array, Uint8Array] {
    const r = this.fresh();
    return r
      ? [new Float64Array(r.buf), new Uint8Array(r.commBuf)]
      : [new Float64Array(BATCH_EVENTS * F), new Uint8Array(BATCH_EVENTS * COMM_BYTES)];
  }

  /** Appends the parser's current event. */
  event(
    ev: TraceEvent & { copyComm(out: Uint8Array, outView: DataView, at: number): number; fastEvent: boolean },
  ): void {
    const f64 = this.f64;
    const n = this.n;
    const o = n * F;
    f64[o] = ev.kind;
    f64[o + 1] = ev.line;
    f64[o + 2] = ev.pid;
    f64[o + 3] = ev.cpu;
    f64[o + 4] = ev.ts;
    const name = ev.name;
    if (name !== this.lastName) {
      let ni = this.nameIds.get(name);
      if (ni === undefined) {
        ni = this.names.length;
        this.names.push(name);
        this.nameIds.set(name, ni);
      }
      this.lastName = name;
      this.lastNameId = ni;
    }
    f64[o + 5] = this.lastNameId;
    const cl = ev.copyComm(this.comm, this.commView, n * COMM_BYTES);
    f64[o + 6] = cl;
    f64[o + 7] = ev.count;
    f64[o + 8] = ev.align;
    f64[o + 9] = ev.pfn;
    f64[o + 10] = ev.hasPage ? 1 : 0;
    if (ev.fastEvent) f64[o + 11] = -1;
    else if (
      cl < 0 ||
      ev.countBig !== null ||
      ev.errorno !== null ||
      ev.availableCount !== -1 ||
      ev.totalCount !== -1 ||
      ev.nrMigrated !== 0 ||
      ev.errIso !== 0 ||
      ev.errMig !== 0 ||
      ev.errTest !== 0
    ) {
      f64[o + 11] = this.extras.length;
      this.extras.push({
        countBig: ev.countBig,
        errorno: ev.errorno,
        availableCount: ev.availableCount,
        totalCount: ev.totalCount,
        nrMigrated: ev.nrMigrated,
        errIso: ev.errIso,
        errMig: ev.errMig,
        errTest: ev.errTest,
        comm: cl < 0 ? ev.comm() : null,
      });
    } else f64[o + 11] = -1;
    this.n = n + 1;
    if (this.n === this.cap) this.flush();
  }

  /**
   * Appends an event without rare fields (RowSink): what event() writes for such an event,
   * without an event object. `comm` is the task name's batch cell (commLen ≤ COMM_BYTES bytes,
   * right-aligned, zero-padded) as four little-endian 32-bit words.
   */
  put(
    kind: number,
    line: number,
    pid: number,
    cpu: number,
    ts: number,
    name: string,
    count: number,
    align: number,
    pfn: number,
    hasPage: boolean,
    comm: Int32Array,
    commLen: number,
  ): void {
    const f64 = this.f64;
    const n = this.n;
    const o = n * F;
    f64[o] = kind;
    f64[o + 1] = line;
    f64[o + 2] = pid;
    f64[o + 3] = cpu;
    f64[o + 4] = ts;
    if (name !== this.lastName) {
      let ni = this.nameIds.get(name);
      if (ni === undefined) {
        ni = this.names.length;
        this.names.push(name);
        this.nameIds.set(name, ni);
      }
      this.lastName = name;
      this.lastNameId = ni;
    }
    f64[o + 5] = this.lastNameId;
    const view = this.commView;
    const at = n * COMM_BYTES;
    view.setInt32(at, comm[0]!, true);
    view.setInt32(at + 4, comm[1]!, true);
    view.setInt32(at + 8, comm[2]!, true);
    view.setInt32(at + 12, comm[3]!, true);
    f64[o + 6] = commLen;
    f64[o + 7] = count;
    f64[o + 8] = align;
    f64[o + 9] = pfn;
    f64[o + 10] = hasPage ? 1 : 0;
    f64[o + 11] = -1;
    this.n = n + 1;
    if (this.n === this.cap) this.flush();
  }

  /** Emits the events appended so far as one batch (nothing when there are none). */
  flush(): void {
    if (this.n === 0) return;
    const msg = {
      t: 'b' as const,
      buf: this.f64.buffer as ArrayBuffer,
      commBuf: this.comm.buffer as ArrayBuffer,
      n: this.n,
      names: this.names,
      extras: this.extras,
      bytes: this.bytes,
    };
    this.n = 0;
    this.cap = Math.min(2 * this.cap, this.maxCap);
    this.names = [];
    this.nameIds = new Map();
    this.lastName = null;
    this.extras = [];
    this.emit(msg);
    [this.f64, this.comm] = this.buffers();
    this.commView = new DataView(this.comm.buffer);
  }
}

/**
 * A worker's BatchEncoder: its batches go to `port` in order, at most the limit in `d.inflight`
 * of them unprocessed at any time (the worker blocks on the shared counter the main thread decrements:
 * bounded memory), in the buffers the main thread hands back on `d.recycle`. `before` runs
 * before each batch is posted (to post what must precede it).
 */
export function workerBatchEncoder(d: WorkerData, port: MessagePort, before?: () => void): BatchEncoder {
  const flag = new Int32Array(d.inflight);
  return new BatchEncoder(
    (msg) => {
      before?.();
      // back-pressure: only this thread increments, so the count can only fall after the check
      for (;;) {
        const v = Atomics.load(flag, 0);
        if (v < Atomics.load(flag, 1)) break;
        Atomics.wait(flag, 0, v);
      }
      Atomics.add(flag, 0, 1);
      port.postMessage(msg satisfies BatchMessage, [msg.buf, msg.commBuf]);
    },
    () => receiveMessageOnPort(d.recycle)?.message as RecycledBuffers | undefined,
    d.kind === 'cma-trace-parse' && d.firstBatch === 'full' ? BATCH_EVENTS : undefined,
  );
}

/**
 * The head's hand-off between the calling thread and a text worker (TextJob.handoff), three
 * BigInt64 words:
 * - [HANDOFF_CLAIM]: `c ≥ 0` while open: the calling thread has claimed bytes [0, c) (it claims
 *   the next piece by compare-and-swap before reading it); `-(b + 1)` once closed at byte b, by
 *   the worker when it is ready (b = the claim then: the calling thread finishes the piece it is
 *   reading and no more) or by the calling thread at the end of the file.
 * - [HANDOFF_START]: the line start at or after b where the calling thread stopped: the worker's
 *   start (-1 until known).
 * - [HANDOFF_LINES]: the lines before it, the worker's first line number (-1 until known;
 *   HANDOFF_ABORT: the cut fell inside a split event and the calling thread reads the rest itself).
 * Both threads see the same events in the same order whatever the cut: the calling thread's from
 * [0, start), the worker's from start on.
 */
const HANDOFF_WORDS = 3;
const HANDOFF_CLAIM = 0;
const HANDOFF_START = 1;
const HANDOFF_LINES = 2;
const HANDOFF_ABORT = -2n;

/**
 * The job of a text worker whose start the head's hand-off decides (`start` and `firstLine` are
 * then not used); `full`: every batch BATCH_EVENTS long (TextJob.firstBatch).
 */
export function handoffTextJob(
  path: string,
  mmNames: string[] | null,
  handoff: SharedArrayBuffer,
  full = false,
): TextJob {
  return {
    kind: 'cma-trace-parse',
    path,
    start: 0,
    firstLine: 0,
    mmNames,
    handoff,
    ...(full ? { firstBatch: 'full' as const } : {}),
  };
}

/** A new hand-off, with bytes [0, claimed) already the calling thread's. */
export function newHandoff(claimed: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(HANDOFF_WORDS * 8);
  const h = new BigInt64Array(sab);
  h[HANDOFF_CLAIM] = BigInt(claimed);
  h[HANDOFF_START] = -1n;
  h[HANDOFF_LINES] = -1n;
  return sab;
}

/**
 * The worker's side: closes the claim (nothing claimed yet: the worker takes the whole file) and
 * waits until the calling thread has parsed up to a line start; returns where to start and the
 * lines before it, or null (HANDOFF_ABORT).
 */
export function claimWorkerStart(sab: SharedArrayBuffer): { start: number; firstLine: number } | null {
  const h = new BigInt64Array(sab);
  for (;;) {
    const c = Atomics.load(h, HANDOFF_CLAIM);
    if (c < 0n) break;
    if (Atomics.compareExchange(h, HANDOFF_CLAIM, c, -(c + 1n)) === c) {
      if (c === 0n) return { start: 0, firstLine: 0 };
      break;
    }
  }
  for (;;) {
    const lines = Atomics.load(h, HANDOFF_LINES);
    if (lines === HANDOFF_ABORT) return null;
    if (lines >= 0n) return { start: Number(Atomics.load(h, HANDOFF_START)), firstLine: Number(lines) };
    Atomics.wait(h, HANDOFF_LINES, lines);
  }
}

/**
 * The calling thread's side, before reading the next piece: the end of what it may read now —
 * `next` (claimed), or less when the worker closed the claim (`closed` is then true: read up to
 * `end`, then stop at the next line start). `pos` is what it has read; at `pos === size` it
 * closes the claim itself.
 */
export function claimHead(
  sab: SharedArrayBuffer,
  pos: number,
  next: number,
  size: number,
): { end: number; closed: boolean } {
  const h = new BigInt64Array(sab);
  for (;;) {
    const c = Atomics.load(h, HANDOFF_CLAIM);
    if (c < 0n) return { end: Number(-c - 1n), closed: true };
    if (Number(c) > pos) return { end: Number(c), closed: false };
    const to = pos >= size ? -(c + 1n) : BigInt(Math.min(next, size));
    if (Atomics.compareExchange(h, HANDOFF_CLAIM, c, to) === c)
      return to < 0n ? { end: pos, closed: true } : { end: Number(to), closed: false };
  }
}

/** The calling thread's side, at the end of its head: the worker's start and first line, or HANDOFF_ABORT. */
export function publishHandoff(sab: SharedArrayBuffer, start: number, lines: number | null): void {
  const h = new BigInt64Array(sab);
  Atomics.store(h, HANDOFF_START, BigInt(start));
  Atomics.store(h, HANDOFF_LINES, lines === null ? HANDOFF_ABORT : BigInt(lines));
  Atomics.notify(h, HANDOFF_LINES);
}

/**
 * The workers' read loop: the file at `path` from byte `start` to its end, through `buf` (reused:
 * `feed` copies what it keeps across chunks), with `progress.bytes` the file offset read up to
 * before each chunk is fed.
 */
export function feedFile(
  path: string,
  start: number,
  buf: Uint8Array,
  progress: { bytes: number },
  feed: (chunk: Uint8Array) => void,
): void {
  const fd = openSync(path, 'r');
  try {
    let pos = start;
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, pos);
      if (got <= 0) break;
      pos += got;
      progress.bytes = pos;
      feed(got === buf.length ? buf : buf.subarray(0, got));
    }
  } finally {
    closeSync(fd);
  }
}
