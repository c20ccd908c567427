// `cma-debug mount --profile 6.12`: busybox running the 6.12 oracle's scripts on the mount prints
// what Linux 6.12.118 printed (test/fixtures/golden-6.12/), apart from /proc and uname lines
// (helpers.ts) and the debugfs root's link count.

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

const GOLDEN = join(ROOT, 'test/fixtures/golden-6.12');
const skip = fuseUnavailable();

const P = ['--profile', '6.12'];
const DEFAULT = P;
/** 6G + hugetlb_cma=1G: reserved at 4 GiB, hugetlb0 on the next 1 GiB boundary (5 GiB). */
const HUGETLB_6G = [
  ...P,
  '--area',
  'name=reserved,base_pfn=1048576,count=4096',
  '--area',
  'name=hugetlb0,base_pfn=1310720,count=262144,order_per_bit=9',
];

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

describe('golden 6.12 transcripts through the FUSE mount', { skip: skip ?? false }, () => {
  const cases: [string, string, readonly string[]][] = [
    ['basic.sh', 'basic.txt', DEFAULT],
    ['basic.sh', 'basic-hugetlb.txt', HUGETLB_6G],
    ['layout.sh', 'layout.txt', DEFAULT],
    ['layout.sh', 'layout-hugetlb.txt', HUGETLB_6G],
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
      // counter-clock stamps are compared; the flags column is not (the oracle's timer tick
      // sometimes sets need-resched: `.N...`)
      const flags = (t: string) => normalisePids(t).replace(/^( *\S+-PID \[\d+\]) \S+ /gm, '$1 FLAGS ');
      assert.equal(flags(got.slice(got.indexOf(mark))), flags(want.slice(want.indexOf(mark))));
    });
  }
});
