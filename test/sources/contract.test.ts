// One contract for every CmaSource: the same emulated state read through the emulator, a /sys-like
// tree, copies of the cma directory and of one area, a snapshot file, a stand-in `adb` and `ssh`
// on PATH running the real dump script with sh, and a kernel log's free-area dump.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { cmaDebugShowAreas } from '../../src/core/cma.ts';
import { createSystem } from '../../src/core/create.ts';
import { PROFILE_6_1 } from '../../src/core/profile.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { bootLogLines } from '../../src/core/system.ts';
import { copiedDirSource, liveSource, writeTreeDir } from '../../src/sources/dir-source.ts';
import { emulatorSource, treeFromSystem } from '../../src/sources/emulator-source.ts';
import { kernelLogSource } from '../../src/sources/kernel-log.ts';
import { readAreas } from '../../src/sources/model.ts';
import { adbSource, sshSource } from '../../src/sources/remote.ts';
import { formatSnapshot, snapshotFromTree, snapshotSource } from '../../src/sources/snapshot.ts';
import type { CmaSource } from '../../src/sources/source.ts';
import { readTreeFile } from '../../src/sources/tree.ts';
import { installFakeRemotes } from './fake-remotes.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-contract-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  return fn().finally(() => {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  });
}

const bin = path.join(tmp, 'bin');
installFakeRemotes(bin);

function states(): { name: string; sys: CmaSystem }[] {
  const s61 = createSystem({
    areas: [
      'name=reserved,count=4096,base_pfn=125952',
      'name=hugetlb0,count=262144,base_pfn=261632,order_per_bit=9',
    ],
  });
  for (const [a, n] of [
    ['reserved', 5],
    ['reserved', 17],
    ['reserved', 3],
    ['hugetlb0', 1000],
    ['hugetlb0', 8],
  ] as const)
    s61.writeFile(`/sys/kernel/debug/cma/${a}/alloc`, `${n}\n`);
  s61.writeFile('/sys/kernel/debug/cma/reserved/free', '10\n');
  const s73 = createSystem({
    profile: '7.3',
    areas: [
      'name=reserved,count=4096,base_pfn=1048576',
      'name=hugetlb0,order_per_bit=9,range=2359296:262144,range=1310720:262144',
    ],
  });
  for (const n of [8, 262144, 513, 1]) s73.writeFile('/sys/kernel/debug/cma/hugetlb0/alloc', `${n}\n`);
  s73.writeFile('/sys/kernel/debug/cma/reserved/alloc', '33\n');
  s73.writeFile('/sys/kernel/debug/cma/reserved/alloc', '5000\n'); // fails: 7.3 prints the free-area dump
  s73.writeFile('/sys/kernel/debug/cma/hugetlb0/alloc', '524288\n'); // fails: dump of 2 ranges
  return [
    { name: '6.1', sys: s61 },
    { name: '7.3', sys: s73 },
  ];
}

for (const { name, sys } of states()) {
  const base = path.join(tmp, name);
  const tree = treeFromSystem(sys);
  const sysDir = path.join(base, 'sys');
  writeTreeDir(tree, sysDir);
  const cmaCopy = path.join(base, 'cma-copy');
  fs.cpSync(path.join(sysDir, 'kernel/debug/cma'), cmaCopy, { recursive: true, verbatimSymlinks: true });
  const snap = path.join(base, 'snap.json');
  fs.writeFileSync(snap, formatSnapshot(snapshotFromTree(tree)));
  const log = path.join(base, 'dmesg.txt');
  const logText =
    name === '6.1'
      ? sys.areas.flatMap((s) => bootLogLines(s.area, PROFILE_6_1).map((l) => `[   0.1] ${l}\n`)).join('') +
        sys.areas
          .map(
            (s) =>
              `[  12.5] cma: cma_alloc: ${s.area.name}: alloc failed, req-size: 99 pages, ret: -12\n${cmaDebugShowAreas(
                s.area,
                PROFILE_6_1,
              )
                .map((l) => `[  12.5] ${l}\n`)
                .join('')}`,
          )
          .join('')
      : sys.dmesg();
  fs.writeFileSync(log, logText);
  const sources: [string, CmaSource, { sysfs: boolean; exactFiles: boolean; bases?: boolean }][] = [
    ['emulator', emulatorSource(sys), { sysfs: true, exactFiles: true }],
    ['live tree (--root)', liveSource(sysDir), { sysfs: true, exactFiles: true }],
    ['copy of debug/cma', copiedDirSource(cmaCopy), { sysfs: false, exactFiles: true }],
    ['snapshot file', snapshotSource(snap), { sysfs: true, exactFiles: true }],
    ['adb (stand-in)', adbSource('emulator-5554'), { sysfs: true, exactFiles: true }],
    ['ssh (stand-in)', sshSource('board'), { sysfs: true, exactFiles: true }],
    ['kernel log', kernelLogSource(log), { sysfs: false, exactFiles: false, bases: false }],
  ];
  describe(`CmaSource contract on a ${name} state`, () => {
    const expected = readAreas(tree);
    for (const [label, source, caps] of sources) {
      it(`${label}: the same areas, ranges and bitmaps`, async () => {
        const got = await withEnv({ PATH: `${bin}:${process.env.PATH}`, FAKE_SYS: sysDir }, () =>
          source.capture(),
        );
        assert.equal(typeof got.source, 'string');
        assert.ok(!Number.isNaN(Date.parse(got.capturedAt)));
        const areas = readAreas(got);
        // a log names a base only through a unique "Reserved N MiB at 0x…" boot line (reserved here)
        const baseKnown = (areaName: string) => caps.bases !== false || areaName === 'reserved';
        const shape = (list: typeof areas) =>
          list.map((a) => [
            a.name,
            a.area.count,
            a.area.orderPerBit,
            a.area.ranges.map((r) => [baseKnown(a.name) ? r.basePfn : null, r.count, [...r.bitmap.words]]),
          ]);
        assert.deepEqual(shape(areas), shape(expected));
        assert.deepEqual(
          areas.map((a) => [a.reported.used, a.reported.maxchunk, a.area.availableCount]),
          expected.map((a) => [a.reported.used, a.reported.maxchunk, a.area.availableCount]),
        );
        if (caps.sysfs)
          assert.deepEqual(
            areas.map((a) => a.sysfs),
            expected.map((a) => a.sysfs),
          );
        if (caps.exactFiles)
          for (const a of expected) {
            const p = `${a.dir}/bitmap`;
            assert.equal(readTreeFile(got, p), readTreeFile(tree, p));
          }
      });
    }
  });
}
