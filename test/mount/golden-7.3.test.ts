// Issue 8's mount part: `cma-debug mount --profile 7.3` serves the 7.3 tree (ranges/N/ and the
// base_pfn/bitmap symlinks), and busybox running the 7.3 oracle's scripts prints what Linux 7.3.4
// printed (test/fixtures/golden-7.3/), apart from /proc and uname lines (helpers.ts).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  adaptScript,
  asSys,
  busyboxScript,
  dropHostLines,
  fuseUnavailable,
  normalisePids,
  normaliseTrace,
  numericOwners,
  ROOT,
  startMount,
} from './helpers.ts';

const GOLDEN = join(ROOT, 'test/fixtures/golden-7.3');
const skip = fuseUnavailable();

const P = ['--profile', '7.3'];
/** The areas of each 7.3 oracle command line (../../test/fixtures/golden-7.3/ranges.txt), reserved first. */
const DEFAULT = P;
const HUGETLB_6G = [
  ...P,
  '--area',
  'name=reserved,base_pfn=1048576,count=4096',
  '--area',
  'name=hugetlb0,base_pfn=1310720,count=262144,order_per_bit=9',
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

async function transcript(script: string, mountArgs: readonly string[]): Promise<string> {
  const server = await startMount([...mountArgs]);
  try {
    const text = adaptScript(readFileSync(join(GOLDEN, 'scripts', script), 'utf8'));
    const r = await busyboxScript(text, server.dir);
    return numericOwners(asSys(r.stdout + r.stderr, server.dir));
  } finally {
    await server.stop();
  }
}

/** Splits a transcript into its `== `/`###`-headed sections, so a failure names the section. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let name = '(start)';
  for (const line of text.split('\n')) {
    if (/^(== |#{8} |={19} )/.test(line)) {
      name = line;
      while (out.has(name)) name += "'";
    }
    out.set(name, `${out.get(name) ?? ''}${line}\n`);
  }
  return out;
}

describe('golden 7.3 transcripts through the FUSE mount', { skip: skip ?? false }, () => {
  const cases: [string, string, readonly string[]][] = [
    ['basic.sh', 'basic.txt', DEFAULT],
    ['basic.sh', 'basic-hugetlb.txt', HUGETLB_6G],
    ['layout.sh', 'layout.txt', DEFAULT],
    ['layout.sh', 'layout-hugetlb.txt', HUGETLB_6G],
    ['layout.sh', 'layout-multirange.txt', TWO_1G],
    ['multirange.sh', 'multirange-2x1G.txt', TWO_1G],
    ['multirange.sh', 'multirange-1G+2G.txt', ONE_TWO],
    ['multirange.sh', 'multirange-3x1G.txt', THREE_1G],
  ];
  for (const [script, golden, args] of cases) {
    test(`${script} → ${golden}`, async (t) => {
      const got = sections(await transcript(script, args));
      // layout.sh's per-area sections are ls -la/stat only: they are checked on a mount with the
      // kernel's st_size 0 (--exact-sizes); by default debugfs files report 4096 so that sendfile
      // readers such as busybox cat work (see MountOptions.exactSizes)
      const exact =
        script === 'layout.sh' ? sections(await transcript(script, [...args, '--exact-sizes'])) : got;
      const want = sections(normaliseTrace(dropHostLines(readFileSync(join(GOLDEN, golden), 'utf8'))));
      for (const [name, text] of want) {
        await t.test(name, () => {
          let mine = got.get(name) ?? '(missing)\n';
          if (/^={19} area /.test(name)) {
            // ls -la/stat lines from the exact-size mount, `  area/file: value` lines (cat) from the default one
            const e = (exact.get(name) ?? '').split('\n');
            mine = mine
              .split('\n')
              .map((l, i) => (/^ {2}[^ ]+: /.test(l) ? l : (e[i] ?? l)))
              .join('\n');
          }
          assert.equal(normaliseTrace(mine), text);
        });
      }
    });
  }

  for (const [golden, args] of [
    ['trace-basic.txt', DEFAULT],
    ['trace-hugetlb.txt', HUGETLB_6G],
  ] as const) {
    test(`trace.sh → ${golden}`, async () => {
      const got = await transcript('trace.sh', args);
      const want = readFileSync(join(GOLDEN, golden), 'utf8');
      const mark = '######## trace_clock counter';
      assert.equal(
        normaliseTrace(got.slice(0, got.indexOf(mark))),
        normaliseTrace(want.slice(0, want.indexOf(mark))),
      );
      assert.equal(
        normalisePids(got.slice(got.indexOf(mark))),
        normalisePids(want.slice(want.indexOf(mark))),
      );
    });
  }

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
