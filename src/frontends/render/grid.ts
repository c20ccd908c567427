// The picture model: an area's bitmap folded into cells (a cell = a bucket of bits) coloured by
// how full it is, with the largest free run marked, for any size from 4096 pages to 64 GiB.

import { freeRuns } from '../../analysis/free-runs.ts';
import { bitmapWeight } from '../../core/bitmap.ts';
import type { CmaArea } from '../../core/cma.ts';

/** One range as rows × columns of cells. */
interface RangeGrid {
  readonly index: number;
  readonly basePfn: number;
  readonly bits: number;
  readonly rows: number;
  /** Fill fraction of each cell in [0, 1], row-major; NaN past the end of the range. */
  readonly fill: Float32Array;
  /** 1 where the cell lies wholly inside the area's largest free run. */
  readonly largest: Uint8Array;
}

/** The whole picture. */
export interface AreaGrid {
  readonly name: string;
  readonly orderPerBit: number;
  readonly count: number;
  readonly columns: number;
  /** Bits per cell (the same for every range). */
  readonly bitsPerCell: number;
  readonly pagesPerCell: number;
  readonly ranges: readonly RangeGrid[];
  readonly largestRun: { range: number; pfn: number; pages: number } | null;
}

/** Folds an area into at most about `maxCells` cells, `columns` wide. */
export function areaGrid(area: CmaArea, columns: number, maxCells: number): AreaGrid {
  const totalBits = area.ranges.reduce((s, r) => s + r.bitmap.maxno, 0);
  // a power of two, so a row (columns × cell) is a power-of-two number of pages and pageblocks line up
  const bitsPerCell = 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(totalBits / maxCells))));
  const runs = freeRuns(area);
  let best = runs[0];
  for (const r of runs) if (best && r.bits > best.bits) best = r;
  const ranges = area.ranges.map((r, index): RangeGrid => {
    const cells = Math.ceil(r.bitmap.maxno / bitsPerCell);
    const rows = Math.max(1, Math.ceil(cells / columns));
    const fill = new Float32Array(rows * columns).fill(Number.NaN);
    const largest = new Uint8Array(rows * columns);
    const w = r.bitmap.words;
    for (let c = 0; c < cells; c++) {
      const start = c * bitsPerCell;
      const end = Math.min(r.bitmap.maxno, start + bitsPerCell);
      fill[c] = countSet(w, start, end) / (end - start);
      if (best && best.range === index && start >= best.startBit && end <= best.startBit + best.bits)
        largest[c] = 1;
    }
    return { index, basePfn: r.basePfn, bits: r.bitmap.maxno, rows, fill, largest };
  });
  return {
    name: area.name,
    orderPerBit: area.orderPerBit,
    count: area.count,
    columns,
    bitsPerCell,
    pagesPerCell: bitsPerCell * 2 ** area.orderPerBit,
    ranges,
    largestRun: best ? { range: best.range, pfn: best.pfn, pages: best.pages } : null,
  };
}

function countSet(words: Uint32Array, start: number, end: number): number {
  if ((start & 31) === 0 && (end & 31) === 0) {
    // whole words: bitmapWeight over a subarray
    return bitmapWeight(words.subarray(start >>> 5, end >>> 5), end - start);
  }
  let n = 0;
  for (let b = start; b < end; b++) n += (words[b >>> 5]! >>> (b & 31)) & 1;
  return n;
}

/** RGB of a cell: free green, partly used amber, used slate; the largest free run blue. */
export function cellColour(fill: number, largest: boolean): [number, number, number] {
  if (Number.isNaN(fill)) return [255, 255, 255];
  if (largest) return [30, 136, 229];
  const free: [number, number, number] = [129, 199, 132];
  const mid: [number, number, number] = [255, 179, 0];
  const used: [number, number, number] = [69, 90, 100];
  if (fill === 0) return free;
  if (fill === 1) return used;
  const [a, b, t] = fill < 0.5 ? [free, mid, fill * 2] : [mid, used, (fill - 0.5) * 2];
  return [0, 1, 2].map((i) => Math.round(a[i]! + (b[i]! - a[i]!) * t)) as [number, number, number];
}

/** Human size of a page count (4 KiB pages). */
export function pagesText(pages: number): string {
  const bytes = pages * 4096;
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${bytes / 1024} KiB`;
}

/** The text lines around the picture (title, scale, legend), shared by every renderer. */
export function gridCaptions(
  g: AreaGrid,
  summary: { used: number; free: number; maxchunk: number },
): {
  title: string;
  scale: string;
  stats: string;
  largest: string;
} {
  return {
    title: `${g.name}: ${g.count} pages (${pagesText(g.count)}), order_per_bit ${g.orderPerBit}, ${g.ranges.length} range${g.ranges.length === 1 ? '' : 's'}`,
    scale: `1 cell = ${g.pagesPerCell} page${g.pagesPerCell === 1 ? '' : 's'} (${pagesText(g.pagesPerCell)}), 1 row = ${g.pagesPerCell * g.columns} pages (${pagesText(g.pagesPerCell * g.columns)})`,
    stats: `used ${summary.used}  free ${summary.free}  maxchunk ${summary.maxchunk} pages`,
    largest: g.largestRun
      ? `largest free run: ${g.largestRun.pages} pages at pfn 0x${g.largestRun.pfn.toString(16)}${g.ranges.length > 1 ? ` (range ${g.largestRun.range})` : ''}`
      : 'no free page',
  };
}
