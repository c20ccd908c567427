// The pictures carry real text: the timeline's title, legend, area names, page and time axes.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { plot, timelinePng, timelineSvg } from '../../src/frontends/render/timeline.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { FIX } from './helpers.ts';

const trace = join(FIX, 'traces/oracle-6.1/capture2.trace');

describe('timeline', async () => {
  const r = await replayTrace(fileSource(trace), { timelinePoints: 1000 });

  it('has a time axis in seconds, a page axis, per-area failures and labels', () => {
    const p = plot(r, 'replay of capture2.trace');
    assert.match(p.xLabel, /trace time/);
    assert.equal(p.xTicks[0]!.text, '0 s');
    assert.ok(p.xTicks.some((t) => t.text === '0.5 s'));
    const [reserved, huge] = p.panels;
    assert.match(
      reserved!.label,
      /^reserved: 4096 pages \(16 MiB\), order_per_bit 0; 73 failed allocations$/,
    );
    assert.match(huge!.label, /^hugetlb0: 262144 pages \(1 GiB\), order_per_bit 9; 57 failed allocations$/);
    assert.equal(reserved!.yTicks.at(-1)!.text, '16 MiB');
    // failures are drawn in their own area's panel only
    assert.equal(reserved!.fails.length, r.failures.filter((f) => f.area === 'reserved').length);
    assert.equal(huge!.fails.length, r.failures.filter((f) => f.area === 'hugetlb0').length);
    // the title and the legend sit above the first panel's label, without overlapping it
    assert.ok(reserved!.top - 8 - 12 > 52);
  });

  it('SVG and PNG carry the text', () => {
    const svg = timelineSvg(r, 'replay of capture2.trace');
    for (const t of [
      'replay of capture2.trace',
      'maxchunk (largest free run)',
      'failed allocation',
      '0.3 s',
      '1 GiB',
    ])
      assert.ok(svg.includes(t), t);
    const png = PNG.sync.read(timelinePng(r, 'replay of capture2.trace'));
    assert.equal(png.width, 960);
    // the title row (y 5..22) holds dark text pixels
    let dark = 0;
    for (let y = 5; y < 22; y++)
      for (let x = 70; x < 300; x++) if (png.data[(y * png.width + x) * 4]! < 100) dark++;
    assert.ok(dark > 100, `title pixels: ${dark}`);
  });
});
