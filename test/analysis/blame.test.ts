// blame on what real 6.1 and 6.12 kernels printed while cma-pinner held pages in `reserved`
// (test/fixtures/pinned-pages): the readers, the join, and explain's landing pfn past busy pages.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { blame } from '../../src/analysis/blame.ts';
import { explainAlloc } from '../../src/analysis/explain.ts';
import { createArea } from '../../src/core/cma.ts';
import { plainBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { PROFILE_6_1 } from '../../src/core/profile.ts';
import {
  busyFileKind,
  keepRanges,
  readBusyLog,
  readMmTrace,
  readPageOwner,
  readTextFile,
} from '../../src/sources/busy-files.ts';
import { parseBitmapText } from '../../src/sources/model.ts';
import { formatPageDump, parseBusyLog } from '../../src/sources/page-dump.ts';
import { formatPageOwnerRecord, parsePageOwnerText } from '../../src/sources/page-owner.ts';
import { contigRangeInfoShifted, decodeContigRangeInfo } from '../../src/sources/trace/mm-events.ts';

const FIX = new URL('../fixtures/pinned-pages/', import.meta.url).pathname;

/** What the guest script printed about the area and the pins (ground truth). */
function truth(kernel: string) {
  const dir = `${FIX}${kernel}/`;
  const area = Object.fromEntries(
    fs
      .readFileSync(`${dir}area.txt`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
  const pins = fs.readFileSync(`${dir}pins.txt`, 'utf8');
  const pinned = [...pins.matchAll(/^pin (anon|shmem) pfn=(0x[0-9a-f]+)$/gm)].map((m) => ({
    kind: m[1]!,
    pfn: Number(m[2]),
  }));
  const pid = Number(/^ready pid=(\d+)$/m.exec(pins)![1]);
  return { dir, name: area.name!, basePfn: Number(area.base_pfn), count: Number(area.count), pinned, pid };
}

async function blameFixture(kernel: string) {
  const t = truth(kernel);
  const events = await readMmTrace(`${t.dir}trace.txt.gz`);
  const log = readBusyLog(`${t.dir}dmesg.txt.gz`);
  const po = await readPageOwner(
    `${t.dir}page_owner.txt.gz`,
    keepRanges([{ start: t.basePfn, end: t.basePfn + t.count }]),
  );
  const owners = new Map(po.records.map((r) => [r.pfn, r]));
  const areas = [{ name: t.name, basePfn: t.basePfn, count: t.count }];
  return { t, events, log, po, result: blame({ areas, events, dumps: log.dumps, owners }) };
}

for (const kernel of ['6.12', '6.1', '7.3']) {
  describe(`blame on ${kernel} (cma-pinner pinning anonymous and shmem pages)`, () => {
    it('tells the fixture files apart by content', () => {
      const t = truth(kernel);
      assert.equal(busyFileKind(`${t.dir}trace.txt.gz`), 'trace');
      assert.equal(busyFileKind(`${t.dir}dmesg.txt.gz`), 'log');
      assert.equal(busyFileKind(`${t.dir}page_owner.txt.gz`), 'page_owner');
      if (fs.existsSync(`${t.dir}page_owner_stacks.txt.gz`))
        // 6.9+ only
        assert.equal(busyFileKind(`${t.dir}page_owner_stacks.txt.gz`), 'page_owner');
    });

    it('names the helper (pid, comm) and its fault stack as the holder of every attributed retry', async () => {
      const { t, result } = await blameFixture(kernel);
      assert.equal(result.length, 1);
      const a = result[0]!;
      assert.equal(a.name, t.name);
      assert.ok(a.retries > 800, `retries ${a.retries}`);
      assert.equal(a.unattributed, 0);
      assert.ok(a.holders.length >= 1);
      for (const h of a.holders) {
        assert.equal(h.comm, 'cma-pinner');
        assert.equal(h.pid, t.pid);
        assert.ok(h.stack.some((f) => /handle_mm_fault/.test(f)));
      }
      // holders sorted by retries, shares add up to 1
      for (let i = 1; i < a.holders.length; i++)
        assert.ok(a.holders[i - 1]!.retries >= a.holders[i]!.retries);
      assert.ok(Math.abs(a.holders.reduce((s, h) => s + h.share, 0) - 1) < 1e-9);
      assert.equal(a.holders[0]!.kind, 'anon');
      assert.equal(a.holders[0]!.pinned, true);
      assert.match(
        a.verdict,
        new RegExp(`of busy retries in \`${t.name}\` hit \\d+ anon pages? of pid ${t.pid} \\(cma-pinner\\)`),
      );
      assert.match(a.verdict, /still referenced: pinned/);
      // every busy page is one the helper pinned
      const pins = new Map(t.pinned.map((p) => [p.pfn, p.kind]));
      for (const b of a.busy) {
        assert.ok(pins.has(b.pfn), `busy pfn 0x${b.pfn.toString(16)} was not pinned`);
        assert.equal(b.kind, pins.get(b.pfn));
      }
    });

    it('reads the pinned shmem page from its dump_page block', async () => {
      const { t, log, result } = await blameFixture(kernel);
      const shmem = t.pinned.filter((p) => p.kind === 'shmem').map((p) => p.pfn);
      const dumps = log.dumps.filter((d) => d.reason === 'migration failure');
      assert.ok(dumps.length >= 1);
      for (const d of dumps) {
        assert.ok(shmem.includes(d.pfn));
        assert.equal(d.kind, 'shmem');
        assert.ok(d.refcount - d.mapcount >= 2, `refcount ${d.refcount} mapcount ${d.mapcount}`);
        assert.equal(d.owner?.comm, 'cma-pinner');
        assert.equal(d.owner?.pid, t.pid);
        assert.ok(d.owner?.stack.some((f) => f.startsWith('shmem_fault')));
      }
      const page = result[0]!.busy.find((b) => b.pfn === dumps[0]!.pfn)!;
      assert.equal(page.kind, 'shmem');
      assert.equal(page.pinned, true);
    });

    it('follows each allocation: landed, delayed by retries, or failed', async () => {
      const { t, result } = await blameFixture(kernel);
      const allocs = result[0]!.allocs;
      assert.deepEqual(
        allocs.map((a) => [a.count, a.result]),
        [
          [1024, 'ok'],
          [200, 'ok'],
          [2048, 'fail'],
        ],
      );
      assert.equal(allocs[0]!.pfn, t.basePfn);
      assert.ok(allocs[1]!.retries > 0);
      // 7.3 gives up after 568 retries over the same pins (6.1, 6.12: 825)
      assert.ok(allocs[2]!.retries > (kernel === '7.3' ? 500 : 800));
      if (kernel === '6.12') assert.equal(allocs[2]!.errorno, -16); // 6.1's finish event has no errorno
    });

    it('explain lands where the kernel did once the pinned pages are known busy', async () => {
      const { t, result } = await blameFixture(kernel);
      const area = createArea(
        { name: t.name, orderPerBit: 0, ranges: [{ basePfn: t.basePfn, count: t.count }] },
        plainBitmapFactory,
      );
      area.ranges[0]!.bitmap.words.set(
        parseBitmapText(fs.readFileSync(`${t.dir}bitmap-before-2.txt`, 'utf8'), 'bitmap'),
      );
      const landed = result[0]!.allocs[1]!.pfn!;
      const pins = t.pinned.map((p) => p.pfn);
      const without = explainAlloc(area, PROFILE_6_1, 200, 0);
      assert.notEqual(without.pfn, landed); // blind to the pins, explain is wrong...
      const e = explainAlloc(area, PROFILE_6_1, 200, 0, pins);
      assert.equal(e.ok, true);
      assert.equal(e.pfn, landed); // ...with them, it lands where the kernel did
      assert.match(e.reason, /after \d+ busy retr/);
      // the failing request: no free range of 2048 pages without a pin
      area.ranges[0]!.bitmap.words.set(
        parseBitmapText(fs.readFileSync(`${t.dir}bitmap-before-3.txt`, 'utf8'), 'bitmap'),
      );
      const big = explainAlloc(area, PROFILE_6_1, 2048, 0, pins);
      assert.equal(big.ok, false);
      assert.equal(big.verdict, 'busy');
    });

    it('reads page_owner whole and filtered, with every record of the area', async () => {
      const { t, po } = await blameFixture(kernel);
      assert.deepEqual(po.skipped, []);
      assert.ok(po.records.length > 1000);
      for (const r of po.records) assert.ok(r.pfn >= t.basePfn && r.pfn < t.basePfn + t.count);
      const pinned = po.records.filter((r) => t.pinned.some((p) => p.pfn === r.pfn));
      assert.equal(pinned.length, t.pinned.length);
      for (const r of pinned) {
        assert.equal(r.comm, 'cma-pinner');
        assert.equal(r.tgid, t.pid);
        assert.equal(r.migratetype, 'Movable');
        assert.equal(r.blockMigratetype, 'CMA');
        assert.ok(r.tsNs !== null && r.tsNs > 0);
      }
      if (fs.existsSync(`${t.dir}page_owner_stacks.txt.gz`)) {
        const stacks = parsePageOwnerText(readTextFile(`${t.dir}page_owner_stacks.txt.gz`));
        assert.deepEqual(stacks.skipped, []);
        assert.ok(stacks.stacks.length > 10);
        assert.ok(stacks.stacks.every((s) => s.stack.length > 0 && s.nrBasePages >= 0));
      }
    });
  });
}

describe('blame from a kernel log alone (no trace)', () => {
  for (const kernel of ['6.12', '6.1', '7.3']) {
    it(`${kernel}: every busy line counted, only the dumped shmem page named, the rest unattributed`, async () => {
      const t = truth(kernel);
      const log = readBusyLog(`${t.dir}dmesg.txt.gz`);
      assert.deepEqual(log.skipped, []);
      assert.deepEqual(
        log.allocs.map((a) => [a.count, a.result]),
        [
          [1024, 'ok'],
          [200, 'ok'],
          [2048, 'fail'],
        ],
      );
      // 6.12 and 7.3 print the pfn of each busy range, 6.1 a pointer
      const pfns = log.allocs.flatMap((a) => a.busy);
      assert.ok(kernel !== '6.1' ? pfns.every((p) => p !== null) : pfns.every((p) => p === null));
      const [a] = blame({
        areas: [{ name: t.name, basePfn: t.basePfn, count: t.count }],
        logAllocs: log.allocs,
        dumps: log.dumps,
      });
      assert.ok(a);
      assert.equal(a.retries, pfns.length); // every busy line is a retry of this area
      const shmem = t.pinned.find((p) => p.kind === 'shmem')!.pfn;
      assert.deepEqual(
        a.busy.map((b) => b.pfn),
        [shmem],
      );
      assert.equal(a.busy[0]!.retries, log.allocs.flatMap((x) => x.dumped).filter((d) => d !== null).length);
      assert.ok(a.unattributed > 700);
    });
  }
});

describe('mm_alloc_contig_migrate_range_info on 6.12 (fields printed shifted)', () => {
  it('decoded by kernel release: the migratetype is MIGRATE_CMA in every call, the raw field is not', async () => {
    assert.equal(contigRangeInfoShifted('6.12.118'), true);
    assert.equal(contigRangeInfoShifted('6.1.192'), false);
    const events = (await readMmTrace(`${FIX}6.12/trace.txt.gz`)).filter(
      (e) => e.event === 'mm_alloc_contig_migrate_range_info',
    );
    assert.ok(events.length > 100);
    // every call is for the same CMA area, so the real migratetype is one value (4 = MIGRATE_CMA
    // on this config); the field printed as migratetype= takes page counts (168 here)
    assert.ok(events.every((e) => decodeContigRangeInfo(e.fields, true).migratetype === 4));
    assert.ok(events.some((e) => Number(e.fields.migratetype) > 5));
    const d = decodeContigRangeInfo(events[2]!.fields, true);
    assert.deepEqual([d.nrMapped, d.migratetype, d.nrMigrated, d.nrReclaimed], [168, 4, 168, 0]);
    assert.equal(decodeContigRangeInfo(events[2]!.fields, false).migratetype, 168);
  });
});

describe('bad and truncated input', () => {
  it('page_owner: counted and skipped with line numbers, never a crash', () => {
    const text = [
      'Page allocated via order 0, mask 0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), pid 7, tgid 7 (app), ts 5 ns',
      'PFN 0x1000 type Movable Block 8 type CMA Flags 0x0()',
      ' do_anonymous_page+0x1/0x2',
      '',
      'garbage here',
      'Page allocated via order 0, mask 0x0(), pid 8, tgid 8 (x), ts 6 ns',
      '',
      'Page allocated via order 0, mask 0x140cca(GFP_HIGHUSER_MOVABLE), pid 9, tgid 9 (y), ts 7 ns',
      'PFN 0x1001 type Movable Block 8 type CMA Flags 0x0()',
    ].join('\n');
    const r = parsePageOwnerText(text);
    assert.deepEqual(
      r.records.map((x) => x.pfn),
      [0x1000, 0x1001],
    );
    assert.deepEqual(
      r.skipped.map((s) => s.line),
      [5, 6, 8],
    );
  });

  it('dump_page: a broken block is skipped, the next one read', () => {
    const log = [
      '[    1.0] page: refcount:x mapcount:1 pfn:0x10',
      '[    1.1] page: refcount:4 mapcount:1 mapping:(____ptrval____) index:0x0 pfn:0x20',
      '[    1.1] anon flags: 0x80000(swapbacked)',
      '[    1.1] page dumped because: migration failure',
    ].join('\n');
    const r = parseBusyLog(log);
    assert.deepEqual(
      r.skipped.map((s) => s.line),
      [1],
    );
    assert.equal(r.dumps.length, 1);
    assert.equal(r.dumps[0]!.pfn, 0x20);
    assert.equal(r.dumps[0]!.kind, 'anon');
    assert.equal(r.dumps[0]!.time, 1.1);
  });

  it('the emulator-side writers round-trip through the readers', () => {
    const rec = {
      pfn: 0x1c805,
      order: 0,
      gfpMask: 0x140cca,
      gfpFlags: 'GFP_HIGHUSER_MOVABLE|__GFP_COMP',
      pid: 1234,
      tgid: 1234,
      comm: 'camera_hal',
      tsNs: 99,
      freeTsNs: null,
      migratetype: 'Movable',
      blockMigratetype: 'CMA',
      flags: '0x80000(swapbacked)',
      lastMigrateReason: null,
      stack: ['do_anonymous_page+0x1/0x2', 'handle_mm_fault+0x3/0x4'],
    };
    const back = parsePageOwnerText(formatPageOwnerRecord(rec));
    assert.deepEqual(back.skipped, []);
    assert.deepEqual({ ...back.records[0]!, line: 0 }, { ...rec, line: 0 });
    const dump = parseBusyLog(
      formatPageDump({
        pfn: 0x1c805,
        refcount: 4,
        mapcount: 1,
        kind: 'shmem',
        flags: '0x20118(uptodate|dirty|swapbacked)',
        owner: { ...rec, migratetype: 'Movable', stack: rec.stack },
      }),
    );
    assert.deepEqual(dump.skipped, []);
    assert.equal(dump.dumps[0]!.kind, 'shmem');
    assert.equal(dump.dumps[0]!.owner?.comm, 'camera_hal');
    assert.deepEqual(dump.dumps[0]!.owner?.stack, rec.stack);
  });
});
