// Drawing `used` and `maxchunk` over a replay, one panel per area: a title, a legend, the area's
// name above its panel, a page axis, a time axis (seconds of trace time; event numbers when the
// trace has no timestamps) and red ticks for failed allocations. One layout (plot()), drawn as
// SVG text or as a PNG (canvas with real fonts).

import type { ReplayResult } from '../../sources/trace/replay.ts';
import { SANS, whiteCanvas } from './canvas.ts';

const W = 960;
const PANEL_H = 220;
const PAD_L = 78;
const PAD_R = 24;
const HEAD = 84;
const PANEL_GAP = 64;
const USED = '#1f5fa8';
const MAXCHUNK = '#e07000';
const FAIL = '#d00000';

interface Panel {
  name: string;
  top: number;
  label: string;
  yTicks: { y: number; text: string }[];
  used: [number, number][];
  maxchunk: [number, number][];
  fails: number[];
}

interface Plot {
  width: number;
  height: number;
  title: string;
  xLabel: string;
  xTicks: { x: number; text: string }[];
  panels: Panel[];
  left: number;
  right: number;
}

/** Round tick step for a span (1, 2, 5 × 10^k). */
function step(span: number, n: number): number {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p;
  return 10 * p;
}

function pagesText(v: number): string {
  const mib = (v * 4096) / 2 ** 20;
  if (mib >= 1024) return `${+(mib / 1024).toFixed(2)} GiB`;
  if (mib >= 1) return `${+mib.toFixed(1)} MiB`;
  return v === 0 ? '0' : `${v} pages`;
}

/** The chart's geometry, shared by the SVG and the PNG. */
export function plot(r: ReplayResult, title: string): Plot {
  const tl = r.timeline ?? [];
  const timed = tl.length > 1 && tl.every((s) => Number.isFinite(s.ts));
  const t0 = timed ? tl[0]!.ts : 0;
  const xval = (i: number) => (timed ? (tl[i]!.ts - t0) / 1e6 : tl[i]!.event);
  const xmax = tl.length > 0 ? Math.max(xval(tl.length - 1), timed ? 1e-6 : 1) : 1;
  const left = PAD_L;
  const right = W - PAD_R;
  const X = (v: number) => left + (v / xmax) * (right - left);
  const st = step(xmax, 8);
  const xTicks: Plot['xTicks'] = [];
  for (let v = 0; v <= xmax * 1.0001; v += st)
    xTicks.push({ x: X(v), text: timed ? `${+v.toFixed(6)} s` : String(Math.round(v)) });
  // failures are numbered by event: place them at the time of the nearest sample
  const evX = (e: number): number => {
    if (tl.length === 0) return left;
    let lo = 0;
    let hi = tl.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tl[mid]!.event < e) lo = mid + 1;
      else hi = mid;
    }
    return X(xval(lo));
  };
  const panels = r.areas.map((a, k): Panel => {
    const top = HEAD + k * (PANEL_H + PANEL_GAP);
    const Y = (v: number) => top + PANEL_H - (v / Math.max(1, a.count)) * PANEL_H;
    const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const v = Math.round(a.count * f);
      return { y: Y(v), text: pagesText(v) };
    });
    return {
      name: a.name,
      top,
      label: `${a.name}: ${a.count} pages (${pagesText(a.count)}), order_per_bit ${a.orderPerBit}; ${a.allocsFailed} failed allocations`,
      yTicks,
      used: tl.map((s, i) => [X(xval(i)), Y(s.used[k] ?? 0)]),
      maxchunk: tl.map((s, i) => [X(xval(i)), Y(s.maxchunk[k] ?? 0)]),
      // per area at their trace time; without timestamps every failure (event numbers)
      fails: timed
        ? r.failures
            .filter((f) => f.area === a.name && Number.isFinite(f.ts))
            .map((f) => X((f.ts - t0) / 1e6))
        : r.failureEvents.map(evX),
    };
  });
  return {
    width: W,
    height: HEAD + panels.length * (PANEL_H + PANEL_GAP) + 8,
    title,
    xLabel: timed ? 'trace time since the first cma event' : 'cma event number (the trace has no timestamps)',
    xTicks,
    panels,
    left,
    right,
  };
}

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

