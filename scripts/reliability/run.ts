// `npm run reliability`: the hostile-input checks at full size (minutes; not in CI's default
// run). Each part prints one line of figures; docs/reliability.md records them.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const parts = [
  ['write-fuzz.ts', '--writes', '20000'],
  ['kernel-writes.ts', 'check'],
  ['long-line.ts', '--mib', '1024'],
  ['many-areas.ts'],
  ['state-writes.ts', '--seconds', '10', '--kills', '10'],
];
let failed = 0;
for (const [script, ...args] of parts) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script!), ...args], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`reliability: ${script} failed (exit ${r.status})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
