// cma_debug.c behaviours that the golden transcripts do not reach: one value per open, per-write parsing, the zero-bit wrap, log lines, alignment.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/config.ts';
import { createSystem } from '../../src/core/create.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { TRACE_BUFFER_ENTRIES } from '../../src/core/tracefs.ts';
import { O_RDONLY, O_WRONLY } from '../../src/core/vfs.ts';

const D = '/sys/kernel/debug/cma';
const text = (sys: CmaSystem, path: string): string => {
  const r = sys.readFile(path);
  assert.ok(r.ok, `read ${path}`);
  return r.text;
};
const bytes = (s: string) => new TextEncoder().encode(s);
const traceLines = (sys: CmaSystem) => sys.tracing.entries.map((e) => `${e.event?.event}: ${e.text}`);

describe('simple_attr files', () => {
  it('one open sees one value even when read a byte at a time', () => {
    const sys = createSystem();
    sys.writeFile(`${D}/reserved/alloc`, '10\n');
    const o = sys.open(`${D}/reserved/used`, O_RDONLY);
    assert.ok(o.ok);
    const first = sys.read(o.fh, 1);
    assert.ok(first.ok && new TextDecoder().decode(first.data) === '1');
    sys.writeFile(`${D}/reserved/alloc`, '90\n');
    const rest = sys.read(o.fh, 100);
    assert.ok(rest.ok && new TextDecoder().decode(rest.data) === '0\n');
    assert.equal(text(sys, `${D}/reserved/used`), '100\n');
  });

  it('parses each write() on its own and answers an empty write with 0', () => {
    const sys = createSystem();
    const o = sys.open(`${D}/reserved/alloc`, O_WRONLY);
    assert.ok(o.ok);
    assert.deepEqual(sys.write(o.fh, bytes('7')), { ok: true, written: 1 });
    assert.deepEqual(sys.write(o.fh, bytes('\n')), { ok: false, errno: 'EINVAL' });
    assert.deepEqual(sys.write(o.fh, new Uint8Array(0)), { ok: true, written: 0 });
    assert.deepEqual(sys.write(o.fh, bytes('00000000000000000000005junkjunk')), { ok: true, written: 31 });
    assert.equal(text(sys, `${D}/reserved/used`), '12\n');
    assert.deepEqual(sys.read(o.fh, 10), { ok: false, errno: 'EBADF' });
  });

  it('gives EACCES for the wrong direction and EINVAL for writing bitmap', () => {
    const sys = createSystem();
    assert.deepEqual(sys.writeFile(`${D}/reserved/count`, '1\n'), { ok: false, errno: 'EACCES' });
    assert.deepEqual(sys.writeFile(`${D}/reserved/bitmap`, '1\n'), { ok: false, errno: 'EINVAL' });
    assert.deepEqual(sys.readFile(`${D}/reserved/free`), { ok: false, errno: 'EACCES' });
    assert.deepEqual(sys.open('/sys/kernel/mm/cma/reserved/alloc_pages_fail', O_WRONLY), {
      ok: false,
      errno: 'EACCES',
    });
  });

  it('refuses non-root callers at open (debugfs root is 0700)', () => {
    const sys = createSystem();
    assert.deepEqual(sys.open(`${D}/reserved/used`, O_RDONLY, undefined, 1000), {
      ok: false,
      errno: 'EACCES',
    });
    assert.ok(sys.open('/sys/kernel/mm/cma/reserved/alloc_pages_fail', O_RDONLY, undefined, 1000).ok);
  });

  it('keeps the bitmap text of an open file while the area changes', () => {
    const sys = createSystem();
    const o = sys.open(`${D}/reserved/bitmap`, O_RDONLY);
    assert.ok(o.ok);
    sys.writeFile(`${D}/reserved/alloc`, '8\n');
    const r = sys.read(o.fh, 4);
    assert.ok(r.ok && new TextDecoder().decode(r.data) === '0 0 ');
    assert.ok(text(sys, `${D}/reserved/bitmap`).startsWith('255 0 '));
  });
});

