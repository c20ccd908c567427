// The acceptance test: busybox sh runs the real kernel's scripts against `cma-debug mount`
// and prints byte for byte what Linux 6.1.192 printed (test/fixtures/golden-6.1/), apart from the
// lines that come from /proc or uname (see adaptScript and dropHostLines in helpers.ts).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  dropHostLines,
  fuseUnavailable,
  goldenDir,
  normalisePids,
  normaliseTrace,
  ROOT,
  transcript,
} from './golden.ts';

const GOLDEN = goldenDir('6.1');
const HUGETLB = join(ROOT, 'test/fixtures/mount/hugetlb-6.1.json');
const skip = fuseUnavailable();
const run = (script: string, args: readonly string[]) => transcript(GOLDEN, script, args);

function splitAtDmesg(text: string): [string, string] {
  const i = text.indexOf('== dmesg');
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i)];
}

describe('golden 6.1 transcripts through the FUSE mount', { skip: skip ?? false }, () => {
  for (const [golden, args] of [
    ['basic.txt', []],
    ['basic-hugetlb.txt', ['--config', HUGETLB]],
  ] as const) {
    test(`basic.sh → ${golden}`, async () => {
      const got = await run('basic.sh', args);
      const want = dropHostLines(readFileSync(join(GOLDEN, golden), 'utf8'));
      const [gotMain, gotLog] = splitAtDmesg(got);
      const [wantMain, wantLog] = splitAtDmesg(want);
      assert.equal(gotMain, wantMain);
      assert.equal(gotLog, wantLog, 'the emulated kernel log (dmesg)');
    });
  }

  test('trace.sh → trace-basic.txt (local clock normalised, counter clock exact but PIDs)', async () => {
    const got = await run('trace.sh', []);
    const want = readFileSync(join(GOLDEN, 'trace-basic.txt'), 'utf8');
    const mark = '######## trace_clock counter';
    const [gotLocal, gotCounter] = [got.slice(0, got.indexOf(mark)), got.slice(got.indexOf(mark))];
    const [wantLocal, wantCounter] = [want.slice(0, want.indexOf(mark)), want.slice(want.indexOf(mark))];
    assert.ok(gotCounter.startsWith(mark));
    assert.equal(normaliseTrace(gotLocal), normaliseTrace(wantLocal));
    assert.equal(normalisePids(gotCounter), normalisePids(wantCounter));
    // the writer is the real busybox `sh -c` child: its comm and a real pid, not a placeholder
    const pids = [...gotCounter.matchAll(/^ +sh-(\d+) /gm)].map((m) => Number(m[1]));
    assert.equal(pids.length, 11);
    assert.ok(pids.every((p) => p > 1 && p !== pids[0]! - 1000000));
  });

  // areas.sh under the kernel command lines of areas.txt, each as the areas it created
  const sections: [string, string[]][] = [
    ['run.sh examples/areas.sh ""', []],
    ['run.sh examples/areas.sh "hugetlb_cma=1G"', ['--config', HUGETLB]],
    [
      'ORACLE_MEM=2G run.sh examples/areas.sh "hugetlb_cma=1G"',
      // placed by the RAM model: reserved 519168, hugetlb0 257024 (6.1 aligns it to 2 MiB)
      ['--mem', '2G', '--area', 'name=reserved,size=16M', '--area', 'name=hugetlb0,size=1G,order_per_bit=9'],
    ],
    ['run.sh examples/areas.sh "cma=64M"', ['--area', 'name=reserved,base_pfn=113664,count=16384']],
    ['run.sh examples/areas.sh "cma=16M@256M"', ['--area', 'name=reserved,base_pfn=65536,count=4096']],
    [
      'ORACLE_MEM=5G run.sh examples/areas.sh "numa=fake=2 hugetlb_cma=2G"',
      [
        '--area',
        'name=reserved,base_pfn=1048576,count=4096',
        '--area',
        'name=hugetlb0,base_pfn=261632,count=262144,order_per_bit=9',
        '--area',
        'name=hugetlb1,base_pfn=1052672,count=262144,order_per_bit=9',
      ],
    ],
  ];
  const areasTxt = readFileSync(join(GOLDEN, 'areas.txt'), 'utf8');
  for (const [header, args] of sections) {
    test(`areas.sh → areas.txt "${header}"`, async () => {
      const start = areasTxt.indexOf(`### ${header}\n`);
      assert.ok(start >= 0, header);
      const body = areasTxt.slice(start + header.length + 5);
      const want = dropHostLines(
        body.slice(0, body.indexOf('\n###') < 0 ? undefined : body.indexOf('\n###') + 1),
      );
      const got = await run('areas.sh', args);
      assert.equal(got.trimEnd(), want.trimEnd());
    });
  }
});
