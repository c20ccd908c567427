// The bitmap as a PNG: title, one grid per range with the pfn of each row (lowercase hex), a
// pageblock grid, the scale, a legend and the figures; drawn on a canvas with the DejaVu fonts.

import { MONO, measure, SANS, whiteCanvas } from './canvas.ts';
import type { AreaGrid } from './grid.ts';
import { cellColour, gridCaptions, pagesText } from './grid.ts';

/** Pages in a pageblock (order 9 on x86-64 and arm64 with 4 KiB pages). */
const PAGEBLOCK = 512;

const rgb = (c: readonly [number, number, number]) => `rgb(${c[0]},${c[1]},${c[2]})`;

/** Encodes the picture of a grid as PNG bytes. */
export function renderPng(g: AreaGrid, summary: { used: number; free: number; maxchunk: number }): Buffer {
  const rows = g.ranges.reduce((s, r) => s + r.rows, 0);
  const cell = Math.max(6, Math.min(12, Math.floor(900 / g.columns)), rows <= 64 ? 8 : 6);
  const gap = 1;
  const font = `13px "${SANS}"`;
  const bold = `bold 15px "${SANS}"`;
  const mono = `12px "${MONO}"`;
  const margin = 14;
  const line = 20;
  const caps = gridCaptions(g, summary);
  const rowPages = g.pagesPerCell * g.columns;
  const lastPfn = Math.max(...g.ranges.map((r) => r.basePfn + r.bits * 2 ** g.orderPerBit));
  const labelW = measure(`0x${lastPfn.toString(16)}`, mono) + 10;
  const gridX = margin + labelW;
  const gridW = g.columns * cell;
  const blockCells = PAGEBLOCK / g.pagesPerCell;
  const gridNote =
    blockCells >= 2
      ? `wide white gaps: pageblock boundaries (${PAGEBLOCK} pages); row labels: first pfn of the row`
      : `each cell spans ${g.pagesPerCell / PAGEBLOCK} pageblock${g.pagesPerCell === PAGEBLOCK ? '' : 's'}; row labels: first pfn of the row`;
  const scale = `${caps.scale.replace(/\), 1 row = /, '); 1 row = ')}`;
  const legend: [string, [number, number, number]][] = [
    ['free', cellColour(0, false)],
    ['partly used', cellColour(0.5, false)],
    ['used', cellColour(1, false)],
    ['largest free run', cellColour(0, true)],
  ];
  const legendW = legend.reduce((s, [t]) => s + 22 + measure(t, font) + 18, 0);
  const width = Math.ceil(
    Math.max(
      gridX + gridW + margin,
      ...[caps.stats, caps.largest, scale, gridNote].map((t) => measure(t, font) + 2 * margin),
      measure(caps.title, bold) + 2 * margin,
      legendW + 2 * margin,
    ),
  );
  const rangesH = g.ranges.reduce((s, r) => s + line + r.rows * cell + 10, 0);
  const height = margin + 3 * line + rangesH + 4 * line + margin;
  const { canvas, ctx } = whiteCanvas(width, height);
  const text = (
    t: string,
    x: number,
    y: number,
    f = font,
    colour = '#222',
    align: CanvasTextAlign = 'left',
  ) => {
    ctx.font = f;
    ctx.fillStyle = colour;
    ctx.textAlign = align;
    ctx.fillText(t, x, y);
  };
  let y = margin + 14;
  text(caps.title, margin, y, bold);
  y += line;
  text(scale, margin, y);
  y += line;
  text(gridNote, margin, y, font, '#555');
  y += line;
  for (const r of g.ranges) {
    text(
      `${g.ranges.length > 1 ? `range ${r.index}: ` : ''}base_pfn 0x${r.basePfn.toString(16)}, ${r.bits} bits (${pagesText(r.bits * 2 ** g.orderPerBit)})`,
      margin,
      y + 4,
      font,
      '#222',
    );
    y += line - 6;
    const top = y;
    const labelEvery = Math.max(1, Math.ceil(16 / cell));
    for (let row = 0; row < r.rows; row++) {
      if (row % labelEvery === 0)
        text(
          `0x${(r.basePfn + row * rowPages).toString(16)}`,
          gridX - 6,
          top + row * cell + cell - 1,
          mono,
          '#444',
          'right',
        );
      for (let col = 0; col < g.columns; col++) {
        const k = row * g.columns + col;
        const f = r.fill[k]!;
        if (Number.isNaN(f)) continue;
        ctx.fillStyle = rgb(cellColour(f, r.largest[k] === 1));
        ctx.fillRect(gridX + col * cell, top + row * cell, cell - gap, cell - gap);
      }
    }
    // pageblock grid: vertical lines at pageblock-aligned pfns, horizontal ones between rows that start one
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    if (blockCells >= 2 && blockCells < g.columns) {
      for (let col = 0; col <= g.columns; col++) {
        const pfn = r.basePfn + col * g.pagesPerCell;
        if (pfn % PAGEBLOCK !== 0) continue;
        const x = gridX + col * cell - 0.5;
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + r.rows * cell);
      }
    }
    for (let row = 0; row <= r.rows; row++) {
      const pfn = r.basePfn + row * rowPages;
      if (pfn % Math.max(PAGEBLOCK, rowPages) !== 0 && row !== 0 && row !== r.rows) continue;
      const yy = top + row * cell - 0.5;
      ctx.moveTo(gridX, yy);
      ctx.lineTo(gridX + gridW, yy);
    }
    ctx.stroke();
    y = top + r.rows * cell + 10;
  }
  y += 6;
  let x = margin;
  for (const [label, c] of legend) {
    ctx.fillStyle = rgb(c);
    ctx.fillRect(x, y, 16, 16);
    ctx.strokeStyle = '#666';
    ctx.strokeRect(x + 0.5, y + 0.5, 15, 15);
    text(label, x + 22, y + 13);
    x += 22 + measure(label, font) + 18;
  }
  y += line + 14;
  text(caps.stats, margin, y);
  y += line;
  text(caps.largest, margin, y);
  return canvas.toBuffer('image/png');
}
