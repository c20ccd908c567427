// A device without debugfs, checked against the debugfs truth captured in the same boot of the
// real 6.1, 6.12 and 7.3 kernels (test/fixtures/shipping/README.md).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { explainAlloc } from '../../src/analysis/explain.ts';
import { summarizeArea } from '../../src/analysis/summary.ts';
import { bugreportSource, treeFromBugreportText } from '../../src/sources/bugreport.ts';
import { parseDeviceLog } from '../../src/sources/device-log.ts';
import { deviceReport } from '../../src/sources/device-model.ts';
import { readDeviceDir } from '../../src/sources/device-source.ts';
import { readDirTree } from '../../src/sources/dir-source.ts';
import { profileForLayout, readAreas } from '../../src/sources/model.ts';
import { openSource } from '../../src/sources/open.ts';
import {
  cmaFreeOrders,
  meminfoCma,
  parsePagetypeinfo,
  parseZoneinfo,
  vmstatCma,
} from '../../src/sources/proc-files.ts';
import { SourceError } from '../../src/sources/tree.ts';

const FIX = path.resolve(import.meta.dirname, '../fixtures/shipping');
const VERSIONS = ['6.1', '6.12', '7.3', '6.1-hugetlb', '6.12-hugetlb', '7.3-hugetlb'];
const workload = (v: string) =>
  JSON.parse(fs.readFileSync(path.join(FIX, v, 'workload.json'), 'utf8')) as {
    kernelRelease: string;
    lastRequest: number;
  };

for (const v of VERSIONS) {
  test(`${v}: the device report states the truth's areas, geometry, counters and free pages`, () => {
    const truth = readAreas(readDirTree(path.join(FIX, v, 'truth')));
    const r = deviceReport(readDeviceDir(path.join(FIX, v, 'device')));
    assert.equal(r.kernelRelease, workload(v).kernelRelease);
    assert.deepEqual(
      r.areas.map((a) => a.name),
      truth.map((t) => t.name),
    );
    for (const t of truth) {
      const a = r.areas.find((x) => x.name === t.name)!;
      assert.equal(a.source.name, 'known');
      assert.equal(a.count, t.area.count, `${t.name} count`);
      assert.notEqual(a.source.count, 'unknown');
      assert.equal(a.orderPerBit, t.area.orderPerBit, `${t.name} order_per_bit`);
      assert.equal(a.source.orderPerBit, 'inferred');
      if (a.basePfn !== null) {
        assert.equal(a.basePfn, t.area.ranges[0]!.basePfn, `${t.name} base_pfn`);
        assert.equal(a.source.basePfn, 'inferred');
      } else {
        // 7.x: "cma: Reserved 1024 MiB in 1 range" has no address
        assert.ok(v.startsWith('7.3') && t.name === 'hugetlb0');
        assert.equal(a.source.basePfn, 'unknown');
      }
      assert.deepEqual(
        a.counters,
        Object.fromEntries(Object.entries(t.sysfs).map(([k, x]) => [k, Number(x)])),
      );
      // sysfs counts exact pages; debugfs `used` (6.x) counts whole bitmap bits, so with
      // order_per_bit 9 the 1000-page allocation shows as 1024 there
      if (a.used !== null && t.area.orderPerBit === 0)
        assert.equal(a.used, t.reported.used, `${t.name} used`);
      if (a.used !== null && t.area.orderPerBit > 0) {
        assert.ok(a.used <= t.reported.used!, `${t.name} used`);
        assert.ok(t.reported.used! - a.used < 3 * 2 ** t.area.orderPerBit, `${t.name} used`);
      }
      if (!v.includes('hugetlb') || v.startsWith('7.3') || v.startsWith('6.12'))
        assert.notEqual(a.used, null, `${t.name}: used is known or inferred`);
    }
    // CmaFree counts pages the page allocator holds: count minus the exact pages allocated (the
    // tail of a bitmap bit that a request did not use stays free there)
    const exactUsed = (t: (typeof truth)[number]) =>
      t.sysfs.release_pages_success !== undefined
        ? Number(t.sysfs.alloc_pages_success! - t.sysfs.release_pages_success)
        : t.area.orderPerBit === 0
          ? t.reported.used!
          : Number(t.sysfs.alloc_pages_success!);
    const free = truth.reduce((s, t) => s + t.area.count - exactUsed(t), 0);
    assert.equal(r.system.cmaFree, free, 'CmaFree is the areas’ free pages');
    assert.equal(r.system.vmstat?.nrFreeCma, free);
    const orders = r.system.freeBlocksByOrder!;
    assert.equal(
      orders.reduce((s, c, o) => s + c * 2 ** o, 0),
      free,
      'pagetypeinfo CMA blocks add up to the free pages',
    );
    assert.deepEqual(r.unreadable, {});
  });
}

