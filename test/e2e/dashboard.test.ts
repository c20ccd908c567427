// End to end in real headless Chromium (Debian's /usr/bin/chromium, installed by
// scripts/install-system-deps.sh; playwright-core only drives it, it never downloads a browser):
// open the dashboard, allocate through the UI, see the bitmap and the numbers change, also
// when the change comes from outside the browser, and save a screenshot.
//
// DASHBOARD_PNG=docs/dashboard.png node --import tsx --test test/e2e/dashboard.test.ts
// also writes the screenshot of the documentation.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createSystem } from '../../src/core/create.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import { createServer } from '../../src/frontends/http/server.ts';
import { systemSource } from '../../src/sources/file-tree.ts';
import type { Browser } from './browser.ts';
import { COLOURS, cellColour, HAVE_CHROMIUM, launch, TOKEN } from './browser.ts';

describe('dashboard in headless Chromium', { skip: HAVE_CHROMIUM }, () => {
  let sys: CmaSystem;
  let srv: CmaServer;
  let url: string;
  let ctx: BrowserContext;
  let page: Page;
  let dir: string;
  let browser: Browser;
  /** The servers the page may talk to. */
  const allowed: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cma-e2e-'));
    sys = createSystem({
      profile: '7.3',
      areas: [
        'name=reserved,count=4096',
        'name=multi,range=0x80000:1024,range=0x90000:2048',
        'name=huge,size=64G,order_per_bit=0',
      ],
    });
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
    srv = await createServer(sys, { token: TOKEN, eventIntervalMs: 20 });
    url = await srv.app.listen({ host: '127.0.0.1', port: 0 });
    allowed.push(url);
    browser = await launch(() => allowed);
    ({ ctx, page } = browser);
  });

  after(async () => {
    await browser?.close();
    await srv?.app.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const card = (name: string) => page.locator(`section.area[data-area="${name}"]`);
  const canvasHash = async (name: string) => {
    const data = await card(name)
      .locator('canvas.bitmap')
      .evaluate((c) => (c as HTMLCanvasElement).toDataURL('image/png'));
    return createHash('sha256').update(data).digest('hex');
  };
  it('shows every area with its numbers and bitmap', async () => {
    await page.goto(`${url}/#token=${TOKEN}`);
    for (const a of sys.areas) {
      await card(a.area.name).locator('[data-testid=used]').filter({ hasText: /^0$/ }).waitFor();
    }
    await page.locator('#live-text', { hasText: 'live' }).waitFor();
    // the token moved from the URL into the session
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(
      await card('huge').locator('.maxchunk').textContent(),
      (16 * 1024 * 1024).toLocaleString('en-US'),
    );
    await page.waitForFunction(
      () => !!document.querySelector('section.area[data-area="huge"] .viewinfo')?.textContent,
    );
    assert.match((await card('huge').locator('.viewinfo').textContent()) ?? '', /bits per pixel/);
    assert.match(
      (await card('reserved').locator('.viewinfo').textContent()) ?? '',
      /1 bit = 1 page per cell/,
    );
    // an empty area is drawn in the free colour
    assert.deepEqual(await cellColour(page, 'reserved', 0), COLOURS.free);
  });

  it('allocates through the UI: the kernel answer, the numbers and the bitmap change', async () => {
    const before = await canvasHash('reserved');
    await card('reserved').locator('.alloc-pages').fill('512');
    await card('reserved').locator('.alloc-btn').click();
    await card('reserved')
      .locator('[data-testid=answer]', { hasText: 'ok — 512 pages at pfn 125952' })
      .waitFor();
    await card('reserved').locator('[data-testid=used]').filter({ hasText: /^512$/ }).waitFor();
    assert.equal(await card('reserved').locator('.maxchunk').textContent(), '3,584');
    await page.waitForFunction(async (h) => {
      const c = document.querySelector(
        'section.area[data-area="reserved"] canvas.bitmap',
      ) as HTMLCanvasElement;
      const data = c.toDataURL('image/png');
      const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(data));
      return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('') !== h;
    }, before);
    // the first granules are now drawn as used, in the colour of a debugfs record
    assert.deepEqual(await cellColour(page, 'reserved', 0), COLOURS.recordA);
    // the trace events arrived live
    await page.locator('#trace', { hasText: 'cma_alloc_finish: name=reserved pfn=0x1ec00' }).waitFor();
    assert.equal(sys.areas[0]!.records.length, 1);
  });

  it('shows the kernel error for a failing allocation', async () => {
    await card('reserved').locator('.alloc-pages').fill('4000');
    await card('reserved').locator('.alloc-btn').click();
    await card('reserved')
      .locator('[data-testid=answer]', { hasText: 'write error: Cannot allocate memory (ENOMEM, HTTP 507)' })
      .waitFor();
    await page.locator('#log', { hasText: 'alloc failed, req-size: 4000 pages' }).waitFor();
  });

  it('updates live when the system changes outside the browser', async () => {
    const before = await canvasHash('huge');
    const drawn = await card('huge').locator('canvas.bitmap').getAttribute('data-drawn');
    assert.ok(sys.writeFile('/sys/kernel/debug/cma/huge/alloc', '8000000\n').ok);
    await card('huge')
      .locator('[data-testid=used]')
      .filter({ hasText: /^8,000,000$/ })
      .waitFor();
    await page.waitForFunction(
      (d) =>
        document.querySelector('section.area[data-area="huge"] canvas.bitmap')?.getAttribute('data-drawn') !==
        d,
      drawn,
    );
    assert.notEqual(await canvasHash('huge'), before);
    // almost half of 16M granules used: the first rows are drawn used, the last free
    assert.deepEqual(await cellColour(page, 'huge', 0), COLOURS.used);
    assert.deepEqual(await cellColour(page, 'huge', 16 * 1024 * 1024 - 1), COLOURS.free);
  });

  it('zooms and pans a 16M-granule bitmap down to single granules', async () => {
    const info = () => card('huge').locator('.viewinfo').textContent();
    const drawnNow = () => card('huge').locator('canvas.bitmap').getAttribute('data-drawn');
    for (let i = 0; i < 20; i++) {
      const d = await drawnNow();
      await card('huge').locator('.zoom-in').click();
      await page.waitForFunction(
        (x) =>
          document
            .querySelector('section.area[data-area="huge"] canvas.bitmap')
            ?.getAttribute('data-drawn') !== x,
        d,
      );
      if (/per cell/.test((await info()) ?? '')) break;
    }
    assert.match((await info()) ?? '', /1 bit = 1 page per cell/);
    // the middle of the area: 8,000,000 pages are used, so the boundary is further right
    const shown = /showing bits ([\d,]+)–([\d,]+)/.exec((await info()) ?? '');
    assert.ok(shown);
    const box = (await card('huge').locator('canvas.bitmap').boundingBox())!;
    const d = await drawnNow();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + 10, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction(
      (x) =>
        document.querySelector('section.area[data-area="huge"] canvas.bitmap')?.getAttribute('data-drawn') !==
        x,
      d,
    );
    const panned = /showing bits ([\d,]+)/.exec((await info()) ?? '');
    assert.ok(
      Number(panned![1]!.replaceAll(',', '')) > Number(shown[1]!.replaceAll(',', '')),
      'dragging up moves forward',
    );
    await card('huge').locator('.zoom-reset').click();
    await card('huge').locator('.viewinfo', { hasText: 'bits per pixel' }).waitFor();
  });

  it('explains where an allocation would go', async () => {
    await card('reserved').locator('.explain-pages').fill('100');
    await card('reserved').locator('.explain-btn').click();
    await card('reserved').locator('.explain-answer', { hasText: 'fits: 100 pages at pfn 126464' }).waitFor();
    await card('reserved').locator('.explain-pages').fill('5000');
    await card('reserved').locator('.explain-btn').click();
    await card('reserved').locator('.explain-answer', { hasText: 'exhaustion' }).waitFor();
  });

  it('frees through the UI and saves a screenshot', async () => {
    await card('reserved').locator('.free-pages').fill('512');
    await card('reserved').locator('.free-btn').click();
    await card('reserved').locator('[data-testid=used]').filter({ hasText: /^0$/ }).waitFor();
    // make a picture worth looking at: a fragmented area and a multi-range one
    const chunks: { pfn: number; count: number }[] = [];
    for (let i = 0; i < 40; i++) {
      const count = 13 + ((i * 37) % 90);
      const r = sys.cmaAlloc('reserved', count);
      if (r.ok) chunks.push({ pfn: r.pfn, count });
    }
    for (let i = 0; i < chunks.length; i += 3) sys.cmaRelease('reserved', chunks[i]!.pfn, chunks[i]!.count);
    // and debugfs allocations into the holes: their records show as separate blocks
    for (const n of [20, 24, 30, 12, 40]) sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', `${n}\n`);
    for (let i = 0; i < 12; i++) sys.writeFile('/sys/kernel/debug/cma/multi/alloc', `${50 + i * 7}\n`);
    await card('reserved').locator('[data-testid=used]').filter({ hasNotText: /^0$/ }).waitFor();
    await card('reserved').locator('.records', { hasText: /^5$/ }).waitFor();
    await card('reserved').locator('.explain-pages').fill('150');
    await card('reserved').locator('.explain-btn').click();
    await card('reserved').locator('.explain-answer', { hasText: 'fits: 150 pages' }).waitFor();
    await page.waitForTimeout(300);
    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000);
    if (process.env.DASHBOARD_PNG) await page.screenshot({ path: process.env.DASHBOARD_PNG, fullPage: true });
    assert.deepEqual(browser.errors, []);
  });

  it('ticks "record cma events" when a shell enables the events', async () => {
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '0\n');
    await page.reload();
    await page.locator('#trace-enable').waitFor();
    await card('reserved').locator('[data-testid=used]').waitFor();
    assert.equal(await page.locator('#trace-enable').isChecked(), false);
    // as `echo 1 > …/enable` on the mount: no event happens yet, the box still follows
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
    await page.waitForFunction(() => (document.querySelector('#trace-enable') as HTMLInputElement).checked);
    // and back off
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '0\n');
    await page.waitForFunction(() => !(document.querySelector('#trace-enable') as HTMLInputElement).checked);
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
  });

  it('a read-only source: alloc/free disabled, "read-only" said once, sizes in GiB', async () => {
    const sys2 = createSystem({
      areas: ['name=reserved,count=4096', 'name=hugetlb0,size=1G,order_per_bit=9'],
    });
    const ro = { ...systemSource(sys2), label: 'directory /x (read-only)', writable: false };
    const srv2 = await createServer(ro, { token: TOKEN, eventIntervalMs: 20 });
    try {
      const url2 = await srv2.app.listen({ host: '127.0.0.1', port: 0 });
      allowed.push(url2);
      const p2 = await ctx.newPage();
      await p2.goto(`${url2}/#token=${TOKEN}`);
      const c2 = p2.locator('section.area[data-area="hugetlb0"]');
      await c2.locator('[data-testid=used]').waitFor();
      assert.equal(await p2.locator('#source').textContent(), 'directory /x (read-only)');
      assert.equal(await c2.locator('.alloc-btn').isDisabled(), true);
      assert.equal(await c2.locator('.free-btn').isDisabled(), true);
      assert.equal(await c2.locator('.alloc-pages').isDisabled(), true);
      assert.match((await c2.locator('[data-testid=answer]').textContent()) ?? '', /read-only source/);
      // nothing can be enabled on a read-only source either
      await p2.waitForFunction(() => (document.querySelector('#trace-enable') as HTMLInputElement).disabled);
      // explain reads only: it still answers
      await c2.locator('.explain-pages').fill('512');
      await c2.locator('.explain-btn').click();
      await c2.locator('.explain-answer', { hasText: 'fits: 512 pages' }).waitFor();
      const text = (await c2.textContent()) ?? '';
      assert.match(text, /1 GiB/);
      assert.doesNotMatch(text, /1024\.0 MiB/);
      await p2.close();
    } finally {
      await srv2.app.close();
    }
  });
});
