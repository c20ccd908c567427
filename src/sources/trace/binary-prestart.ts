// The binary traces' early start, as worker-spawn.ts's prestartTextParse() for text: for
// `cma-debug replay FILE` on a plain trace.dat or Perfetto file, bin/cma-debug.js (through
// src/frontends/cli/prestart.ts) starts the binary decode worker (binary-worker.ts) before the
// rest of the program loads, so that it boots and decodes meanwhile; startBinaryParse()
// (read-events.ts) takes it. Imports no more than node's own modules and detect.ts.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { detectFormat } from './detect.ts';
import { PRESTART_MIN_BYTES, type SpawnedWorker, spawnWorker } from './worker-spawn.ts';

/** Batches the early worker may post before the command takes it (each ~0.9 MB; as text's). */
const PRESTART_INFLIGHT = 8;

interface Prestarted {
  path: string;
  format: 'trace.dat' | 'perfetto';
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  mmNames: string[] | null;
  spawned: SpawnedWorker;
}
let prestarted: Prestarted | null = null;

/**
 * Starts the binary decode worker on `path` now, if it is a plain (not gzip) trace.dat or
 * Perfetto file of `minBytes` or more (replay decodes such files on a worker), decoding
 * `mmNames` in the same pass as replay asks. An unused worker does not keep the process alive.
 * Returns whether it started one.
 */
export function prestartBinaryParse(
  path: string,
  script: { url: URL; tsxApi?: string } | null,
  mmNames: string[] | null = null,
  minBytes = PRESTART_MIN_BYTES,
): boolean {
  if (script === null || prestarted !== null) return false;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size < minBytes) return false;
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    const { format } = detectFormat(head.subarray(0, n));
    if (format !== 'trace.dat' && format !== 'perfetto') return false;
    const spawned = spawnWorker(
      script,
      { kind: 'cma-binary-decode', path, format, gzip: false, mmNames },
      { maxInflight: PRESTART_INFLIGHT, maxMalformedKept: 100, wantMalformed: false },
    );
    spawned.worker.unref();
    prestarted = {
      path: resolve(path),
      format,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      mmNames,
      spawned,
    };
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * The worker prestartBinaryParse() started, if it decodes `path` (the same file, unchanged) as
 * `format`, plain, for the same `mmNames`, with `maxInflight` batches allowed from now on (the
 * surplus the early start allowed is `surplus`: drop that many processed buffers instead of
 * recycling them); else null (a worker started for anything else is stopped). Taken once.
 */
export function takePrestartedBinary(
  path: string,
  format: 'trace.dat' | 'perfetto',
  gzip: boolean,
  maxInflight: number,
  mmNames: string[] | null,
): { spawned: SpawnedWorker; surplus: number } | null {
  const p = prestarted;
  prestarted = null;
  if (p === null) return null;
  let same = !gzip && p.format === format && resolve(path) === p.path;
  if (same) {
    try {
      const fd = openSync(path, 'r');
      try {
        const st = fstatSync(fd);
        same = st.dev === p.dev && st.ino === p.ino && st.size === p.size && st.mtimeMs === p.mtimeMs;
      } finally {
        closeSync(fd);
      }
    } catch {
      same = false;
    }
  }
  if (!same || String(p.mmNames && [...p.mmNames].sort()) !== String(mmNames && [...mmNames].sort())) {
    void p.spawned.worker.terminate();
    return null;
  }
  const flag = p.spawned.flag;
  const surplus = Math.max(0, flag[1]! - maxInflight);
  Atomics.store(flag, 1, maxInflight);
  p.spawned.worker.ref();
  return { spawned: p.spawned, surplus };
}