for (const v of ['6.12', '7.3', '6.12-hugetlb', '7.3-hugetlb']) {
  test(`${v}: the last failure's dump gives the verdict and largest fit that analyze of the truth gives`, () => {
    const { lastRequest } = workload(v);
    const truth = readAreas(readDirTree(path.join(FIX, v, 'truth')));
    const r = deviceReport(readDeviceDir(path.join(FIX, v, 'device')));
    const name = v.includes('hugetlb') ? 'hugetlb0' : 'reserved';
    const t = truth.find((x) => x.name === name)!;
    const a = r.areas.find((x) => x.name === name)!;
    const f = a.lastFailure!;
    assert.equal(f.request, lastRequest);
    const e = explainAlloc(t.area, profileForLayout(t.layout), lastRequest, 0);
    assert.equal(f.verdict, e.verdict);
    const s = summarizeArea(t.area, t.layout === 'ranges');
    assert.equal(f.maxchunk, s.maxchunk);
    assert.equal(f.fitsUpTo, s.fitsUpTo);
    // the free runs of the dump are the bitmap at that moment, bit for bit
    const at = a.atLastFailure!;
    assert.ok(at);
    t.area.ranges.forEach((range, i) => {
      assert.deepEqual([...at.ranges[i]!.bitmap.words], [...range.bitmap.words], `range ${i} bitmap`);
    });
  });
}

test('6.1: no dump after the failure line: the verdict is unknown and the report says what would tell', () => {
  const r = deviceReport(readDeviceDir(path.join(FIX, '6.1/device')));
  const f = r.areas[0]!.lastFailure!;
  assert.equal(f.request, workload('6.1').lastRequest);
  assert.equal(f.ret, -12);
  assert.equal(f.verdict, 'unknown');
  assert.equal(f.free, null);
  assert.match(f.reason, /trace/);
  assert.match(f.reason, /debugfs/);
  assert.equal(r.areas[0]!.failures, 2);
});

test('proc parsers: CMA figures of meminfo, vmstat, zoneinfo and pagetypeinfo agree (6.12)', () => {
  const d = path.join(FIX, '6.12/device/proc');
  const rd = (f: string) => fs.readFileSync(path.join(d, f), 'latin1');
  assert.deepEqual(meminfoCma(rd('meminfo')), { total: 16384, free: 540 });
  assert.deepEqual(vmstatCma(rd('vmstat')), { nrFreeCma: 540, allocSuccess: 153, allocFail: 2 });
  const zones = parseZoneinfo(rd('zoneinfo'));
  assert.deepEqual(
    zones.map((z) => [z.zone, z.cma, z.nrFreeCma]),
    [
      ['DMA32', 16384, 540],
      ['Normal', 0, null],
      ['Movable', 0, null],
    ],
  );
  const p = parsePagetypeinfo(rd('pagetypeinfo'));
  assert.equal(p.pageblockOrder, 9);
  assert.equal(p.zones[0]!.cmaBlocks, 32); // 16384 pages / 512 per block
  assert.deepEqual(cmaFreeOrders(p)?.blocksByOrder.slice(0, 5), [122, 73, 36, 16, 0]);
  assert.throws(() => parseVmstat2('nr_free_cma x'), SourceError);
  assert.throws(() => meminfoCma('CmaTotal: lots\n'), /proc\/meminfo:1/);
});

function parseVmstat2(text: string) {
  return vmstatCma(text);
}

