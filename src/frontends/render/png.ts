// The bitmap as a PNG: title, one grid per range with its base pfn, the scale, a legend and the
// figures, drawn with pngjs and a 3×5 pixel font.

import { PNG } from 'pngjs';
import { drawText, textWidth } from './font.ts';
import type { AreaGrid } from './grid.ts';
import { cellColour, gridCaptions } from './grid.ts';

type Rgb = readonly [number, number, number];

/** Encodes the picture of a grid as PNG bytes. */
export function renderPng(g: AreaGrid, summary: { used: number; free: number; maxchunk: number }): Buffer {
  const cell = g.columns * 1 <= 128 && g.ranges.reduce((s, r) => s + r.rows, 0) <= 64 ? 8 : 4;
  const gap = cell >= 8 ? 1 : 0;
  const text = 2;
  const line = 7 * text;
  const margin = 12;
  const caps = gridCaptions(g, summary);
  const gridW = g.columns * cell;
  const legend = ['free', 'partly used', 'used', 'largest free run'];
  const width = Math.max(
    gridW + 2 * margin,
    ...[caps.title, caps.scale, caps.stats, caps.largest].map((t) => textWidth(t, text) + 2 * margin),
    legend.reduce((s, t) => s + textWidth(t, text) + 4 * line, 0) + 2 * margin,
  );
  const rangesH = g.ranges.reduce((s, r) => s + line + r.rows * cell + line, 0);
  const height = margin + 2 * line + rangesH + 5 * line + margin;
  const png = new PNG({ width, height });
  png.data.fill(255);
  const px = (x: number, y: number, c: Rgb) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 4;
    png.data[i] = c[0];
    png.data[i + 1] = c[1];
    png.data[i + 2] = c[2];
    png.data[i + 3] = 255;
  };
  const rect = (x: number, y: number, w: number, h: number, c: Rgb) => {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) px(xx, yy, c);
  };
  const ink: Rgb = [33, 33, 33];
  const write = (t: string, x: number, y: number) => drawText(t, x, y, text, (a, b) => px(a, b, ink));
  let y = margin;
  write(caps.title, margin, y);
  y += line;
  write(caps.scale, margin, y);
  y += line + line / 2;
  for (const r of g.ranges) {
    write(
      `${g.ranges.length > 1 ? `range ${r.index}: ` : ''}base_pfn 0x${r.basePfn.toString(16)}, ${r.bits} bits`,
      margin,
      y,
    );
    y += line;
    for (let row = 0; row < r.rows; row++)
      for (let col = 0; col < g.columns; col++) {
        const k = row * g.columns + col;
        const f = r.fill[k]!;
        if (Number.isNaN(f)) continue;
        rect(margin + col * cell, y + row * cell, cell - gap, cell - gap, cellColour(f, r.largest[k] === 1));
      }
    y += r.rows * cell + line / 2;
  }
  y += line / 2;
  let x = margin;
  const swatches: [string, Rgb][] = [
    ['free', cellColour(0, false)],
    ['partly used', cellColour(0.5, false)],
    ['used', cellColour(1, false)],
    ['largest free run', cellColour(0, true)],
  ];
  for (const [label, c] of swatches) {
    rect(x, y, line - 4, line - 4, c);
    write(label, x + line, y + 2);
    x += line + textWidth(label, text) + 2 * line;
  }
  y += line + line / 2;
  write(caps.stats, margin, y);
  y += line;
  write(caps.largest, margin, y);
  return PNG.sync.write(png);
}
