// 7.3 behaviours checked on the oracle beyond the golden scripts (test/fixtures/golden-7.3/extra):
// the failure-log ratelimit with its per-range dump, and 1 GiB hugetlb pages from the area.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { AREAS } from './areas.ts';
import { ratelimitLog } from './golden-kit.ts';
import { comparable, H, normaliseTrace, T } from './script-port.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/golden-7.3/extra/${name}`, import.meta.url), 'utf8');

describe('7.3 extra oracle checks', () => {
  it('ratelimit: 10 failure lines per 5 s, the per-range dump is never suppressed, then "__cma_alloc_frozen: 5 callbacks suppressed"', () => {
    assert.equal(ratelimitLog('7.3'), comparable(fixture('ratelimit.txt')));
  });

  it('nr_hugepages: batches go to the head of the free list, shrinking frees from the head (hugepages-order.sh)', () => {
    const sys = createSystem({ profile: '7.3', areas: [...AREAS['2x1G']] });
    sys.writeFile(`${T}/trace_clock`, 'counter\n');
    sys.writeFile(`${T}/trace`, '\n');
    sys.writeFile(`${T}/events/cma/enable`, '1\n');
    for (const n of [1, 2, 1, 2, 1, 0]) assert.ok(sys.writeFile(`${H}/nr_hugepages`, `${n}\n`).ok);
    const r = sys.readFile(`${H}/nr_hugepages`);
    assert.ok(r.ok);
    const trace = sys.readFile(`${T}/trace`);
    assert.ok(trace.ok);
    // the fixture's own sed: strip task, cpu, flags and page=
    const lines = trace.text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/^ *sh-[0-9]+ +\[000\] [^ ]+ +/, '').replace(/page=[^ ]+ /, ''));
    assert.equal(`nr=${r.text.trim()}\n${lines.join('\n')}\n`, fixture('hugepages-order.txt'));
  });

  it('nr_hugepages: a full area gives start + finish errorno=-16, counted as a failure, no log line', () => {
    const sys = createSystem({ profile: '7.3', areas: [...AREAS['2x1G']], now: () => 0 });
    sys.writeFile(`${T}/trace_clock`, 'counter\n');
    sys.writeFile(`${T}/trace`, '\n');
    sys.writeFile(`${T}/events/cma/enable`, '1\n');
    assert.ok(sys.writeFile(`${H}/nr_hugepages`, '3\n').ok);
    const expected = fixture('hugepages.txt');
    const golden = expected.split('\n');
    const ours = sys.readFile(`${T}/trace`);
    assert.ok(ours.ok);
    const events = ours.text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    // the oracle's first 6 trace lines: two pages from the ranges, then the failed third attempt
    const goldenEvents = golden.filter((l) => / \[000\] /.test(l)).slice(0, 6);
    assert.equal(normaliseTrace(events.join('\n')), normaliseTrace(goldenEvents.join('\n')));
    // the oracle took the third page from ordinary memory (nr=3); the emulator has none
    const nr = sys.readFile(`${H}/nr_hugepages`);
    assert.equal(nr.ok && nr.text, '2\n');
    const fail = sys.readFile('/sys/kernel/mm/cma/hugetlb0/alloc_pages_fail');
    assert.equal(fail.ok && fail.text, '262144\n');
    assert.deepEqual(sys.vmstat, { cma_alloc_success: 2, cma_alloc_fail: 1 });
    assert.doesNotMatch(sys.dmesg(), /alloc failed/);
    // kstrtoul base 10: hex is EINVAL, as on the oracle (`echo 0x2 > nr_hugepages`)
    assert.deepEqual(sys.writeFile(`${H}/nr_hugepages`, '0x2\n'), { ok: false, errno: 'EINVAL' });
    assert.ok(sys.writeFile(`${H}/nr_hugepages`, '0\n').ok);
    const rel = sys.readFile('/sys/kernel/mm/cma/hugetlb0/release_pages_success');
    assert.equal(rel.ok && rel.text, '524288\n');
  });

  it('without a hugetlb area the 1 GiB pool is the boot-time one: 0 pages, writes refused', () => {
    const sys = createSystem({ profile: '7.3' });
    const nr = sys.readFile(`${H}/nr_hugepages`);
    assert.equal(nr.ok && nr.text, '0\n');
    assert.deepEqual(sys.writeFile(`${H}/nr_hugepages`, '1\n'), { ok: false, errno: 'EPERM' });
  });

  it("6.1: the oracle's hugetlb0 is not 1 GiB-aligned: each page tried (align 18) fails, nothing logged", () => {
    // as the 6.1 kernel did (test/fixtures/hostile-writes/runs/1G-hp-*: its hugetlb_cma areas are
    // aligned to 2 MiB only, and a 3 GiB guest has no 1 GiB of ordinary memory to fall back on)
    const sys = createSystem({
      profile: '6.1',
      areas: ['name=hugetlb0,order_per_bit=9,base_pfn=261632,count=262144'],
    });
    sys.writeFile(`${T}/events/cma/enable`, '1\n');
    assert.ok(sys.writeFile(`${H}/nr_hugepages`, '2\n').ok);
    const nr = sys.readFile(`${H}/nr_hugepages`);
    assert.equal(nr.ok && nr.text, '0\n');
    const trace = sys.readFile(`${T}/trace`);
    assert.ok(trace.ok);
    assert.match(
      trace.text,
      /cma_alloc_finish: name=hugetlb0 pfn=0xffffffffffffffff page=\S+ count=262144 align=18\n/,
    );
    const fail = sys.readFile('/sys/kernel/mm/cma/hugetlb0/alloc_pages_fail');
    assert.equal(fail.ok && fail.text, '262144\n');
    assert.doesNotMatch(sys.dmesg(), /alloc failed/);
  });
});
