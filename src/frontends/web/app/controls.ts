// The two input boxes of an area: alloc / free through debugfs, and explain ("would N pages
// fit, where?"), whose answer is marked on the bitmap until the area changes.

import type { ExplainView, WriteAnswer } from './api.ts';
import { api, writeSys } from './api.ts';
import { el } from './dom.ts';

const numberInput = (cls: string, value: string, label: string, max?: string) =>
  el('input', {
    type: 'number',
    min: '0',
    ...(max ? { max } : {}),
    value,
    class: cls,
    'aria-label': label,
  });

function showAnswer(target: HTMLElement, r: WriteAnswer, extra = ''): void {
  target.textContent = r.line;
  target.className = `answer ${r.ok ? 'ok' : 'err'}${extra}`;
}

/** alloc / free: echo N > alloc, echo N > free on the area's debugfs files. */
export class AllocFreeBox {
  readonly root: HTMLElement;

  constructor(area: string, writable: boolean, onDone: () => void) {
    const allocIn = numberInput('alloc-pages', '8', 'pages to allocate');
    const freeIn = numberInput('free-pages', '8', 'pages to free');
    const allocBtn = el('button', { class: 'alloc-btn', text: 'alloc' });
    const freeBtn = el('button', { class: 'free-btn', text: 'free' });
    const answer = el('span', { class: 'answer', 'data-testid': 'answer' });
    this.root = el('div', { class: 'box' }, [
      el('h3', { text: 'alloc / free (debugfs)' }),
      el('div', {}, [allocIn, allocBtn]),
      el('div', { style: 'margin-top:4px' }, [freeIn, freeBtn]),
      answer,
    ]);
    if (!writable) {
      for (const b of [allocBtn, freeBtn]) {
        b.disabled = true;
        b.title = 'read-only source';
      }
      for (const i of [allocIn, freeIn]) i.disabled = true;
      answer.textContent = 'read-only source: nothing can be allocated or freed here';
      answer.className = 'answer muted';
    }
    const file = (f: string) => `/sys/kernel/debug/cma/${encodeURIComponent(area)}/${f}`;
    allocBtn.addEventListener('click', async () => {
      showAnswer(answer, await writeSys(file('alloc'), `${allocIn.value || 0}\n`));
      onDone();
    });
    freeBtn.addEventListener('click', async () => {
      showAnswer(answer, await writeSys(file('free'), `${freeIn.value || 0}\n`));
      onDone();
    });
  }
}

/** explain: the core allocator's answer for the next cma_alloc(N, align), shown and marked. */
export class ExplainBox {
  readonly root: HTMLElement;
  private readonly answer: HTMLElement;

  constructor(area: string, onAnswer: (e: ExplainView | null) => void) {
    const pagesIn = numberInput('explain-pages', '64', 'pages');
    const alignIn = numberInput('explain-align', '0', 'alignment order', '30');
    const btn = el('button', { class: 'explain-btn', text: 'explain' });
    this.answer = el('span', { class: 'answer explain-answer' });
    this.root = el('div', { class: 'box' }, [
      el('h3', { text: 'explain: would N pages fit, where?' }),
      el('div', {}, [pagesIn, ' pages, align order ', alignIn, btn]),
      this.answer,
    ]);
    btn.addEventListener('click', async () => {
      try {
        const r = await api.explain(area, pagesIn.value || '0', alignIn.value || '0');
        showAnswer(this.answer, { ok: r.ok && r.view.ok, line: r.view.message }, ' explain-answer');
        onAnswer(r.ok && r.view.ok ? r.view : null);
      } catch (e) {
        showAnswer(this.answer, { ok: false, line: (e as Error).message }, ' explain-answer');
        onAnswer(null);
      }
    });
  }

  /** The area changed since the answer: it no longer holds, so it goes (with a word why). */
  expire(): void {
    if (!this.answer.textContent || this.answer.classList.contains('stale')) return;
    this.answer.textContent = 'the area changed since: explain again';
    this.answer.className = 'answer muted stale explain-answer';
  }
}
