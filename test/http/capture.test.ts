// `serve` of a capture without debugfs (issue 15): a copied device directory, a snapshot taken on
// such a device (its `device` section), a bug report and a kernel log, from the real 6.1 / 6.12 /
// 7.3 captures of test/fixtures/shipping. The capture is served read-only as its device report:
// /api/device and /metrics state the truth's geometry and, where the kernel printed a free-range
// dump, its maxchunk; writes get 405 with a message and change nothing; a half-unreadable capture
// still serves the rest and names what it could not read.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import { createServer } from '../../src/frontends/http/server.ts';
import type { DeviceView, InfoView } from '../../src/frontends/http/views.ts';
import { readDeviceDir } from '../../src/sources/device-source.ts';
import type { ServeSource } from '../../src/sources/file-tree.ts';
import { openCapture, SourceSetupError } from '../../src/sources/serve-source.ts';
import { formatSnapshot, snapshotFromTree } from '../../src/sources/snapshot.ts';

const FIX = join(import.meta.dirname, '../fixtures/shipping');
const TOKEN = 'capture-token-123456';
const tmp = mkdtempSync(join(tmpdir(), 'cma-http-capture-'));
const servers: CmaServer[] = [];
after(async () => {
  for (const s of servers) await s.app.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function captureOf(path: string): Promise<ServeSource> {
  const o = await openCapture(path);
  assert.equal(o.kind, 'capture', `${path} should be served as a capture`);
  return (o as { source: ServeSource }).source;
}

async function serve(path: string): Promise<CmaServer> {
  const srv = await createServer(await captureOf(path), { token: TOKEN });
  servers.push(srv);
  return srv;
}

async function get(srv: CmaServer, url: string) {
  const r = await srv.app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.body, headers: r.headers };
}

const device = async (srv: CmaServer) => JSON.parse((await get(srv, '/api/device')).body) as DeviceView;

/** A debugfs file of the truth captured just before debugfs was unmounted. */
const truth = (v: string, area: string, file: string) =>
  Number(readFileSync(join(FIX, v, 'truth/kernel/debug/cma', area, file), 'latin1').trim());

/** The device directory written as `cma-debug snapshot` would (a snapshot with a `device` section). */
function deviceSnapshot(v: string): string {
  const file = join(tmp, `device-${v}.json`);
  writeFileSync(file, formatSnapshot(snapshotFromTree(readDeviceDir(join(FIX, v, 'device')))));
  return file;
}

describe('serve of a copied device directory (real kernels, debugfs unmounted)', () => {
  for (const v of ['6.1', '6.12', '7.3']) {
    it(`${v}: read-only, the truth's geometry and used pages; the dump's maxchunk where one exists`, async () => {
      const srv = await serve(join(FIX, v, 'device'));
      const info = JSON.parse((await get(srv, '/api/info')).body) as InfoView;
      assert.equal(info.source.kind, 'capture');
      assert.deepEqual([info.writable, info.modelled, info.device], [false, false, true]);
      assert.match(info.source.label, /read-only capture.*no debugfs/);
      const d = await device(srv);
      assert.equal(d.debugfs, false);
      assert.equal(d.failing, true);
      const a = d.areas.find((x) => x.name === 'reserved')!;
      assert.equal(a.basePfn, truth(v, 'reserved', 'base_pfn'));
      assert.equal(a.source.basePfn, 'inferred');
      assert.equal(a.count, truth(v, 'reserved', 'count'));
      assert.equal(a.used, truth(v, 'reserved', 'used'));
      const f = a.lastFailure!;
      const want = (
        JSON.parse(readFileSync(join(FIX, v, 'workload.json'), 'utf8')) as { lastRequest: number }
      ).lastRequest;
      assert.equal(f.request, want);
      if (v === '6.1') {
        // 6.1 prints no dump: the verdict is not guessed, and the report says what would tell
        assert.deepEqual([f.verdict, f.maxchunk, f.runs], ['unknown', null, null]);
        assert.match(f.reason, /trace.*debugfs/);
      } else {
        assert.equal(f.verdict, 'fragmentation');
        assert.equal(f.maxchunk, truth(v, 'reserved', 'maxchunk'));
        assert.equal(f.fitsUpTo, truth(v, 'reserved', 'maxchunk'));
      }
      // the files as captured; debugfs is not there
      const fail = await get(srv, '/sys/kernel/mm/cma/reserved/alloc_pages_fail');
      assert.equal(fail.status, 200);
      assert.equal(
        fail.body,
        readFileSync(join(FIX, v, 'device/sys/kernel/mm/cma/reserved/alloc_pages_fail'), 'latin1'),
      );
      assert.equal((await get(srv, '/sys/kernel/debug/cma')).status, 404);
      const ls = JSON.parse((await get(srv, '/sys/kernel/mm/cma')).body) as { entries: { name: string }[] };
      assert.deepEqual(
        ls.entries.map((e) => e.name),
        ['reserved'],
      );
      // the model routes point to the device report
      const areas = await get(srv, '/api/areas');
      assert.equal(areas.status, 501);
      assert.match(JSON.parse(areas.body).message, /GET \/api\/device/);
    });
  }

  it('7.3 with hugetlb0: every area, its counters known, the exhaustion verdict', async () => {
    const srv = await serve(join(FIX, '7.3-hugetlb/device'));
    const d = await device(srv);
    assert.deepEqual(
      d.areas.map((a) => [a.name, a.count, a.free, a.source.free, a.lastFailure?.verdict ?? null]),
      [
        ['hugetlb0', truth('7.3-hugetlb', 'hugetlb0', 'count'), 160632, 'known', 'exhaustion'],
        ['reserved', truth('7.3-hugetlb', 'reserved', 'count'), 3596, 'known', null],
      ],
    );
    // 7.3 announces hugetlb areas without an address: the base stays unknown, not guessed
    const h = d.areas[0]!;
    assert.deepEqual([h.basePfn, h.source.basePfn], [null, 'unknown']);
    const m = (await get(srv, '/metrics')).body;
    assert.match(m, /^cma_area_base_pfn\{area="hugetlb0",source="unknown"\} NaN$/m);
    assert.match(m, /^cma_area_free_pages\{area="hugetlb0",source="known"\} 160632$/m);
  });
});

describe('serve of a device snapshot, a bug report, a kernel log', () => {
  it('a snapshot taken without debugfs states what its device directory states', async () => {
    for (const v of ['6.12', '7.3']) {
      const fromDir = await device(await serve(join(FIX, v, 'device')));
      const fromSnap = await device(await serve(deviceSnapshot(v)));
      assert.deepEqual(fromSnap.areas, fromDir.areas, v);
      assert.deepEqual(fromSnap.system, fromDir.system, v);
      assert.deepEqual(fromSnap.unreadable, fromDir.unreadable, v);
    }
  });

  it("a bug report: names and geometry inferred from the log, the 6.12 dump's verdict; PAGETYPEINFO refused", async () => {
    const srv = await serve(join(FIX, 'bugreport/bugreport-6.12-excerpt.txt'));
    const info = JSON.parse((await get(srv, '/api/info')).body) as InfoView;
    assert.match(info.source.label, /^bugreport .* \(read-only capture, kernel 6\.12\.118; no debugfs\)/);
    const d = await device(srv);
    const a = d.areas[0]!;
    assert.deepEqual([a.name, a.source.name], ['reserved', 'inferred']);
    assert.equal(a.basePfn, truth('6.12', 'reserved', 'base_pfn'));
    assert.equal(a.count, truth('6.12', 'reserved', 'count'));
    assert.deepEqual(
      [a.lastFailure?.verdict, a.lastFailure?.maxchunk],
      ['fragmentation', truth('6.12', 'reserved', 'maxchunk')],
    );
    assert.match(d.unreadable['proc/pagetypeinfo'] ?? '', /permission denied/i);
    // the log's CMA lines, numbered as in the log: the failure line the verdict comes from among them
    const failLine = d.logLines.find((l) => l.line === a.lastFailure!.line);
    assert.match(failLine?.text ?? '', /alloc failed, req-size: 22 pages/);
    assert.ok(d.logLines.every((l) => /cma|CMA|=> \d+ free/.test(l.text)));
    assert.equal(d.system.freeBlocksByOrder, null);
    const m = (await get(srv, '/metrics')).body;
    assert.match(m, /^cma_area_total_pages\{area="reserved",source="inferred"\} 16384$/m);
  });

  it('a kernel log is served as its device (the dump is a moment, not an emulator to continue)', async () => {
    const srv = await serve(join(FIX, '6.12/device/dmesg'));
    const d = await device(srv);
    assert.equal(d.kernelRelease, '6.12.118'); // from the boot banner
    assert.deepEqual(
      [d.areas[0]!.name, d.areas[0]!.lastFailure?.verdict, d.areas[0]!.lastFailure?.maxchunk],
      ['reserved', 'fragmentation', 21],
    );
    assert.equal(d.unreadable['proc/meminfo'], 'missing');
  });

  it('a full snapshot (with debugfs) still starts the emulator', async () => {
    const o = await openCapture(join(FIX, '6.12/truth'));
    assert.equal(o.kind, 'emulator');
  });

  it('what is no capture gets one line naming it', async () => {
    const junk = join(tmp, 'junk.txt');
    writeFileSync(junk, 'hello\nworld\n');
    await assert.rejects(openCapture(junk), (e: Error) => {
      assert.ok(e instanceof SourceSetupError);
      assert.match(e.message, /junk\.txt.*no CMA lines/);
      return true;
    });
    await assert.rejects(openCapture(join(tmp, 'nope.json')), /no such file/);
    // a snapshot whose debugfs is there but broken is not quietly served as a device without it
    const snap = JSON.parse(readFileSync(deviceSnapshot('6.12'), 'latin1')) as {
      files: Record<string, string>;
    };
    Object.assign(snap.files, {
      'kernel/debug/cma/reserved/count': 'sixteen\n',
      'kernel/debug/cma/reserved/base_pfn': '113664\n',
      'kernel/debug/cma/reserved/order_per_bit': '0\n',
      'kernel/debug/cma/reserved/bitmap': '0\n',
      'kernel/debug/cma/reserved/used': '0\n',
      'kernel/debug/cma/reserved/maxchunk': '0\n',
    });
    const broken = join(tmp, 'broken-debugfs.json');
    writeFileSync(broken, JSON.stringify(snap));
    await assert.rejects(openCapture(broken), (e: Error) => {
      assert.ok(e instanceof SourceSetupError);
      assert.match(e.message, /broken-debugfs\.json.*count/);
      return true;
    });
  });
});

describe('a capture is read-only', () => {
  it('writes answer 405 with a message, with or without the token, and change nothing', async () => {
    const srv = await serve(deviceSnapshot('7.3'));
    const before = (await get(srv, '/api/device')).body;
    for (const [method, url, body] of [
      ['PUT', '/sys/kernel/debug/cma/reserved/alloc', '10\n'],
      ['POST', '/sys/kernel/mm/cma/reserved/alloc_pages_fail', '0\n'],
      ['PUT', '/sys/kernel/tracing/events/cma/enable', '1\n'],
    ] as const)
      for (const auth of [{}, { authorization: `Bearer ${TOKEN}` }]) {
        const r = await srv.app.inject({ method, url, payload: body, headers: auth });
        assert.equal(r.statusCode, 405, `${method} ${url}: ${r.body}`);
        assert.equal(r.headers.allow, 'GET, HEAD');
        const j = JSON.parse(r.body) as { error: string; message: string };
        assert.equal(j.error, 'READ_ONLY');
        assert.match(j.message, /is a capture of a device, served read-only/);
      }
    assert.equal((await get(srv, '/api/device')).body, before);
    assert.equal((await get(srv, '/sys/kernel/mm/cma/reserved/alloc_pages_fail')).body, '12322\n');
  });
});

describe('a half-unreadable capture', () => {
  it('is served: the rest shown, every unreadable file named with why', async () => {
    const snap = JSON.parse(readFileSync(deviceSnapshot('6.12'), 'latin1')) as {
      files: Record<string, string>;
      unreadable: Record<string, string>;
      device: { files: Record<string, string>; unreadable: Record<string, string> };
    };
    delete snap.files['kernel/mm/cma/reserved/alloc_pages_fail'];
    snap.unreadable['kernel/mm/cma/reserved/alloc_pages_fail'] = 'permission denied';
    delete snap.device.files['proc/pagetypeinfo'];
    snap.device.unreadable['proc/pagetypeinfo'] = 'permission denied';
    delete snap.device.files['proc/zoneinfo'];
    snap.device.unreadable['proc/zoneinfo'] = 'missing';
    snap.device.files['proc/meminfo'] = 'garbage\n';
    const file = join(tmp, 'half.json');
    writeFileSync(file, JSON.stringify(snap));
    const srv = await serve(file);
    const d = await device(srv);
    assert.equal(d.unreadable['sys/kernel/mm/cma/reserved/alloc_pages_fail'], 'permission denied');
    assert.equal(d.unreadable['proc/pagetypeinfo'], 'permission denied');
    assert.equal(d.unreadable['proc/zoneinfo'], 'missing');
    assert.match(d.unreadable['proc/meminfo'] ?? '', /meminfo/);
    // the rest: release/success counters, the log's geometry and the dump's verdict
    const a = d.areas[0]!;
    assert.deepEqual(a.counters, { alloc_pages_success: 18548, release_pages_success: 2704 });
    assert.deepEqual([a.used, a.basePfn, a.lastFailure?.verdict], [15844, 113664, 'fragmentation']);
    // the file that was refused answers 403 as on the device
    assert.equal((await get(srv, '/sys/kernel/mm/cma/reserved/alloc_pages_fail')).status, 403);
    const m = (await get(srv, '/metrics')).body;
    assert.match(m, /^cma_device_unreadable_files 4$/m);
    assert.match(m, /^cma_meminfo_free_pages\{source="unknown"\} NaN$/m);
  });
});
