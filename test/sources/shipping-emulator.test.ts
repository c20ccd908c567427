// The emulator as a shipping device: the oracles' workloads (test/fixtures/shipping/scripts)
// replayed on the emulated 6.1 and 7.3 kernels give the same CMA lines of /proc/meminfo, vmstat,
// zoneinfo and pagetypeinfo, the same kernel log lines and the same sysfs counters; with
// --no-debugfs the emulator reads as a device without debugfs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { runCommand } from '../../src/frontends/shell/mini-shell.ts';
import { deviceReport } from '../../src/sources/device-model.ts';
import { treeFromSystem } from '../../src/sources/emulator-source.ts';
import { parsePagetypeinfo } from '../../src/sources/proc-files.ts';
import { makeTree } from '../../src/sources/tree.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/shipping');

function sh(sys: CmaSystem, line: string): string {
  return runCommand(sys, line).output;
}

/** shipping.sh, step by step, on `sys` (area reserved, 16384 pages). */
function shippingWorkload(sys: CmaSystem): number {
  const D = '/sys/kernel/debug/cma/reserved';
  for (let i = 1; i <= 150; i++) {
    const a = 5 + ((i * 37) % 41);
    const b = 1 + ((i * 13) % (a - 1));
    sh(sys, `echo ${a} > ${D}/alloc`);
    sh(sys, `echo ${b} > ${D}/free`);
  }
  sh(sys, `echo 3000 > ${D}/alloc`);
  sh(sys, `echo 1000 > ${D}/free`);
  const used = Number(sh(sys, `cat ${D}/used`));
  sh(sys, `echo ${16384 - used + 1} > ${D}/alloc`);
  for (;;) {
    const mc = Number(sh(sys, `cat ${D}/maxchunk`));
    if (mc < 64) break;
    sh(sys, `echo ${mc} > ${D}/alloc`);
  }
  const mc = Number(sh(sys, `cat ${D}/maxchunk`));
  sh(sys, `echo ${mc + 1} > ${D}/alloc`);
  return mc + 1;
}

/** hugetlb.sh on `sys`. */
function hugetlbWorkload(sys: CmaSystem): void {
  const D = '/sys/kernel/debug/cma';
  for (const c of [
    `echo 100 > ${D}/reserved/alloc`,
    `echo 700 > ${D}/reserved/alloc`,
    `echo 300 > ${D}/reserved/free`,
    `echo 1000 > ${D}/hugetlb0/alloc`,
    `echo 100000 > ${D}/hugetlb0/alloc`,
    `echo 512 > ${D}/hugetlb0/alloc`,
    `echo 200000 > ${D}/hugetlb0/alloc`,
  ])
    sh(sys, c);
}

const grepLines = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));
const CMA_LINE =
  /^(CmaTotal|CmaFree|nr_free_cma|cma_alloc_success|cma_alloc_fail) |^Cma|, type +CMA|^\s+(cma|nr_free_cma) /;

function compareWithOracle(sys: CmaSystem, dir: string): void {
  for (const f of ['meminfo', 'vmstat', 'pagetypeinfo'] as const) {
    const oracle = fs.readFileSync(path.join(dir, 'proc', f), 'latin1');
    const want = grepLines(oracle, CMA_LINE).filter(
      (l) => !/^ +cma +0$/.test(l) && !/ 0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 $/.test(l),
    );
    assert.deepEqual(grepLines(sys.procFile(f), CMA_LINE), want, `/proc/${f}`);
  }
  const blocks = (t: string) => parsePagetypeinfo(t).zones.map((z) => [z.node, z.zone, z.cmaBlocks]);
  assert.deepEqual(
    blocks(sys.procFile('pagetypeinfo')),
    blocks(fs.readFileSync(path.join(dir, 'proc/pagetypeinfo'), 'latin1')).filter((z) => z[2] !== 0),
  );
  // zoneinfo: the zones holding CMA, with their cma and nr_free_cma lines
  const zi = sys.procFile('zoneinfo');
  const oracle = fs.readFileSync(path.join(dir, 'proc/zoneinfo'), 'latin1');
  for (const block of zi.split(/^(?=Node )/m).filter(Boolean)) {
    const [head, ...lines] = block.trimEnd().split('\n');
    const o = oracle.split(/^(?=Node )/m).find((b) => b.startsWith(`${head}\n`));
    assert.ok(o, head);
    for (const l of lines) assert.ok(o.split('\n').includes(l), `${head}: ${l}`);
  }
  // the kernel log's CMA lines after boot, and the sysfs counters
  const log = fs.readFileSync(path.join(dir, 'dmesg'), 'latin1');
  const cmaLog = (t: string) => grepLines(t, /^cma: (cma_alloc|__cma|number|range)|^=> /);
  assert.deepEqual(cmaLog(sys.dmesg()), cmaLog(log));
  for (const st of sys.areas) {
    const sysfs = path.join(dir, 'sys/kernel/mm/cma', st.area.name);
    for (const f of fs.readdirSync(sysfs))
      assert.equal(
        sh(sys, `cat /sys/kernel/mm/cma/${st.area.name}/${f}`),
        fs.readFileSync(path.join(sysfs, f), 'latin1'),
        `${st.area.name}/${f}`,
      );
  }
}

