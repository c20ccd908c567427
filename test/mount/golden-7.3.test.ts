// Issue 8's mount part: `cma-debug mount --profile 7.3` serves the 7.3 tree (ranges/N/ and the
// base_pfn/bitmap symlinks), and busybox running the 7.3 oracle's scripts prints what Linux 7.3.4
// printed (test/fixtures/golden-7.3/), apart from /proc and uname lines (helpers.ts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fuseUnavailable, goldenDir, sectionTests, traceTests } from './golden.ts';
import { busyboxScript, startMount } from './helpers.ts';

const GOLDEN = goldenDir('7.3');
const skip = fuseUnavailable();

const P = ['--profile', '7.3'];
/** The areas of each 7.3 oracle command line (../../test/fixtures/golden-7.3/ranges.txt), reserved first. */
const DEFAULT = P;
/** 6G + hugetlb_cma=1G, placed by the RAM model: reserved at 4 GiB, hugetlb0 at 5 GiB. */
const HUGETLB_6G = [
  ...P,
  '--mem',
  '6G',
  '--area',
  'name=reserved,size=16M',
  '--area',
  'name=hugetlb0,size=1G,order_per_bit=9',
];
const multi = (...ranges: string[]) => [
  ...P,
  '--area',
  'name=reserved,base_pfn=1048576,count=4096',
  '--area',
  `name=hugetlb0,order_per_bit=9,${ranges.map((r) => `range=${r}`).join(',')}`,
];
const TWO_1G = multi('1310720:262144', '1835008:262144');
const ONE_TWO = multi('1310720:262144', '1835008:524288');
const THREE_1G = multi('2359296:262144', '1310720:262144', '1835008:262144');

describe('golden 7.3 transcripts through the FUSE mount', { skip: skip ?? false }, () => {
  sectionTests(GOLDEN, [
    ['basic.sh', 'basic.txt', DEFAULT],
    ['basic.sh', 'basic-hugetlb.txt', HUGETLB_6G],
    ['layout.sh', 'layout.txt', DEFAULT],
    ['layout.sh', 'layout-hugetlb.txt', HUGETLB_6G],
    ['layout.sh', 'layout-multirange.txt', TWO_1G],
    ['multirange.sh', 'multirange-2x1G.txt', TWO_1G],
    ['multirange.sh', 'multirange-1G+2G.txt', ONE_TWO],
    ['multirange.sh', 'multirange-3x1G.txt', THREE_1G],
  ]);
  traceTests(GOLDEN, [
    ['trace-basic.txt', DEFAULT],
    ['trace-hugetlb.txt', HUGETLB_6G],
  ]);

  test('ls -l and readlink show the base_pfn and bitmap symlinks', async () => {
    const s = await startMount([...TWO_1G]);
    try {
      const r = await busyboxScript(
        `cd $SYS/kernel/debug/cma/hugetlb0
ls -l | awk '/^[-dl]/ {print $1, $9, $10, $11}'
readlink base_pfn
readlink bitmap
cat base_pfn ranges/1/base_pfn`,
        s.dir,
      );
      assert.equal(
        r.stdout,
        `--w------- alloc  
lrwxrwxrwx base_pfn -> ranges/0/base_pfn
lrwxrwxrwx bitmap -> ranges/0/bitmap
-r--r--r-- count  
--w------- free  
-r--r--r-- maxchunk  
-r--r--r-- order_per_bit  
drwxr-xr-x ranges  
-r--r--r-- used  
ranges/0/base_pfn
ranges/0/bitmap
1310720
1835008
`,
      );
    } finally {
      await s.stop();
    }
  });
});
