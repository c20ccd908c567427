// The dashboard of a device without debugfs (a production kernel, a copied device directory,
// the emulator with --no-debugfs): what GET /api/device reports — each area's figures with how
// they are known (known, inferred, unknown), its sysfs counters, its last failure with the
// verdict and, since 6.12, a picture of the free runs the kernel printed; the device's CMA
// figures from /proc; and which files could not be read.

import type { DeviceAreaView, DeviceFailureView, DeviceView, ProvenanceView } from './api.ts';
import { drawBitmap } from './bitmap-draw.ts';
import { bytesLabel, el, fmt, hex } from './dom.ts';
import { gridLayout } from './layout.ts';

const badge = (p: ProvenanceView) => el('span', { class: `prov prov-${p}`, text: p });

function figure(label: string, value: string, p: ProvenanceView): HTMLElement {
  return el('div', { class: 'stat', 'data-figure': label }, [
    el('b', { text: p === 'unknown' ? '?' : value }),
    el('span', {}, [`${label} `, badge(p)]),
  ]);
}

/** Draws `bits` cells (0 free, 255 used) of a range whose bit 0 is page `basePfn` on `canvas`. */
function drawRange(canvas: HTMLCanvasElement, cells: Uint8Array, basePfn: number, unit: number): void {
  const w = Math.max(200, canvas.clientWidth);
  const L = gridLayout({
    width: w,
    maxHeight: 300,
    from: 0,
    to: cells.length,
    basePfn,
    unit,
    left: 70,
    top: 18,
  });
  const shown = L.per === 1 ? cells : bucketsOf(cells, L.per);
  const h = L.top + L.rows * L.cell + 2;
  canvas.style.height = `${h}px`;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const labels = drawBitmap(ctx, w, h, L, shown, { records: [], busy: [], mark: null });
  const { left, top, cell, cols, rows, per, lead, from, to } = L;
  canvas.dataset.layout = JSON.stringify({ left, top, cell, cols, rows, per, lead, from, to });
  canvas.dataset.axis = JSON.stringify(labels);
}

/**
 * One range at the failure, rebuilt from its printed free runs (all else was in use). Its size is
 * the area's for one range; with several, what the log settles, else it is drawn up to its last
 * free run. Only range 0 starts at the area's base pfn: the others are labelled by page offset.
 */
function rangePicture(a: DeviceAreaView, f: DeviceFailureView, i: number): HTMLElement {
  const runs = f.runs?.[i] ?? [];
  const unit = 2 ** (a.orderPerBit ?? 0);
  const size = f.rangeBits?.[i] ?? null;
  const reach = Math.max(0, ...runs.map((r) => r.bit + Math.ceil(r.pages / unit)));
  const bits = size ?? reach;
  const base = i === 0 ? a.basePfn : null;
  const pages = runs.reduce((s, r) => s + r.pages, 0);
  const many = (f.runs?.length ?? 0) > 1;
  const said = [
    `${many ? `range ${i}: ` : ''}${fmt(runs.length)} free run${runs.length === 1 ? '' : 's'} (green), ${fmt(pages)} pages`,
    size === null
      ? 'its size is not in the log: drawn up to its last free run'
      : `${fmt(size)} bits of ${fmt(unit)} page${unit === 1 ? '' : 's'}${many ? ' (size inferred from the free runs in the log)' : ''}`,
    base === null ? 'rows labelled by page offset in the range (its pfn is not in the log)' : '',
  ].filter(Boolean);
  const caption = el('div', { class: 'muted', text: said.join(' · ') });
  if (bits === 0) return el('div', { 'data-range': String(i) }, [caption]);
  const cells = new Uint8Array(bits).fill(255);
  for (const r of runs) cells.fill(0, r.bit, Math.min(bits, r.bit + r.pages / unit));
  const canvas = el('canvas', {
    class: 'bitmap device-runs',
    'data-testid': 'failure-runs',
    'data-range': String(i),
  });
  requestAnimationFrame(() => drawRange(canvas, cells, base ?? 0, unit));
  return el('div', { 'data-range': String(i) }, [caption, canvas]);
}

/** Every range of the area at the failure, from the kernel's free-range dump. */
function runsPictures(a: DeviceAreaView): HTMLElement[] {
  const f = a.lastFailure;
  if (!f?.runs) return [];
  return [
    el('div', {
      class: 'muted',
      text: `the area at the failure, from the kernel's free-range dump${f.runs.length > 1 ? ` (${f.runs.length} ranges)` : ''}:`,
    }),
    ...f.runs.map((_r, i) => rangePicture(a, f, i)),
  ];
}

function bucketsOf(bits: Uint8Array, per: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / per));
  for (let i = 0; i < out.length; i++) {
    let set = 0;
    const end = Math.min(bits.length, (i + 1) * per);
    for (let b = i * per; b < end; b++) if (bits[b]) set++;
    const len = end - i * per;
    out[i] = set === 0 ? 0 : set === len ? 255 : 1 + Math.floor((set / len) * 253);
  }
  return out;
}

