// The dashboard in the browser: plain TypeScript and the DOM, bundled by esbuild into /app.js.
// It reads the JSON API, draws each area's bitmap on a canvas (zoom and pan, fill per pixel
// bucket), and follows /api/events so every change shows up live.

import type { BusyView } from './busy-pages.ts';
import { BUSY_COLOUR, busyHover, drawBusy } from './busy-pages.ts';

interface RangeView {
  index: number;
  basePfn: number;
  count: number;
  bits: number;
  usedBits: number;
  maxchunk: number;
}
interface AreaView {
  name: string;
  basePfn: number;
  count: number;
  orderPerBit: number;
  used: number;
  free: number;
  maxchunk: number;
  ranges: RangeView[];
  counters: Record<string, number | string>;
  records: number;
  busy?: BusyView[];
}
interface FreeRun {
  range: number;
  bit: number;
  bits: number;
  pfn: number;
  pages: number;
}
interface AnalysisView {
  freeRuns: number;
  fragmentation: number;
  histogram: { minPages: number; maxPages: number; runs: number; pages: number }[];
  largest: FreeRun[];
}
interface ExplainView {
  ok: boolean;
  pfn: number | null;
  range: number | null;
  bit: number | null;
  pages: number;
  message: string;
}
interface ChangeEvent {
  version: number;
  areas: string[];
  trace: string[];
  traceDropped: number;
  log: string[];
  logDropped: number;
}

const $ = <T extends HTMLElement>(sel: string, root: ParentNode = document): T => {
  const e = root.querySelector<T>(sel);
  if (!e) throw new Error(`missing element ${sel}`);
  return e;
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const sizeLabel = (n: number) => (n >= 2 ** 20 ? `${n / 2 ** 20}M` : n >= 1024 ? `${n / 1024}K` : String(n));
const hex = (n: number) => `0x${n.toString(16)}`;
const mib = (pages: number) => {
  const m = (pages * 4096) / 2 ** 20;
  // 1 GiB, not 1024.0 MiB; no trailing .0
  if (m >= 1024) return `${+(m / 1024).toFixed(2)} GiB`;
  return `${+m.toFixed(m < 1 ? 2 : 1)} MiB`;
};
/** Whether the source takes writes (alloc/free buttons are disabled when not). */
let sourceWritable = true;

// ---- token ----

const TOKEN_KEY = 'cma-debug-token';
function initToken(): void {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  const input = $<HTMLInputElement>('#token');
  input.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  setTokenCookie();
  input.addEventListener('change', () => {
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    setTokenCookie();
  });
}
/** A server bound beyond loopback wants the token for reads too: fetch and EventSource send it as a cookie. */
function setTokenCookie(): void {
  // biome-ignore lint/suspicious/noDocumentCookie: EventSource cannot send headers; a SameSite cookie carries the token
  document.cookie = `${TOKEN_KEY}=${encodeURIComponent(sessionStorage.getItem(TOKEN_KEY) ?? '')}; path=/; SameSite=Strict`;
}
const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

/** Writes `text` to a /sys file as `echo` would; resolves to the line to show. */
async function writeSys(path: string, text: string): Promise<{ ok: boolean; line: string }> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'text/plain' },
      body: text,
    });
  } catch (e) {
    return { ok: false, line: `request failed: ${(e as Error).message}` };
  }
  const body = (await res.json().catch(() => ({}))) as {
    ok?: boolean;
    errno?: string;
    error?: string;
    message?: string;
    allocated?: { pfn: number; count: number };
  };
  const cmd = `echo ${text.trim()} > ${path.split('/').pop()}`;
  if (res.ok && body.ok) {
    const a = body.allocated;
    return {
      ok: true,
      line: a ? `${cmd}: ok — ${fmt(a.count)} pages at pfn ${a.pfn} (${hex(a.pfn)})` : `${cmd}: ok`,
    };
  }
  if (body.errno) return { ok: false, line: `${cmd}: ${body.error} (${body.errno}, HTTP ${res.status})` };
  if (res.status === 401)
    return { ok: false, line: `${cmd}: refused — enter the token printed by cma-debug serve` };
  return { ok: false, line: `${cmd}: ${body.message ?? res.statusText} (HTTP ${res.status})` };
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

