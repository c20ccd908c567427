// Boots from a kernel command line (`--cmdline`: cma=, hugetlb_cma=, memmap=) against the three
// real kernels: test/fixtures/ram-placement/cmdline/boots.txt holds what probe.sh printed on the
// 6.1, 6.12 and 7.3 oracles for each `### KERNEL MEM EXTRA` boot (areas, 7.3's ranges in their
// index order, CmaTotal, the cma/hugetlb_cma boot lines, nr_hugepages after asking for 64), and
// the emulator booted the same way must print the same, byte for byte.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  caseHeader,
  checkSections,
  emulatedProbe,
  ORACLE_CMDLINE,
  oracleSections,
  parseHeader,
} from '../../scripts/reliability/boot-cmdline.ts';
import { memparse, parseCmdline } from '../../src/core/cmdline.ts';
import { ConfigError } from '../../src/core/config.ts';
import { createSystem } from '../../src/core/create.ts';
import { PROFILE_7_3 } from '../../src/core/profile.ts';
import { parseState, stateToJson, systemFromState, systemToState } from '../../src/core/state.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/ram-placement/cmdline/boots.txt');
const GAPS = join(import.meta.dirname, '../fixtures/ram-placement/cmdline/gaps.txt');
const NR = 'kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages';

describe('boots from a kernel command line, against the oracles', () => {
  const sections = oracleSections(readFileSync(FIXTURE, 'utf8'));

  it('the fixture covers every kernel, multi-range areas, refusals and holes', () => {
    const headers = [...sections.keys()];
    assert.ok(headers.length >= 250, `${headers.length} boots`);
    for (const k of ['6.1', '6.12', '7.3']) assert.ok(headers.some((h) => parseHeader(h).profile === k));
    const bodies = [...sections.values()].join('');
    for (const needle of [
      'in 3 ranges',
      'in 8 ranges',
      'Failed to reserve',
      'must be aligned',
      'exceeds limit',
    ])
      assert.ok(bodies.includes(needle), needle);
  });

  it('every boot: the same areas, ranges, boot lines and 1 GiB pages as the kernel printed', () => {
    const bad = checkSections(readFileSync(FIXTURE, 'utf8'));
    assert.deepEqual(
      bad.map((b) => `${b.header}\n--- kernel\n${b.kernel}--- emulator\n${b.emulator}`),
      [],
    );
  });

  it('known gap: a hole between 1 and 2 GiB on a 3 GiB guest puts `reserved` 2 MiB lower', () => {
    // the kernel's early page tables then outgrow their boot buffer and take the 2 MiB below the
    // top 2 MiB-aligned block (gaps.txt, README.md): every boot there differs in that alone
    const gaps = oracleSections(readFileSync(GAPS, 'utf8'));
    assert.ok(gaps.size >= 10);
    for (const [header, kernel] of gaps) {
      const m = /^reserved base_pfn=(\d+)/m.exec(kernel);
      assert.ok(m, header);
      const base = Number(m[1]);
      const hex = (pfn: number) => `0x${(pfn * 4096).toString(16).padStart(16, '0')}`;
      const moved = emulatedProbe(parseHeader(header))
        .replaceAll(`base_pfn=${base + 512} `, `base_pfn=${base} `)
        .replace(`at ${hex(base + 512)}`, `at ${hex(base)}`);
      assert.equal(moved, kernel, header);
    }
  });

  it("7.3's ranges keep the kernel's list order: 3 GiB over two holes on 10 GiB", () => {
    const header = caseHeader({
      profile: '7.3',
      mem: '10G',
      extra: 'hugetlb_cma=3G memmap=64M$0x180000000 memmap=64M$0x200000000',
    });
    const text = emulatedProbe(parseHeader(header));
    assert.match(
      text,
      /range 0 base_pfn=2359296 words=16\n {2}range 1 base_pfn=1310720 words=16\n {2}range 2 base_pfn=1835008/,
    );
    assert.equal(text, sections.get(header));
  });
});

describe('the command line parser', () => {
  it('memparse reads numbers as simple_strtoull(s, 0) and K/M/G suffixes', () => {
    assert.deepEqual(memparse('64M$0x180000000'), { value: 64n << 20n, rest: '$0x180000000' });
    assert.deepEqual(memparse('0x10k'), { value: 16n << 10n, rest: '' });
    assert.deepEqual(memparse('010'), { value: 8n, rest: '' });
    assert.deepEqual(memparse('0'), { value: 0n, rest: '' });
    assert.equal(memparse('M'), null);
  });

  it('the last cma= wins, memmap= lists holes, other words are kept for dmesg', () => {
    const p = parseCmdline('console=ttyS0 cma=32M cma=64M memmap=64M$4G,2M#0x200000000 quiet', PROFILE_7_3);
    assert.equal(p.cma?.size, 64n << 20n);
    assert.deepEqual(p.holes, [
      { start: 0x100000, end: 0x104000 },
      { start: 0x200000, end: 0x200200 },
    ]);
    const sys = createSystem({ profile: '7.3', cmdline: p.cmdline });
    const dmesg = sys.dmesg().split('\n');
    assert.equal(dmesg[0], `Command line: ${p.cmdline}`);
    assert.ok(dmesg.includes(`Kernel command line: ${p.cmdline}`));
    assert.equal(sys.procCmdline(), `${p.cmdline}\n`);
  });

  it('refuses what it cannot model, with the word named', () => {
    for (const [line, what] of [
      ['numa=fake=2 hugetlb_cma=2G', /'numa=fake=2' sets NUMA nodes/],
      ['hugepagesz=1G hugepages=2', /boot-time huge pages/],
      ['crashkernel=256M', /crash kernel/],
      ['hugetlb_cma=1:1G', /one NUMA node, node 0/],
      ['memmap=64M@0x100000000', /only memmap=SIZE\$ADDR/],
      ['memmap=exactmap', /a RAM map/],
      ['cma=lots', /not cma=SIZE\[@BASE\[-LIMIT\]\]/],
      ['cma=16M@1G+', /not cma=SIZE/],
    ] as const)
      assert.throws(
        () => createSystem({ profile: '7.3', mem: '6G', cmdline: line }),
        (e: Error) => {
          assert.ok(e instanceof ConfigError, line);
          assert.match(e.message, what);
          return true;
        },
      );
  });

  it('without --mem, the RAM the oracles boot such a line with', () => {
    assert.equal(createSystem({ cmdline: `${ORACLE_CMDLINE}` }).memPages, 512 * 256);
    assert.equal(createSystem({ profile: '6.1', cmdline: 'cma=16M hugetlb_cma=1G' }).memPages, 3 * 262144);
    assert.equal(createSystem({ profile: '7.3', cmdline: 'cma=16M hugetlb_cma=1G' }).memPages, 6 * 262144);
  });

  it('a saved system keeps its holes: nr_hugepages counts the same after a restart', () => {
    // hugetlb0 at 5 GiB; of ordinary memory the second GiB and the eighth, not the seventh (the hole)
    const cmdline = 'cma=16M hugetlb_cma=1G memmap=64M$0x180000000';
    const sys = createSystem({ profile: '7.3', mem: '8G', cmdline });
    const again = systemFromState(parseState(stateToJson(systemToState(sys))));
    assert.deepEqual(again.memHoles, [{ start: 0x180000, end: 0x184000 }]);
    for (const s of [sys, again]) assert.ok(s.writeFile(NR, '64\n').ok);
    const count = (s: typeof sys) => (s.readFile(NR) as { text: string }).text;
    assert.equal(count(again), count(sys));
    assert.equal(count(sys), '3\n');
  });
});
