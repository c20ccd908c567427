// The bitmap as SVG: the same picture as the PNG, cells merged into runs of equal colour per row.

import type { AreaGrid } from './grid.ts';
import { cellColour, gridCaptions } from './grid.ts';

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The SVG document of a grid. */
export function renderSvg(g: AreaGrid, summary: { used: number; free: number; maxchunk: number }): string {
  const cell = g.columns <= 128 ? 8 : 4;
  const margin = 12;
  const line = 18;
  const caps = gridCaptions(g, summary);
  const out: string[] = [];
  let y = margin + line;
  const text = (t: string, x: number, yy: number) =>
    out.push(`<text x="${x}" y="${yy}" font-family="monospace" font-size="13">${esc(t)}</text>`);
  text(caps.title, margin, y);
  y += line;
  text(caps.scale, margin, y);
  y += line / 2;
  for (const r of g.ranges) {
    y += line;
    text(
      `${g.ranges.length > 1 ? `range ${r.index}: ` : ''}base_pfn 0x${r.basePfn.toString(16)}, ${r.bits} bits`,
      margin,
      y,
    );
    y += 6;
    for (let row = 0; row < r.rows; row++) {
      let col = 0;
      while (col < g.columns) {
        const k = row * g.columns + col;
        const f = r.fill[k]!;
        const colour = cellColour(f, r.largest[k] === 1).join(',');
        let end = col + 1;
        while (end < g.columns) {
          const k2 = row * g.columns + end;
          if (cellColour(r.fill[k2]!, r.largest[k2] === 1).join(',') !== colour) break;
          end++;
        }
        if (!Number.isNaN(f))
          out.push(
            `<rect x="${margin + col * cell}" y="${y + row * cell}" width="${(end - col) * cell}" height="${cell}" fill="rgb(${colour})"/>`,
          );
        col = end;
      }
    }
    y += r.rows * cell;
  }
  y += line + 4;
  let x = margin;
  for (const [label, f, big] of [
    ['free', 0, false],
    ['partly used', 0.5, false],
    ['used', 1, false],
    ['largest free run', 0, true],
  ] as const) {
    out.push(
      `<rect x="${x}" y="${y - 11}" width="12" height="12" fill="rgb(${cellColour(f, big).join(',')})"/>`,
    );
    text(label, x + 16, y);
    x += 16 + label.length * 8 + 16;
  }
  y += line;
  text(caps.stats, margin, y);
  y += line;
  text(caps.largest, margin, y);
  const width = Math.max(2 * margin + g.columns * cell, x + margin, 2 * margin + caps.title.length * 8);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + margin}" viewBox="0 0 ${width} ${y + margin}">\n<rect width="100%" height="100%" fill="white"/>\n${out.join('\n')}\n</svg>\n`;
}
