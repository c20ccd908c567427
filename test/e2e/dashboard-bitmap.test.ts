// The dashboard's bitmap as a kernel engineer reads it (issue 16), in headless Chromium: a pfn
// axis, power-of-two rows starting at aligned pfns with a pageblock grid, debugfs record
// boundaries, an explain highlight that is visible even on a 64 GiB area and goes when the area
// changes, a hover line that follows zoom and changes, and trace lines that are not cut off.
//
// DASHBOARD_BUSY_PNG=docs/dashboard-busy.png node --import tsx --test test/e2e/dashboard-bitmap.test.ts
// also writes the documentation's picture of busy pages.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createSystem } from '../../src/core/create.ts';
import type { BusyOwner } from '../../src/core/page-owner.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import type { Browser } from './browser.ts';
import {
  axisLabels,
  bitmap,
  COLOURS,
  card,
  cellCentre,
  cellColour,
  drawnCount,
  HAVE_CHROMIUM,
  launch,
  near,
  pixel,
  redrawn,
  serve,
  shownLayout,
  TOKEN,
  untilCell,
} from './browser.ts';

const BASE = 0x1ec00; // the emulator places a 4096-page area there (see the kernel log)
const hexOf = (t: string) => Number.parseInt(t.replace(/^\+/, ''), 16);
const fmt = (n: number) => n.toLocaleString('en-US');