for (const [profile, dir] of [
  ['6.1', '6.1'],
  ['7.3', '7.3'],
] as const) {
  test(`emulated ${profile}: the shipping workload gives the oracle's /proc CMA lines, log and counters`, () => {
    const sys = createSystem({ profile, areas: ['name=reserved,count=16384,base_pfn=113664'] });
    const request = shippingWorkload(sys);
    assert.equal(request, 22);
    compareWithOracle(sys, path.join(FIX, dir, 'device'));
  });
}

test('emulated 6.1 with hugetlb0 (order_per_bit 9): CmaFree and the buddy blocks count the unused tails of bits', () => {
  const sys = createSystem({
    profile: '6.1',
    areas: [
      'name=hugetlb0,count=262144,base_pfn=261632,order_per_bit=9',
      'name=reserved,count=4096,base_pfn=781824',
    ],
  });
  hugetlbWorkload(sys);
  compareWithOracle(sys, path.join(FIX, '6.1-hugetlb/device'));
});

test('the emulator without debugfs reads as a shipping device with the same report as the oracle', () => {
  const sys = createSystem({ profile: '7.3', areas: ['name=reserved,count=16384,base_pfn=113664'] });
  shippingWorkload(sys);
  sys.debugfsMounted = false;
  const tree = treeFromSystem(sys);
  assert.equal(sh(sys, 'ls /sys/kernel/debug'), '');
  const device = {
    files: {
      dmesg: sys.dmesg(),
      ...Object.fromEntries(
        (['meminfo', 'vmstat', 'zoneinfo', 'pagetypeinfo'] as const).map((f) => [
          `proc/${f}`,
          sys.procFile(f),
        ]),
      ),
    },
    unreadable: {},
  };
  const r = deviceReport(makeTree('emu', [...tree.entries], tree.kernelRelease, tree.capturedAt, device));
  const a = r.areas[0]!;
  assert.equal(a.lastFailure?.verdict, 'fragmentation');
  assert.equal(a.lastFailure?.maxchunk, 21);
  assert.equal(a.free, 540);
  assert.deepEqual(r.system.freeBlocksByOrder?.slice(0, 4), [122, 73, 36, 16]);
});

test('exec --no-debugfs: debugfs is gone, sysfs and /proc stay; --help says so', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [path.join(ROOT, 'bin/cma-debug.js'), ...args], { encoding: 'utf8' });
  const r = cli([
    'exec',
    '--no-debugfs',
    'cat /sys/kernel/debug/cma/reserved/used',
    'cat /sys/kernel/mm/cma/reserved/alloc_pages_success /proc/meminfo',
  ]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /can't open '\/sys\/kernel\/debug\/cma\/reserved\/used': No such file or directory/);
  assert.match(r.stdout, /^0\nCmaTotal: {10}16384 kB\nCmaFree: {11}16384 kB\n$/m);
  for (const c of ['exec', 'mount', 'serve']) assert.match(cli([c, '--help']).stdout, /--no-debugfs +hide/);
});
