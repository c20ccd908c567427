// GET /api/device and /metrics on sources without debugfs: a copied device directory (the real
// 6.12 / 7.3 captures of test/fixtures/shipping), a /sys root whose debugfs is not mounted, and the
// emulator with debugfs unmounted; every figure with its provenance, the same as `analyze --json`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import { createServer } from '../../src/frontends/http/server.ts';
import type { DeviceView, InfoView } from '../../src/frontends/http/views.ts';
import { directorySource } from '../../src/sources/serve-source.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIX = join(ROOT, 'test/fixtures/shipping');
const tmp = mkdtempSync(join(tmpdir(), 'cma-http-device-'));
const servers: CmaServer[] = [];
after(async () => {
  for (const s of servers) await s.app.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function serve(dir: string): Promise<CmaServer> {
  const srv = await createServer(directorySource(dir, { allowWrite: false, pollMs: 0 }));
  servers.push(srv);
  return srv;
}

async function get(srv: CmaServer, url: string) {
  const r = await srv.app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.body, type: String(r.headers['content-type']) };
}

/** Sample lines of a Prometheus text: name, labels, value; every line checked for form. */
function samples(text: string): { name: string; labels: Record<string, string>; value: string }[] {
  const out: { name: string; labels: Record<string, string>; value: string }[] = [];
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (-?\d+|NaN)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
      const l = /^(\w+)="(.*)"$/.exec(kv);
      assert.ok(l, `bad label ${kv}`);
      labels[l[1]!] = l[2]!;
    }
    out.push({ name: m[1]!, labels, value: m[3]! });
  }
  return out;
}

function cliJson(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/cma-debug.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return JSON.parse(r.stdout);
}

