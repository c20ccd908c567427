// readAllocationCostEvents on text traces: the byte search finds the same cost events, with the
// same line numbers, as reading every line (also across its 1 MiB reads, with CRLF line ends and
// a final line without a newline).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readAllocationCostEvents } from '../../src/sources/busy-files.ts';
import { parseMmEventLine } from '../../src/sources/trace/mm-events.ts';

const dir = mkdtempSync(join(tmpdir(), 'cost-text-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const start = (i: number) =>
  `      camera-${100 + (i % 7)}     [001] .....   ${(100 + i / 1e4).toFixed(6)}: cma_alloc_start: name=reserved count=16 align=4`;
const info = (i: number) =>
  `      camera-${100 + (i % 7)}     [001] .....   ${(100 + i / 1e4).toFixed(6)}: mm_alloc_contig_migrate_range_info: start=0x${(0x80000 + i).toString(16)} end=0x${(0x80010 + i).toString(16)} migratetype=4 nr_migrated=${i % 13} nr_reclaimed=${i % 3} nr_mapped=${i % 5}`;
const android = (i: number) =>
  `      gpu-${200 + (i % 3)}     [000] .....   ${(100 + i / 1e4).toFixed(6)}: cma_alloc_info: name=reserved pfn=0x${(0x80000 + i).toString(16)} count=8 nr_migrated=${i % 11} nr_reclaimed=0 nr_mapped=1 err_iso=0 err_mig=0 err_test=0`;

/** The events as a line-by-line read finds them. */
function expected(text: string) {
  const out = [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  for (let n = 0; n < lines.length; n++) {
    if (!lines[n]!.includes('_info: ')) continue;
    const e = parseMmEventLine(lines[n]!, n + 1);
    if (e && (e.event === 'mm_alloc_contig_migrate_range_info' || e.event === 'cma_alloc_info')) out.push(e);
  }
  return out;
}

describe('readAllocationCostEvents, text', () => {
  it('none in a trace without them', async () => {
    const f = join(dir, 'none.trace');
    writeFileSync(f, `# tracer: nop\n${Array.from({ length: 1000 }, (_, i) => start(i)).join('\n')}\n`);
    assert.deepEqual(await readAllocationCostEvents(f), []);
  });

  for (const [name, eol, finalNl] of [
    ['LF', '\n', true],
    ['CRLF, no final newline', '\r\n', false],
  ] as const) {
    it(`the same events and line numbers as a line-by-line read, past 1 MiB reads (${name})`, async () => {
      // ~3 MiB: the first match after the first read (lines counted from the top then), matches
      // on both sides of each read's end
      const lines = ['# tracer: nop'];
      for (let i = 0; i < 30000; i++) {
        lines.push(start(i));
        if (i > 9000 && i % 97 === 0) lines.push(info(i));
        if (i > 12000 && i % 301 === 0) lines.push(android(i));
      }
      const text = lines.join(eol) + (finalNl ? eol : '');
      const f = join(dir, `${name.replace(/\W+/g, '-')}.trace`);
      writeFileSync(f, text);
      const want = expected(text);
      assert.ok(want.length > 250, `${want.length} cost events`);
      assert.deepEqual(await readAllocationCostEvents(f), want);
    });
  }
});
