// What parse-worker.ts sends to parallel.ts: event batches of F numbers per event.

import type { MessagePort } from 'node:worker_threads';
import type { AnnotatedArea, MalformedLine, TraceEvent } from './events.ts';
import type { ParseStats } from './parse.ts';

/**
 * Numbers per event: kind, line, pid, cpu, ts, name id, comm length (its bytes are at
 * COMM_BYTES × event in the batch's comm bytes; -1: the comm is in the event's extra), count,
 * align, pfn, hasPage, extra index (-1: none).
 */
export const F = 12;
/** Comm bytes kept per event (the kernel's TASK_COMM_LEN is 16). */
export const COMM_BYTES = 16;
/** Events per batch (8192 × 12 × 8 bytes = 768 KiB). */
export const BATCH_EVENTS = 8192;

/** The rarely set fields of an event (7.x, 6.12, Android, counts ≥ 2^53). */
export interface BatchExtra
  extends Pick<
    TraceEvent,
    'countBig' | 'errorno' | 'availableCount' | 'totalCount' | 'nrMigrated' | 'errIso' | 'errMig' | 'errTest'
  > {
  /** The comm when it is longer than COMM_BYTES. */
  comm: string | null;
}

export interface WorkerData {
  kind: 'cma-trace-parse';
  path: string;
  /** Byte offset to start at (a line start), and the lines before it. */
  start: number;
  firstLine: number;
  /** Int32 count of batches posted and not yet processed. */
  inflight: SharedArrayBuffer;
  maxInflight: number;
  /** Where the main thread returns processed batch buffers (RecycledBuffers). */
  recycle: MessagePort;
  maxMalformedKept: number;
  /** Post every malformed line as it is found (the caller has onMalformed). */
  wantMalformed: boolean;
}

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
  | { t: 'x'; message: string; code: string | undefined };

/** Buffers of a processed batch, handed back to the worker. */
export interface RecycledBuffers {
  buf: ArrayBuffer;
  commBuf: ArrayBuffer;
}