/** An SVG chart: one panel per area, used and maxchunk in pages over trace time. */
export function timelineSvg(r: ReplayResult, title = 'cma replay'): string {
  const p = plot(r, title);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${p.width}" height="${p.height}" viewBox="0 0 ${p.width} ${p.height}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="${p.width}" height="${p.height}" fill="white"/>`,
    `<text x="${p.left}" y="20" font-size="15" font-weight="bold">${esc(p.title)}</text>`,
    `<line x1="${p.left}" x2="${p.left + 22}" y1="46" y2="46" stroke="${USED}" stroke-width="2"/><text x="${p.left + 28}" y="50">used</text>`,
    `<line x1="${p.left + 80}" x2="${p.left + 102}" y1="46" y2="46" stroke="${MAXCHUNK}" stroke-width="2"/><text x="${p.left + 108}" y="50">maxchunk (largest free run)</text>`,
    `<line x1="${p.left + 300}" x2="${p.left + 300}" y1="40" y2="52" stroke="${FAIL}" stroke-width="1.5"/><text x="${p.left + 306}" y="50">failed allocation</text>`,
  ];
  for (const s of p.panels) {
    const bottom = s.top + PANEL_H;
    out.push(`<text x="${p.left}" y="${s.top - 8}" font-weight="bold">${esc(s.label)}</text>`);
    out.push(
      `<rect x="${p.left}" y="${s.top}" width="${p.right - p.left}" height="${PANEL_H}" fill="none" stroke="#888"/>`,
    );
    for (const t of s.yTicks)
      out.push(
        `<line x1="${p.left}" x2="${p.right}" y1="${t.y}" y2="${t.y}" stroke="#eee"/><text x="${p.left - 6}" y="${t.y + 4}" text-anchor="end">${esc(t.text)}</text>`,
      );
    for (const t of p.xTicks)
      out.push(
        `<line x1="${t.x.toFixed(1)}" x2="${t.x.toFixed(1)}" y1="${bottom}" y2="${bottom + 4}" stroke="#888"/><text x="${t.x.toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${esc(t.text)}</text>`,
      );
    out.push(`<text x="${p.right}" y="${bottom + 32}" text-anchor="end" fill="#555">${esc(p.xLabel)}</text>`);
    for (const x of s.fails)
      out.push(
        `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${bottom - 8}" y2="${bottom}" stroke="${FAIL}"/>`,
      );
    const line = (pts: [number, number][], color: string) =>
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`;
    out.push(line(s.used, USED), line(s.maxchunk, MAXCHUNK));
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The same chart as PNG bytes, with real text. */
export function timelinePng(r: ReplayResult, title = 'cma replay'): Buffer {
  const p = plot(r, title);
  const { canvas, ctx } = whiteCanvas(p.width, p.height);
  const text = (
    t: string,
    x: number,
    y: number,
    opts: { bold?: boolean; align?: CanvasTextAlign; color?: string; size?: number } = {},
  ) => {
    ctx.font = `${opts.bold ? 'bold ' : ''}${opts.size ?? 12}px "${SANS}"`;
    ctx.textAlign = opts.align ?? 'left';
    ctx.fillStyle = opts.color ?? '#222';
    ctx.fillText(t, x, y);
  };
  const seg = (x0: number, y0: number, x1: number, y1: number, color: string, w = 1) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = w;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  };
  text(p.title, p.left, 20, { bold: true, size: 15 });
  seg(p.left, 46, p.left + 22, 46, USED, 2);
  text('used', p.left + 28, 50);
  seg(p.left + 80, 46, p.left + 102, 46, MAXCHUNK, 2);
  text('maxchunk (largest free run)', p.left + 108, 50);
  seg(p.left + 300, 40, p.left + 300, 52, FAIL, 1.5);
  text('failed allocation', p.left + 306, 50);
  for (const s of p.panels) {
    const bottom = s.top + PANEL_H;
    text(s.label, p.left, s.top - 8, { bold: true });
    for (const t of s.yTicks) {
      seg(p.left, t.y, p.right, t.y, '#e8e8e8');
      text(t.text, p.left - 6, t.y + 4, { align: 'right' });
    }
    ctx.strokeStyle = '#888';
    ctx.lineWidth = 1;
    ctx.strokeRect(p.left + 0.5, s.top + 0.5, p.right - p.left, PANEL_H);
    for (const t of p.xTicks) {
      seg(t.x, bottom, t.x, bottom + 4, '#888');
      text(t.text, t.x, bottom + 16, { align: 'center' });
    }
    text(p.xLabel, p.right, bottom + 32, { align: 'right', color: '#555' });
    for (const x of s.fails) seg(x, bottom - 8, x, bottom, FAIL);
    for (const [pts, color] of [
      [s.used, USED],
      [s.maxchunk, MAXCHUNK],
    ] as const) {
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      pts.forEach(([x, y], i) => {
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  }
  return canvas.toBuffer('image/png');
}
