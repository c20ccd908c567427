// One area's card: the header and numbers, the history sparkline, the bitmap, alloc / free,
// explain and the free runs. It fetches the area's data and hands each part its share.

import type { AnalysisView, AreaView, ExplainView, RecordView } from './api.ts';
import { api } from './api.ts';
import { BitmapView } from './bitmap-view.ts';
import { AllocFreeBox, ExplainBox } from './controls.ts';
import { bytesLabel, el, fmt, hex } from './dom.ts';
import { FreeRunsPanel } from './free-runs.ts';
import { Sparkline } from './sparkline.ts';

const stat = (cls: string, label: string, testid?: string) =>
  el('div', { class: 'stat' }, [
    el('b', { class: cls, ...(testid ? { 'data-testid': testid } : {}) }),
    el('span', { text: label }),
  ]);

export class AreaCard {
  readonly root: HTMLElement;
  private view: AreaView;
  private readonly bitmap: BitmapView;
  private readonly spark = new Sparkline();
  private readonly runs: FreeRunsPanel;
  private readonly explain: ExplainBox;
  private busy = false;
  private dirty = false;
  private dirtyChanged = false;

  constructor(view: AreaView, writable: boolean) {
    this.view = view;
    const n = view.name;
    this.bitmap = new BitmapView(view);
    this.runs = new FreeRunsPanel((r) => {
      const margin = Math.max(16, Math.round(r.bits * 0.25));
      this.bitmap.show(r.range, r.bit - margin, r.bit + r.bits + margin);
    });
    this.explain = new ExplainBox(n, (e) => this.bitmap.setMark(markOf(e)));
    const alloc = new AllocFreeBox(n, writable, () => void this.refresh());
    this.root = el('section', { class: 'card area', 'data-area': n }, [
      el('h2', {}, [n, el('small', { class: 'geometry' })]),
      el('div', { class: 'stats' }, [
        stat('used', 'used pages', 'used'),
        stat('free', 'free pages'),
        stat('maxchunk', 'maxchunk pages'),
        stat('frag', 'fragmentation'),
        stat('records', 'debugfs records'),
        this.spark.root,
      ]),
      this.bitmap.root,
      el('div', { class: 'cols' }, [alloc.root, this.explain.root, this.runs.root]),
    ]);
  }

  /**
   * Refetches the numbers, the records, the analysis and the bitmap (coalesced). `changed`: the
   * area changed since the last look, so an explain answer no longer holds.
   */
  async refresh(changed = true): Promise<void> {
    if (this.busy) {
      this.dirty = true;
      this.dirtyChanged ||= changed;
      return;
    }
    this.busy = true;
    try {
      if (changed) {
        // an explain answer was for the area as it was: it goes, highlight and text
        this.explain.expire();
        if (this.bitmap.marked) this.bitmap.setMark(null);
      }
      const name = this.view.name;
      const [view, analysis, records] = await Promise.all([
        api.area(name),
        api.analysis(name, 12),
        api.records(name).then(
          (r) => r.records,
          (): RecordView[] => [],
        ),
      ]);
      this.view = view;
      this.spark.push(view.used, view.maxchunk, view.count);
      this.renderNumbers(analysis.areas[0]);
      await this.bitmap.update(view, records);
    } catch {
      // the stream reconnects and refreshes everything
    } finally {
      this.busy = false;
      if (this.dirty) {
        const c = this.dirtyChanged;
        this.dirty = false;
        this.dirtyChanged = false;
        void this.refresh(c);
      }
    }
  }

  private renderNumbers(a: AnalysisView | undefined): void {
    const v = this.view;
    const set = (s: string, text: string) => {
      const e = this.root.querySelector(s);
      if (e) e.textContent = text;
    };
    const last = v.ranges[v.ranges.length - 1];
    set(
      '.geometry',
      `${fmt(v.count)} pages (${bytesLabel(v.count)}) · pfn ${hex(v.basePfn)}–${hex((last?.basePfn ?? v.basePfn) + (last?.count ?? 0) - 1)}` +
        ` · order_per_bit ${v.orderPerBit} · ${v.ranges.length} range${v.ranges.length === 1 ? '' : 's'} · ${fmt(v.ranges.reduce((s, r) => s + r.bits, 0))} bits`,
    );
    set('.used', fmt(v.used));
    set('.free', fmt(v.free));
    set('.maxchunk', fmt(v.maxchunk));
    set('.records', fmt(v.records));
    set('.frag', a ? `${(a.fragmentation * 100).toFixed(1)}%` : '–');
    if (a) this.runs.show(a);
  }
}

/** The bits an explain answer would take (the request rounded up to whole bits). */
function markOf(e: ExplainView | null) {
  if (!e || e.range === null || e.bit === null) return null;
  return { range: e.range, bit: e.bit, bits: Math.max(1, e.bits) };
}
