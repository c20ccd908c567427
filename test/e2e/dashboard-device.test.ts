// The dashboard of a device without debugfs (issue 15), in headless Chromium, on the 6.12
// capture of test/fixtures/shipping (debugfs unmounted after a workload): the device report with
// every figure's provenance, the sysfs counters, the last failure's verdict and a picture of the
// free runs the kernel printed; no alloc/free/explain (there is no bitmap to act on).
//
// DASHBOARD_DEVICE_PNG=docs/dashboard-device.png node --import tsx --test test/e2e/dashboard-device.test.ts
// also writes the documentation's picture.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import { directorySource } from '../../src/sources/serve-source.ts';
import type { Browser } from './browser.ts';
import { HAVE_CHROMIUM, launch, serve } from './browser.ts';

const DEVICE = join(import.meta.dirname, '../fixtures/shipping/6.12/device');

describe('dashboard of a device without debugfs', { skip: HAVE_CHROMIUM }, () => {
  let srv: CmaServer;
  let url: string;
  let b: Browser;

  before(async () => {
    ({ srv, url } = await serve(directorySource(DEVICE, { allowWrite: false, pollMs: 0 })));
    b = await launch(() => [url]);
  });
  after(async () => {
    await b?.close();
    await srv?.app.close();
  });

  it('shows the device report: provenance, counters, the last failure and its free runs', async () => {
    const page = b.page;
    await page.goto(url);
    const dev = page.locator('[data-testid=device]');
    await dev.waitFor();
    assert.match((await page.locator('#source').textContent()) ?? '', /no debugfs/);
    assert.match((await dev.textContent()) ?? '', /6\.12\.118/);
    const area = page.locator('section.device-area[data-area="reserved"]');
    // the figures as the API gives them, each with how it is known
    const api = (await (await fetch(`${url}/api/device`)).json()) as {
      areas: { name: string; basePfn: number; count: number; counters: Record<string, number> }[];
    };
    const a = api.areas.find((x) => x.name === 'reserved')!;
    const base = area.locator('[data-figure="base pfn"]');
    assert.equal(await base.locator('b').textContent(), `0x${a.basePfn.toString(16)}`);
    assert.equal(await base.locator('.prov').textContent(), 'inferred');
    assert.equal(
      await area.locator('[data-figure="pages"] b').textContent(),
      a.count.toLocaleString('en-US'),
    );
    const counters = (await area.locator('.counters').textContent()) ?? '';
    for (const [k, v] of Object.entries(a.counters))
      assert.ok(counters.includes(`${k} ${v.toLocaleString('en-US')}`), k);
    // the last failure: fragmentation, and the largest request that would have fit
    const fail = area.locator('[data-testid=last-failure]');
    assert.match(
      (await fail.textContent()) ?? '',
      /22 pages failed \(ret -12\): fragmentation — the largest request that would have fit: 21 pages/,
    );
    // its free runs drawn with the pfn axis of the area
    await page.waitForFunction(
      () => !!document.querySelector('[data-testid=failure-runs]')?.getAttribute('data-axis'),
    );
    const axis = JSON.parse((await fail.locator('canvas').getAttribute('data-axis'))!) as {
      rows: { text: string }[];
    };
    assert.equal(axis.rows[0]!.text, `0x${a.basePfn.toString(16)}`);
    // nothing to allocate or explain on a device report
    assert.equal(await page.locator('.alloc-btn').count(), 0);
    assert.equal(await page.locator('#trace-enable').isDisabled(), true);
    if (process.env.DASHBOARD_DEVICE_PNG)
      await page.screenshot({ path: process.env.DASHBOARD_DEVICE_PNG, fullPage: true });
    assert.deepEqual(b.errors, []);
  });
});
