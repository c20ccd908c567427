// The binary traces' early start, as worker-spawn.ts's prestartTextParse() for text: for
// `cma-debug replay FILE` on a plain trace.dat or Perfetto file, bin/cma-debug.js (through
// src/frontends/cli/prestart.ts) starts the binary decode worker (binary-worker.ts) before the
// rest of the program loads, so that it boots and decodes meanwhile; startBinaryParse()
// (read-events.ts) takes it. Imports no more than node's own modules and detect.ts.

import { type Stats, statSync } from 'node:fs';
import { detectFormat } from './detect.ts';
import {
  holdPrestarted,
  PRESTART_INFLIGHT,
  PRESTART_MIN_BYTES,
  prestartCandidate,
  type SpawnedWorker,
  spawnWorker,
  takePrestartedWorker,
} from './worker-spawn.ts';

/**
 * Starts the binary decode worker on `path` now, if it is a plain (not gzip) trace.dat or
 * Perfetto file of `minBytes` or more (replay decodes such files on a worker), decoding
 * `mmNames` in the same pass as replay asks. Returns whether it started one.
 */
export function prestartBinaryParse(
  path: string,
  script: { url: URL; tsxApi?: string } | null,
  mmNames: string[] | null = null,
  minBytes = PRESTART_MIN_BYTES,
): boolean {
  const c = script === null ? null : prestartCandidate(path, minBytes);
  if (c === null || script === null) return false;
  const { format } = detectFormat(c.head);
  if (format !== 'trace.dat' && format !== 'perfetto') return false;
  const spawned = spawnWorker(
    script,
    { kind: 'cma-binary-decode', path, format, gzip: false, mmNames },
    { maxInflight: PRESTART_INFLIGHT, maxMalformedKept: 100, wantMalformed: false },
  );
  holdPrestarted(format, path, c.st, mmNames, spawned);
  return true;
}

/**
 * The worker prestartBinaryParse() started, if it decodes `path` (the same file, unchanged) as
 * `format`, plain, for the same `mmNames` (see takePrestartedWorker); else null.
 */
export function takePrestartedBinary(
  path: string,
  format: 'trace.dat' | 'perfetto',
  gzip: boolean,
  maxInflight: number,
  mmNames: string[] | null,
): { spawned: SpawnedWorker; surplus: number } | null {
  let st: Stats | null = null;
  if (!gzip) {
    try {
      st = statSync(path);
    } catch {
      st = null;
    }
  }
  return takePrestartedWorker(format, path, st, maxInflight, mmNames);
}