describe('spec vectors', () => {
  it('vector A (opb 0): LIFO partial frees take the first pages of the newest record', () => {
    const sys = createSystem({ areas: ['name=test,base_pfn=0x80000,count=4096'] });
    const w = (f: string, v: string) => sys.writeFile(`${D}/test/${f}`, `${v}\n`);
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1');
    w('alloc', '8');
    w('alloc', '3');
    w('alloc', '5');
    w('free', '6');
    assert.ok(text(sys, `${D}/test/bitmap`).startsWith('1791 '));
    assert.deepEqual(
      sys.area('test')!.records.map((r) => [r.pfn, r.count]),
      [
        [0x80000, 8n],
        [0x80009, 2n],
      ],
    );
    assert.deepEqual(traceLines(sys).slice(-2), [
      'cma_release: name=test pfn=0x8000b page=(____ptrval____) count=5',
      'cma_release: name=test pfn=0x80008 page=(____ptrval____) count=1',
    ]);
    w('alloc', '1');
    assert.ok(text(sys, `${D}/test/bitmap`).startsWith('2047 '));
    assert.ok(w('free', '100').ok);
    assert.equal(text(sys, `${D}/test/used`), '0\n');
  });

  it('vector B (opb 2): a partial free refuses and stops, even with older records that would fit', () => {
    const sys = createSystem({ areas: ['name=test,base_pfn=0x80000,count=4096,order_per_bit=2'] });
    const w = (f: string, v: string) => sys.writeFile(`${D}/test/${f}`, `${v}\n`);
    w('alloc', '3');
    w('alloc', '5');
    assert.equal(text(sys, `${D}/test/used`), '12\n');
    assert.ok(w('free', '4').ok);
    assert.ok(text(sys, `${D}/test/bitmap`).startsWith('7 '));
    w('free', '5');
    assert.ok(text(sys, `${D}/test/bitmap`).startsWith('1 '));
    assert.equal(text(sys, `${D}/test/maxchunk`), '4092\n');
  });

  it('§15.3 alignment is to absolute pfns, in bitmap units', () => {
    const a = createSystem({ areas: ['name=t,base_pfn=0x80000,count=4096'] });
    a.cmaAlloc('t', 8, 0);
    assert.deepEqual(a.cmaAlloc('t', 3, 4), { ok: true, pfn: 0x80010 });
    const b = createSystem({ areas: ['name=t,base_pfn=0x80002,count=4096'] });
    assert.deepEqual(b.cmaAlloc('t', 1, 4), { ok: true, pfn: 0x80010 });
    const c = createSystem({ areas: ['name=t,base_pfn=0x80000,count=4096,order_per_bit=2'] });
    c.cmaAlloc('t', 1, 0);
    assert.deepEqual(c.cmaAlloc('t', 4, 4), { ok: true, pfn: 0x80010 });
  });

  it('busy pages: -EBUSY clears the bits, traces busy_retry and slides one step (oracle: bitmap 5)', () => {
    const sys = createSystem({ areas: ['name=hugetlb0,base_pfn=261632,count=262144,order_per_bit=9'] });
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1');
    sys.writeFile(`${D}/hugetlb0/alloc`, '8\n');
    sys.markBusy('hugetlb0', 0x40000, 1);
    assert.ok(sys.writeFile(`${D}/hugetlb0/alloc`, '1\n').ok);
    assert.ok(text(sys, `${D}/hugetlb0/bitmap`).startsWith('5 '));
    assert.deepEqual(traceLines(sys).slice(-3), [
      'cma_alloc_start: name=hugetlb0 count=1 align=0',
      'cma_alloc_busy_retry: name=hugetlb0 pfn=0x40000 page=(____ptrval____) count=1 align=0',
      'cma_alloc_finish: name=hugetlb0 pfn=0x40200 page=(____ptrval____) count=1 align=0',
    ]);
  });

  it('a non-EBUSY migration error ends the search: finish with page NULL at the tried pfn, ret in the log', () => {
    const sys = createSystem({ areas: ['name=t,base_pfn=0x80000,count=1024'] });
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1');
    sys.markBusy('t', 0x80000, 1, -4);
    assert.deepEqual(sys.writeFile(`${D}/t/alloc`, '2\n'), { ok: false, errno: 'ENOMEM' });
    assert.equal(
      traceLines(sys).at(-1),
      'cma_alloc_finish: name=t pfn=0x80000 page=0000000000000000 count=2 align=0',
    );
    assert.match(sys.dmesg(), /cma: cma_alloc: t: alloc failed, req-size: 2 pages, ret: -4\n$/);
    assert.equal(text(sys, `${D}/t/used`), '0\n');
  });

  it('§6.3: (int)-1 on an order 9 area "succeeds" without bits, then the page is busy, then freeing it corrupts the kernel', () => {
    const sys = createSystem({ areas: ['name=hugetlb0,base_pfn=261632,count=262144,order_per_bit=9'] });
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1');
    sys.writeFile(`${D}/hugetlb0/alloc`, '8\n');
    assert.ok(sys.writeFile(`${D}/hugetlb0/alloc`, '4294967295\n').ok);
    assert.ok(text(sys, `${D}/hugetlb0/bitmap`).startsWith('1 '));
    assert.equal(
      traceLines(sys).at(-1),
      'cma_alloc_finish: name=hugetlb0 pfn=0x40000 page=(____ptrval____) count=18446744073709551615 align=0',
    );
    assert.equal(text(sys, '/sys/kernel/mm/cma/hugetlb0/alloc_pages_success'), '7\n');
    sys.writeFile(`${D}/hugetlb0/alloc`, '1\n');
    assert.ok(text(sys, `${D}/hugetlb0/bitmap`).startsWith('5 '));
    assert.ok(sys.writeFile(`${D}/hugetlb0/free`, '1\n').ok);
    assert.ok(sys.writeFile(`${D}/hugetlb0/free`, '4294967295\n').ok);
    assert.ok(sys.corruption);
    assert.deepEqual(sys.writeFile(`${D}/hugetlb0/alloc`, '1\n'), { ok: false, errno: 'EIO' });
  });

  it('sysfs counters wrap modulo 2^64 (oracle: 100000000 then 99999999)', () => {
    const sys = createSystem();
    for (const v of ['0', '99999999', '000000000000000000000008', '4096', '1'])
      sys.writeFile(`${D}/reserved/alloc`, `${v}\n`);
    assert.equal(text(sys, '/sys/kernel/mm/cma/reserved/alloc_pages_fail'), '100000000\n');
    sys.writeFile(`${D}/reserved/alloc`, '4294967295\n');
    assert.equal(text(sys, '/sys/kernel/mm/cma/reserved/alloc_pages_fail'), '99999999\n');
  });

  it('the failure log is ratelimited: 10 lines per 5 s, then "cma_alloc: N callbacks suppressed"', () => {
    let now = 0;
    const sys = createSystem({ now: () => now });
    sys.writeFile(`${D}/reserved/alloc`, '4096\n');
    for (let k = 0; k < 15; k++) sys.writeFile(`${D}/reserved/alloc`, '1\n');
    now = 6000;
    sys.writeFile(`${D}/reserved/alloc`, '1\n');
    const lines = sys.dmesg().trim().split('\n');
    assert.equal(lines.filter((l) => l.includes('alloc failed')).length, 11);
    assert.equal(lines.at(-2), 'cma_alloc: 5 callbacks suppressed');
  });
});

