// `npm run load [-- --duration 30 --clients 64]`: the 30-second load test, with its report.

import { parseArgs } from 'node:util';
import { runLoad } from './load.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    clients: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const clients = Number(values.clients);
if (!(durationS > 0 && durationS <= 600) || !(Number.isInteger(clients) && clients > 0 && clients <= 1000)) {
  process.stderr.write('load: --duration 1..600 seconds, --clients 1..1000\n');
  process.exit(2);
}
process.stdout.write(`load: ${clients} clients for ${durationS} s against cma-debug serve on 127.0.0.1\n`);
const r = await runLoad({
  durationMs: durationS * 1000,
  clients,
  log: (l) => process.stdout.write(`${l}\n`),
});
if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
else {
  process.stdout.write(
    `requests: ${r.requests} in ${r.durationS.toFixed(1)} s = ${r.requestsPerSecond} requests/s (${r.clients} clients)\n`,
  );
  for (const [op, s] of Object.entries(r.byOp))
    process.stdout.write(
      `  ${op.padEnd(14)} ${String(s.requests).padStart(8)}  mean ${s.meanMs} ms  max ${s.maxMs} ms\n`,
    );
  process.stdout.write(`kernel answers: ${JSON.stringify(r.kernelAnswers)}\n`);
  process.stdout.write(`change events received by 4 SSE listeners: ${r.sseEvents}\n`);
  process.stdout.write(
    `consistency: ${r.consistency.ok ? 'ok' : 'FAILED'} (${r.consistency.records} live records, used ${JSON.stringify(r.consistency.usedPages)})\n`,
  );
  for (const p of r.consistency.problems) process.stdout.write(`  ${p}\n`);
  process.stdout.write(`errors: ${r.errors.length}\n`);
  for (const e of r.errors.slice(0, 10)) process.stdout.write(`  ${e}\n`);
}
process.exitCode = r.errors.length === 0 && r.consistency.ok ? 0 : 1;