// ---- colours ----

const FREE: [number, number, number] = [0xe3, 0xf4, 0xe6];
const FULL: [number, number, number] = [0x2b, 0x3a, 0x55];
const LOW: [number, number, number] = [0xff, 0xd1, 0x66]; // a little used
const HIGH: [number, number, number] = [0xd1, 0x49, 0x5b]; // mostly used
const OUTSIDE: [number, number, number] = [0xf0, 0xf2, 0xf5];

function bucketColour(v: number): [number, number, number] {
  if (v === 0) return FREE;
  if (v === 255) return FULL;
  const t = (v - 1) / 253;
  return [
    Math.round(LOW[0] + (HIGH[0] - LOW[0]) * t),
    Math.round(LOW[1] + (HIGH[1] - LOW[1]) * t),
    Math.round(LOW[2] + (HIGH[2] - LOW[2]) * t),
  ];
}
const css = (c: [number, number, number]) => `rgb(${c[0]},${c[1]},${c[2]})`;

// ---- one area ----

interface Layout {
  cell: number;
  cols: number;
  rows: number;
  per: number;
  from: number;
  to: number;
}

class AreaCard {
  readonly root: HTMLElement;
  view: AreaView;
  private range = 0;
  private from = 0;
  private to: number;
  private history: { used: number; maxchunk: number }[] = [];
  private layout: Layout | null = null;
  private buckets: Uint8Array = new Uint8Array(0);
  private mark: { range: number; bit: number; bits: number } | null = null;
  private busy = false;
  private dirty = false;
  private drawQueued = false;
  private drawCount = 0;
  private readonly canvas: HTMLCanvasElement;

