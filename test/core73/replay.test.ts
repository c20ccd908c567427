// The 7.3 basic.sh / trace.sh transcripts through the shared line-by-line replayer of the 6.1
// tests (test/core/transcript.ts), as a second, independent check beside the script ports.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { normaliseTrace, replayTranscript } from '../core/transcript.ts';
import { AREAS } from './areas.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/golden-7.3/${name}`, import.meta.url), 'utf8');

/**
 * busybox `ls -l` sorts by name, while 7.x debugfs readdir lists the newest entry first; the
 * `== ls -l …` block is compared as sorted lines (the replayer may print it in readdir order).
 */
function sortLsBlock(lines: readonly string[]): string[] {
  const out = [...lines];
  const start = out.findIndex((l) => l.startsWith('== ls -l '));
  if (start < 0) return out;
  let end = start + 1;
  while (end < out.length && !out[end]!.startsWith('==')) end++;
  const block = out.slice(start + 1, end).sort((a, b) => {
    const na = a.split(' ').at(-1)!;
    const nb = b.split(' ').at(-1)!;
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  out.splice(start + 1, block.length, ...block);
  return out;
}

const norm = (lines: readonly string[]) => sortLsBlock(lines).map((l) => normaliseTrace(l));

describe('7.3 transcripts through the shared replayer', () => {
  it('basic.txt', () => {
    const r = replayTranscript(createSystem({ profile: '7.3' }), fixture('basic.txt'));
    assert.deepEqual(norm(r.actual), norm(r.expected));
    assert.ok(
      r.skipped.every((l) => /^(7\.3\.4|console=|Cma|nr_free_cma)/.test(l)),
      r.skipped.join('\n'),
    );
  });
  it('basic-hugetlb.txt', () => {
    const sys = createSystem({ profile: '7.3', areas: [...AREAS.hugetlb] });
    const r = replayTranscript(sys, fixture('basic-hugetlb.txt'));
    assert.deepEqual(norm(r.actual), norm(r.expected));
  });
  it('trace-basic.txt', () => {
    const r = replayTranscript(createSystem({ profile: '7.3' }), fixture('trace-basic.txt'));
    assert.deepEqual(norm(r.actual), norm(r.expected));
  });
  it('trace-hugetlb-nohash.txt', () => {
    const sys = createSystem({ profile: '7.3', areas: [...AREAS.hugetlb], pointers: { mode: 'raw' } });
    const r = replayTranscript(sys, fixture('trace-hugetlb-nohash.txt'));
    assert.deepEqual(norm(r.actual), norm(r.expected));
  });
});
