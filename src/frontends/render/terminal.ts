// The bitmap in a terminal: one character per cell (· free, ░▒▓ partly used, █ used, ~ the
// largest free run), coloured when the output is a terminal.

import type { AreaGrid } from './grid.ts';
import { cellColour, gridCaptions } from './grid.ts';

function glyph(f: number, largest: boolean): string {
  if (Number.isNaN(f)) return ' ';
  if (largest) return '~';
  if (f === 0) return '·';
  if (f === 1) return '█';
  return f < 1 / 3 ? '░' : f < 2 / 3 ? '▒' : '▓';
}

/** The terminal picture of a grid (ANSI 24-bit colour when `colour`). */
export function renderTerminal(
  g: AreaGrid,
  summary: { used: number; free: number; maxchunk: number },
  colour: boolean,
): string {
  const caps = gridCaptions(g, summary);
  const lines = [caps.title, caps.scale];
  const rowPages = g.pagesPerCell * g.columns;
  for (const r of g.ranges) {
    lines.push(`${g.ranges.length > 1 ? `range ${r.index}: ` : ''}base_pfn 0x${r.basePfn.toString(16)}`);
    for (let row = 0; row < r.rows; row++) {
      let s = '';
      for (let col = 0; col < g.columns; col++) {
        const k = row * g.columns + col;
        const f = r.fill[k]!;
        const ch = glyph(f, r.largest[k] === 1);
        if (colour && !Number.isNaN(f)) {
          const [cr, cg, cb] = cellColour(f, r.largest[k] === 1);
          s += `\x1b[38;2;${cr};${cg};${cb}m${ch}`;
        } else s += ch;
      }
      const pfn = r.basePfn + row * rowPages;
      lines.push(`${`0x${pfn.toString(16)}`.padStart(11)} ${s}${colour ? '\x1b[0m' : ''}`);
    }
  }
  lines.push('legend: · free  ░▒▓ partly used  █ used  ~ largest free run');
  lines.push(caps.stats);
  lines.push(caps.largest);
  return `${lines.join('\n')}\n`;
}
