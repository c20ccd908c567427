// The 6.12 profile against real Linux 6.12.118 output: each golden script, ported to the
// library (../core73/script-port.ts), must print what the real kernel printed
// (test/fixtures/golden-6.12/), apart from the lines outside the emulated interface (see the
// fixture README) and the trace PID/flag/local-time columns.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check, goldenKit, sections } from '../core73/golden-kit.ts';
import { areasSh, basicSh, layoutSh, rangesSh, traceSh } from '../core73/script-port.ts';
import { AREAS_6_12 } from './areas.ts';

const { golden, system } = goldenKit('6.12');

describe('6.12 goldens reproduced through the library', () => {
  it('basic.txt (reserved, 512M)', () => check(basicSh(system(AREAS_6_12.small)), golden('basic.txt')));
  it('basic-hugetlb.txt (reserved + hugetlb0 order 9 at 5 GiB)', () =>
    check(basicSh(system(AREAS_6_12.hugetlb)), golden('basic-hugetlb.txt')));
  it('trace-basic.txt (formats, ids 264-267, errorno, the count=0 start)', () =>
    check(traceSh(system(AREAS_6_12.small)), golden('trace-basic.txt')));
  it('trace-hugetlb.txt', () => check(traceSh(system(AREAS_6_12.hugetlb)), golden('trace-hugetlb.txt')));
  it('trace-hugetlb-nohash.txt (page= with sizeof(struct page) 64)', () =>
    check(traceSh(system(AREAS_6_12.hugetlb, true)), golden('trace-hugetlb-nohash.txt')));
  it('layout.txt (no ranges/, the failure dump, __cma_alloc)', () =>
    check(layoutSh(system(AREAS_6_12.small)), golden('layout.txt')));
  it('layout-hugetlb.txt', () => check(layoutSh(system(AREAS_6_12.hugetlb)), golden('layout-hugetlb.txt')));
});

describe('6.12 areas.txt / ranges.txt sections', () => {
  const areaCases: [string, readonly string[] | null][] = [
    ['run.sh examples/areas.sh ""', AREAS_6_12.small],
    ['ORACLE_MEM=6G run.sh examples/areas.sh "hugetlb_cma=1G"', AREAS_6_12.hugetlb],
    ['run.sh examples/areas.sh "cma=64M"', ['name=reserved,base_pfn=113664,count=16384']],
    ['run.sh examples/areas.sh "cma=16M@256M"', ['name=reserved,base_pfn=65536,count=4096']],
    ['run.sh examples/areas.sh "cma=0"', null],
  ];
  const areas = sections(golden('areas.txt'));
  for (const [heading, list] of areaCases) {
    it(`areas.txt: ${heading}`, () => {
      const text = areas.get(heading);
      assert.ok(text, `section '${heading}' in areas.txt`);
      check(areasSh(system(list)), text);
    });
  }
  const rangeCases: [string, readonly string[]][] = [
    ["ORACLE_MEM=6G run.sh examples/ranges.sh 'hugetlb_cma=1G'", AREAS_6_12.hugetlb],
    [
      "run.sh examples/ranges.sh 'cma_pernuma=16M'",
      ['name=pernuma0,base_pfn=0x1ec00,count=4096', 'name=reserved,base_pfn=0x1dc00,count=4096'],
    ],
    [
      "ORACLE_MEM=2G run.sh examples/ranges.sh 'numa=fake=2 cma_pernuma=16M'",
      [
        'name=pernuma0,base_pfn=0x3ee00,count=4096',
        'name=pernuma1,base_pfn=0x7ec00,count=4096',
        'name=reserved,base_pfn=0x7dc00,count=4096',
      ],
    ],
    [
      "ORACLE_MEM=2G run.sh examples/ranges.sh 'numa=fake=2 numa_cma=1:32M'",
      ['name=numa1,base_pfn=0x7dc00,count=8192', 'name=reserved,base_pfn=0x7cc00,count=4096'],
    ],
  ];
  const ranges = sections(golden('ranges.txt'));
  for (const [heading, list] of rangeCases) {
    it(`ranges.txt: ${heading}`, () => {
      const text = ranges.get(heading);
      assert.ok(text, `section '${heading}' in ranges.txt`);
      check(rangesSh(system(list)), text);
    });
  }
});