describe('a copied device directory (real 6.12 capture)', () => {
  it('GET /api/device states what analyze --json states, with the last failure and its free runs', async () => {
    const dir = join(FIX, '6.12/device');
    const srv = await serve(dir);
    const info = JSON.parse((await get(srv, '/api/info')).body) as InfoView;
    assert.equal(info.device, true);
    assert.equal(info.modelled, false);
    const r = await get(srv, '/api/device');
    assert.equal(r.status, 200, r.body);
    const d = JSON.parse(r.body) as DeviceView;
    assert.equal(d.debugfs, false);
    assert.equal(d.failing, true);
    assert.equal(d.kernelRelease, '6.12.118');
    const cli = cliJson(['analyze', dir, '--json']);
    assert.equal(d.areas.length, cli.areas.length);
    for (const [a, c] of d.areas.map((a, i) => [a, cli.areas[i]] as const)) {
      for (const k of [
        'name',
        'basePfn',
        'count',
        'orderPerBit',
        'used',
        'free',
        'source',
        'counters',
      ] as const)
        assert.deepEqual(a[k], c[k], k);
      for (const k of ['request', 'ret', 'free', 'maxchunk', 'verdict', 'fitsUpTo', 'runs'] as const)
        assert.deepEqual(a.lastFailure?.[k], c.lastFailure[k], `lastFailure.${k}`);
    }
    const a = d.areas[0]!;
    assert.deepEqual([a.name, a.basePfn, a.count, a.free], ['reserved', 113664, 16384, 540]);
    assert.equal(a.source.basePfn, 'inferred');
    const f = a.lastFailure!;
    assert.deepEqual([f.request, f.verdict, f.maxchunk, f.fitsUpTo], [22, 'fragmentation', 21, 21]);
    // the dump's runs add up to the free pages and fit in the range the picture draws
    assert.deepEqual(f.rangeBits, [16384]);
    const runs = f.runs!.flat();
    assert.equal(
      runs.reduce((s, x) => s + x.pages, 0),
      540,
    );
    assert.ok(runs.every((x) => x.bit + x.pages <= f.rangeBits![0]!));
    assert.deepEqual(d.system.freeBlocksByOrder?.slice(0, 4), [122, 73, 36, 16]);
    assert.equal(d.system.cmaFree, 540);
    assert.deepEqual(d.unreadable, {});
  });

  it('GET /metrics labels every figure known, inferred or unknown (NaN)', async () => {
    const srv = await serve(join(FIX, '6.12/device'));
    const r = await get(srv, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    const s = samples(r.body);
    const one = (name: string) => s.filter((x) => x.name === name);
    assert.deepEqual(one('cma_area_total_pages'), [
      { name: 'cma_area_total_pages', labels: { area: 'reserved', source: 'inferred' }, value: '16384' },
    ]);
    assert.deepEqual(one('cma_area_free_pages')[0]!.labels.source, 'inferred');
    assert.equal(one('cma_area_used_pages')[0]!.value, '15844');
    assert.deepEqual(one('cma_area_maxchunk_pages')[0], {
      name: 'cma_area_maxchunk_pages',
      labels: { area: 'reserved', source: 'unknown' },
      value: 'NaN',
    });
    assert.equal(one('cma_area_alloc_pages_fail_total')[0]!.value, '12322');
    assert.equal(one('cma_area_alloc_pages_fail_total')[0]!.labels.source, 'known');
    assert.deepEqual(one('cma_area_last_failure_request_pages')[0]!.labels, {
      area: 'reserved',
      verdict: 'fragmentation',
      source: 'known',
    });
    assert.equal(one('cma_area_last_failure_maxchunk_pages')[0]!.value, '21');
    assert.equal(one('cma_meminfo_free_pages')[0]!.value, '540');
    assert.deepEqual(
      one('cma_free_blocks')
        .slice(0, 4)
        .map((x) => [x.labels.order, x.value]),
      [
        ['0', '122'],
        ['1', '73'],
        ['2', '36'],
        ['3', '16'],
      ],
    );
    // every sample but the unreadable count says how it is known
    for (const x of s.filter((x) => x.name !== 'cma_device_unreadable_files'))
      assert.ok(['known', 'inferred', 'unknown'].includes(x.labels.source!), `${x.name}: ${x.labels.source}`);
    for (const x of s) assert.equal(x.value === 'NaN', x.labels.source === 'unknown', x.name);
  });

  it('the model routes answer 501 and point to /api/device; the sysfs files are served', async () => {
    const srv = await serve(join(FIX, '7.3-hugetlb/device'));
    const r = await get(srv, '/api/areas');
    assert.equal(r.status, 501);
    assert.match(JSON.parse(r.body).message, /no debugfs.*GET \/api\/device/);
    const t = await get(srv, '/sys/kernel/mm/cma/hugetlb0/available_pages');
    assert.equal(t.status, 200);
    assert.equal(t.body, '160632\n');
    // a copy of a device's files is never written, token or not
    const w = await srv.app.inject({
      method: 'PUT',
      url: '/sys/kernel/mm/cma/hugetlb0/available_pages',
      payload: '1\n',
    });
    assert.equal(w.statusCode, 405);
    assert.match((w.json() as { message: string }).message, /copy of a device's files, served read-only/);
    assert.equal((await get(srv, '/sys/kernel/mm/cma/hugetlb0/available_pages')).body, '160632\n');
    const d = JSON.parse((await get(srv, '/api/device')).body) as DeviceView;
    assert.deepEqual(
      d.areas.map((a) => [a.name, a.lastFailure?.verdict ?? null]),
      [
        ['hugetlb0', 'exhaustion'],
        ['reserved', null],
      ],
    );
  });
});

describe('a /sys root without debugfs', () => {
  it('is served (files only) with the device report; what is missing is named', async () => {
    const root = join(tmp, 'sys');
    mkdirSync(join(root, 'kernel/debug'), { recursive: true }); // debugfs unmounted: empty
    cpSync(join(FIX, '7.3/device/sys/kernel/mm'), join(root, 'kernel/mm'), { recursive: true });
    const srv = await serve(root);
    const info = JSON.parse((await get(srv, '/api/info')).body) as InfoView;
    assert.match(info.source.label, /without debugfs/);
    const d = JSON.parse((await get(srv, '/api/device')).body) as DeviceView;
    const a = d.areas[0]!;
    assert.deepEqual([a.name, a.count, a.free, a.source.free], ['reserved', 16384, 540, 'known']);
    // not the live /sys: no /proc and no kernel log go with it
    assert.equal(d.unreadable['proc/meminfo'], 'missing');
    assert.equal(d.unreadable.dmesg, 'missing');
    const m = samples((await get(srv, '/metrics')).body);
    assert.deepEqual(
      m.find((x) => x.name === 'cma_area_free_pages'),
      { name: 'cma_area_free_pages', labels: { area: 'reserved', source: 'known' }, value: '540' },
    );
    assert.equal(m.find((x) => x.name === 'cma_device_unreadable_files')?.value, '5');
  });

  it('a directory that is neither still gets the clear error', () => {
    const dir = join(tmp, 'nothing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'x'), 'y');
    assert.throws(() => directorySource(dir, { allowWrite: false, pollMs: 0 }), /does not look like \/sys/);
  });
});

describe('the emulator', () => {
  const workload = () => {
    const sys = createSystem({ profile: '7.3', areas: ['name=reserved,count=4096'] });
    const D = '/sys/kernel/debug/cma/reserved';
    for (const n of [100, 7, 300, 9, 1000]) sys.writeFile(`${D}/alloc`, `${n}\n`);
    sys.writeFile(`${D}/free`, '7\n');
    sys.writeFile(`${D}/alloc`, '4000\n'); // fails: exhaustion
    return sys;
  };

  it('with debugfs: /metrics is the model as before; /api/device states the same free pages', async () => {
    const sys = workload();
    const srv = await createServer(sys);
    servers.push(srv);
    const m = (await get(srv, '/metrics')).body;
    assert.match(m, /^cma_area_total_pages\{area="reserved"\} 4096$/m);
    assert.doesNotMatch(m, /source="/);
    const areas = JSON.parse((await get(srv, '/api/areas')).body);
    const d = JSON.parse((await get(srv, '/api/device')).body) as DeviceView;
    assert.equal(d.debugfs, true);
    assert.equal(d.failing, true);
    const a = d.areas[0]!;
    assert.equal(a.free, areas.areas[0].free);
    assert.equal(a.used, areas.areas[0].used);
    assert.equal(a.lastFailure?.request, 4000);
    assert.equal(a.lastFailure?.verdict, 'exhaustion');
    assert.equal(a.lastFailure?.free, areas.areas[0].free);
  });

  it('with debugfs unmounted: /metrics and /api/device are what a production kernel shows', async () => {
    const sys = workload();
    sys.debugfsMounted = false;
    const srv = await createServer(sys);
    servers.push(srv);
    assert.equal((await get(srv, '/sys/kernel/debug/cma')).status, 404);
    // the dashboard reads this to show the device report instead of the model's bitmaps
    const info = JSON.parse((await get(srv, '/api/info')).body) as InfoView;
    assert.deepEqual([info.modelled, info.device, info.debugfs], [true, true, false]);
    sys.debugfsMounted = true;
    assert.equal((JSON.parse((await get(srv, '/api/info')).body) as InfoView).debugfs, true);
    sys.debugfsMounted = false;
    const s = samples((await get(srv, '/metrics')).body);
    const free = s.find((x) => x.name === 'cma_area_free_pages')!;
    assert.equal(free.labels.source, 'known'); // 7.3's available_pages
    assert.equal(s.find((x) => x.name === 'cma_area_maxchunk_pages')!.value, 'NaN');
    const d = JSON.parse((await get(srv, '/api/device')).body) as DeviceView;
    assert.equal(d.debugfs, false);
    assert.equal(String(d.areas[0]!.free), free.value);
    assert.equal(d.system.vmstat?.allocFail, 1);
  });

  it('a source with no device files answers /api/device 501', async () => {
    const srv = await createServer({
      kind: 'tree',
      label: 'bare',
      tree: createSystem({ profile: '6.1', areas: ['name=x,count=64'] }),
      system: null,
      writable: false,
    });
    servers.push(srv);
    const r = await get(srv, '/api/device');
    assert.equal(r.status, 501);
    assert.match(JSON.parse(r.body).message, /no device files/);
  });
});
