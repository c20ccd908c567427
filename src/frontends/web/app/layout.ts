// Where each granule of a range goes on the bitmap canvas. Pure arithmetic, no DOM.
//
// Rows are a power of two of bits wide and start at pfns aligned to their width, so a row of
// 128 one-page bits always starts at a multiple of 128 pages: order and pageblock alignment can
// be read off the grid, and the left axis labels are round pfns. A range whose base is not
// aligned to the row width starts with empty cells. When the range is too large for one cell
// per bit, one cell (a pixel) stands for a power of two of bits.

/** pageblock_nr_pages on x86_64 with 4 KiB pages (pageblock_order 9): CMA bases are aligned to it. */
export const PAGEBLOCK_PAGES = 512;

/** What to lay out: bits [from, to) of a range whose bit 0 is page `basePfn`, `unit` pages a bit. */
export interface LayoutInput {
  /** Width of the canvas (CSS px). */
  readonly width: number;
  /** The most height the cells may take (CSS px). */
  readonly maxHeight: number;
  readonly from: number;
  readonly to: number;
  readonly basePfn: number;
  /** Pages per bit (2^order_per_bit). */
  readonly unit: number;
  /** Space for the axes: the pfn labels at the left, the column offsets on top (CSS px). */
  readonly left: number;
  readonly top: number;
}

/** The grid: cell `i` (row-major from the top left) holds bits [from + (i - lead) * per, +per). */
export interface GridLayout {
  readonly cell: number;
  /** Cells per row: a power of two. */
  readonly cols: number;
  readonly rows: number;
  /** Bits per cell: a power of two. */
  readonly per: number;
  /** Empty cells before the first bit shown (rows start at aligned pfns). */
  readonly lead: number;
  readonly from: number;
  readonly to: number;
  readonly basePfn: number;
  readonly unit: number;
  readonly left: number;
  readonly top: number;
  /** The pfn the first row starts at (aligned to a row's pages). */
  readonly firstRowPfn: number;
}

const CELLS = [24, 16, 12, 10, 8, 6, 5, 4, 3, 2, 1];
const floorPow2 = (n: number) => 2 ** Math.floor(Math.log2(Math.max(1, n)));

function place(i: LayoutInput, cell: number, cols: number, per: number): GridLayout {
  const firstBit = i.basePfn / i.unit + i.from; // absolute bit number of the first bit shown
  const rowBits = cols * per;
  const rowStart = Math.floor(firstBit / rowBits) * rowBits;
  const lead = Math.floor((firstBit - rowStart) / per);
  const cells = lead + Math.ceil((i.to - i.from) / per);
  return {
    cell,
    cols,
    rows: Math.max(1, Math.ceil(cells / cols)),
    per,
    lead,
    from: i.from,
    to: i.to,
    basePfn: i.basePfn,
    unit: i.unit,
    left: i.left,
    top: i.top,
    firstRowPfn: rowStart * i.unit,
  };
}

/** The largest cells that show bits [from, to) whole; else one pixel per power of two of bits. */
export function gridLayout(i: LayoutInput): GridLayout {
  const w = Math.max(16, i.width - i.left - 2);
  for (const cell of CELLS) {
    const L = place(i, cell, floorPow2(w / cell), 1);
    if (L.rows * cell <= i.maxHeight) return L;
  }
  const cols = floorPow2(w);
  let per = 2;
  for (;;) {
    const L = place(i, 1, cols, per);
    if (L.rows <= i.maxHeight) return L;
    per *= 2;
  }
}

/** The bit (of the range) in cell (col, row), or null for an empty cell. */
export function bitAtCell(L: GridLayout, col: number, row: number): number | null {
  if (col < 0 || col >= L.cols || row < 0 || row >= L.rows) return null;
  const b = L.from + (row * L.cols + col - L.lead) * L.per;
  return b >= L.from && b < L.to ? b : null;
}

/** The cell index of a bit of the range (may be outside the grid). */
export const cellOfBit = (L: GridLayout, bit: number): number => L.lead + Math.floor((bit - L.from) / L.per);

/** The pfn at the start of row `r`. */
export const rowPfn = (L: GridLayout, r: number): number => L.firstRowPfn + r * L.cols * L.per * L.unit;

/** Bits of one pageblock shown as cells: > 0 only when a pageblock is a whole number of cells. */
export function pageblockCells(L: GridLayout): number {
  const bits = PAGEBLOCK_PAGES / L.unit;
  return bits >= L.per && bits % L.per === 0 ? bits / L.per : 0;
}
