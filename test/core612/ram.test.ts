// Area placement on a machine with N of RAM (`mem`): every boot of test/fixtures/ram-placement/
// (the 6.1, 6.12 and 7.3 oracles under qemu -machine pc at 512M…8G, cma=16M/64M,
// hugetlb_cma=1G/2G, and three refusals of cma= itself) gives the same areas and the same
// `cma:`/`hugetlb_cma:` boot lines on the emulator, refusals included.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/config.ts';
import { createSystem } from '../../src/core/create.ts';

interface Boot {
  readonly mem: string;
  readonly extra: string;
  readonly lines: readonly string[];
}

function boots(id: string): Boot[] {
  const text = readFileSync(new URL(`../fixtures/ram-placement/${id}.txt`, import.meta.url), 'utf8');
  return text
    .split(/^### /m)
    .slice(1)
    .map((s) => {
      const [head, ...lines] = s.split('\n');
      const m = /^ORACLE_MEM=(\S+) extra=(.*)$/.exec(head!);
      assert.ok(m, head);
      return { mem: m[1]!, extra: m[2]!, lines };
    });
}

/** The --area options of an oracle command line: `cma=` (16M by default, `@base`), then hugetlb_cma=. */
function areasOf(extra: string): string[] {
  const words = extra.split(' ').filter((w) => w !== '');
  const cma = /^cma=(\d+[MG])(?:@(0x[0-9a-f]+))?$/.exec(
    words.find((w) => w.startsWith('cma=')) ?? 'cma=16M',
  )!;
  const base = cma[2] === undefined ? '' : `,base_pfn=${Number(cma[2]) / 4096}`;
  const out = [`name=reserved,size=${cma[1]}${base}`];
  const huge = words.find((w) => w.startsWith('hugetlb_cma='));
  if (huge) out.push(`name=hugetlb0,size=${huge.slice('hugetlb_cma='.length)},order_per_bit=9`);
  return out;
}

const LOG = /^(cma|hugetlb_cma): /;

for (const id of ['6.1', '6.12', '7.3']) {
  describe(`${id}: areas placed and refused as on a qemu -machine pc guest of each RAM size`, () => {
    for (const boot of boots(id)) {
      it(`-m ${boot.mem} ${boot.extra || '(cma=16M)'}`, () => {
        const sys = createSystem({ profile: id, mem: boot.mem, areas: areasOf(boot.extra) });
        const want = boot.lines
          .map((l) => /^area (\S+) (?:range 0 )?base_pfn=(\d+) count=(\d+) opb=(\d+)$/.exec(l))
          .filter((m) => m !== null)
          .map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
        const got = sys
          .areaList()
          .map((a) => `${a.name} ${a.ranges[0]!.basePfn} ${a.count} ${a.orderPerBit}`)
          .sort();
        if (want.length > 0) assert.deepEqual(got, want);
        else {
          // the refusal boots list only the directory names
          const names = boot.lines.filter((l) => /^[a-z0-9]+$/.test(l));
          assert.deepEqual(
            sys
              .areaList()
              .map((a) => a.name)
              .sort(),
            names,
          );
        }
        const log = sys
          .dmesg()
          .split('\n')
          .filter((l) => LOG.test(l));
        assert.deepEqual(
          log,
          boot.lines.filter((l) => LOG.test(l)),
        );
      });
    }
  });
}

describe('--mem', () => {
  it('without it, placements are the 512 MiB ones and a large area still goes above 4 GiB', () => {
    const sys = createSystem({ profile: '6.12', areas: ['name=reserved,size=16M', 'name=big,size=64G'] });
    assert.deepEqual(
      sys.areaList().map((a) => [a.name, a.ranges[0]!.basePfn]),
      [
        ['reserved', 125952],
        ['big', 1048576],
      ],
    );
    // the default system is cma=16M on that machine
    assert.equal(createSystem({ mem: '512M' }).areaList()[0]!.ranges[0]!.basePfn, 125952);
    assert.equal(createSystem({ mem: '6G' }).areaList()[0]!.ranges[0]!.basePfn, 1048576);
  });

  it('comes from a config file too, and bad sizes are refused with a clear message', () => {
    const sys = createSystem({
      profile: '6.12',
      configText: JSON.stringify({ mem: '2G', areas: [{ name: 'reserved', size: '16M' }] }),
    });
    assert.equal(sys.areaList()[0]!.ranges[0]!.basePfn, 519168);
    for (const [mem, message] of [
      ['6X', /--mem: '6X' is not a size/],
      ['100M', /--mem: '100M' is less than 128M/],
      ['1536K', /not a whole number of MiB/],
    ] as const)
      assert.throws(
        () => createSystem({ mem }),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
  });
});
