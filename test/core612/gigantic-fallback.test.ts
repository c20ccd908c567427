// hugetlb's 1 GiB pages from ordinary memory once the CMA areas fail, on the emulated qemu
// machine (`mem`): the counts the 6.1, 6.12 and 7.3 oracles gave (`alloc 8` in hugetlb0, then
// `echo 10 > nr_hugepages`; test/fixtures/hostile-writes/runs/1G-hp-* for whole transcripts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { giganticFallback, pcMachine } from '../../src/core/machine.ts';
import { parseState, stateToJson, systemFromState, systemToState } from '../../src/core/state.ts';

const GIB = 262144;
const D = 'kernel/debug/cma/hugetlb0';
const H = 'kernel/mm/hugepages/hugepages-1048576kB';

function read(sys: ReturnType<typeof createSystem>, path: string): string {
  const r = sys.readFile(path);
  assert.ok(r.ok, path);
  return r.text.trim();
}

describe("hugetlb's gigantic pages from ordinary memory", () => {
  it("the machine's free 1 GiB-aligned GiBs, ZONE_NORMAL first", () => {
    const cma = (...bases: number[]) => bases.map((b) => ({ start: b, end: b + GIB }));
    // 6 GiB: RAM [0, 3 GiB) and [4, 7 GiB); reserved at 4 GiB, hugetlb0 at 5 GiB; 7 GiB's top
    // holds memblock's early allocations: only the second GiB (the initramfs there is freed)
    assert.deepEqual(
      giganticFallback(pcMachine(6 * GIB), [{ start: 4 * GIB, end: 4 * GIB + 4096 }, ...cma(5 * GIB)]),
      [GIB],
    );
    // 12 GiB: six GiBs above hugetlb0 before the top one, then the second GiB
    assert.deepEqual(
      giganticFallback(pcMachine(12 * GIB), [{ start: 4 * GIB, end: 4 * GIB + 4096 }, ...cma(5 * GIB)]),
      [6, 7, 8, 9, 10, 11, 1].map((g) => g * GIB),
    );
    // 3 GiB (6.1): hugetlb0 at 261632 spans the second GiB; the third ends past RAM
    assert.deepEqual(giganticFallback(pcMachine(3 * GIB), [{ start: 261632, end: 261632 + GIB }]), []);
  });

  for (const [profile, mem, base, first, then] of [
    ['6.12', '6G', '0x140000', ['1', '512'], ['2', '262144']],
    ['7.3', '6G', '0x140000', ['1', '8'], ['2', '262144']],
    ['7.3', '12G', '0x140000', ['7', '8'], ['8', '262144']],
    ['6.1', '3G', '261632', ['0', '512'], ['0', '0']],
  ] as const) {
    it(`${profile} with ${mem}: nr_hugepages as the oracle counted it`, () => {
      const sys = createSystem({
        profile,
        mem,
        areas: [
          'name=reserved,base_pfn=0x100000,count=4096',
          `name=hugetlb0,order_per_bit=9,base_pfn=${base},count=262144`,
        ],
      });
      sys.writeFile('kernel/tracing/events/cma/enable', '1\n');
      assert.ok(sys.writeFile(`${D}/alloc`, '8\n').ok);
      assert.ok(sys.writeFile(`${H}/nr_hugepages`, '10\n').ok);
      assert.deepEqual([read(sys, `${H}/nr_hugepages`), read(sys, `${D}/used`)], first);
      assert.ok(sys.writeFile(`${H}/nr_hugepages`, '0\n').ok);
      assert.ok(sys.writeFile(`${D}/free`, '8\n').ok);
      assert.ok(sys.writeFile(`${H}/nr_hugepages`, '10\n').ok);
      assert.deepEqual([read(sys, `${H}/nr_hugepages`), read(sys, `${D}/used`)], then);
      // pages of ordinary memory are neither traced nor counted by CMA
      const trace = read(sys, 'kernel/tracing/trace');
      const finishes = trace.split('\n').filter((l) => / cma_alloc_finish: .*align=18/.test(l));
      const ok = finishes.filter((l) => !/pfn=0xffffffffffffffff|pfn=0x0 |errorno=-/.test(l));
      assert.equal(ok.length, then[1] === '262144' ? 1 : 0);
    });
  }

  it('a saved state keeps the pool and the machine (mount --state survives a restart)', () => {
    const sys = createSystem({
      profile: '6.12',
      mem: '6G',
      areas: [
        'name=reserved,base_pfn=0x100000,count=4096',
        'name=hugetlb0,order_per_bit=9,base_pfn=0x140000,count=262144',
      ],
    });
    assert.ok(sys.writeFile(`${D}/alloc`, '8\n').ok);
    assert.ok(sys.writeFile(`${H}/nr_hugepages`, '10\n').ok);
    const back = systemFromState(parseState(stateToJson(systemToState(sys))));
    assert.equal(read(back, `${H}/nr_hugepages`), '1');
    assert.ok(back.writeFile(`${D}/free`, '8\n').ok);
    assert.ok(back.writeFile(`${H}/nr_hugepages`, '3\n').ok);
    // the ordinary page and the area's: one GiB of ordinary memory only
    assert.deepEqual([read(back, `${H}/nr_hugepages`), read(back, `${D}/used`)], ['2', '262144']);
    assert.throws(
      () => systemFromState({ ...systemToState(back), hugepages: [{ area: 'nope', pfn: 0 }] }),
      /area 'nope' is not one of the state's areas/,
    );
  });

  it('without a machine (no mem) the pool stops at the areas', () => {
    const sys = createSystem({
      profile: '6.12',
      areas: ['name=hugetlb0,order_per_bit=9,base_pfn=0x140000,count=262144'],
    });
    assert.ok(sys.writeFile(`${H}/nr_hugepages`, '10\n').ok);
    assert.equal(read(sys, `${H}/nr_hugepages`), '1');
  });
});
