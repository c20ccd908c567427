// `status` and `analyze` of snapshots with many areas (default 500 … 10,000): seconds per run,
// to show the growth is linear (it was quadratic: 61 s for 10,000 areas).
//   node --import tsx scripts/reliability/many-areas.ts [--areas 500,1000,2000,4000,10000]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSystem } from '../../src/core/create.ts';
import { emulatorSource } from '../../src/sources/emulator-source.ts';
import { formatSnapshot, snapshotFromTree } from '../../src/sources/snapshot.ts';

const ROOT = join(import.meta.dirname, '../..');

/** Writes a snapshot of `n` areas of 512 pages (one page used in every other one). */
export async function writeManyAreaSnapshot(file: string, n: number): Promise<void> {
  const areas = Array.from({ length: n }, (_, i) => `name=a${i},count=512,base_pfn=${(i + 1) * 1024}`);
  const sys = createSystem({ areas });
  for (let i = 0; i < n; i += 2) sys.writeFile(`kernel/debug/cma/a${i}/alloc`, '1\n');
  writeFileSync(file, formatSnapshot(snapshotFromTree(await emulatorSource(sys).capture())));
}

/** Runs a CLI command; its status, output and wall time. */
export function timed(args: string[]) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/cma-debug.js'), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--areas');
  const counts = (i >= 0 ? process.argv[i + 1]! : '500,1000,2000,4000,10000').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'cma-many-'));
  let bad = false;
  try {
    for (const n of counts) {
      const f = join(dir, `s${n}.json`);
      await writeManyAreaSnapshot(f, n);
      const st = timed(['status', f]);
      const an = timed(['analyze', f]);
      bad ||= st.status !== 0 || an.status !== 0;
      console.log(
        `many-areas: ${n} areas: status ${st.seconds.toFixed(1)} s, analyze ${an.seconds.toFixed(1)} s`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (bad) process.exit(1);
}
