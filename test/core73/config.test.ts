// Multi-range areas in --area strings and config files: parsing, index order, validation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/config.ts';
import { createSystem } from '../../src/core/create.ts';

const ranges = (req: Parameters<typeof createSystem>[0]) =>
  createSystem(req).areas.map((s) => s.area.ranges.map((r) => [r.basePfn, r.count]));

function text(sys: ReturnType<typeof createSystem>, path: string): string {
  const r = sys.readFile(path);
  return r.ok ? r.text : r.errno;
}

function rejects(req: Parameters<typeof createSystem>[0], message: RegExp): void {
  assert.throws(
    () => createSystem(req),
    (e: unknown) => e instanceof ConfigError && message.test(e.message),
  );
}

describe('multi-range configuration (7.3)', () => {
  it('range=BASE:COUNT is repeatable and kept in the order given (the kernel index order)', () => {
    const area =
      'name=hugetlb0,order_per_bit=9,range=2359296:262144,range=0x140000:262144,range=0x1c0000:262144';
    assert.deepEqual(ranges({ profile: '7.3', areas: [area] }), [
      [
        [0x240000, 262144],
        [0x140000, 262144],
        [0x1c0000, 262144],
      ],
    ]);
    const sys = createSystem({ profile: '7.3', areas: [area] });
    assert.equal(text(sys, '/sys/kernel/debug/cma/hugetlb0/count'), '786432\n');
    assert.deepEqual(sys.readdir('/sys/kernel/debug/cma/hugetlb0/ranges'), {
      ok: true,
      names: ['2', '1', '0'],
    });
    assert.equal(text(sys, '/sys/kernel/debug/cma/hugetlb0/base_pfn'), '2359296\n');
  });

  it('the same in a config file (ranges: [{base_pfn, count}], hex strings allowed)', () => {
    const configText = JSON.stringify({
      profile: '7.3',
      areas: [
        { name: 'reserved', base_pfn: 0x100000, count: 4096 },
        {
          name: 'hugetlb0',
          order_per_bit: 9,
          ranges: [
            { base_pfn: '0x140000', count: 262144 },
            { basePfn: 0x1c0000, count: 524288 },
          ],
        },
      ],
    });
    const sys = createSystem({ configText });
    assert.equal(sys.profile.id, '7.3');
    assert.deepEqual(
      sys.areas.map((s) => s.area.ranges.map((r) => [r.basePfn, r.count])),
      [
        [[0x100000, 4096]],
        [
          [0x140000, 262144],
          [0x1c0000, 524288],
        ],
      ],
    );
  });

  it('bad ranges get one clear ConfigError', () => {
    rejects(
      { profile: '6.1', areas: ['name=h,order_per_bit=9,range=0x140000:262144,range=0x1c0000:262144'] },
      /profile 6\.1 allows 1/,
    );
    rejects(
      {
        profile: '7.3',
        areas: [`name=h,${Array.from({ length: 9 }, (_, i) => `range=${i * 1024}:512`).join(',')}`],
      },
      /9 ranges.*allows 8/,
    );
    rejects(
      { profile: '7.3', areas: ['name=h,order_per_bit=9,range=0x140000:262144,range=0x160000:262144'] },
      /area 'h': ranges .* overlap/,
    );
    rejects({ profile: '7.3', areas: ['name=h,range=0x140000'] }, /not BASE_PFN:COUNT/);
    rejects({ profile: '7.3', areas: ['name=h,range=abc:12'] }, /'abc' is not a number/);
    rejects({ profile: '7.3', areas: ['name=h,count=5,range=0:512'] }, /not both/);
    rejects(
      { profile: '7.3', areas: ['name=h,order_per_bit=9,range=0x140000:1000,range=0x1c0000:512'] },
      /not a multiple of 2\^9/,
    );
    rejects(
      { profile: '7.3', areas: ['name=h,range=0x100100:512,range=0x200000:512'] },
      /not aligned to 512/,
    );
    rejects({ profile: '7.3', areas: ['name=h,range=0x1000:0'] }, /size is zero/);
    const cfg = (ranges: unknown) => ({
      profile: '7.3',
      configText: JSON.stringify({ areas: [{ name: 'h', ranges }] }),
    });
    rejects(cfg([{ base_pfn: [1], count: 512 }]), /ranges\[0\]\.base_pfn must be a number or a string/);
    rejects(cfg([null]), /ranges\[0\] is not an object/);
    rejects(cfg([{ base_pfn: 0 }]), /range 0 needs a count/);
    rejects(cfg(5), /ranges must be a list/);
  });
});