describe('configuration errors name the problem', () => {
  const bad: [string[], RegExp][] = [
    [['name=a,size=0'], /size is zero/],
    [['name=a,count=4096,base_pfn=0', 'name=b,count=4096,base_pfn=100'], /overlap/],
    [['name=a,count=8', 'name=a,count=8'], /defined twice/],
    [['name=a,count=12x'], /not a number/],
    [['name=a,size=3Q'], /not a size/],
    [['count=8'], /needs a name/],
    [['name=a'], /needs size=… or count=…/],
    [['name=a,count=8,colour=red'], /unknown key 'colour'/],
    [['name=a,range=1024:512,range=4096:512'], /allows 1 per area/],
  ];
  for (const [areas, msg] of bad) {
    it(`rejects ${areas.join(' ')}`, () => {
      assert.throws(
        () => createSystem({ areas }),
        (e: unknown) => e instanceof ConfigError && msg.test(e.message),
      );
    });
  }
  it('accepts an empty config: a kernel with no CMA areas', () => {
    const sys = createSystem({ configText: '{"areas": []}' });
    assert.deepEqual(sys.readdir('/sys/kernel/debug/cma'), { ok: true, names: [] });
  });
  it('places unplaced areas top-down like the 6.1 default', () => {
    const sys = createSystem({ areas: ['name=reserved,size=16M'] });
    assert.equal(text(sys, `${D}/reserved/base_pfn`), '125952\n');
  });
});

