// One area's bitmap as a component: the range selector and zoom buttons, the canvas (wheel to
// zoom, drag to pan), the legend and the hover line. It fetches the fill of the visible bits at
// the canvas's resolution and leaves the drawing to bitmap-draw.ts.

import type { AreaView, RecordView } from './api.ts';
import { api } from './api.ts';
import type { AxisLabels } from './bitmap-draw.ts';
import { AXIS_FONT, drawBitmap } from './bitmap-draw.ts';
import { BUSY_COLOUR, busyHover } from './busy-pages.ts';
import { css, FREE, FULL, HIGH, LOW, MARK_SOLID, OUTSIDE, RECORD_A, RECORD_B } from './colours.ts';
import { el, fmt, hex } from './dom.ts';
import type { GridLayout } from './layout.ts';
import { bitAtCell, gridLayout, PAGEBLOCK_PAGES } from './layout.ts';

/** The tallest the cells may get (CSS px); larger ranges get smaller cells or pixels. */
const MAX_HEIGHT = 360;
const AXIS_TOP = 18;

/** Bits [bit, bit + bits) of range `range`: the explain answer. */
export interface Mark {
  readonly range: number;
  readonly bit: number;
  readonly bits: number;
}

export class BitmapView {
  readonly root: HTMLElement;
  private area: AreaView;
  private records: readonly RecordView[] = [];
  private mark: Mark | null = null;
  private range = 0;
  private from = 0;
  private to: number;
  private layout: GridLayout | null = null;
  private buckets: Uint8Array = new Uint8Array(0);
  private drawQueued = false;
  private drawCount = 0;
  private fetchSeq = 0;
  private lastWidth = 0;
  /** Where the pointer is over the canvas (client px), so the hover line follows zoom and changes. */
  private pointer: { x: number; y: number } | null = null;
  private readonly canvas: HTMLCanvasElement;
  private readonly rangeSel: HTMLSelectElement;
  private readonly hover: HTMLElement;
  private readonly info: HTMLElement;

  constructor(area: AreaView) {
    this.area = area;
    this.to = area.ranges[0]?.bits ?? 0;
    this.rangeSel = el('select', { class: 'range-select', 'aria-label': 'range' });
    for (const r of area.ranges)
      this.rangeSel.append(
        el('option', { value: String(r.index), text: `range ${r.index} @ pfn ${hex(r.basePfn)}` }),
      );
    if (area.ranges.length < 2) this.rangeSel.style.display = 'none';
    this.canvas = el('canvas', { class: 'bitmap', 'data-testid': 'bitmap' });
    this.hover = el('div', { class: 'hover' });
    this.info = el('span', { class: 'viewinfo' });
    const zoomIn = el('button', { class: 'zoom-in', title: 'zoom in', text: '+' });
    const zoomOut = el('button', { class: 'zoom-out', title: 'zoom out', text: '−' });
    const reset = el('button', { class: 'zoom-reset', title: 'whole range', text: 'all' });
    const swatch = (colour: string, text: string, cls = '') =>
      el('span', cls ? { class: cls } : {}, [el('i', { style: `background:${colour}` }), text]);
    this.root = el('div', { class: 'bitmap-view' }, [
      el('div', { class: 'bitmap-bar' }, [this.rangeSel, zoomIn, zoomOut, reset, this.info]),
      this.canvas,
      el('div', { class: 'legend' }, [
        swatch(css(FREE), 'free'),
        swatch(css(FULL), 'used'),
        el('span', { class: 'legend-record' }, [
          el('i', { style: `background:${css(RECORD_A)}` }),
          el('i', { style: `background:${css(RECORD_B)}` }),
          'debugfs records (alternating; a dark bar at each end)',
        ]),
        swatch(css(LOW), 'pixel partly used'),
        swatch(css(HIGH), 'pixel mostly used'),
        swatch(css(OUTSIDE), 'outside the range'),
        swatch(MARK_SOLID, 'explain: where it would go'),
        swatch(BUSY_COLOUR, 'busy (pinned/held: hover for the owner)'),
        el('span', { class: 'muted', text: `dark lines: pageblocks (${PAGEBLOCK_PAGES} pages)` }),
        el('span', { class: 'muted', text: 'wheel: zoom · drag: pan' }),
      ]),
      this.hover,
    ]);
    this.rangeSel.addEventListener('change', () => {
      this.range = Number(this.rangeSel.value);
      this.resetView();
    });
    zoomIn.addEventListener('click', () => this.zoom(0.5, 0.5));
    zoomOut.addEventListener('click', () => this.zoom(2, 0.5));
    reset.addEventListener('click', () => this.resetView());
    this.installPointer();
    new ResizeObserver(() => {
      // only a new width changes the layout (the height follows the layout)
      if (this.canvas.clientWidth !== this.lastWidth) void this.refetch();
    }).observe(this.canvas);
  }

