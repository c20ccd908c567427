// `mount --state`: throughput of 8 concurrent writers (each `echo 1 > alloc; echo 1 > free` in a
// shell loop), and crash safety: SIGKILL the mount while they write, restart it on the same
// state file, and check that no temporary file is left and no acknowledged write was lost
// (every writer's last acknowledged alloc count is in the restored `used`).
//   node --import tsx scripts/reliability/state-writes.ts [--seconds N] [--kills N] [--writers N]

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxPath, run, startMount } from '../../test/mount/helpers.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 5);
const KILLS = arg('kills', 3);
const WRITERS = arg('writers', 8);

/** Runs WRITERS shells for `seconds`; each prints how many alloc writes were acknowledged. */
async function writers(dir: string, seconds: number, onStart?: () => void) {
  const D = `${dir}/kernel/debug/cma/reserved`;
  const sh = join(busyboxPath(), 'sh');
  const end = Math.floor(Date.now() / 1000) + seconds;
  const ps = Array.from({ length: WRITERS }, () =>
    run(
      sh,
      [
        '-c',
        `n=0; while [ $(date +%s) -lt ${end} ]; do echo 1 > ${D}/alloc || break; n=$((n+1)); echo "$n"; done`,
      ],
      { PATH: busyboxPath() },
      120_000,
    ),
  );
  onStart?.();
  return Promise.all(ps);
}

/** Acknowledged writes per second of WRITERS concurrent shells on a `--state` mount. */
export async function throughput(seconds = SECONDS): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'cma-rel-'));
  const s = await startMount(['--state', join(work, 's.json'), '--area', 'name=reserved,count=262144']);
  try {
    const t0 = performance.now();
    const rs = await writers(s.dir, seconds);
    const secs = (performance.now() - t0) / 1000;
    const n = rs.reduce((sum, r) => sum + (Number(r.stdout.trim().split('\n').pop()) || 0), 0);
    return n / secs;
  } finally {
    await s.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * SIGKILLs of a `--state` mount during writes, each followed by a restart on the same file;
 * `stalePid` plants a temporary file of a dead process first, as an older crash leaves.
 */
export async function crashes(
  kills = KILLS,
  stalePid?: number,
): Promise<{ kills: number; acknowledged: number; lost: number; tmpLeft: number }> {
  const work = mkdtempSync(join(tmpdir(), 'cma-rel-'));
  if (stalePid !== undefined) writeFileSync(join(work, `.s.json.tmp-${stalePid}`), '{"partial');
  const state = join(work, 's.json');
  let acknowledged = 0;
  let lost = 0;
  let tmpLeft = 0;
  const args = ['--state', state, '--area', 'name=reserved,count=262144'];
  try {
    for (let k = 0; k < kills; k++) {
      const s = await startMount(args);
      tmpLeft += readdirSync(work).filter((f) => f.includes('.tmp-')).length; // after a restart
      const before = Number(readFileSync(`${s.dir}/kernel/debug/cma/reserved/used`, 'utf8'));
      const done = writers(s.dir, 30);
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
      await s.kill();
      const rs = await done;
      const acked = rs.reduce((sum, r) => sum + (Number(r.stdout.trim().split('\n').pop()) || 0), 0);
      acknowledged += acked;
      const back = await startMount(args);
      const used = Number(readFileSync(`${back.dir}/kernel/debug/cma/reserved/used`, 'utf8'));
      if (used < before + acked) lost += before + acked - used;
      await back.stop();
    }
    tmpLeft += readdirSync(work).filter((f) => f.includes('.tmp-')).length;
    return { kills, acknowledged, lost, tmpLeft };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!existsSync('/dev/fuse')) {
    console.log('state-writes: no /dev/fuse, skipped');
    process.exit(0);
  }
  const wps = await throughput();
  console.log(`state-writes: ${WRITERS} writers, ${SECONDS} s: ${wps.toFixed(0)} acknowledged writes/s`);
  const c = await crashes();
  console.log(
    `state-writes: ${c.kills} SIGKILLs during writes, ${c.acknowledged} acknowledged writes, ${c.lost} lost, ${c.tmpLeft} temporary files left after restarts`,
  );
  if (c.lost > 0 || c.tmpLeft > 0) process.exit(1);
}
