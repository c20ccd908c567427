// The write-parser fuzz against real kernels: 600 hostile alloc/free writes whose transcripts
// were recorded on 6.1, 6.12 and 7.3 (test/fixtures/hostile-writes/) must come out of the
// emulator byte for byte: errno of each write, `used` after it, bitmaps, sysfs counters, log
// lines and trace events.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  compareWithKernel,
  FIXTURE,
  FUZZ_AREAS,
  hostileWrites,
  LAYOUTS,
  oracleScript,
  RUN_FIXTURES,
  SEED_FIXTURES,
} from '../../scripts/reliability/kernel-writes.ts';
import { createSystem } from '../../src/core/create.ts';

const DIR = join(import.meta.dirname, '../..', FIXTURE.dir);
const writes = hostileWrites(FIXTURE.writes, FIXTURE.seed, FUZZ_AREAS);

describe('hostile writes against real kernels', () => {
  it('the generator still makes the script that was run on the kernels', () => {
    assert.equal(oracleScript(writes, FUZZ_AREAS), readFileSync(join(DIR, 'writes.sh'), 'utf8'));
  });

  for (const profile of FIXTURE.profiles) {
    it(`${profile}: the emulator prints the kernel's transcript byte for byte`, () => {
      const want = readFileSync(join(DIR, `${profile}.txt`), 'utf8');
      assert.ok(want.split('\n').length > 1200, 'a full transcript');
      assert.equal(compareWithKernel(profile, want, writes), null);
    });
  }

  // seeds 7 and 8: a second zero-bit allocation at a pfn is busy (the pageblock before it stays
  // isolated); 3, 4, 6 and 7: the WARN only when the page before the pfn is free
  for (const seed of SEED_FIXTURES.seeds) {
    it(`seed ${seed}, ${SEED_FIXTURES.writes} writes: the emulator prints each kernel's transcript`, () => {
      const w = hostileWrites(SEED_FIXTURES.writes, seed, FUZZ_AREAS);
      for (const profile of SEED_FIXTURES.profiles) {
        const file = join(import.meta.dirname, '../..', SEED_FIXTURES.dir, `seed${seed}-${profile}.txt.gz`);
        const want = gunzipSync(readFileSync(file)).toString('utf8');
        assert.ok(want.split('\n').length > 450, 'a full transcript');
        assert.equal(compareWithKernel(profile, want, w), null, `${profile}`);
      }
    });
  }

  // 7.3's multi-range areas (every range's bitmap, the per-range lines of the failure report),
  // 6.1's 2 GiB area placed past a hole in RAM, and zero-bit requests of 2^64 - k pages (k = 36,
  // 9) whose WARN counts the k pages before the pfn; nr_hugepages writes on 6.1, whose hugetlb
  // area is not 1 GiB-aligned (every page tried fails), and a NUL ending a sysfs write
  for (const run of RUN_FIXTURES.runs) {
    const { layout, seed, writes: n, profiles } = run;
    const hugepages = 'hugepages' in run && run.hugepages;
    const what = `${LAYOUTS[layout]!.cmdline}${hugepages ? ' with nr_hugepages writes' : ''}, seed ${seed}`;
    it(`${what}: the emulator prints the transcript of ${profiles.join(' and ')}`, () => {
      const w = hostileWrites(n, seed, FUZZ_AREAS, hugepages);
      for (const profile of profiles) {
        const name = `${layout}${hugepages ? '-hp' : ''}-seed${seed}-${profile}.txt.gz`;
        const file = join(import.meta.dirname, '../..', RUN_FIXTURES.dir, name);
        const want = gunzipSync(readFileSync(file)).toString('utf8');
        assert.ok(want.split('\n').length > 2 * n, 'a full transcript');
        if (hugepages) assert.match(want, /^\d+ nr_hugepages ok /m);
        if (LAYOUTS[layout]!.ranges && profile === '7.3') assert.match(want, /^hugetlb0 ranges\/1\/bitmap /m);
        assert.equal(compareWithKernel(profile, want, w, LAYOUTS[layout]), null, profile);
      }
    });
  }

  it('a zero-bit request of 2^64 - k pages WARNs about the free pages among the k before its pfn', () => {
    for (const profile of ['6.1', '6.12']) {
      const sys = createSystem({ profile, areas: ['name=h,order_per_bit=9,base_pfn=0x40000,count=262144'] });
      // 700 pages: bits 0 and 1, the last 324 pages of bit 1 free
      assert.ok(sys.writeFile('kernel/debug/cma/h/alloc', '700\n').ok);
      const warned = () =>
        [...sys.dmesg(false).matchAll(/^(\d+) pages are still in use!$/gm)].map((m) => Number(m[1]));
      // 2^64 - 36 at bit 2: the 36 pages before it are free
      assert.ok(sys.writeFile('kernel/debug/cma/h/alloc', '18446744073709551580\n').ok);
      assert.deepEqual(warned(), [36], profile);
    }
    // 7.3 refuses the request (ENOMEM) and logs nothing of the kind
    const sys = createSystem({
      profile: '7.3',
      areas: ['name=h,order_per_bit=9,base_pfn=0x40000,count=262144'],
    });
    assert.equal(sys.writeFile('kernel/debug/cma/h/alloc', '18446744073709551580\n').ok, false);
    assert.doesNotMatch(sys.dmesg(false), /still in use/);
  });

  it("6.1/6.12: the zero-bit allocation logs free_contig_range()'s WARN, as the kernels did", () => {
    for (const [profile, at] of [
      ['6.1', 'mm/page_alloc.c:9508'],
      ['6.12', 'mm/page_alloc.c:6945'],
    ] as const) {
      const sys = createSystem({ profile, areas: ['name=h,order_per_bit=9,base_pfn=0x40000,count=262144'] });
      sys.writeFile('kernel/debug/cma/h/alloc', '8\n');
      const r = sys.writeFile('kernel/debug/cma/h/alloc', '0xffffffffffffffff', { comm: 'sh', pid: 31 });
      assert.ok(r.ok);
      const log = sys.dmesg(false);
      assert.match(log, /\n1 pages are still in use!\nWARNING: CPU: 0 PID: 31 at mm\/page_alloc\.c:\d+ 0x/);
      assert.ok(log.includes(at), profile);
      // the bogus record heads the list: an INT_MAX free cannot split it, so the 8 pages under it stay
      sys.writeFile('kernel/debug/cma/h/free', '2147483647\n');
      const used = sys.readFile('kernel/debug/cma/h/used');
      assert.ok(used.ok);
      assert.equal(used.text, '512\n');
    }
    const sys73 = createSystem({
      profile: '7.3',
      areas: ['name=h,order_per_bit=9,base_pfn=0x40000,count=262144'],
    });
    sys73.writeFile('kernel/debug/cma/h/alloc', '0xffffffffffffffff');
    assert.ok(!sys73.dmesg(false).includes('still in use'));
  });
});