  constructor(view: AreaView) {
    this.view = view;
    this.to = view.ranges[0]?.bits ?? 0;
    const n = view.name;
    const rangeSel = el('select', { class: 'range-select', 'aria-label': 'range' });
    for (const r of view.ranges)
      rangeSel.append(
        el('option', { value: String(r.index), text: `range ${r.index} @ pfn ${hex(r.basePfn)}` }),
      );
    if (view.ranges.length < 2) rangeSel.style.display = 'none';
    this.canvas = el('canvas', { class: 'bitmap', 'data-testid': 'bitmap' });
    const allocIn = el('input', {
      type: 'number',
      min: '0',
      value: '8',
      class: 'alloc-pages',
      'aria-label': 'pages to allocate',
    });
    const freeIn = el('input', {
      type: 'number',
      min: '0',
      value: '8',
      class: 'free-pages',
      'aria-label': 'pages to free',
    });
    const explainIn = el('input', {
      type: 'number',
      min: '0',
      value: '64',
      class: 'explain-pages',
      'aria-label': 'pages',
    });
    const alignIn = el('input', {
      type: 'number',
      min: '0',
      max: '30',
      value: '0',
      class: 'explain-align',
      'aria-label': 'alignment order',
    });
    this.root = el('section', { class: 'card area', 'data-area': n }, [
      el('h2', {}, [n, el('small', { class: 'geometry' })]),
      el('div', { class: 'stats' }, [
        el('div', { class: 'stat' }, [
          el('b', { class: 'used', 'data-testid': 'used' }),
          el('span', { text: 'used pages' }),
        ]),
        el('div', { class: 'stat' }, [el('b', { class: 'free' }), el('span', { text: 'free pages' })]),
        el('div', { class: 'stat' }, [
          el('b', { class: 'maxchunk' }),
          el('span', { text: 'maxchunk pages' }),
        ]),
        el('div', { class: 'stat' }, [el('b', { class: 'frag' }), el('span', { text: 'fragmentation' })]),
        el('div', { class: 'stat' }, [
          el('b', { class: 'records' }),
          el('span', { text: 'debugfs records' }),
        ]),
        el('div', {}, [
          el('canvas', { class: 'spark', width: '260', height: '46' }),
          el('div', { class: 'muted', style: 'font-size:11px' }, [
            el('span', { style: 'color:#d1495b', text: '■ used ' }),
            el('span', { style: 'color:#2a7d4f', text: '■ maxchunk' }),
            ' (history)',
          ]),
        ]),
      ]),
      el('div', { class: 'bitmap-bar' }, [
        rangeSel,
        el('button', { class: 'zoom-in', title: 'zoom in', text: '+' }),
        el('button', { class: 'zoom-out', title: 'zoom out', text: '−' }),
        el('button', { class: 'zoom-reset', title: 'whole range', text: 'all' }),
        el('span', { class: 'viewinfo' }),
      ]),
      this.canvas,
      el('div', { class: 'legend' }, [
        el('span', {}, [el('i', { style: `background:${css(FREE)}` }), 'free']),
        el('span', {}, [el('i', { style: `background:${css(LOW)}` }), 'partly used']),
        el('span', {}, [el('i', { style: `background:${css(HIGH)}` }), 'mostly used']),
        el('span', {}, [el('i', { style: `background:${css(FULL)}` }), 'used']),
        el('span', {}, [el('i', { style: 'background:#c026d3' }), 'explain: where it would go']),
        el('span', {}, [
          el('i', { style: `background:${BUSY_COLOUR}` }),
          'busy (pinned/held: hover for the owner)',
        ]),
        el('span', { class: 'muted', text: 'wheel: zoom · drag: pan' }),
      ]),
      el('div', { class: 'hover' }),
      el('div', { class: 'cols' }, [
        el('div', { class: 'box' }, [
          el('h3', { text: 'alloc / free (debugfs)' }),
          el('div', {}, [allocIn, el('button', { class: 'alloc-btn', text: 'alloc' })]),
          el('div', { style: 'margin-top:4px' }, [freeIn, el('button', { class: 'free-btn', text: 'free' })]),
          el('span', { class: 'answer', 'data-testid': 'answer' }),
        ]),
        el('div', { class: 'box' }, [
          el('h3', { text: 'explain: would N pages fit, where?' }),
          el('div', {}, [
            explainIn,
            ' pages, align order ',
            alignIn,
            el('button', { class: 'explain-btn', text: 'explain' }),
          ]),
          el('span', { class: 'answer explain-answer' }),
        ]),
        el('div', { class: 'box' }, [
          el('h3', { text: 'free runs by size (pages)' }),
          el('canvas', { class: 'hist', width: '320', height: '120' }),
          el('div', { class: 'runs-head muted', style: 'font-size:12px' }),
          el('ol', { class: 'runs' }),
        ]),
      ]),
    ]);

    const q = <T extends HTMLElement>(s: string) => $<T>(s, this.root);
    rangeSel.addEventListener('change', () => {
      this.range = Number(rangeSel.value);
      this.resetView();
    });
    q('.zoom-in').addEventListener('click', () => this.zoom(0.5, 0.5));
    q('.zoom-out').addEventListener('click', () => this.zoom(2, 0.5));
    q('.zoom-reset').addEventListener('click', () => this.resetView());
    const answer = q('.answer');
    const show = (target: HTMLElement, r: { ok: boolean; line: string }) => {
      target.textContent = r.line;
      target.className = `answer ${r.ok ? 'ok' : 'err'}${target.classList.contains('explain-answer') ? ' explain-answer' : ''}`;
    };
    if (!sourceWritable)
      for (const b of [q<HTMLButtonElement>('.alloc-btn'), q<HTMLButtonElement>('.free-btn')]) {
        b.disabled = true;
        b.title = 'read-only source';
      }
    q('.alloc-btn').addEventListener('click', async () => {
      show(
        answer,
        await writeSys(`/sys/kernel/debug/cma/${encodeURIComponent(n)}/alloc`, `${allocIn.value || 0}\n`),
      );
      this.refresh();
    });
    q('.free-btn').addEventListener('click', async () => {
      show(
        answer,
        await writeSys(`/sys/kernel/debug/cma/${encodeURIComponent(n)}/free`, `${freeIn.value || 0}\n`),
      );
      this.refresh();
    });
    q('.explain-btn').addEventListener('click', async () => {
      const out = q('.explain-answer');
      try {
        const url = `/api/explain?area=${encodeURIComponent(n)}&pages=${encodeURIComponent(explainIn.value || '0')}&align=${encodeURIComponent(alignIn.value || '0')}`;
        const r = await fetch(url);
        const body = (await r.json()) as ExplainView & { message: string };
        show(out, { ok: r.ok && body.ok, line: body.message });
        const unit = 2 ** this.view.orderPerBit;
        this.mark =
          r.ok && body.ok && body.range !== null && body.bit !== null
            ? { range: body.range, bit: body.bit, bits: Math.max(1, Math.ceil(body.pages / unit)) }
            : null;
        if (this.mark && this.mark.range !== this.range) {
          this.range = this.mark.range;
          rangeSel.value = String(this.range);
          this.resetView();
        } else this.fetchBuckets();
      } catch (e) {
        show(out, { ok: false, line: (e as Error).message });
      }
    });
    this.installPointer();
    new ResizeObserver(() => this.fetchBuckets()).observe(this.canvas);
  }

