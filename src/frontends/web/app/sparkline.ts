// The used / maxchunk history of an area since the page opened, as a small line chart.

import { el } from './dom.ts';

const MAX_POINTS = 300;

export class Sparkline {
  readonly root: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly points: { used: number; maxchunk: number }[] = [];

  constructor() {
    this.canvas = el('canvas', { class: 'spark', width: '260', height: '46' });
    this.root = el('div', {}, [
      this.canvas,
      el('div', { class: 'muted', style: 'font-size:11px' }, [
        el('span', { style: 'color:#d1495b', text: '■ used ' }),
        el('span', { style: 'color:#2a7d4f', text: '■ maxchunk' }),
        ' (since the page opened)',
      ]),
    ]);
  }

  /** Adds a point (pages) and redraws against the area's size `count`. */
  push(used: number, maxchunk: number, count: number): void {
    this.points.push({ used, maxchunk });
    if (this.points.length > MAX_POINTS) this.points.shift();
    const c = this.canvas;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const w = c.width;
    const h = c.height;
    ctx.clearRect(0, 0, w, h);
    const pts = this.points;
    const max = Math.max(1, count);
    const y = (v: number) => h - 3 - (v / max) * (h - 6);
    const line = (key: 'used' | 'maxchunk', colour: string) => {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      pts.forEach((p, i) => {
        const x = pts.length === 1 ? w - 2 : 2 + (i * (w - 4)) / (pts.length - 1);
        if (i === 0) ctx.moveTo(x, y(p[key]));
        else ctx.lineTo(x, y(p[key]));
      });
      if (pts.length === 1) ctx.lineTo(2, y(pts[0]?.[key] ?? 0));
      ctx.stroke();
    };
    line('used', '#d1495b');
    line('maxchunk', '#2a7d4f');
  }
}
