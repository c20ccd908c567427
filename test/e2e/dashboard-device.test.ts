// The dashboard of a device without debugfs (issue 15), in headless Chromium, on the 6.12
// capture of test/fixtures/shipping (debugfs unmounted after a workload): the device report with
// every figure's provenance, the sysfs counters, the last failure's verdict and a picture of the
// free runs the kernel printed; no alloc/free/explain (there is no bitmap to act on).
//
// DASHBOARD_DEVICE_PNG=docs/dashboard-device.png node --import tsx --test test/e2e/dashboard-device.test.ts
// also writes the documentation's picture.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import type { ServeSource } from '../../src/sources/file-tree.ts';
import { systemSource } from '../../src/sources/file-tree.ts';
import { directorySource, openCapture } from '../../src/sources/serve-source.ts';
import type { Browser } from './browser.ts';
import { COLOURS, canvasCellColour, HAVE_CHROMIUM, launch, near, serve } from './browser.ts';

const FIX = join(import.meta.dirname, '../fixtures/shipping');
const DEVICE = join(FIX, '6.12/device');

async function capture(path: string): Promise<ServeSource> {
  const o = await openCapture(path);
  assert.equal(o.kind, 'capture');
  return (o as { source: ServeSource }).source;
}

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
    assert.equal(await page.locator('#trace').isHidden(), true, 'no trace card on a device report');
    if (process.env.DASHBOARD_DEVICE_PNG)
      await page.screenshot({ path: process.env.DASHBOARD_DEVICE_PNG, fullPage: true });
    assert.deepEqual(b.errors, []);
  });
});

describe('dashboard of a capture (read-only)', { skip: HAVE_CHROMIUM }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cma-e2e-capture-'));
  const servers: CmaServer[] = [];
  const allowed: string[] = [];
  let b: Browser;

  before(async () => {
    b = await launch(() => allowed);
  });
  after(async () => {
    await b?.close();
    for (const s of servers) await s.app.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function open(path: string): Promise<string> {
    const { srv, url } = await serve(await capture(path));
    servers.push(srv);
    allowed.push(url);
    await b.page.goto(url);
    await b.page.locator('[data-testid=device]').waitFor();
    return url;
  }

  it('a 7.3 area of two ranges: every range of the dump drawn, at the sizes its runs settle', async () => {
    // the real 7.3 log up to its first failure: range 0 `+261120@2` (bits 0-1 in use), range 1 `524288@0`
    const log = readFileSync(join(FIX, '7.3-multirange/dmesg-1G+2G'), 'latin1');
    const first = join(tmp, 'dmesg-first');
    writeFileSync(first, log.slice(0, log.indexOf('\n', log.indexOf('\n=> ') + 1) + 1));
    await open(first);
    const page = b.page;
    assert.match((await page.locator('#source').textContent()) ?? '', /read-only capture/);
    const fail = page.locator('section.device-area[data-area="hugetlb0"] [data-testid=last-failure]');
    assert.match((await fail.textContent()) ?? '', /786,432 pages failed \(ret -16\): exhaustion/);
    const canvases = fail.locator('canvas[data-testid=failure-runs]');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=failure-runs][data-layout]').length === 2,
    );
    const [r0, r1] = [canvases.nth(0), canvases.nth(1)];
    assert.deepEqual([await r0.getAttribute('data-range'), await r1.getAttribute('data-range')], ['0', '1']);
    // 512 and 1024 bits of 512 pages (262144 + 524288 pages, as debugfs had them)
    const to = async (c: typeof r0) =>
      (JSON.parse((await c.getAttribute('data-layout'))!) as { to: number }).to;
    assert.deepEqual([await to(r0), await to(r1)], [512, 1024]);
    assert.match(
      (await fail.textContent()) ?? '',
      /range 1: 1 free run \(green\), 524,288 pages · 1,024 bits/,
    );
    assert.ok(near(await canvasCellColour(r0, 0), COLOURS.used));
    assert.ok(near(await canvasCellColour(r0, 1), COLOURS.used));
    assert.ok(near(await canvasCellColour(r0, 2), COLOURS.free));
    assert.ok(near(await canvasCellColour(r0, 511), COLOURS.free));
    assert.ok(near(await canvasCellColour(r1, 0), COLOURS.free));
    assert.ok(near(await canvasCellColour(r1, 1023), COLOURS.free));
    // the base of a 7.3 hugetlb area is not printed: range 0 is labelled by offset, and said so
    assert.match((await fail.textContent()) ?? '', /rows labelled by page offset/);
    assert.deepEqual(b.errors, []);
  });

  it('a bug report: the device report, read-only, nothing to allocate', async () => {
    const url = await open(join(FIX, 'bugreport/bugreport-6.12-excerpt.txt'));
    const page = b.page;
    assert.match((await page.locator('#source').textContent()) ?? '', /^bugreport .*read-only capture/);
    const dev = (await page.locator('[data-testid=device]').textContent()) ?? '';
    assert.match(dev, /proc\/pagetypeinfo: permission denied/);
    const area = page.locator('section.device-area[data-area="reserved"]');
    assert.equal(await area.locator('[data-figure="base pfn"] .prov').textContent(), 'inferred');
    assert.match(
      (await area.locator('[data-testid=last-failure]').textContent()) ?? '',
      /22 pages failed \(ret -12\): fragmentation — the largest request that would have fit: 21 pages/,
    );
    await page.waitForFunction(() => !!document.querySelector('[data-testid=failure-runs][data-layout]'));
    assert.equal(await page.locator('.alloc-btn').count(), 0);
    // nothing asks for a token; the kernel log card shows the capture's CMA lines, numbered
    assert.equal(await page.locator('#token').isVisible(), false);
    const log = (await page.locator('#log').textContent()) ?? '';
    assert.match(log, /^ +\d+ {2}.*cma: __cma_alloc: reserved: alloc failed, req-size: 22 pages, ret: -12$/m);
    assert.match(log, /number of available pages: .*=> 540 free of 16384 total pages/);
    // a write through the API is refused with a reason
    const w = await fetch(`${url}/sys/kernel/debug/cma/reserved/alloc`, { method: 'PUT', body: '1\n' });
    assert.equal(w.status, 405);
    if (process.env.DASHBOARD_CAPTURE_PNG)
      await page.screenshot({ path: process.env.DASHBOARD_CAPTURE_PNG, fullPage: true });
    assert.deepEqual(b.errors, []);
  });
});

