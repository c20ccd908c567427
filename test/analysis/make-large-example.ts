// make-large-example.ts OUT.json: a 64 GiB order-0 area (16M bits) after a day of driver traffic
// (random allocations, every second one released), as a snapshot for `cma-debug render` (docs/render-large.png).
import * as fs from 'node:fs';
import { createSystem } from '../../src/core/create.ts';
import { treeFromSystem } from '../../src/sources/emulator-source.ts';
import { formatSnapshot, snapshotFromTree } from '../../src/sources/snapshot.ts';

const sys = createSystem({ areas: ['name=dma-heap,count=16777216,base_pfn=0x1000000'] });
let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const live: { pfn: number; count: number }[] = [];
for (let i = 0; i < 2400; i++) {
  const count = Math.floor(2 ** (8 + rnd() * 8));
  const r = sys.cmaAlloc('dma-heap', count);
  if (r.ok) live.push({ pfn: r.pfn, count });
  if (i % 2 === 1 && live.length > 0) {
    const k = Math.floor(rnd() * live.length);
    const [b] = live.splice(k, 1);
    sys.cmaRelease('dma-heap', b!.pfn, b!.count);
  }
}
fs.writeFileSync(
  process.argv[2]!,
  formatSnapshot(snapshotFromTree(treeFromSystem(sys, 'emulator: 64 GiB example'))),
);
