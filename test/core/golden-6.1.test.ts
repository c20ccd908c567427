// The real Linux 6.1 transcripts (test/fixtures/golden-6.1) reproduced through the library.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { normalisePid, normaliseTrace, replayTranscript } from './transcript.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/golden-6.1/${name}`, import.meta.url), 'utf8');

/** The areas of the oracle with `cma=16M hugetlb_cma=1G` and 3 GiB, in creation order. */
const HUGETLB_AREAS = [
  'name=reserved,base_pfn=781824,count=4096,order_per_bit=0',
  'name=hugetlb0,base_pfn=261632,count=262144,order_per_bit=9',
];

describe('Linux 6.1 golden transcripts', () => {
  it('basic.txt: every debugfs/sysfs read, write, errno, vmstat and log line (cma=16M)', () => {
    const r = replayTranscript(createSystem(), fixture('basic.txt'));
    assert.deepEqual(r.actual, r.expected);
    // only uname, /proc/cmdline and /proc/meminfo lines are outside the CMA interface
    assert.deepEqual(r.skipped, [
      '6.1.192',
      'console=ttyS0 cma=16M tsc_early_khz=2600000 tsc=reliable',
      'CmaTotal:          16384 kB',
      'CmaFree:           16384 kB',
      'nr_free_cma 4096',
      'CmaTotal:          16384 kB',
    ]);
  });

  it('basic-hugetlb.txt: the order_per_bit 9 area and the order 0 area side by side', () => {
    const r = replayTranscript(createSystem({ areas: HUGETLB_AREAS }), fixture('basic-hugetlb.txt'));
    assert.deepEqual(r.actual, r.expected);
    assert.ok(
      r.skipped.every((l) => /^(6\.1\.192|console=|Cma|nr_free_cma)/.test(l)),
      r.skipped.join('\n'),
    );
  });

  it('trace-basic.txt: format files, clocks and the trace text (PIDs, flags, local timestamps masked)', () => {
    const r = replayTranscript(createSystem(), fixture('trace-basic.txt'));
    const counterStart = r.expected.indexOf('######## trace_clock counter (deterministic timestamps)');
    assert.ok(counterStart > 0);
    const norm = (lines: string[]) =>
      lines.map((l, k) => (k < counterStart ? normaliseTrace(l) : normalisePid(l)));
    assert.deepEqual(norm(r.actual), norm(r.expected));
  });

  it('trace-hugetlb-nohash.txt: raw struct page pointers with no_hash_pointers', () => {
    const sys = createSystem({ areas: HUGETLB_AREAS, pointers: { mode: 'raw' } });
    const r = replayTranscript(sys, fixture('trace-hugetlb-nohash.txt'));
    const counterStart = r.expected.indexOf('######## trace_clock counter (deterministic timestamps)');
    const norm = (lines: string[]) =>
      lines.map((l, k) => (k < counterStart ? normaliseTrace(l) : normalisePid(l)));
    assert.deepEqual(norm(r.actual), norm(r.expected));
  });
});
