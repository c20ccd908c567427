// Draws one range's bitmap on a canvas from a GridLayout: the cells (fill per bucket), cell
// borders, the pageblock grid, busy pages, debugfs record boundaries, the explain mark and the
// axes (pfn of each row at the left, page offset of the columns on top).

import type { BusyView, RecordView } from './api.ts';
import { drawBusy } from './busy-pages.ts';
import type { Rgb } from './colours.ts';
import { bucketColour, GRID, MARK, MARK_SOLID, OUTSIDE, RECORD_A, RECORD_B, RECORD_EDGE } from './colours.ts';
import { hex } from './dom.ts';
import type { GridLayout } from './layout.ts';
import { cellOfBit, PAGEBLOCK_PAGES, pageblockCells, rowPfn } from './layout.ts';

/** What is drawn over the cells. */
export interface Overlays {
  readonly records: readonly RecordView[];
  readonly busy: readonly BusyView[];
  /** The explain answer: bits [bit, bit + bits) of this range. */
  readonly mark: { readonly bit: number; readonly bits: number } | null;
}

/** The labels drawn on the axes (kept on the canvas's dataset for tests and tools). */
export interface AxisLabels {
  rows: { row: number; text: string }[];
  cols: { col: number; text: string }[];
}

export const AXIS_FONT = '11px ui-monospace, SFMono-Regular, Menlo, monospace';

/** The CSS pixel rectangle of cell i. */
const cellXY = (L: GridLayout, i: number) => ({
  x: L.left + (i % L.cols) * L.cell,
  y: L.top + Math.floor(i / L.cols) * L.cell,
});

/** Bits of each debugfs record inside the shown bits, in pfn order. */
function recordBits(L: GridLayout, records: readonly RecordView[]): { first: number; last: number }[] {
  return [...records]
    .sort((a, b) => a.pfn - b.pfn)
    .map((r) => ({
      first: Math.floor((r.pfn - L.basePfn) / L.unit),
      last: Math.floor((r.pfn + r.count - 1 - L.basePfn) / L.unit),
    }))
    .filter((r) => r.last >= L.from && r.first < L.to);
}

export function drawBitmap(
  ctx: CanvasRenderingContext2D,
  width: number,
  height: number,
  L: GridLayout,
  buckets: Uint8Array,
  o: Overlays,
): AxisLabels {
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const recs = recordBits(L, o.records);
  drawCells(ctx, L, buckets, recs);
  drawGrid(ctx, L);
  if (o.busy.length > 0) drawBusy(ctx, o.busy, L);
  if (L.per === 1 || L.cell > 1) drawRecordEdges(ctx, L, recs);
  if (o.mark) drawMark(ctx, L, o.mark);
  return drawAxes(ctx, L);
}

function drawCells(
  ctx: CanvasRenderingContext2D,
  L: GridLayout,
  buckets: Uint8Array,
  recs: { first: number; last: number }[],
): void {
  const img = new ImageData(L.cols, L.rows);
  const put = (i: number, c: Rgb) => {
    img.data[i * 4] = c[0];
    img.data[i * 4 + 1] = c[1];
    img.data[i * 4 + 2] = c[2];
    img.data[i * 4 + 3] = 255;
  };
  for (let i = 0; i < L.cols * L.rows; i++) {
    const b = i - L.lead;
    put(i, b >= 0 && b < buckets.length ? bucketColour(buckets[b]!) : OUTSIDE);
  }
  // pages of debugfs records in two alternating blues: two neighbouring allocations stay two
  if (L.per === 1)
    recs.forEach((r, k) => {
      const colour = k % 2 === 0 ? RECORD_A : RECORD_B;
      for (let bit = Math.max(r.first, L.from); bit <= Math.min(r.last, L.to - 1); bit++) {
        if (buckets[bit - L.from] === 255) put(cellOfBit(L, bit), colour);
      }
    });
  const off = document.createElement('canvas');
  off.width = img.width;
  off.height = img.height;
  off.getContext('2d')?.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, L.left, L.top, L.cols * L.cell, L.rows * L.cell);
}