describe('dashboard bitmap in headless Chromium', { skip: HAVE_CHROMIUM }, () => {
  let sys: CmaSystem;
  let srv: CmaServer;
  let url: string;
  let b: Browser;
  let page: Page;
  /** Servers the page may talk to. */
  const servers: string[] = [];

  before(async () => {
    sys = createSystem({
      profile: '7.3',
      areas: ['name=reserved,count=4096', 'name=huge,size=64G,order_per_bit=0'],
    });
    ({ srv, url } = await serve(sys));
    servers.push(url);
    b = await launch(() => servers);
    page = b.page;
    await page.goto(`${url}/#token=${TOKEN}`);
    for (const n of ['reserved', 'huge']) {
      await card(page, n).locator('[data-testid=used]').filter({ hasText: /^0$/ }).waitFor();
      await page.waitForFunction(
        (x) =>
          !!document.querySelector(`section.area[data-area="${x}"] canvas.bitmap`)?.getAttribute('data-axis'),
        n,
      );
    }
  });

  after(async () => {
    await b?.close();
    await srv?.app.close();
  });

  /** Pages from the hover line's first pfn, and the bit it names. */
  const hoverText = () => card(page, 'reserved').locator('.hover').textContent();
  const area = () => sys.areaList().find((a) => a.name === 'reserved')!;

  it('labels every row with its first pfn; rows are a power of two wide and start aligned', async () => {
    assert.equal(area().ranges[0]!.basePfn, BASE);
    for (const name of ['reserved', 'huge']) {
      const L = await shownLayout(page, name);
      const axis = await axisLabels(page, name);
      const rowPages = L.cols * L.per; // one page a bit in both areas
      assert.equal(Math.log2(L.cols) % 1, 0, `${name}: ${L.cols} columns`);
      assert.equal(Math.log2(L.per) % 1, 0, `${name}: ${L.per} bits a cell`);
      assert.ok(axis.rows.length >= 8, `${name}: ${axis.rows.length} row labels`);
      for (const r of axis.rows) {
        assert.match(r.text, /^0x[0-9a-f]+$/, 'lowercase hex');
        assert.equal(hexOf(r.text) % rowPages, 0, `${name}: row ${r.row} starts at an aligned pfn`);
        assert.equal(hexOf(r.text), hexOf(axis.rows[0]!.text) + r.row * rowPages);
      }
      assert.deepEqual(
        axis.cols.map((c) => hexOf(c.text)),
        axis.cols.map((c) => c.col * L.per),
        `${name}: the top axis gives page offsets in the row`,
      );
    }
    const axis = await axisLabels(page, 'reserved');
    assert.equal(axis.rows[0]!.text, '0x1ec00');
    // the whole 64 GiB area in one view, a power of two of bits per pixel
    assert.match(
      (await card(page, 'huge').locator('.viewinfo').textContent()) ?? '',
      /65,536 pages a row · 64 bits per pixel/,
    );
  });

  it('draws pageblock boundaries darker than cell borders', async () => {
    const L = await shownLayout(page, 'reserved');
    // 128 one-page cells a row: a pageblock (512 pages) is 4 rows
    assert.equal(L.cols * L.per, 128);
    const x = cellCentre(L, 0).x;
    const line = await pixel(page, 'reserved', x, L.top + 4 * L.cell);
    const border = await pixel(page, 'reserved', x, L.top + 2 * L.cell);
    assert.ok(near(line, [0x52, 0x60, 0x7a], 30), `pageblock line ${line}`);
    assert.ok(border[0]! > 200 && border[1]! > 200, `cell border ${border}`);
  });

  it('keeps neighbouring debugfs allocations apart: alternating blues and a boundary bar', async () => {
    for (const n of [10, 10]) assert.ok(sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', `${n}\n`).ok);
    await card(page, 'reserved').locator('[data-testid=used]').filter({ hasText: /^20$/ }).waitFor();
    await page.waitForFunction(
      () => document.querySelector('section.area[data-area="reserved"] .records')?.textContent === '2',
    );
    await untilCell(page, 'reserved', 15, COLOURS.recordB);
    assert.deepEqual(await cellColour(page, 'reserved', 5), COLOURS.recordA);
    // a driver's cma_alloc (no debugfs record) is plain used
    const drv = sys.cmaAlloc('reserved', 6);
    assert.ok(drv.ok);
    await untilCell(page, 'reserved', 22, COLOURS.used);
    sys.cmaRelease('reserved', drv.pfn, 6);
    await untilCell(page, 'reserved', 22, COLOURS.free);
    const L = await shownLayout(page, 'reserved');
    const start2 = cellCentre(L, 10, -L.cell / 2 + 1);
    assert.deepEqual(await pixel(page, 'reserved', start2.x, start2.y), COLOURS.recordEdge);
    const box = (await bitmap(page, 'reserved').boundingBox())!;
    const p = cellCentre(L, 12);
    await page.mouse.move(box.x + p.x, box.y + p.y);
    await card(page, 'reserved').locator('.hover', { hasText: 'bit 12 ·' }).waitFor();
    assert.match((await hoverText()) ?? '', /pfn 0x1ec0c · used · debugfs record 10 pages at 0x1ec0a/);
  });

  it('updates the hover line when the cell under the pointer changes, and after a zoom', async () => {
    const L = await shownLayout(page, 'reserved');
    const box = (await bitmap(page, 'reserved').boundingBox())!;
    const p = cellCentre(L, 30);
    await page.mouse.move(box.x + p.x, box.y + p.y);
    await card(page, 'reserved').locator('.hover', { hasText: 'bit 30 · pfn 0x1ec1e · free' }).waitFor();
    // the pointer does not move; the area changes under it
    assert.ok(sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '40\n').ok);
    await card(page, 'reserved').locator('.hover', { hasText: 'bit 30 · pfn 0x1ec1e · used' }).waitFor();
    // zoom with the wheel somewhere else: the line names the bit now under the pointer
    const q = cellCentre(L, 700);
    await page.mouse.move(box.x + q.x, box.y + q.y);
    await card(page, 'reserved').locator('.hover', { hasText: 'bit 700 ·' }).waitFor();
    const d = await drawnCount(page, 'reserved');
    await page.mouse.wheel(0, -300);
    await redrawn(page, 'reserved', d);
    const Z = await shownLayout(page, 'reserved');
    assert.ok(Z.to - Z.from < 4096, 'zoomed in');
    const col = Math.floor((q.x - Z.left) / Z.cell);
    const row = Math.floor((q.y - Z.top) / Z.cell);
    const bit = Z.from + (row * Z.cols + col - Z.lead) * Z.per;
    if (bit >= Z.from && bit < Z.to)
      assert.match(
        (await hoverText()) ?? '',
        new RegExp(`^bit ${fmt(bit)} · pfn 0x${(BASE + bit).toString(16)} `),
      );
    else assert.equal(await hoverText(), '');
    await card(page, 'reserved').locator('.zoom-reset').click();
    await card(page, 'reserved').locator('.viewinfo', { hasText: 'showing bits 0–4,095' }).waitFor();
    await page.mouse.move(0, 0);
  });

  it('marks the explain answer and drops mark and text once the area changed', async () => {
    const c = card(page, 'reserved');
    await c.locator('.explain-pages').fill('16');
    await c.locator('.explain-btn').click();
    await c.locator('.explain-answer', { hasText: 'fits: 16 pages at pfn 126012' }).waitFor();
    const bit = 126012 - BASE;
    await untilCell(page, 'reserved', bit, COLOURS.markSolid, { tol: 40 });
    assert.ok(near(await cellColour(page, 'reserved', bit + 15), COLOURS.markSolid, 40), 'all 16 marked');
    // the allocation lands (through the UI): the answer no longer holds
    await c.locator('.alloc-pages').fill('16');
    await c.locator('.alloc-btn').click();
    await c.locator('.explain-answer', { hasText: 'the area changed since: explain again' }).waitFor();
    await c.locator('[data-testid=used]').filter({ hasText: /^76$/ }).waitFor();
    // the fourth debugfs record: the second blue
    await untilCell(page, 'reserved', bit, COLOURS.recordB);
    assert.ok(!near(await cellColour(page, 'reserved', bit + 15), COLOURS.markSolid, 40), 'mark gone');
  });

  it('rings an explain answer too small to see on a 64 GiB area', async () => {
    const c = card(page, 'huge');
    await c.locator('.explain-pages').fill('100');
    await c.locator('.explain-btn').click();
    await c.locator('.explain-answer', { hasText: 'fits: 100 pages at pfn 1048576' }).waitFor();
    await untilCell(page, 'huge', 0, COLOURS.markSolid, { tol: 60 });
    const L = await shownLayout(page, 'huge');
    assert.ok(L.per >= 64 && L.cell === 1);
    const p = cellCentre(L, 0);
    // a ring of radius 10 px around the one pixel
    let hits = 0;
    for (const [dx, dy] of [
      [10, 0],
      [0, 10],
      [7, 7],
    ] as const)
      if (near(await pixel(page, 'huge', p.x + dx, p.y + dy), COLOURS.markSolid, 60)) hits++;
    assert.ok(hits >= 2, `ring pixels found: ${hits}`);
  });

  it('draws busy pages in amber with their owner in the hover line', async () => {
    const sys2 = createSystem({ profile: '6.12', areas: ['name=reserved,count=4096'] });
    for (const n of [64, 100, 40])
      assert.ok(sys2.writeFile('/sys/kernel/debug/cma/reserved/alloc', `${n}\n`).ok);
    const base = sys2.areaList()[0]!.ranges[0]!.basePfn;
    const owner: BusyOwner = { pid: 1234, comm: 'camera_hal', kind: 'anon' };
    assert.ok(sys2.markBusy('reserved', base + 700, 16, -16, owner).ok);
    assert.ok(sys2.markBusy('reserved', base + 1500, 4, -16).ok);
    const s2 = await serve(sys2);
    servers.push(s2.url);
    const p2 = await b.ctx.newPage();
    try {
      await p2.goto(`${s2.url}/#token=${TOKEN}`);
      await card(p2, 'reserved').locator('[data-testid=used]').filter({ hasText: /^204$/ }).waitFor();
      await p2.waitForFunction(
        () =>
          !!document
            .querySelector('section.area[data-area="reserved"] canvas.bitmap')
            ?.getAttribute('data-axis'),
      );
      await untilCell(p2, 'reserved', 705, COLOURS.busy);
      const L = await shownLayout(p2, 'reserved');
      const box = (await bitmap(p2, 'reserved').boundingBox())!;
      const at = cellCentre(L, 705);
      await p2.mouse.move(box.x + at.x, box.y + at.y);
      const hover = card(p2, 'reserved').locator('.hover');
      await hover.filter({ hasText: 'busy: pid 1234 (camera_hal, anon)' }).waitFor();
      assert.match(
        (await hover.textContent()) ?? '',
        new RegExp(`^bit 705 · pfn 0x${(base + 705).toString(16)} · free`),
      );
      if (process.env.DASHBOARD_BUSY_PNG)
        await card(p2, 'reserved').screenshot({ path: process.env.DASHBOARD_BUSY_PNG });
    } finally {
      await p2.close();
      await s2.srv.app.close();
    }
  });

  it('wraps trace lines so the pfn at their end is visible', async () => {
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
    assert.ok(sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '3\n').ok);
    const pre = page.locator('#trace');
    await page.locator('#trace', { hasText: 'cma_alloc_finish: name=reserved pfn=0x' }).waitFor();
    const fits = await pre.evaluate((e) => e.scrollWidth <= e.clientWidth);
    assert.ok(fits, 'no trace line runs out of the pane');
    assert.equal(await page.locator('#trace-enable').isChecked(), true);
    assert.deepEqual(b.errors, []);
  });
});
