// What parse-worker.ts sends to parallel.ts: event batches of F numbers per event.

import type { AnnotatedArea, MalformedLine } from './events.ts';
import type { ParseStats } from './parse.ts';

/** Numbers per event: kind, line, pid, cpu, ts, name id, comm id, count, align, pfn, hasPage, extra index. */
export const F = 12;
/** Events per batch (8192 × 12 × 8 bytes = 768 KiB). */
export const BATCH_EVENTS = 8192;

/** The rarely set fields of an event (7.x, 6.12, Android, counts ≥ 2^53). */
export interface BatchExtra {
  countBig: bigint | null;
  errorno: number | null;
  availableCount: number;
  totalCount: number;
  nrMigrated: number;
  errIso: number;
  errMig: number;
  errTest: number;
}

export interface WorkerData {
  kind: 'cma-trace-parse';
  path: string;
  /** Int32 count of batches posted and not yet processed. */
  inflight: SharedArrayBuffer;
  maxInflight: number;
  maxMalformedKept: number;
  /** Post every malformed line as it is found (the caller has onMalformed). */
  wantMalformed: boolean;
}

export type BatchMessage =
  | {
      t: 'b';
      buf: ArrayBuffer;
      n: number;
      /** Names and comms by id, for this batch only. */
      names: string[];
      comms: string[];
      extras: BatchExtra[];
      /** Bytes read so far. */
      bytes: number;
    }
  | { t: 'a'; a: AnnotatedArea }
  | { t: 'm'; m: MalformedLine }
  | { t: 'e'; stats: ParseStats }
  | { t: 'x'; message: string; code: string | undefined };
