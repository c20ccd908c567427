// What a user reads first: exact 64-bit counts, inferred hugetlb geometry, plan's set-aside
// requests and reasons, explain's rounding and exit codes, analyze's ranges.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fitSentence } from '../../src/frontends/cli/commands/analyze.ts';
import { jsonText } from '../../src/frontends/cli/json.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { inferAreas } from '../../src/sources/trace/replay.ts';
import { cli, FIX, ROOT } from './helpers.ts';

const CAP = (n: number) => join(FIX, `traces/oracle-6.1/capture${n}.trace`);
const U64_MAX = '18446744073709551615';

describe('exact 64-bit counts', () => {
  it('jsonText prints bigints as exact JSON numbers', () => {
    assert.equal(jsonText({ a: 2n ** 64n - 1n, b: [1, -5n], s: 'x' }), `{"a":${U64_MAX},"b":[1,-5],"s":"x"}`);
    assert.equal(jsonText({ a: 1n }, 1), '{\n "a": 1\n}');
  });

  it('replay prints count=2^64-1 exactly, in text and in JSON', () => {
    const t = cli(['replay', CAP(2), '-q', '--show', '500']);
    assert.match(
      t.stdout,
      new RegExp(`reserved: ${U64_MAX} pages align 0 → oversize: 614 pages free, ${U64_MAX} needed`),
    );
    assert.doesNotMatch(t.stdout, /18446744073709552000/);
    const j = cli(['replay', CAP(2), '-q', '--json']);
    assert.doesNotMatch(j.stdout, /18446744073709552000/);
    assert.match(j.stdout, new RegExp(`"pages": ${U64_MAX},`));
    // still valid JSON (the digits parse, as a rounded double)
    const parsed = JSON.parse(j.stdout) as { failures: { pages: number }[] };
    assert.ok(parsed.failures.some((f) => f.pages === 2 ** 64));
  });
});