describe('dashboard of the emulator with debugfs unmounted (serve --no-debugfs)', {
  skip: HAVE_CHROMIUM,
}, () => {
  it('shows the device report, live: a failure made after the page opened appears', async () => {
    const sys = createSystem({ profile: '6.12', areas: ['name=reserved,count=4096'] });
    const D = '/sys/kernel/debug/cma/reserved';
    for (const n of [100, 7, 300]) sys.writeFile(`${D}/alloc`, `${n}\n`);
    sys.writeFile(`${D}/free`, '7\n');
    sys.debugfsMounted = false;
    const { srv, url } = await serve(systemSource(sys));
    const b = await launch(() => [url]);
    try {
      const page = b.page;
      await page.goto(url);
      await page.locator('[data-testid=device]').waitFor();
      assert.match((await page.locator('#source').textContent()) ?? '', /debugfs not mounted/);
      // no bitmap of the model, no debugfs alloc box: what a production kernel's files tell
      assert.equal(await page.locator('section.area canvas.bitmap').count(), 0);
      const area = page.locator('section.device-area[data-area="reserved"]');
      assert.match((await area.textContent()) ?? '', /no failed allocation in the kernel log/);
      // a driver's allocation fails (no debugfs needed): the kernel log and sysfs change, the page follows
      assert.equal(sys.cmaAlloc('reserved', 3800, 0).ok, false);
      await area.locator('[data-testid=last-failure]').waitFor();
      assert.match(
        (await area.locator('[data-testid=last-failure]').textContent()) ?? '',
        /3,800 pages failed \(ret -12\): exhaustion — the largest request that would have fit: 3,689 pages/,
      );
      assert.equal(await area.locator('[data-figure="used pages"] b').textContent(), '400');
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
      await srv.app.close();
    }
  });
});
