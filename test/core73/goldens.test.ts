// The 7.3 profile against real Linux 7.3.4 output: each golden script, ported to the library
// (script-port.ts), must print what the real kernel printed (test/fixtures/golden-7.3/), apart
// from the lines outside the emulated interface (see NOTE.md) and the trace PID/flag/local-time
// columns.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AREAS } from './areas.ts';
import { check, goldenKit, sections } from './golden-kit.ts';
import { areasSh, basicSh, layoutSh, multirangeSh, rangesSh, traceSh } from './script-port.ts';

const { golden, system } = goldenKit('7.3');

describe('7.3 goldens reproduced through the library', () => {
  it('basic.txt (reserved, 512M)', () => check(basicSh(system(AREAS.small)), golden('basic.txt')));
  it('basic-hugetlb.txt (reserved + hugetlb0 order 9)', () =>
    check(basicSh(system(AREAS.hugetlb)), golden('basic-hugetlb.txt')));
  it('trace-basic.txt (formats, ids 257-260, 13 events)', () =>
    check(traceSh(system(AREAS.small)), golden('trace-basic.txt')));
  it('trace-hugetlb.txt', () => check(traceSh(system(AREAS.hugetlb)), golden('trace-hugetlb.txt')));
  it('trace-hugetlb-nohash.txt (page= with sizeof(struct page) 64)', () =>
    check(traceSh(system(AREAS.hugetlb, true)), golden('trace-hugetlb-nohash.txt')));
  it('layout.txt (ranges/N, symlinks, modes, failing allocations)', () =>
    check(layoutSh(system(AREAS.small)), golden('layout.txt')));
  it('layout-hugetlb.txt', () => check(layoutSh(system(AREAS.hugetlb)), golden('layout-hugetlb.txt')));
  it('layout-multirange.txt', () => check(layoutSh(system(AREAS['2x1G'])), golden('layout-multirange.txt')));
  it('multirange-2x1G.txt', () => check(multirangeSh(system(AREAS['2x1G'])), golden('multirange-2x1G.txt')));
  it('multirange-1G+2G.txt', () =>
    check(multirangeSh(system(AREAS['1G+2G'])), golden('multirange-1G+2G.txt')));
  it('multirange-3x1G.txt (range 0 is the highest)', () =>
    check(multirangeSh(system(AREAS['3x1G'])), golden('multirange-3x1G.txt')));
});

describe('7.3 ranges.txt / areas.txt sections', () => {
  const ranges = sections(golden('ranges.txt'));
  const cases: [string, readonly string[]][] = [
    ["ORACLE_MEM=6G run.sh examples/ranges.sh 'hugetlb_cma=1G'", AREAS.hugetlb],
    ["ORACLE_MEM=8G run.sh examples/ranges.sh 'hugetlb_cma=2G memmap=64M$0x180000000'", AREAS['2x1G']],
    ["ORACLE_MEM=9G run.sh examples/ranges.sh 'hugetlb_cma=3G memmap=64M$0x1a0000000'", AREAS['1G+2G']],
    [
      "ORACLE_MEM=10G run.sh examples/ranges.sh 'hugetlb_cma=3G memmap=64M$0x180000000 memmap=64M$0x200000000'",
      AREAS['3x1G'],
    ],
    [
      "run.sh examples/ranges.sh 'cma_pernuma=16M'",
      ['name=reserved,base_pfn=0x1ec00,count=4096', 'name=numa0,base_pfn=0x1dc00,count=4096'],
    ],
    [
      "ORACLE_MEM=2G run.sh examples/ranges.sh 'numa=fake=2 cma_pernuma=16M'",
      [
        'name=reserved,base_pfn=0x7ec00,count=4096',
        'name=numa0,base_pfn=0x3ee00,count=4096',
        'name=numa1,base_pfn=0x7dc00,count=4096',
      ],
    ],
  ];
  for (const [heading, areas] of cases) {
    it(heading, () => {
      const text = ranges.get(heading);
      assert.ok(text, `section '${heading}' in ranges.txt`);
      check(rangesSh(system(areas)), text);
    });
  }
  it('areas.txt: 6G hugetlb_cma=1G', () => {
    const text = sections(golden('areas.txt')).get('ORACLE_MEM=6G run.sh examples/areas.sh "hugetlb_cma=1G"');
    assert.ok(text);
    check(areasSh(system(AREAS.hugetlb)), text);
  });
});
