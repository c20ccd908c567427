// Many shells at once, as on a kernel: 8 busybox readers (`cat used`, `cat bitmap`: sendfile,
// refused by the mount, then read(2)) and 4 writers (`echo 1 > alloc; echo 1 > free`) for 10 s.
// Every read is a well-formed text of the right length, and every trace line carries the pid of
// the shell that wrote (each writer counts its own writes).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { busyboxPath, fuseUnavailable, run, startMount } from './helpers.ts';

const skip = fuseUnavailable();
const SECONDS = 10;

describe('mount under concurrent shells', { skip: skip ?? false }, () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    test(`${profile}: 8 readers and 4 writers for ${SECONDS} s`, { timeout: 180_000 }, async (t) => {
      const s = await startMount(['--profile', profile]);
      try {
        const D = `${s.dir}/kernel/debug/cma/reserved`;
        const bitmap = profile === '7.3' ? `${D}/ranges/0/bitmap` : `${D}/bitmap`;
        const T = `${s.dir}/kernel/tracing`;
        const sh = join(busyboxPath(), 'sh');
        const env = { PATH: busyboxPath() };
        await run(sh, ['-c', `echo 1 > ${T}/events/cma/enable`], env);
        const end = Math.floor(Date.now() / 1000) + SECONDS;
        const loop = (body: string, atLeast = 0) =>
          `n=0; while [ $(date +%s) -lt ${end} ] || [ $n -lt ${atLeast} ]; do ${body}; n=$((n+1)); done`;
        // each reader reads for the whole 10 s and at least 150 times (a loaded machine is slow):
        // thousands of reads in all, whatever the speed
        const readers = [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
          run(sh, ['-c', loop(`cat ${i % 2 ? bitmap : `${D}/used`}`, 150)], env, 170_000),
        );
        const writers = [0, 1, 2, 3].map(() =>
          run(sh, ['-c', `${loop(`echo 1 > ${D}/alloc; echo 1 > ${D}/free`)}; echo "$$ $n"`], env, 120_000),
        );
        const [rs, ws] = await Promise.all([Promise.all(readers), Promise.all(writers)]);
        let reads = 0;
        let corrupt = 0;
        const words = new Set<number>();
        rs.forEach((r, i) => {
          assert.equal(r.code, 0, r.stderr);
          assert.ok(r.stdout.endsWith('\n'));
          for (const line of r.stdout.slice(0, -1).split('\n')) {
            reads++;
            if (i % 2 === 0) {
              // at most one page per writer is ever allocated
              if (!/^[0-4]$/.test(line)) corrupt++;
            } else {
              const w = line.split(' ');
              words.add(w.length);
              if (!w.every((x) => /^(0|[1-9]\d*)$/.test(x))) corrupt++;
            }
          }
        });
        // one area of 4096 pages: 128 words of 32 bits, all in every read
        assert.deepEqual([...words], [128]);
        assert.equal(corrupt, 0, `${corrupt} corrupt of ${reads} reads`);
        assert.ok(reads >= 8 * 150, `only ${reads} reads`);
        const counts = new Map<number, number>();
        for (const w of ws) {
          assert.equal(w.code, 0, w.stderr);
          const [pid, n] = w.stdout.trim().split(' ').map(Number);
          counts.set(pid!, n!);
        }
        const trace = await run(join(busyboxPath(), 'cat'), [`${T}/trace`], env);
        const seen = new Map<number, { start: number; release: number }>();
        for (const m of trace.stdout.matchAll(
          /^ *(\S+)-(\d+) +\[\d+\] \S+ +[\d.]+: (cma_alloc_start|cma_release):/gm,
        )) {
          assert.equal(m[1], 'sh');
          const pid = Number(m[2]);
          assert.ok(counts.has(pid), `trace line of pid ${pid}, not a writer's (${[...counts.keys()]})`);
          const c = seen.get(pid) ?? { start: 0, release: 0 };
          if (m[3] === 'cma_alloc_start') c.start++;
          else c.release++;
          seen.set(pid, c);
        }
        for (const [pid, n] of counts)
          assert.deepEqual(seen.get(pid), { start: n, release: n }, `writer ${pid}`);
        const writes = [...counts.values()].reduce((a, b) => a + b, 0);
        t.diagnostic(
          `${reads} reads, ${corrupt} corrupt; ${writes} alloc+free pairs, every trace line its writer's`,
        );
      } finally {
        await s.stop();
      }
    });
  }
});
