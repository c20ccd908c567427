// What a shell can observe of open files on the mount, against real kernels: the script of
// test/fixtures/mount-semantics/ (a descriptor opened by the shell and read by two children
// around a write, the bitmap opened before a change and read after, ln/mknod errnos, tail -c,
// head -c, dd skip= and wc -c on every readable file) gives the kernel's bytes through
// `cma-debug mount --profile P`, with busybox applets (cat reads with sendfile). Sizes: the
// length of the text the next open reads, or 0 with --exact-sizes.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { asSys, busyboxScript, fuseUnavailable, ROOT, startMount } from './helpers.ts';

const skip = fuseUnavailable();
const FIX = join(ROOT, 'test/fixtures/mount-semantics');
const script = readFileSync(join(FIX, 'semantics.sh'), 'utf8').replace(/^([A-Z])=\/sys\//gm, '$1=$SYS/');

describe('mount: kernel semantics of open files', { skip: skip ?? false }, () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    test(`${profile}: the oracle's transcript byte for byte`, async () => {
      const s = await startMount(['--profile', profile]);
      try {
        const r = await busyboxScript(script, s.dir);
        const want = readFileSync(join(FIX, `${profile}.txt`), 'utf8');
        assert.equal(asSys(r.stdout + r.stderr, s.dir), want);
      } finally {
        await s.stop();
      }
    });
  }

  test('sizes: the text the next open reads (an open file: its own), 0 with --exact-sizes', async () => {
    const check = `D=$SYS/kernel/debug/cma/reserved
for f in base_pfn count order_per_bit used maxchunk bitmap alloc free; do
  echo "$f $(stat -c %s $D/$f) $(cat $D/$f 2>/dev/null | wc -c)"
done
echo "filter $(stat -c %s $SYS/kernel/tracing/events/cma/filter)"
echo "sysfs $(stat -c %s $SYS/kernel/mm/cma/reserved/alloc_pages_success)"
echo 1 > $SYS/kernel/tracing/events/cma/enable
echo 100 > $D/alloc
T=$SYS/kernel/tracing/trace
[ "$(tail -c 5 $T | od -c)" = "$(cat $T | tail -c 5 | od -c)" ] && echo "trace tail ok"
[ "$(dd if=$T bs=7 skip=3 2>/dev/null)" = "$(cat $T | dd bs=7 skip=3 2>/dev/null)" ] && echo "trace skip ok"
before=$(cat $D/bitmap | wc -c)
exec 3<$D/bitmap
echo 1000 > $D/alloc
[ "$(stat -L -c %s /proc/self/fd/3)" = "$(cat $D/bitmap | wc -c)" ] && echo "path size follows the state"
[ "$(cat <&3 | wc -c)" = "$before" ] && [ "$before" != "$(cat $D/bitmap | wc -c)" ] && echo "the open keeps its text"
`;
    const s = await startMount();
    try {
      const r = await busyboxScript(check, s.dir);
      const lines = r.stdout.trim().split('\n');
      for (const l of lines.slice(0, 8)) {
        const [name, size, len] = l.split(' ');
        assert.equal(size, len, `${name}: st_size is its text's length (${l})`);
      }
      assert.deepEqual(lines.slice(6, 8), ['alloc 0 0', 'free 0 0']);
      assert.equal(lines[8], 'filter 192');
      assert.equal(lines[9], 'sysfs 4096');
      assert.deepEqual(lines.slice(10), [
        'trace tail ok',
        'trace skip ok',
        'path size follows the state',
        'the open keeps its text',
      ]);
    } finally {
      await s.stop();
    }
    const e = await startMount(['--exact-sizes']);
    try {
      const r = await busyboxScript(
        'D=$SYS/kernel/debug/cma/reserved\nstat -c %s $D/used $D/bitmap $SYS/kernel/tracing/trace $SYS/kernel/mm/cma/reserved/alloc_pages_fail\n',
        e.dir,
      );
      assert.equal(r.stdout.split('\n').slice(0, 4).join(' '), '0 0 0 4096');
    } finally {
      await e.stop();
    }
  });
});