/** White borders between cells (when cells are large enough), darker lines at pageblock boundaries. */
function drawGrid(ctx: CanvasRenderingContext2D, L: GridLayout): void {
  const W = L.cols * L.cell;
  const H = L.rows * L.cell;
  const line = (x0: number, y0: number, x1: number, y1: number) => {
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
  };
  if (L.cell >= 4) {
    ctx.strokeStyle = 'rgba(255,255,255,0.85)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = 0; x <= L.cols; x++)
      line(L.left + x * L.cell + 0.5, L.top, L.left + x * L.cell + 0.5, L.top + H);
    for (let y = 0; y <= L.rows; y++)
      line(L.left, L.top + y * L.cell + 0.5, L.left + W, L.top + y * L.cell + 0.5);
    ctx.stroke();
  }
  const pb = pageblockCells(L);
  if (pb === 0 || L.cell < 2) return; // a pageblock smaller than a cell, or pixels: no grid
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 2;
  ctx.beginPath();
  if (pb < L.cols) {
    if (pb * L.cell >= 4)
      for (let x = 0; x <= L.cols; x += pb) line(L.left + x * L.cell, L.top, L.left + x * L.cell, L.top + H);
  } else {
    for (let r = 0; r <= L.rows; r++)
      if (rowPfn(L, r) % PAGEBLOCK_PAGES === 0)
        line(L.left, L.top + r * L.cell, L.left + W, L.top + r * L.cell);
  }
  ctx.stroke();
}

/** A bar at the start and at the end of each debugfs record. */
function drawRecordEdges(
  ctx: CanvasRenderingContext2D,
  L: GridLayout,
  recs: { first: number; last: number }[],
) {
  ctx.fillStyle = RECORD_EDGE;
  const bar = Math.max(1, Math.min(3, Math.floor(L.cell / 3)));
  for (const r of recs) {
    if (r.first >= L.from) {
      const p = cellXY(L, cellOfBit(L, r.first));
      ctx.fillRect(p.x, p.y, bar, L.cell);
    }
    if (r.last < L.to) {
      const p = cellXY(L, cellOfBit(L, r.last));
      ctx.fillRect(p.x + L.cell - bar, p.y, bar, L.cell);
    }
  }
}

/** The explain answer in magenta; a ring around it when it is too small to see (a 64 GiB area). */
function drawMark(ctx: CanvasRenderingContext2D, L: GridLayout, m: { bit: number; bits: number }): void {
  const first = Math.max(m.bit, L.from);
  const last = Math.min(m.bit + m.bits - 1, L.to - 1);
  if (last < first) return;
  const c0 = cellOfBit(L, first);
  const c1 = cellOfBit(L, last);
  ctx.fillStyle = MARK;
  for (let i = c0; i <= c1; i++) {
    const p = cellXY(L, i);
    ctx.fillRect(p.x, p.y, L.cell, L.cell);
  }
  if ((c1 - c0 + 1) * L.cell * L.cell < 64) {
    const p = cellXY(L, c0);
    for (const [colour, w] of [
      ['#fff', 5],
      [MARK_SOLID, 2.5],
    ] as const) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = w;
      ctx.beginPath();
      ctx.arc(p.x + L.cell / 2, p.y + L.cell / 2, 10, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
}

const pow2AtLeast = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Row pfns at the left (lowercase hex), page offsets of the columns on top. */
function drawAxes(ctx: CanvasRenderingContext2D, L: GridLayout): AxisLabels {
  const out: AxisLabels = { rows: [], cols: [] };
  ctx.font = AXIS_FONT;
  ctx.fillStyle = '#3b4756';
  ctx.strokeStyle = '#8a96a3';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const rowStep = pow2AtLeast(14 / L.cell);
  ctx.beginPath();
  for (let r = 0; r < L.rows; r += rowStep) {
    const text = hex(rowPfn(L, r));
    const y = L.top + r * L.cell;
    ctx.fillText(text, L.left - 6, L.cell >= 7 ? y + L.cell / 2 : y + 1);
    ctx.moveTo(L.left - 4, y + 0.5);
    ctx.lineTo(L.left, y + 0.5);
    out.rows.push({ row: r, text });
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  const colStep = pow2AtLeast(64 / L.cell);
  for (let c = 0; c < L.cols; c += colStep) {
    const text = `+${hex(c * L.per * L.unit)}`;
    const x = L.left + c * L.cell;
    ctx.fillText(text, x + 2, L.top - 5);
    ctx.moveTo(x + 0.5, L.top - 4);
    ctx.lineTo(x + 0.5, L.top);
    out.cols.push({ col: c, text });
  }
  ctx.stroke();
  ctx.textAlign = 'right';
  ctx.fillText('pfn', L.left - 6, L.top - 5);
  return out;
}
