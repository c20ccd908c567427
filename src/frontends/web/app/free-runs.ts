// The free runs panel: a histogram of free runs by size and the list of the largest; clicking
// a run shows it on the bitmap.

import type { AnalysisView, FreeRunView } from './api.ts';
import { el, fmt, hex, sizeLabel } from './dom.ts';

export class FreeRunsPanel {
  readonly root: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly head: HTMLElement;
  private readonly list: HTMLOListElement;

  constructor(private readonly onPick: (run: FreeRunView) => void) {
    this.canvas = el('canvas', { class: 'hist', width: '320', height: '120' });
    this.head = el('div', { class: 'runs-head muted', style: 'font-size:12px' });
    this.list = el('ol', { class: 'runs' });
    this.root = el('div', { class: 'box' }, [
      el('h3', { text: 'free runs by size (pages)' }),
      this.canvas,
      this.head,
      this.list,
    ]);
  }

  show(a: AnalysisView): void {
    this.drawHistogram(a);
    this.list.replaceChildren(
      ...a.largest.map((r) => {
        const li = el('li', {
          text: `${fmt(r.pages)} pages at pfn ${hex(r.pfn)} (range ${r.range}, bit ${fmt(r.bit)})`,
        });
        li.addEventListener('click', () => this.onPick(r));
        return li;
      }),
    );
    this.head.textContent = `${fmt(a.freeRuns)} free run${a.freeRuns === 1 ? '' : 's'}; largest:`;
  }

  private drawHistogram(a: AnalysisView): void {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(100, c.clientWidth);
    const h = Math.max(60, c.clientHeight);
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const bins = a.histogram;
    ctx.font = '10px system-ui, sans-serif';
    ctx.fillStyle = '#5d6b7a';
    if (bins.length === 0) {
      ctx.fillText('no free pages', 8, h / 2);
      return;
    }
    const max = Math.max(1, ...bins.map((b) => b.runs));
    const bw = (w - 10) / bins.length;
    bins.forEach((b, i) => {
      const bh = b.runs === 0 ? 0 : Math.max(2, ((h - 30) * b.runs) / max);
      const x = 5 + i * bw;
      ctx.fillStyle = '#7fb89a';
      ctx.fillRect(x + 1, h - 16 - bh, Math.max(1, bw - 2), bh);
      ctx.fillStyle = '#1d2733';
      if (b.runs > 0) ctx.fillText(String(b.runs), x + 2, h - 19 - bh);
      ctx.fillStyle = '#5d6b7a';
      if (i % Math.ceil(30 / bw) === 0) ctx.fillText(sizeLabel(b.minPages), x + 1, h - 4);
    });
  }
}