describe('inferred areas: hugetlb order_per_bit', () => {
  it('a hugetlb* area with 512-aligned placements is inferred with order_per_bit 9', async () => {
    const areas = await inferAreas(fileSource(CAP(2)));
    const h = areas.find((a) => a.name === 'hugetlb0')!;
    const r = areas.find((a) => a.name === 'reserved')!;
    assert.equal(h.orderPerBit, 9);
    assert.equal(r.orderPerBit, 0);
  });

  for (const n of [1, 2]) {
    it(`replay of real capture${n} without areas: 0 mismatches, kernel's used/maxchunk`, async () => {
      const expected = JSON.parse(
        (await import('node:fs')).readFileSync(
          join(FIX, `traces/oracle-6.1/capture${n}.expected.json`),
          'utf8',
        ),
      ) as { areas: { name: string; used: number; maxchunk: number; order_per_bit: number }[] };
      const r = cli(['replay', CAP(n), '-q', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as {
        mismatches: number;
        areaSource: string;
        areas: { name: string; used: number; maxchunk: number; orderPerBit: number }[];
      };
      assert.equal(j.areaSource, 'inferred');
      assert.equal(j.mismatches, 0);
      for (const e of expected.areas) {
        const a = j.areas.find((x) => x.name === e.name)!;
        assert.deepEqual([a.orderPerBit, a.used, a.maxchunk], [e.order_per_bit, e.used, e.maxchunk], e.name);
      }
    });
  }
});

describe('plan', () => {
  it('sets aside the requests larger than the area, names them, and finds a size', () => {
    const r = cli(['plan', CAP(2), '--order-per-bit', '0,9']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /set aside 2 requests larger than the recorded area \(4096 pages\)/);
    assert.match(r.stdout, new RegExp(`line 621: ${U64_MAX} pages align 0, failed in the recording`));
    assert.match(r.stdout, /line 620: 99999999 pages align 0, failed in the recording/);
    assert.match(r.stdout, /line 914: 18446744073709551615 pages align 0, succeeded in the recording/);
    assert.match(r.stdout, /smallest: 7925 pages \(30\.96 MiB\) with order_per_bit 0/);
    assert.doesNotMatch(r.stdout, /no size:/);
    const j = JSON.parse(cli(['plan', CAP(2), '--order-per-bit', '0', '--json']).stdout) as {
      areas: { setAside: { line: number }[]; best: { pages: number } }[];
    };
    assert.deepEqual(
      j.areas[0]!.setAside.map((x) => x.line),
      [620, 621],
    );
    assert.equal(j.areas[0]!.best.pages, 7925);
  });

  it('--include-oversize keeps them: no size, with the reason, exit 1', () => {
    const r = cli(['plan', CAP(2), '--order-per-bit', '0', '--include-oversize']);
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `no size: no size up to 2\\^31 bits \\(order_per_bit 0\\) works: the largest request, ${U64_MAX} pages at line 621`,
      ),
    );
  });

  it('an area without requests says so instead of a table of zeros', () => {
    const r = cli([
      'plan',
      CAP(3),
      '--order-per-bit',
      '0',
      '--area',
      'name=reserved,count=4096,base_pfn=0x1ec00',
      '--area',
      'name=idle,count=4096,base_pfn=0x100000',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /area idle .*: 0 requests[^\n]*\n {2}no size: the trace holds no requests for this area: nothing to size\n/,
    );
    assert.doesNotMatch(r.stdout, /-512 pages|one granule less \(-/);
  });
});

describe('explain and analyze', () => {
  const SNAP = join(FIX, 'kernels/6.1-frag90');
  it('explain says how pages round to bits and what used/maxchunk become', () => {
    const r = cli(['explain', SNAP, '--name', 'hugetlb0', '--alloc', '19335']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /19335 pages round up to 38 bits \(19456 pages\) at order_per_bit 9/);
    assert.match(r.stdout, /after it: used 2560 → 22016 pages, maxchunk 259584 → 240128 pages/);
  });

  it('explain exits 1 when the request does not fit', () => {
    const r = cli(['explain', SNAP, '--name', 'hugetlb0', '--alloc', '10000000']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /fails \(exhaustion\)/);
    assert.equal(cli(['explain', SNAP, '--name', 'hugetlb0', '--alloc', '1', '--json']).status, 0);
    assert.equal(cli(['explain', SNAP, '--name', 'hugetlb0', '--alloc', 'x']).status, 2);
  });

  it('analyze never prints an empty range; exit 1 when an --alloc does not fit', () => {
    assert.equal(
      fitSentence(65536, 65536, 65536),
      'requests of 1..65536 pages fit; more than 65536 pages are larger than the area.',
    );
    assert.equal(
      fitSentence(100, 101, 200),
      'requests of 1..100 pages fit; 101 pages fail by fragmentation; more than 101 pages fail by exhaustion.',
    );
    assert.equal(
      fitSentence(0, 0, 8),
      'no request fits (no free page); more than 0 pages fail by exhaustion.',
    );
    const r = cli(['analyze', SNAP, '--name', 'hugetlb0', '--alloc', '1', '--alloc', '999999999']);
    assert.equal(r.status, 1);
    for (const m of r.stdout.matchAll(/(\d+)\.\.(\d+) pages fail/g))
      assert.ok(Number(m[1]) <= Number(m[2]), m[0]);
    assert.equal(cli(['analyze', SNAP, '--name', 'hugetlb0', '--alloc', '1']).status, 0);
  });
});

describe('a reader that stops early (`cma-debug … | head`)', () => {
  it('ends the program quietly with status 0: no EPIPE stack on stderr', async () => {
    // a 64 GiB area's bitmap is ~1 MB of text, far past a pipe's buffer
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/frontends/cli/main.ts'),
        'cat',
        'emu',
        'reserved/bitmap',
        '--area',
        'name=reserved,base_pfn=0x100000,count=16777216',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const first = await new Promise<string>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(String(d))),
    );
    child.stdout.destroy();
    const status = await new Promise<number | null>((resolve) =>
      child.once('close', (code) => resolve(code)),
    );
    assert.match(first, /^0 0 0/);
    assert.equal(stderr, '');
    assert.equal(status, 0);
  });
});
