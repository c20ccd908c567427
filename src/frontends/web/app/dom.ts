// Small DOM helpers of the dashboard: find an element, build one, format numbers for people.

export const $ = <T extends HTMLElement>(sel: string, root: ParentNode = document): T => {
  const e = root.querySelector<T>(sel);
  if (!e) throw new Error(`missing element ${sel}`);
  return e;
};

/** An element with attributes (`text` sets its text) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
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

/** 12,345 */
export const fmt = (n: number): string => n.toLocaleString('en-US');
/** Lowercase hex with 0x: 0x1ec00. */
export const hex = (n: number): string => `0x${n.toString(16)}`;
/** A page count as a size label on an axis: 512, 4K, 1M. */
export const sizeLabel = (n: number): string =>
  n >= 2 ** 20 ? `${n / 2 ** 20}M` : n >= 1024 ? `${n / 1024}K` : String(n);
/** Pages (4 KiB) as MiB or GiB: 16 MiB, 1 GiB (never 1024.0 MiB), 1.5 GiB. */
export const bytesLabel = (pages: number): string => {
  const m = (pages * 4096) / 2 ** 20;
  if (m >= 1024) return `${+(m / 1024).toFixed(2)} GiB`;
  return `${+m.toFixed(m < 1 ? 2 : 1)} MiB`;
};
