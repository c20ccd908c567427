// A short run of the load test (the full 30 s one is `npm run load`).

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runLoad } from './load.ts';

it('many concurrent clients for a few seconds: only kernel answers, consistent state after', async () => {
  const r = await runLoad({ durationMs: 3000, clients: 16, listeners: 2 });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.consistency.problems, []);
  assert.ok(r.consistency.ok);
  assert.ok(r.requests > 100, `${r.requests} requests`);
  assert.ok((r.byOp.alloc?.requests ?? 0) > 0 && (r.byOp.free?.requests ?? 0) > 0);
  assert.ok(r.sseEvents > 0, 'the listeners saw changes');
  for (const k of Object.keys(r.kernelAnswers)) assert.equal(k, 'ENOMEM');
  console.log(
    `load (3 s, 16 clients): ${r.requestsPerSecond} requests/s, kernel answers ${JSON.stringify(r.kernelAnswers)}`,
  );
});
