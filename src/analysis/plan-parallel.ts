// Sizing every (area, order_per_bit) pair of a plan, on this thread and a helper worker
// (plan-worker.ts) at once: the sequences are copied once into shared memory, and both threads
// take the next pair from a shared counter, the costliest first (low order_per_bit, long
// sequence), until none is left. The helper is started before the trace is read, so it boots
// while the trace is parsed. A pair the helper did not answer (it failed or stopped) is sized
// here; the answers do not depend on which thread sized them.

import { availableParallelism, cpus, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CmaBitmapFactory } from '../core/cma-bitmap.ts';
import { plainBitmapFactory } from '../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../core/indexed-bitmap.ts';
import { workerScript } from '../sources/trace/parallel.ts';
import { SequencePasses } from './plan-pass.ts';
import { sharedCopy, type WorkloadSequence } from './plan-sequence.ts';
import { type PlanChoice, planOrderPerBit } from './plan-size.ts';

/** One pair to size. */
export interface SizeTask {
  /** Index into the sequences. */
  readonly seq: number;
  readonly basePfn: number;
  readonly orderPerBit: number;
}

/** The bitmap factories a worker can rebuild by name. */
type FactoryName = 'indexed' | 'plain';

/** What the helper receives. */
export interface PlanWorkerJob {
  readonly kind: 'cma-plan-sizes';
  readonly seqs: readonly WorkloadSequence[];
  readonly tasks: readonly SizeTask[];
  readonly factory: FactoryName;
  /** Int32 [next task]: both threads take tasks with Atomics.add. */
  readonly next: SharedArrayBuffer;
}

/** What the helper posts: one per task it sized, then `done`. */
export type PlanWorkerMessage =
  | { readonly kind: 'choice'; readonly task: number; readonly choice: PlanChoice | null }
  | { readonly kind: 'done' }
  | { readonly kind: 'error'; readonly message: string };

/** The factory's name when a worker can rebuild it, else null (sized on this thread only). */
function factoryName(f: CmaBitmapFactory): FactoryName | null {
  return f === indexedBitmapFactory ? 'indexed' : f === plainBitmapFactory ? 'plain' : null;
}

/** A helper worker, booting; `close` stops it (call it exactly once). */
export interface PlanHelper {
  readonly worker: Worker;
  /** False once the worker has stopped (it failed to start, or was closed). */
  readonly alive: boolean;
  /**
   * Whether to use it now: true when asked for (threads 2), else whether the rest of the machine
   * left a core to spare since the helper was started (see startPlanHelper).
   */
  pays(): boolean;
  close(): void;
}

/** Busy CPU time of all cores and of this process, ms, at a moment. */
interface CpuMark {
  readonly at: number;
  readonly all: number;
  readonly ours: number;
}