  private rangeBits(): number {
    return this.view.ranges[this.range]?.bits ?? 0;
  }

  private resetView(): void {
    this.from = 0;
    this.to = this.rangeBits();
    this.fetchBuckets();
  }

  /** Scales the visible span by `factor` keeping the point at fraction `at` in place. */
  private zoom(factor: number, at: number, anchorBit?: number): void {
    const total = this.rangeBits();
    const span = this.to - this.from;
    const anchor = anchorBit ?? this.from + span * at;
    const next = Math.min(total, Math.max(Math.min(total, 32), Math.round(span * factor)));
    let from = Math.round(anchor - next * at);
    from = Math.max(0, Math.min(total - next, from));
    this.from = from;
    this.to = from + next;
    this.fetchBuckets();
  }

  private pan(bits: number): void {
    const total = this.rangeBits();
    const span = this.to - this.from;
    const from = Math.max(0, Math.min(total - span, Math.round(this.from + bits)));
    if (from === this.from) return;
    this.from = from;
    this.to = from + span;
    this.fetchBuckets();
  }

  private computeLayout(): Layout {
    const w = Math.max(50, this.canvas.clientWidth);
    const h = Math.max(50, this.canvas.clientHeight);
    const span = Math.max(1, this.to - this.from);
    for (let cell = 28; cell >= 1; cell--) {
      const cols = Math.floor(w / cell);
      const rows = Math.floor(h / cell);
      if (cols * rows >= span) {
        return { cell, cols, rows: Math.ceil(span / cols), per: 1, from: this.from, to: this.to };
      }
    }
    const cols = Math.floor(w);
    const rows = Math.floor(h);
    const per = Math.ceil(span / (cols * rows));
    return {
      cell: 1,
      cols,
      rows: Math.ceil(Math.ceil(span / per) / cols),
      per,
      from: this.from,
      to: this.to,
    };
  }

