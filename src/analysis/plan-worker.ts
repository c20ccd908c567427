// The helper half of plan-parallel.ts's sizeAll(): takes (area, order_per_bit) pairs from the
// shared counter until none is left, sizes each with planOrderPerBit over the shared sequences,
// and posts every answer, then `done`.

import { parentPort } from 'node:worker_threads';
import { plainBitmapFactory } from '../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../core/indexed-bitmap.ts';
import type { PlanWorkerJob, PlanWorkerMessage } from './plan-parallel.ts';
import { SequencePasses } from './plan-pass.ts';
import { planOrderPerBit } from './plan-size.ts';

const port = parentPort;
port?.on('message', (job: PlanWorkerJob) => {
  if (job?.kind !== 'cma-plan-sizes') return;
  const post = (m: PlanWorkerMessage): void => port.postMessage(m);
  try {
    const factory = job.factory === 'plain' ? plainBitmapFactory : indexedBitmapFactory;
    const next = new Int32Array(job.next);
    // each sequence's wasm passes, shared by its order_per_bit values
    const passes = job.seqs.map((s) => new SequencePasses(s));
    for (;;) {
      const k = Atomics.add(next, 0, 1);
      if (k >= job.tasks.length) break;
      const t = job.tasks[k]!;
      post({
        kind: 'choice',
        task: k,
        choice: planOrderPerBit(job.seqs[t.seq]!, t.basePfn, t.orderPerBit, factory, passes[t.seq]),
      });
    }
    post({ kind: 'done' });
  } catch (e) {
    post({ kind: 'error', message: (e as Error).message });
  }
});
