// `cma-debug mount`: system-call behaviour, concurrency, crash safety of --state, and the
// lifecycle errors (busy, not a directory, stale mounts).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseState, systemFromState } from '../../src/core/state.ts';
import { busyboxScript, cli, fuseUnavailable, isMounted, startMount } from './helpers.ts';

const skip = fuseUnavailable();
const work = mkdtempSync(join(tmpdir(), 'cma-mount-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('cma-debug mount', { skip: skip ?? false }, () => {
  test('stat, errnos from read/write, partial reads, several writes per fd', async () => {
    const s = await startMount();
    try {
      const r = await busyboxScript(
        `exec 2>&1
D=$SYS/kernel/debug/cma/reserved
ls -l $D | awk '/^[-d]/ {print $1, $2, $3, $NF}'
stat -c '%n %s %a' $SYS/kernel/mm/cma/reserved/alloc_pages_success | sed "s#$SYS#SYS#"
echo 8 > $D/alloc; cat $D/used
cat $D/alloc; echo rc=$?
echo 1 > $D/count; echo rc=$?
sh -c "echo 1 > $SYS/kernel/mm/cma/reserved/alloc_pages_success"; echo rc=$?
dd if=$D/maxchunk bs=1 skip=1 count=2 2>/dev/null; echo
exec 3> $D/alloc; echo 1 >&3; echo 2 >&3; exec 3>&-
cat $D/used
mkdir $D/x; echo rc=$?
rm $D/used; echo rc=$?
touch $D/newfile; echo rc=$?
touch $D/used; echo rc=$?
echo 1000 > $D/free; cat $D/used
ls $SYS/kernel/tracing/events/cma | tr '\\n' ' '; echo
`,
        s.dir,
      );
      assert.equal(
        r.stdout.replaceAll(s.dir, 'SYS'),
        `--w------- 1 root alloc
-r--r--r-- 1 root base_pfn
-r--r--r-- 1 root bitmap
-r--r--r-- 1 root count
--w------- 1 root free
-r--r--r-- 1 root maxchunk
-r--r--r-- 1 root order_per_bit
-r--r--r-- 1 root used
SYS/kernel/mm/cma/reserved/alloc_pages_success 4096 444
8
cat: read error: Permission denied
rc=1
sh: write error: Permission denied
rc=1
sh: can't create SYS/kernel/mm/cma/reserved/alloc_pages_success: Permission denied
rc=1
08
11
mkdir: can't create directory 'SYS/kernel/debug/cma/reserved/x': Operation not permitted
rc=1
rm: can't remove 'SYS/kernel/debug/cma/reserved/used': Operation not permitted
rc=1
touch: SYS/kernel/debug/cma/reserved/newfile: Permission denied
rc=1
rc=0
0
cma_alloc_busy_retry cma_alloc_finish cma_alloc_start cma_release enable filter 
`,
      );
    } finally {
      await s.stop();
    }
  });

  test('concurrent shells: bitmap = union of live records, no lost or doubled record', async () => {
    const state = join(work, 'conc.json');
    const s = await startMount(['--state', state]);
    let acked = 0;
    try {
      await busyboxScript('echo 1 > $SYS/kernel/tracing/events/cma/enable', s.dir);
      const shell = (seed: number) =>
        busyboxScript(
          `D=$SYS/kernel/debug/cma/reserved
RANDOM=${seed}
i=0
while [ $i -lt 120 ]; do
  n=$((RANDOM % 24 + 1))
  case $((RANDOM % 3)) in
    0|1) echo $n > $D/alloc && echo "A $n" ;;
    2) echo $n > $D/free ;;
  esac
  [ $((i % 10)) = 0 ] && cat $D/bitmap > /dev/null
  i=$((i + 1))
done`,
          s.dir,
        );
      const runs = await Promise.all([1, 2, 3, 4].map(shell));
      for (const r of runs) {
        for (const m of r.stdout.matchAll(/^A (\d+)$/gm)) acked += Number(m[1]);
      }
    } finally {
      await s.stop();
    }
    const sys = systemFromState(parseState(readFileSync(state, 'utf8')));
    const st = sys.areas[0]!;
    const bitmap = st.area.ranges[0]!.bitmap;
    const union = new Uint32Array(bitmap.words.length);
    for (const m of st.records) {
      for (
        let p = m.pfn - st.area.ranges[0]!.basePfn;
        p < m.pfn - st.area.ranges[0]!.basePfn + Number(m.count);
        p++
      ) {
        assert.equal((union[p >>> 5]! >>> (p & 31)) & 1, 0, `page ${p} in two records`);
        union[p >>> 5]! |= 1 << (p & 31);
      }
    }
    assert.deepEqual([...bitmap.words], [...union]);
    assert.equal(st.area.sysfs.allocPagesSuccess, BigInt(acked), 'every acknowledged alloc was counted once');
    let released = 0n;
    for (const e of sys.tracing.entries) if (e.event?.event === 'cma_release') released += e.event.count;
    const live = st.records.reduce((sum, m) => sum + m.count, 0n);
    assert.equal(BigInt(acked) - released, live, 'allocated - released = live records');
    assert.ok(acked > 0);
  });

  test('SIGKILL while writing, remount with the same --state: every acknowledged write is there', async () => {
    const state = join(work, 'crash.json');
    const dir = join(work, 'crash-mnt');
    mkdirSync(dir);
    const s = await startMount(['--state', state], dir);
    let acked: number[] = [];
    try {
      const writer = busyboxScript(
        `D=$SYS/kernel/debug/cma/reserved
i=0
while [ $i -lt 100000 ]; do
  n=$((i % 5 + 1))
  echo $n > $D/alloc 2>/dev/null || break
  echo "A $n"
  i=$((i + 1))
done`,
        dir,
      );
      await new Promise((res) => setTimeout(res, 1500));
      await s.kill();
      const out = await writer;
      acked = [...out.stdout.matchAll(/^A (\d+)$/gm)].map((m) => Number(m[1]));
    } finally {
      if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
    }
    assert.ok(acked.length > 5, `only ${acked.length} writes before the kill`);
    assert.ok(isMounted(dir), 'the killed server left a stale mount');
    const again = await startMount(['--state', state], dir);
    try {
      assert.match(again.stderr, /cleared a stale mount/);
      const r = await busyboxScript('cat $SYS/kernel/debug/cma/reserved/used', dir);
      const used = Number(r.stdout);
      const sum = acked.reduce((a, b) => a + b, 0);
      // a write in flight at the kill may have been saved without being acknowledged
      assert.ok(used >= sum && used <= sum + 5, `used ${used}, acknowledged ${sum}`);
    } finally {
      await again.stop();
    }
    const saved = parseState(readFileSync(state, 'utf8'));
    const counts = saved.areas[0]!.records.map((m) => Number(m.count));
    assert.deepEqual(counts.slice(0, acked.length), acked);
  });

  test('refuses a file, a missing directory, a non-empty directory and a busy mount point', async () => {
    const file = join(work, 'plain-file');
    writeFileSync(file, 'x');
    let r = await cli(['mount', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `cma-debug: mount point ${file} is not a directory\n`);
    r = await cli(['mount', join(work, 'missing')]);
    assert.match(
      r.stderr,
      /^cma-debug: mount point .*missing does not exist \(create the directory first\)\n$/,
    );
    const full = join(work, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'f'), '');
    r = await cli(['mount', full]);
    assert.equal(r.stderr, `cma-debug: mount point ${full} is busy: the directory is not empty\n`);
    const s = await startMount();
    try {
      r = await cli(['mount', s.dir]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `cma-debug: mount point ${s.dir} is busy: a fuse.cma-debug filesystem is already mounted there\n`,
      );
    } finally {
      await s.stop();
    }
    assert.equal(isMounted(s.dir), false, 'SIGTERM unmounted it');
  });

  test('a bad state file is refused and left untouched', async () => {
    const state = join(work, 'bad.json');
    writeFileSync(state, '{"format":"something-else"}');
    const dir = mkdtempSync(join(work, 'm-'));
    const r = await cli(['mount', dir, '--state', state]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^cma-debug: state .*bad\.json: not a cma-debug state/);
    assert.equal(readFileSync(state, 'utf8'), '{"format":"something-else"}');
    assert.equal(isMounted(dir), false);
  });
});
