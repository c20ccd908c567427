// Drawing `used` and `maxchunk` over a replay: SVG text, or PNG bytes (pngjs).

import { PNG } from 'pngjs';
import type { ReplayResult } from '../../sources/trace/replay.ts';

const W = 960;
const H_AREA = 260;
const PAD_L = 70;
const PAD_R = 20;
const PAD_T = 30;
const PAD_B = 40;

interface Series {
  name: string;
  count: number;
  xs: number[];
  used: number[];
  maxchunk: number[];
}

function series(r: ReplayResult): Series[] {
  const tl = r.timeline ?? [];
  return r.areas.map((a, i) => ({
    name: a.name,
    count: a.count,
    xs: tl.map((s) => s.event),
    used: tl.map((s) => s.used[i] ?? 0),
    maxchunk: tl.map((s) => s.maxchunk[i] ?? 0),
  }));
}

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

/** An SVG chart: one panel per area, used (blue) and maxchunk (orange) in pages over events. */
export function timelineSvg(r: ReplayResult, title = 'cma replay'): string {
  const all = series(r);
  const lastEvent = Math.max(1, r.events);
  const h = PAD_T + all.length * (H_AREA + PAD_B) + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${h}" fill="white"/>`,
    `<text x="${PAD_L}" y="18" font-size="14">${esc(title)}: used (blue) and maxchunk (orange), pages; red ticks: failed allocations</text>`,
  ];
  all.forEach((s, k) => {
    const top = PAD_T + k * (H_AREA + PAD_B);
    const pw = W - PAD_L - PAD_R;
    const x = (e: number) => PAD_L + (e / lastEvent) * pw;
    const y = (v: number) => top + H_AREA - (v / Math.max(1, s.count)) * H_AREA;
    out.push(`<rect x="${PAD_L}" y="${top}" width="${pw}" height="${H_AREA}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${PAD_L + 4}" y="${top + 14}">${esc(s.name)} (${s.count} pages)</text>`);
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const v = Math.round(s.count * f);
      out.push(
        `<text x="${PAD_L - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text><line x1="${PAD_L}" x2="${PAD_L + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
      );
    }
    out.push(
      `<text x="${PAD_L}" y="${top + H_AREA + 16}">event 0</text><text x="${PAD_L + pw}" y="${top + H_AREA + 16}" text-anchor="end">event ${r.events}</text>`,
    );
    for (const e of r.failureEvents)
      out.push(
        `<line x1="${x(e).toFixed(1)}" x2="${x(e).toFixed(1)}" y1="${top + H_AREA - 6}" y2="${top + H_AREA}" stroke="red"/>`,
      );
    const line = (vals: number[], color: string) =>
      `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${vals.map((v, i) => `${x(s.xs[i]!).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`;
    out.push(line(s.used, '#1f77b4'), line(s.maxchunk, '#ff7f0e'));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The same chart as PNG bytes (lines only, no text). */
export function timelinePng(r: ReplayResult): Buffer {
  const all = series(r);
  const h = PAD_T + all.length * (H_AREA + PAD_B) + 10;
  const png = new PNG({ width: W, height: h });
  png.data.fill(255);
  const put = (x: number, y: number, rgb: [number, number, number]) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= h) return;
    const o = (yi * W + xi) * 4;
    png.data[o] = rgb[0];
    png.data[o + 1] = rgb[1];
    png.data[o + 2] = rgb[2];
    png.data[o + 3] = 255;
  };
  const seg = (x0: number, y0: number, x1: number, y1: number, rgb: [number, number, number]) => {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) put(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, rgb);
  };
  const lastEvent = Math.max(1, r.events);
  all.forEach((s, k) => {
    const top = PAD_T + k * (H_AREA + PAD_B);
    const pw = W - PAD_L - PAD_R;
    const x = (e: number) => PAD_L + (e / lastEvent) * pw;
    const y = (v: number) => top + H_AREA - (v / Math.max(1, s.count)) * H_AREA;
    const grey: [number, number, number] = [150, 150, 150];
    seg(PAD_L, top, PAD_L + pw, top, grey);
    seg(PAD_L, top + H_AREA, PAD_L + pw, top + H_AREA, grey);
    seg(PAD_L, top, PAD_L, top + H_AREA, grey);
    seg(PAD_L + pw, top, PAD_L + pw, top + H_AREA, grey);
    for (const e of r.failureEvents) seg(x(e), top + H_AREA - 6, x(e), top + H_AREA, [220, 0, 0]);
    for (const [vals, rgb] of [
      [s.used, [31, 119, 180]],
      [s.maxchunk, [255, 127, 14]],
    ] as const) {
      for (let i = 1; i < vals.length; i++)
        seg(
          x(s.xs[i - 1]!),
          y(vals[i - 1]!),
          x(s.xs[i]!),
          y(vals[i]!),
          rgb as unknown as [number, number, number],
        );
    }
  });
  return PNG.sync.write(png);
}