describe('pinned pages from the configuration', () => {
  it('`busy=PFN+COUNT` makes an allocation covering them retry one step further', () => {
    const sys = createSystem({ areas: ['name=reserved,size=16M,busy=125952+1'] });
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1');
    assert.ok(sys.writeFile(`${D}/reserved/alloc`, '4\n').ok);
    assert.ok(text(sys, `${D}/reserved/bitmap`).startsWith('30 '));
    assert.match(traceLines(sys)[1]!, /^cma_alloc_busy_retry: name=reserved pfn=0x1ec00 /);
  });
  it('the JSON config takes busy ranges with an optional error, and rejects ones outside the area', () => {
    const ok = createSystem({
      configText:
        '{"areas":[{"name":"a","count":1024,"base_pfn":4096,"busy":[{"pfn":4096,"count":2,"error":-5}]}]}',
    });
    assert.deepEqual(ok.writeFile(`${D}/a/alloc`, '1\n'), { ok: false, errno: 'ENOMEM' });
    assert.throws(
      () => createSystem({ areas: ['name=a,count=1024,base_pfn=4096,busy=1+1'] }),
      /outside the area/,
    );
    assert.throws(() => createSystem({ areas: ['name=a,count=1024,busy=4096'] }), /PFN\+COUNT/);
  });
});

describe('the trace ring buffer', () => {
  const release = (k: number) =>
    ({ event: 'cma_release', name: 'reserved', pfn: BigInt(k), hasPage: true, count: 1n }) as const;

  it("keeps what the kernel's 1408 KiB keep (354 pages) while counting every write", () => {
    const sys = createSystem();
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1');
    // a 6.1 cma_release record is 56 bytes: 72 to a 4080-byte page
    const total = 3750 * 72;
    for (let k = 0; k < total; k++) sys.tracing.record(release(k), { comm: 'sh', pid: 1 });
    const entries = sys.tracing.entries;
    assert.equal(entries.length, 354 * 72);
    assert.equal(sys.tracing.written, total);
    assert.equal((entries[0]!.event as { pfn: bigint }).pfn, BigInt(total - 354 * 72));
    assert.equal((entries.at(-1)!.event as { pfn: bigint }).pfn, BigInt(total - 1));
  });

  it('never keeps more than TRACE_BUFFER_ENTRIES, however large buffer_size_kb is', () => {
    const sys = createSystem({ mem: '8G' });
    assert.ok(sys.writeFile('/sys/kernel/tracing/buffer_size_kb', '4000000').ok);
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1');
    const total = TRACE_BUFFER_ENTRIES + 70_000;
    for (let k = 0; k < total; k++) sys.tracing.record(release(k), { comm: 'sh', pid: 1 });
    assert.equal(sys.tracing.entries.length, TRACE_BUFFER_ENTRIES);
    assert.equal(
      (sys.tracing.entries[0]!.event as { pfn: bigint }).pfn,
      BigInt(total - TRACE_BUFFER_ENTRIES),
    );
  });
});