  /** New numbers, records or busy pages of the area: redraw from fresh buckets. */
  update(area: AreaView, records: readonly RecordView[]): Promise<void> {
    this.area = area;
    this.records = records;
    return this.refetch();
  }

  /** Highlights the explain answer (switching to its range), or clears it. */
  setMark(m: Mark | null): void {
    this.mark = m;
    if (m && m.range !== this.range) this.show(m.range, 0, this.area.ranges[m.range]?.bits ?? 0);
    else void this.refetch();
  }

  get marked(): Mark | null {
    return this.mark;
  }

  /** Shows bits [from, to) of a range. */
  show(range: number, from: number, to: number): void {
    this.range = range;
    this.rangeSel.value = String(range);
    const total = this.rangeBits();
    this.from = Math.max(0, Math.min(total, from));
    this.to = Math.max(this.from, Math.min(total, to));
    void this.refetch();
  }

  private rangeBits(): number {
    return this.area.ranges[this.range]?.bits ?? 0;
  }

  private resetView(): void {
    this.show(this.range, 0, this.rangeBits());
  }

  /** Scales the visible span by `factor` keeping the point at fraction `at` in place. */
  private zoom(factor: number, at: number, anchorBit?: number): void {
    const total = this.rangeBits();
    const span = this.to - this.from;
    const anchor = anchorBit ?? this.from + span * at;
    const next = Math.min(total, Math.max(Math.min(total, 32), Math.round(span * factor)));
    const from = Math.max(0, Math.min(total - next, Math.round(anchor - next * at)));
    this.show(this.range, from, from + next);
  }

  private pan(bits: number): void {
    const total = this.rangeBits();
    const span = this.to - this.from;
    const from = Math.max(0, Math.min(total - span, Math.round(this.from + bits)));
    if (from !== this.from) this.show(this.range, from, from + span);
  }

  private newLayout(): GridLayout {
    const r = this.area.ranges[this.range];
    const unit = 2 ** this.area.orderPerBit;
    const ctx = this.canvas.getContext('2d');
    let left = 80;
    if (ctx && r) {
      ctx.font = AXIS_FONT;
      left = Math.ceil(ctx.measureText(hex(r.basePfn + r.count)).width) + 12;
    }
    return gridLayout({
      width: Math.max(100, this.canvas.clientWidth),
      maxHeight: MAX_HEIGHT,
      from: this.from,
      to: this.to,
      basePfn: r?.basePfn ?? 0,
      unit,
      left,
      top: AXIS_TOP,
    });
  }

  /** Fetches the fill of the visible bits at the layout's resolution and draws it. */
  async refetch(): Promise<void> {
    this.lastWidth = this.canvas.clientWidth;
    const L = this.newLayout();
    const seq = ++this.fetchSeq;
    try {
      const b = await api.buckets(this.area.name, this.range, L.from, L.to, L.per);
      if (!b || seq !== this.fetchSeq) return; // a newer view was asked for meanwhile
      this.buckets = b;
      this.layout = L;
      this.queueDraw();
    } catch {
      // drawn again on the next change
    }
  }

