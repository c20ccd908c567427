// Self-consistency fuzz of the debugfs write parser (kernel-writes.ts compares with recorded
// real-kernel transcripts): random `alloc`/`free` writes (numbers, signs, hex, spaces,
// huge values, NULs, garbage) on 6.1 and 7.3 systems. Every write must return a count or an
// errno (never throw), and after each the area must stay consistent: on 6.1 `used` equals the
// bitmap's set bits in pages, on 7.x it stays within [0, count].
//   node --import tsx scripts/reliability/write-fuzz.ts [--writes N] [--seed S]

import { createSystem } from '../../src/core/create.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const PIECES = [
  '0',
  '1',
  '7',
  '64',
  '512',
  '4096',
  '4097',
  '-1',
  '+3',
  '0x10',
  '0X1f',
  '010',
  ' ',
  '\n',
  '\t',
  '\0',
  'a',
  '99999999999999999999',
  '18446744073709551615',
  '18446744073709551616',
  '2147483648',
  '4294967296',
  '-',
  '+',
  '0x',
  '1e3',
  '..',
];

/** Runs `writes` random writes; returns counts, or throws naming the first inconsistency. */
export function writeFuzz(writes: number, seed = 1): { writes: number; accepted: number; refused: number } {
  const r = rng(seed);
  let accepted = 0;
  let refused = 0;
  for (const profile of ['6.1', '7.3']) {
    const sys = createSystem({
      profile,
      areas: ['name=a,count=4096,base_pfn=0x40000', 'name=h,count=8192,order_per_bit=9,base_pfn=0x80000'],
    });
    for (let i = 0; i < writes / 2; i++) {
      const area = r() < 0.5 ? 'a' : 'h';
      const file = r() < 0.6 ? 'alloc' : 'free';
      let text = '';
      const n = 1 + Math.floor(r() * 4);
      for (let k = 0; k < n; k++) text += PIECES[Math.floor(r() * PIECES.length)];
      let res: ReturnType<typeof sys.writeFile>;
      try {
        res = sys.writeFile(`kernel/debug/cma/${area}/${file}`, text);
      } catch (e) {
        throw new Error(`${profile} ${area}/${file} ${JSON.stringify(text)}: threw ${(e as Error).message}`);
      }
      if (res.ok) accepted++;
      else refused++;
      const st = sys.area(area)!;
      const bits = st.area.ranges.reduce((s, rg) => s + rg.bitmap.weight(), 0);
      const used = sys.readFile(`kernel/debug/cma/${area}/used`);
      const usedPages = used.ok ? Number(used.text.trim()) : -1;
      const count = st.area.ranges.reduce((s, rg) => s + rg.count, 0);
      // 6.1's used is the bitmap's weight; 7.x's is count - available_count (requested pages)
      const fine =
        profile === '6.1'
          ? usedPages === bits * 2 ** st.area.orderPerBit
          : usedPages >= 0 && usedPages <= count;
      if (!fine)
        throw new Error(
          `${profile} ${area}: used ${usedPages} but the bitmap holds ${bits} bits after ${JSON.stringify(text)}`,
        );
    }
  }
  return { writes, accepted, refused };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = writeFuzz(arg('writes', 20000), arg('seed', 1));
  console.log(
    `write-fuzz: ${r.writes} random alloc/free writes on 6.1 and 7.3: ${r.accepted} accepted, ${r.refused} refused with an errno, state consistent after each`,
  );
}