  private installPointer(): void {
    const c = this.canvas;
    const bitAt = (ev: MouseEvent): number | null => {
      const L = this.layout;
      if (!L) return null;
      const rect = c.getBoundingClientRect();
      const col = Math.floor((ev.clientX - rect.left) / L.cell);
      const row = Math.floor((ev.clientY - rect.top) / L.cell);
      if (col < 0 || col >= L.cols || row < 0 || row >= L.rows) return null;
      const b = L.from + (row * L.cols + col) * L.per;
      return b < L.to ? b : null;
    };
    c.addEventListener(
      'wheel',
      (ev) => {
        ev.preventDefault();
        const b = bitAt(ev);
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
    const hover = $('.hover', this.root);
    c.addEventListener('pointermove', (ev) => {
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
      const b = bitAt(ev);
      if (b === null || !L) {
        hover.textContent = '';
        return;
      }
      const i = (b - L.from) / L.per;
      const v = this.buckets[i] ?? 0;
      const end = Math.min(L.to, b + L.per);
      const unit = 2 ** this.view.orderPerBit;
      const base = this.view.ranges[this.range]?.basePfn ?? 0;
      const fill = v === 0 ? 'free' : v === 255 ? 'used' : `${Math.round(((v - 1) / 253) * 100)}% used`;
      const busyText = busyHover(this.view.busy ?? [], base + b * unit, base + end * unit);
      hover.textContent =
        (L.per === 1
          ? `bit ${fmt(b)} · pfn ${hex(base + b * unit)}${unit > 1 ? `–${hex(base + (b + 1) * unit - 1)}` : ''} · ${fill}`
          : `bits ${fmt(b)}–${fmt(end - 1)} · pfn ${hex(base + b * unit)}–${hex(base + end * unit - 1)} · ${fill}`) +
        busyText;
    });
  }

  /** Refetches the numbers, the analysis and the bitmap (coalesced). */
  async refresh(): Promise<void> {
    if (this.busy) {
      this.dirty = true;
      return;
    }
    this.busy = true;
    try {
      const [view, analysis] = await Promise.all([
        getJson<AreaView>(`/api/areas/${encodeURIComponent(this.view.name)}`),
        getJson<{ areas: AnalysisView[] }>(`/api/analysis?area=${encodeURIComponent(this.view.name)}&top=12`),
      ]);
      this.view = view;
      this.history.push({ used: view.used, maxchunk: view.maxchunk });
      if (this.history.length > 300) this.history.shift();
      this.renderNumbers(analysis.areas[0]);
      await this.fetchBuckets();
    } catch {
      // the stream reconnects and refreshes everything
    } finally {
      this.busy = false;
      if (this.dirty) {
        this.dirty = false;
        void this.refresh();
      }
    }
  }

  private renderNumbers(a: AnalysisView | undefined): void {
    const v = this.view;
    const q = (s: string) => $(s, this.root);
    const last = v.ranges[v.ranges.length - 1];
    q('.geometry').textContent =
      `${fmt(v.count)} pages (${mib(v.count)}) · pfn ${hex(v.basePfn)}–${hex((last?.basePfn ?? v.basePfn) + (last?.count ?? 0) - 1)}` +
      ` · order_per_bit ${v.orderPerBit} · ${v.ranges.length} range${v.ranges.length === 1 ? '' : 's'} · ${fmt(v.ranges.reduce((s, r) => s + r.bits, 0))} bits`;
    q('.used').textContent = fmt(v.used);
    q('.free').textContent = fmt(v.free);
    q('.maxchunk').textContent = fmt(v.maxchunk);
    q('.records').textContent = fmt(v.records);
    q('.frag').textContent = a ? `${(a.fragmentation * 100).toFixed(1)}%` : '–';
    this.drawSpark();
    if (a) this.drawHistogram(a);
  }

  private drawSpark(): void {
    const c = $<HTMLCanvasElement>('.spark', this.root);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const w = c.width;
    const h = c.height;
    ctx.clearRect(0, 0, w, h);
    const pts = this.history;
    const max = Math.max(1, this.view.count);
    const line = (key: 'used' | 'maxchunk', colour: string) => {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      pts.forEach((p, i) => {
        const x = pts.length === 1 ? w - 2 : 2 + (i * (w - 4)) / (pts.length - 1);
        const y = h - 3 - (p[key] / max) * (h - 6);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      if (pts.length === 1) ctx.lineTo(2, h - 3 - ((pts[0]?.[key] ?? 0) / max) * (h - 6));
      ctx.stroke();
    };
    line('used', '#d1495b');
    line('maxchunk', '#2a7d4f');
  }

  private drawHistogram(a: AnalysisView): void {
    const c = $<HTMLCanvasElement>('.hist', this.root);
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
    } else {
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
    const list = $('.runs', this.root);
    list.replaceChildren(
      ...a.largest.map((r) => {
        const li = el('li', {
          text: `${fmt(r.pages)} pages at pfn ${hex(r.pfn)} (range ${r.range}, bit ${fmt(r.bit)})`,
        });
        li.addEventListener('click', () => {
          this.range = r.range;
          const margin = Math.max(16, Math.round(r.bits * 0.25));
          const total = this.rangeBits();
          this.from = Math.max(0, r.bit - margin);
          this.to = Math.min(total, r.bit + r.bits + margin);
          this.fetchBuckets();
        });
        return li;
      }),
    );
    $('.runs-head', this.root).textContent =
      `${fmt(a.freeRuns)} free run${a.freeRuns === 1 ? '' : 's'}; largest:`;
  }

  /** Fetches the fill of the visible bits at the canvas's resolution and draws it. */
  async fetchBuckets(): Promise<void> {
    const L = this.computeLayout();
    const url =
      `/api/areas/${encodeURIComponent(this.view.name)}/ranges/${this.range}/buckets` +
      `?from=${L.from}&to=${L.to}&per=${L.per}`;
    try {
      const r = await fetch(url, { cache: 'no-store' });
      if (!r.ok) return;
      this.buckets = new Uint8Array(await r.arrayBuffer());
      this.layout = L;
      this.queueDraw();
    } catch {
      // shown as stale until the next change
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
    this.drawCount++;
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    // one pixel per bucket, then scaled up without smoothing
    const img = new ImageData(L.cols, Math.max(1, L.rows));
    const n = this.buckets.length;
    for (let i = 0; i < L.cols * L.rows; i++) {
      const col = i < n ? bucketColour(this.buckets[i]!) : OUTSIDE;
      img.data[i * 4] = col[0];
      img.data[i * 4 + 1] = col[1];
      img.data[i * 4 + 2] = col[2];
      img.data[i * 4 + 3] = 255;
    }
    const off = document.createElement('canvas');
    off.width = img.width;
    off.height = img.height;
    off.getContext('2d')?.putImageData(img, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = css(OUTSIDE);
    ctx.fillRect(0, 0, w, h);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, L.cols * L.cell, L.rows * L.cell);
    if (L.cell >= 4) {
      // cell borders so single granules stay distinct
      ctx.strokeStyle = 'rgba(255,255,255,0.85)';
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let x = 0; x <= L.cols; x++) {
        ctx.moveTo(x * L.cell + 0.5, 0);
        ctx.lineTo(x * L.cell + 0.5, L.rows * L.cell);
      }
      for (let y = 0; y <= L.rows; y++) {
        ctx.moveTo(0, y * L.cell + 0.5);
        ctx.lineTo(L.cols * L.cell, y * L.cell + 0.5);
      }
      ctx.stroke();
    }
    const shown = this.view.ranges[this.range];
    if (shown && this.view.busy && this.view.busy.length > 0)
      drawBusy(ctx, this.view.busy, shown.basePfn, 2 ** this.view.orderPerBit, shown.bits, L, n);
    const m = this.mark;
    if (m && m.range === this.range) {
      ctx.fillStyle = 'rgba(192, 38, 211, 0.75)';
      const first = Math.max(0, Math.floor((m.bit - L.from) / L.per));
      const last = Math.min(n - 1, Math.floor((m.bit + m.bits - 1 - L.from) / L.per));
      for (let i = first; i <= last; i++) {
        ctx.fillRect((i % L.cols) * L.cell, Math.floor(i / L.cols) * L.cell, L.cell, L.cell);
      }
    }
    c.dataset.drawn = String(this.drawCount);
    const total = this.rangeBits();
    const unit = 2 ** this.view.orderPerBit;
    $('.viewinfo', this.root).textContent =
      `showing bits ${fmt(L.from)}–${fmt(Math.max(L.from, L.to - 1))} of ${fmt(total)}` +
      ` (${L.per === 1 ? `1 bit = ${unit} page${unit === 1 ? '' : 's'} per cell` : `${fmt(L.per)} bits per pixel`})`;
  }
}

// ---- the page ----

const cards = new Map<string, AreaCard>();
const MAX_STREAM_LINES = 400;

function appendLines(pre: HTMLElement, lines: string[], dropped = 0): void {
  if (lines.length === 0 && dropped === 0) return;
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  let text = pre.textContent ?? '';
  if (dropped) text += `… ${dropped} more lines not shown\n`;
  text += lines.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');
  const all = text.split('\n');
  if (all.length > MAX_STREAM_LINES) text = all.slice(all.length - MAX_STREAM_LINES).join('\n');
  pre.textContent = text;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

async function loadAll(): Promise<void> {
  const info = await getJson<{
    source: { label: string };
    writable: boolean;
    modelled: boolean;
    features: { log: boolean; trace: boolean };
  }>('/api/info');
  sourceWritable = info.writable;
  // (a label that already says "read-only" is not told twice)
  $('#source').textContent =
    `${info.source.label}${info.writable || /read-only/.test(info.source.label) ? '' : ' · read-only'}`;
  if (!info.modelled) {
    $('#areas').textContent = 'This source serves its /sys files only (no area model could be read).';
    return;
  }
  const sys = await getJson<{ areas: AreaView[] }>('/api/areas');
  const box = $('#areas');
  for (const v of sys.areas) {
    let card = cards.get(v.name);
    if (!card) {
      card = new AreaCard(v);
      cards.set(v.name, card);
      box.append(card.root);
    }
    void card.refresh();
  }
  if (sys.areas.length === 0) box.textContent = 'This kernel has no CMA areas.';
  const tpre = $('#trace');
  tpre.textContent = '';
  if (info.features.trace) {
    const trace = await getJson<{ enabled: string[]; lines: string[] }>('/api/trace?limit=200');
    $<HTMLInputElement>('#trace-enable').checked = trace.enabled.length > 0;
    appendLines(tpre, trace.lines);
  } else {
    tpre.textContent = 'No trace buffer for this source.';
    $<HTMLInputElement>('#trace-enable').disabled = true;
  }
  const lpre = $('#log');
  lpre.textContent = '';
  if (info.features.log) {
    const log = await getJson<{ records: { text: string }[] }>('/api/log');
    appendLines(
      lpre,
      log.records.slice(-200).map((r) => r.text),
    );
  } else lpre.textContent = 'No kernel log for this source.';
}

function connect(): void {
  const dot = $('#live-dot');
  const text = $('#live-text');
  const es = new EventSource('/api/events');
  es.addEventListener('hello', () => {
    dot.className = 'dot live';
    text.textContent = 'live';
    void loadAll();
  });
  es.addEventListener('change', (ev) => {
    const c = JSON.parse((ev as MessageEvent<string>).data) as ChangeEvent;
    for (const a of c.areas) void cards.get(a)?.refresh();
    appendLines($('#trace'), c.trace, c.traceDropped);
    // events arriving means someone (a shell on the mount) enabled them: the box says so
    if (c.trace.length > 0) $<HTMLInputElement>('#trace-enable').checked = true;
    appendLines($('#log'), c.log, c.logDropped);
    document.body.dataset.version = String(c.version);
  });
  es.addEventListener('error', () => {
    dot.className = 'dot down';
    text.textContent = 'reconnecting…';
  });
}

function main(): void {
  initToken();
  const cb = $<HTMLInputElement>('#trace-enable');
  cb.addEventListener('change', async () => {
    const r = await writeSys('/sys/kernel/tracing/events/cma/enable', cb.checked ? '1\n' : '0\n');
    const out = $('#trace-answer');
    out.textContent = r.ok ? '' : r.line;
    out.className = `answer ${r.ok ? 'ok' : 'err'}`;
    if (!r.ok) cb.checked = !cb.checked;
  });
  connect();
}

main();