  private queueDraw(): void {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.draw();
    });
  }

  private draw(): void {
    const L = this.layout;
    if (!L) return;
    const c = this.canvas;
    const h = L.top + L.rows * L.cell + 2;
    c.style.height = `${h}px`;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const m = this.mark;
    const labels: AxisLabels = drawBitmap(ctx, w, h, L, this.buckets, {
      records: this.records,
      busy: this.area.busy,
      mark: m && m.range === this.range ? m : null,
    });
    this.drawCount++;
    c.dataset.drawn = String(this.drawCount);
    c.dataset.layout = JSON.stringify({
      left: L.left,
      top: L.top,
      cell: L.cell,
      cols: L.cols,
      rows: L.rows,
      per: L.per,
      lead: L.lead,
      from: L.from,
      to: L.to,
    });
    c.dataset.axis = JSON.stringify(labels);
    const unit = L.unit;
    this.info.textContent =
      `showing bits ${fmt(L.from)}–${fmt(Math.max(L.from, L.to - 1))} of ${fmt(this.rangeBits())} · ` +
      `${fmt(L.cols * L.per * unit)} pages a row · ` +
      (L.per === 1
        ? `1 bit = ${unit} page${unit === 1 ? '' : 's'} per cell`
        : `${fmt(L.per)} bits per pixel (zoom in for records and pageblocks)`);
    this.updateHover();
  }

  private bitAt(clientX: number, clientY: number): number | null {
    const L = this.layout;
    if (!L) return null;
    const rect = this.canvas.getBoundingClientRect();
    const col = Math.floor((clientX - rect.left - L.left) / L.cell);
    const row = Math.floor((clientY - rect.top - L.top) / L.cell);
    return bitAtCell(L, col, row);
  }

  /** The hover line for the pointer's cell as the canvas shows it now. */
  private updateHover(): void {
    const L = this.layout;
    const p = this.pointer;
    const b = p && L ? this.bitAt(p.x, p.y) : null;
    if (b === null || !L) {
      this.hover.textContent = '';
      return;
    }
    const v = this.buckets[(b - L.from) / L.per] ?? 0;
    const end = Math.min(L.to, b + L.per);
    const unit = L.unit;
    const pfn0 = L.basePfn + b * unit;
    const pfn1 = L.basePfn + end * unit;
    const fill = v === 0 ? 'free' : v === 255 ? 'used' : `${Math.round(((v - 1) / 253) * 100)}% used`;
    const rec = this.records.find((r) => r.pfn < pfn1 && pfn0 < r.pfn + r.count);
    const recText = rec && L.per === 1 ? ` · debugfs record ${fmt(rec.count)} pages at ${hex(rec.pfn)}` : '';
    this.hover.textContent =
      (L.per === 1
        ? `bit ${fmt(b)} · pfn ${hex(pfn0)}${unit > 1 ? `–${hex(pfn1 - 1)}` : ''} · ${fill}`
        : `bits ${fmt(b)}–${fmt(end - 1)} · pfn ${hex(pfn0)}–${hex(pfn1 - 1)} · ${fill}`) +
      recText +
      busyHover(this.area.busy, pfn0, pfn1);
  }

  private installPointer(): void {
    const c = this.canvas;
    c.addEventListener(
      'wheel',
      (ev) => {
        ev.preventDefault();
        const b = this.bitAt(ev.clientX, ev.clientY);
        const span = this.to - this.from;
        const at = b === null ? 0.5 : (b - this.from) / span;
        this.zoom(ev.deltaY < 0 ? 0.6 : 1 / 0.6, at, b ?? undefined);
      },
      { passive: false },
    );
    let drag: { y: number; x: number } | null = null;
    c.addEventListener('pointerdown', (ev) => {
      drag = { x: ev.clientX, y: ev.clientY };
      c.setPointerCapture(ev.pointerId);
      c.classList.add('dragging');
    });
    c.addEventListener('pointerup', () => {
      drag = null;
      c.classList.remove('dragging');
    });
    c.addEventListener('pointerleave', () => {
      this.pointer = null;
      this.updateHover();
    });
    c.addEventListener('pointermove', (ev) => {
      this.pointer = { x: ev.clientX, y: ev.clientY };
      const L = this.layout;
      if (drag && L) {
        const dRows = Math.trunc((drag.y - ev.clientY) / L.cell);
        const dCols = Math.trunc((drag.x - ev.clientX) / L.cell);
        if (dRows !== 0 || dCols !== 0) {
          this.pan((dRows * L.cols + dCols) * L.per);
          drag = { x: drag.x - dCols * L.cell, y: drag.y - dRows * L.cell };
        }
        return;
      }
      this.updateHover();
    });
  }
}