function cpuMark(): CpuMark {
  let busy = 0;
  for (const c of cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  const u = process.cpuUsage();
  return { at: performance.now(), all: busy, ours: (u.user + u.system) / 1000 };
}

/**
 * Cores the REST of the machine kept busy since `m` (all cores' busy time less this process's),
 * or null when the window is too short to tell (the counters tick every 10 ms).
 */
function othersBusy(m: CpuMark): number | null {
  const n = cpuMark();
  const wall = n.at - m.at;
  if (wall < 200) return null;
  return Math.max(0, n.all - m.all - (n.ours - m.ours)) / wall;
}

/** Wraps a started worker as a helper (exported for tests); `auto`: use it only if it pays. */
export function planHelper(worker: Worker, auto = false): PlanHelper {
  let alive = true;
  const mark = cpuMark();
  worker.on('error', () => {});
  worker.on('exit', () => {
    alive = false;
  });
  // (not keeping the process alive until sizeAll waits for it)
  worker.unref();
  return {
    worker,
    get alive() {
      return alive;
    },
    pays: () => {
      if (!auto) return true;
      // this thread sizes too: the helper needs another core, half of one at least
      const others = othersBusy(mark);
      const cores = availableParallelism();
      return others === null ? loadavg()[0]! < cores - 0.5 : cores - 1 - others >= 0.5;
    },
    close: () => void worker.terminate(),
  };
}

/**
 * Starts a helper worker (`threads`: a count of threads in all, this one included, 1 = none; or
 * 'auto'). Null when none is started.
 *
 * 'auto' starts one on a machine with a second core unless it is far too busy (a one-minute load
 * average of twice the cores), so that it boots while the trace is read; sizeAll then uses it
 * only if the rest of the machine left a core to spare meanwhile (measured from the cores' and
 * this process's CPU time: on a busy machine the two threads only take turns on the same cores,
 * and the helper's copy of the sequences is a loss: plan of gpu-1g measured ~8% slower with it
 * under a load average of 16–18 on 2 cores).
 */
export function startPlanHelper(threads: number | 'auto'): PlanHelper | null {
  const cores = availableParallelism();
  if (threads === 'auto' ? cores < 2 || loadavg()[0]! >= 2 * cores : threads < 2) return null;
  // plan-worker next to this module (.js when built or bundled, .ts from source through tsx)
  const script = workerScript('plan-worker', import.meta.url);
  if (script === null) return null;
  let worker: Worker;
  try {
    worker = script.tsxApi
      ? new Worker(
          `import(${JSON.stringify(script.tsxApi)}).then((a) => { a.register(); return import(${JSON.stringify(script.url.href)}); });`,
          { eval: true },
        )
      : new Worker(script.url);
  } catch {
    return null;
  }
  return planHelper(worker, threads === 'auto');
}

/**
 * The sequence with its arrays in shared memory (posted without a copy): as it is when they are
 * already (plan-sequence.ts builds them there), else a copy.
 */
function shared(s: WorkloadSequence): WorkloadSequence {
  const copy = <T extends Uint8Array | Int32Array | Float64Array>(a: T): T =>
    a.buffer instanceof SharedArrayBuffer ? a : sharedCopy(a);
  return {
    ...s,
    kind: copy(s.kind),
    pages: copy(s.pages),
    arg: copy(s.arg),
    id: copy(s.id),
    transient: copy(s.transient),
    line: copy(s.line),
  };
}

/**
 * Sizes every task (planOrderPerBit), with the helper when there is one, and returns the
 * choices in task order. The helper is closed before this returns.
 */
export async function sizeAll(
  seqs: readonly WorkloadSequence[],
  tasks: readonly SizeTask[],
  factory: CmaBitmapFactory,
  helper: PlanHelper | null,
): Promise<(PlanChoice | null)[]> {
  const out: (PlanChoice | null | undefined)[] = new Array(tasks.length).fill(undefined);
  // each sequence's wasm passes on this thread, shared by its order_per_bit values
  const passes = seqs.map((s) => new SequencePasses(s));
  const size = (i: number): PlanChoice | null => {
    const t = tasks[i]!;
    return planOrderPerBit(seqs[t.seq]!, t.basePfn, t.orderPerBit, factory, passes[t.seq]);
  };
  const name = factoryName(factory);
  // (a helper that already stopped, e.g. its script failed to load, is left out)
  if (helper === null || !helper.alive || name === null || tasks.length < 2 || !helper.pays()) {
    helper?.close();
    for (let i = 0; i < tasks.length; i++) out[i] = size(i);
    return out as (PlanChoice | null)[];
  }
  // the costliest first: the lowest order_per_bit of the longest sequence
  const order = tasks
    .map((_, i) => i)
    .sort(
      (a, b) =>
        tasks[a]!.orderPerBit - tasks[b]!.orderPerBit ||
        seqs[tasks[b]!.seq]!.length - seqs[tasks[a]!.seq]!.length,
    );
  const sorted = order.map((i) => tasks[i]!);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const worker = helper.worker;
  const finished = new Promise<void>((resolve) => {
    const stop = (): void => {
      worker.off('message', onMessage);
      resolve();
    };
    const onMessage = (m: PlanWorkerMessage): void => {
      if (m.kind === 'choice') out[order[m.task]!] = m.choice;
      else stop();
    };
    worker.on('message', onMessage);
    worker.once('error', stop);
    worker.once('exit', stop);
  });
  try {
    const job: PlanWorkerJob = {
      kind: 'cma-plan-sizes',
      seqs: seqs.map(shared),
      tasks: sorted,
      factory: name,
      next: next.buffer as SharedArrayBuffer,
    };
    worker.ref();
    worker.postMessage(job);
    for (;;) {
      const k = Atomics.add(next, 0, 1);
      if (k >= sorted.length) break;
      out[order[k]!] = size(order[k]!);
    }
    // wait for the helper only for the pairs it took (none, when it was still starting)
    if (out.includes(undefined)) await finished;
  } finally {
    helper.close();
  }
  // what the helper took but did not answer
  for (let i = 0; i < tasks.length; i++) if (out[i] === undefined) out[i] = size(i);
  return out as (PlanChoice | null)[];
}
