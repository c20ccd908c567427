// Busy pages as the API and the dashboard show them: a pageblock that a 6.1/6.12 zero-bit
// allocation left isolated (src/core/cma.ts, allocContigRange) is flagged in the area view and
// named as such in the bitmap's hover line, not shown as a page of an unknown owner.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { areaView } from '../../src/frontends/http/views.ts';
import { busyHover } from '../../src/frontends/web/app/busy-pages.ts';

it('a pageblock left isolated: flagged in the area view, named in the hover line', () => {
  const sys = createSystem({
    profile: '6.1',
    areas: ['name=h,order_per_bit=9,base_pfn=0x40000,count=262144'],
  });
  assert.ok(sys.writeFile('kernel/debug/cma/h/alloc', '8\n').ok);
  // 0 bits at bit 1: its pageblock and bit 0's stay isolated
  assert.ok(sys.writeFile('kernel/debug/cma/h/alloc', '4294967295\n').ok);
  const v = areaView(sys.areas[0]!, sys.profile);
  assert.deepEqual(v.busy, [
    { pfn: 0x40000, count: 512, error: -16, isolated: true },
    { pfn: 0x40200, count: 512, error: -16, isolated: true },
  ]);
  assert.equal(
    busyHover(v.busy, 0x40200, 0x40201),
    ' · busy: pageblock left isolated by a zero-bit allocation',
  );
  assert.equal(busyHover(v.busy, 0x40400, 0x40401), '');
  // the next allocation meets bit 1's pageblock (one busy retry, bit 2) and un-isolates it
  assert.ok(sys.writeFile('kernel/debug/cma/h/alloc', '512\n').ok);
  assert.deepEqual(
    areaView(sys.areas[0]!, sys.profile).busy.map((b) => b.pfn),
    [0x40000],
  );
});