test('kernel log: prefixes, a dump split over records, a dump whose failure line was suppressed', () => {
  const log = [
    '<6>[    0.000000][    T0] cma: Reserved 16 MiB at 0x00000000bee00000 on node -1',
    '[    0.100000] Reserved memory: created CMA memory pool at 0x00000000f7000000, size 32 MiB',
    '[    0.100001] OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool',
    'Jan 01 00:00:00 host kernel: cma: __cma_alloc: reserved: alloc failed, req-size: 9 pages, ret: -12',
    'cma: number of available pages: 2@0+3@10',
    '+4@20=> 9 free of 4096 total pages',
    '__cma_alloc: 3 callbacks suppressed',
    'cma: number of available pages: 1@0=> 1 free of 4096 total pages',
  ].join('\n');
  const d = parseDeviceLog(log);
  assert.deepEqual(
    d.reservations.map((r) => [r.name, r.basePfn, r.pages, r.node]),
    [
      [null, 0xbee00, 4096, -1],
      ['linux,cma', 0xf7000, 8192, null],
    ],
  );
  assert.equal(d.failures.length, 2);
  assert.deepEqual(d.failures[0]!.dump?.ranges, [
    [
      { pages: 2, bit: 0 },
      { pages: 3, bit: 10 },
      { pages: 4, bit: 20 },
    ],
  ]);
  assert.equal(d.failures[1]!.request, null, 'the suppressed failure keeps its dump');
  assert.equal(d.failures[1]!.dump?.free, 1);
  assert.equal(d.suppressed, 3);
  assert.throws(
    () => parseDeviceLog('cma: number of available pages: 2@x=> 2 free of 8 total pages'),
    /dmesg:1/,
  );
});

test('a capture with half the files unreadable: the report says which and shows the rest', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-ship-'));
  try {
    fs.cpSync(path.join(FIX, '6.12/device'), tmp, { recursive: true });
    fs.rmSync(path.join(tmp, 'proc/pagetypeinfo'));
    fs.rmSync(path.join(tmp, 'proc/zoneinfo'));
    fs.writeFileSync(path.join(tmp, 'proc/vmstat'), 'garbage here\n');
    const r = deviceReport(readDeviceDir(tmp));
    assert.equal(r.unreadable['proc/pagetypeinfo'], 'missing');
    assert.equal(r.unreadable['proc/zoneinfo'], 'missing');
    assert.match(r.unreadable['proc/vmstat']!, /proc\/vmstat:1/);
    assert.equal(r.system.freeBlocksByOrder, null);
    assert.equal(r.areas[0]!.lastFailure?.verdict, 'fragmentation');
    assert.equal(r.system.cmaFree, 540);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('bug report (text and zip): sections become device files; a refused section is unreadable', async () => {
  const file = path.join(FIX, 'bugreport/bugreport-6.12-excerpt.txt');
  const text = fs.readFileSync(file, 'latin1');
  const tree = treeFromBugreportText(text, 'br');
  assert.equal(tree.kernelRelease, '6.12.118');
  assert.equal(tree.device?.unreadable['proc/pagetypeinfo'], 'permission denied');
  assert.equal(
    tree.device?.files['proc/meminfo'],
    fs.readFileSync(path.join(FIX, '6.12/device/proc/meminfo'), 'latin1'),
  );
  const r = deviceReport(tree);
  assert.deepEqual(
    r.areas.map((a) => [a.name, a.source.name, a.basePfn, a.count]),
    [['reserved', 'inferred', 113664, 16384]],
  );
  assert.equal(r.areas[0]!.lastFailure?.verdict, 'fragmentation');
  assert.equal(r.areas[0]!.lastFailure?.maxchunk, 21);
  // the same through a zip, found by content
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-br-'));
  try {
    const zip = path.join(tmp, 'bugreport.zip');
    fs.writeFileSync(
      zip,
      zipSync({
        'main_entry.txt': new TextEncoder().encode('bugreport-oracle-2024.txt'),
        'bugreport-oracle-2024.txt': new Uint8Array(Buffer.from(text, 'latin1')),
        'FS/proc/meminfo': new Uint8Array(0),
      }),
    );
    const z = await openSource({ kind: 'path', path: zip }).capture();
    assert.deepEqual(z.device, tree.device === undefined ? undefined : { ...tree.device });
    fs.writeFileSync(zip, 'PK\x03\x04 not really');
    await assert.rejects(bugreportSource(zip).capture(), /not a readable zip/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a copied device directory is recognised as a source', async () => {
  const tree = await openSource({ kind: 'path', path: path.join(FIX, '7.3/device') }).capture();
  assert.ok(tree.device?.files.dmesg?.includes('cma: Reserved 64 MiB'));
  assert.throws(() => readAreas(tree), SourceError, 'no debugfs: readAreas refuses');
});
