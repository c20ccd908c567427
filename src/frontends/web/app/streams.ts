// The trace and kernel log panes: the last lines, appended live, kept scrolled to the end
// unless the reader scrolled up; lines wrap so nothing (the pfn at the end) is cut off.

const MAX_STREAM_LINES = 400;

export function appendLines(pre: HTMLElement, lines: readonly string[], dropped = 0): void {
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
