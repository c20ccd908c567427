// `cma-debug mount --profile 6.12`: busybox running the 6.12 oracle's scripts on the mount prints
// what Linux 6.12.118 printed (test/fixtures/golden-6.12/), apart from /proc and uname lines
// (helpers.ts) and the debugfs root's link count.

import { describe } from 'node:test';
import { fuseUnavailable, goldenDir, sectionTests, traceTests } from './golden.ts';

const GOLDEN = goldenDir('6.12');
const skip = fuseUnavailable();

const P = ['--profile', '6.12'];
const DEFAULT = P;
/**
 * 6G + hugetlb_cma=1G, placed by the RAM model: reserved at 4 GiB (bottom-up above 4 GiB),
 * hugetlb0 on the next 1 GiB boundary (5 GiB).
 */
const HUGETLB_6G = [
  ...P,
  '--mem',
  '6G',
  '--area',
  'name=reserved,size=16M',
  '--area',
  'name=hugetlb0,size=1G,order_per_bit=9',
];

describe('golden 6.12 transcripts through the FUSE mount', { skip: skip ?? false }, () => {
  sectionTests(GOLDEN, [
    ['basic.sh', 'basic.txt', DEFAULT],
    ['basic.sh', 'basic-hugetlb.txt', HUGETLB_6G],
    ['layout.sh', 'layout.txt', DEFAULT],
    ['layout.sh', 'layout-hugetlb.txt', HUGETLB_6G],
  ]);
  traceTests(
    GOLDEN,
    [
      ['trace-basic.txt', DEFAULT],
      ['trace-hugetlb.txt', HUGETLB_6G],
    ],
    true,
  );
});