function areaCard(a: DeviceAreaView): HTMLElement {
  const s = a.source;
  const f = a.lastFailure;
  const counters = Object.entries(a.counters);
  return el('section', { class: 'card device-area', 'data-area': a.name }, [
    el('h2', {}, [
      a.name,
      el('small', {
        text:
          a.count !== null
            ? `${fmt(a.count)} pages (${bytesLabel(a.count)})${a.basePfn !== null ? ` · pfn ${hex(a.basePfn)}–${hex(a.basePfn + a.count - 1)}` : ''}`
            : 'size unknown',
      }),
    ]),
    el('div', { class: 'stats' }, [
      figure('base pfn', a.basePfn === null ? '' : hex(a.basePfn), s.basePfn),
      figure('pages', a.count === null ? '' : fmt(a.count), s.count),
      figure('order_per_bit', a.orderPerBit === null ? '' : String(a.orderPerBit), s.orderPerBit),
      figure('used pages', a.used === null ? '' : fmt(a.used), s.used),
      figure('free pages', a.free === null ? '' : fmt(a.free), s.free),
      figure('failures in the log', fmt(a.failures), 'known'),
    ]),
    counters.length > 0
      ? el('div', { class: 'counters muted' }, [
          `sysfs /sys/kernel/mm/cma/${a.name}/: `,
          counters.map(([k, v]) => `${k} ${fmt(v)}`).join(' · '),
        ])
      : el('div', {
          class: 'counters muted',
          text: 'no sysfs counters (CONFIG_CMA_SYSFS off or unreadable)',
        }),
    f
      ? el('div', { class: `box failure verdict-${f.verdict}`, 'data-testid': 'last-failure' }, [
          el('h3', { text: `last failure (kernel log line ${f.line})` }),
          el('div', {
            class: 'answer err',
            text:
              `${f.request !== null ? `${fmt(f.request)} page${f.request === 1 ? '' : 's'}` : 'a request'} failed${f.ret !== null ? ` (ret ${f.ret})` : ''}: ` +
              `${f.verdict}${f.fitsUpTo !== null ? ` — the largest request that would have fit: ${fmt(f.fitsUpTo)} pages` : ''}`,
          }),
          el('div', { class: 'muted', text: f.reason }),
          ...runsPictures(a),
        ])
      : el('div', { class: 'muted', text: 'no failed allocation in the kernel log' }),
    ...a.notes.map((n) => el('div', { class: 'muted note', text: n })),
  ]);
}

/** Shows the device report in `box`. */
export function showDevice(box: HTMLElement, d: DeviceView): void {
  const s = d.system;
  const pagesOr = (v: number | null) => (v === null ? 'unknown' : `${fmt(v)} pages (${bytesLabel(v)})`);
  const unreadable = Object.entries(d.unreadable);
  box.replaceChildren(
    el('section', { class: 'card device-summary', 'data-testid': 'device' }, [
      el('h2', {}, [
        'Device without debugfs',
        el('small', { text: `${d.kernelRelease ?? 'kernel release unknown'} · captured ${d.capturedAt}` }),
      ]),
      el('p', {
        class: 'muted',
        text: 'No debugfs: where the pages are is not known (no bitmaps). Figures come from sysfs, /proc and the kernel log, each marked known, inferred (from boot lines) or unknown. A trace or debugfs would show the allocations themselves.',
      }),
      el('div', { class: 'stats' }, [
        el('div', { class: 'stat' }, [
          el('b', { text: pagesOr(s.cmaTotal) }),
          el('span', { text: 'CmaTotal' }),
        ]),
        el('div', { class: 'stat' }, [
          el('b', { text: pagesOr(s.cmaFree) }),
          el('span', { text: 'CmaFree' }),
        ]),
        el('div', { class: 'stat' }, [
          el('b', { text: s.vmstat?.allocSuccess == null ? '?' : fmt(s.vmstat.allocSuccess) }),
          el('span', { text: 'cma_alloc_success' }),
        ]),
        el('div', { class: 'stat' }, [
          el('b', { text: s.vmstat?.allocFail == null ? '?' : fmt(s.vmstat.allocFail) }),
          el('span', { text: 'cma_alloc_fail' }),
        ]),
      ]),
      s.freeBlocksByOrder
        ? el('div', {
            class: 'muted',
            text: `free CMA blocks by order (pagetypeinfo): ${s.freeBlocksByOrder.map((n, o) => `${o}:${fmt(n)}`).join(' ')}`,
          })
        : el('div', { class: 'muted', text: 'no /proc/pagetypeinfo (needs root)' }),
      ...d.warnings.map((w) => el('div', { class: 'answer err warning', text: w })),
      unreadable.length > 0
        ? el('div', { class: 'unreadable' }, [
            el('h3', { text: 'could not read' }),
            el(
              'ul',
              {},
              unreadable.map(([f, why]) => el('li', { text: `${f}: ${why}` })),
            ),
          ])
        : el('div', { class: 'muted', text: `read ${d.read.length} files, none refused` }),
    ]),
    ...d.areas.map(areaCard),
  );
}
