// Trace files for the bench: generated once with perf-ref's gen-trace (bench --perf-ref DIR) into .bench/traces/,
// checked against the sha256 of the perf-ref README, and reused while size and mtime match.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface TraceFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** True when the sha256 equals the README's (null: the README does not list this trace). */
  readonly matchesReadme: boolean | null;
  /** Seconds spent generating (0 when cached). */
  readonly genSeconds: number;
}

interface Stamp {
  args: string[];
  bytes: number;
  mtimeMs: number;
  sha256: string;
}

export function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 22);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Returns the trace for `id` made with `args`, generating it when missing, stale or (for a known
 * sha256) wrong. Throws a one-line Error when gen-trace fails.
 */
export function ensureTrace(
  dir: string,
  genTrace: string,
  id: string,
  args: readonly string[],
  expectSha: string | null,
  log: (line: string) => void,
): TraceFile {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${id}.trace`);
  const stampPath = `${path}.stamp.json`;
  const check = (genSeconds: number): TraceFile | null => {
    if (!existsSync(path)) return null;
    const st = statSync(path);
    let stamp: Stamp | null = null;
    try {
      stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as Stamp;
    } catch {
      stamp = null;
    }
    let sha: string;
    if (
      stamp &&
      stamp.bytes === st.size &&
      stamp.mtimeMs === st.mtimeMs &&
      JSON.stringify(stamp.args) === JSON.stringify(args)
    ) {
      sha = stamp.sha256;
    } else {
      if (genSeconds === 0 && stamp && JSON.stringify(stamp.args) !== JSON.stringify(args)) return null;
      sha = sha256File(path);
      const s: Stamp = { args: [...args], bytes: st.size, mtimeMs: st.mtimeMs, sha256: sha };
      writeFileSync(stampPath, `${JSON.stringify(s)}\n`);
    }
    if (expectSha !== null && sha !== expectSha) return null;
    return {
      path,
      bytes: st.size,
      sha256: sha,
      matchesReadme: expectSha === null ? null : sha === expectSha,
      genSeconds,
    };
  };
  const cached = check(0);
  if (cached) return cached;
  log(`generating ${id}: gen-trace ${args.join(' ')}`);
  rmSync(stampPath, { force: true });
  const t0 = performance.now();
  const r = spawnSync(genTrace, [...args, '-q', '-o', path], { stdio: ['ignore', 'inherit', 'pipe'] });
  if (r.status !== 0) {
    throw new Error(
      `gen-trace failed for ${id}: ${r.error?.message ?? r.stderr.toString().trim().split('\n')[0]}`,
    );
  }
  const made = check((performance.now() - t0) / 1000);
  if (made) return made;
  const sha = sha256File(path);
  throw new Error(`gen-trace output for ${id} has sha256 ${sha}, the perf-ref README says ${expectSha}`);
}

/**
 * The first `events` event lines of a trace (with its header) as another file, made once:
 * capped runs (the plain scan on 64 GiB) replay this file, so every program sees the same input.
 */
export function truncatedTrace(src: TraceFile, events: number): string {
  const dst = src.path.replace(/\.trace$/, `.first${events}.trace`);
  const stampPath = `${dst}.stamp.json`;
  const key = JSON.stringify({ src: src.sha256, events });
  if (existsSync(dst) && existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === key) return dst;
  const fd = openSync(src.path, 'r');
  const out = openSync(dst, 'w');
  const buf = Buffer.alloc(1 << 20);
  let seen = 0;
  let atLineStart = true;
  let isEvent = false;
  try {
    outer: for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) {
        const c = buf[i]!;
        if (atLineStart) {
          isEvent = c !== 35; // '#'
          atLineStart = false;
        }
        if (c === 10) {
          atLineStart = true;
          if (isEvent && ++seen === events) {
            writeSync(out, buf, 0, i + 1);
            break outer;
          }
        }
      }
      writeSync(out, buf, 0, n);
    }
  } finally {
    closeSync(fd);
    closeSync(out);
  }
  writeFileSync(stampPath, `${key}\n`);
  return dst;
}
