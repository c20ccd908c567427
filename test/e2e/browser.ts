// Shared by the dashboard tests: a server and headless Chromium (Debian's /usr/bin/chromium,
// installed by scripts/install-system-deps.sh; playwright-core only drives it, it never
// downloads a browser), and readers of what the bitmap canvas shows.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { CmaSystem } from '../../src/core/system.ts';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import { createServer } from '../../src/frontends/http/server.ts';
import type { ServeSource } from '../../src/sources/file-tree.ts';

const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} missing (run scripts/install-system-deps.sh)`;
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const TOKEN = 'e2e-token-abcdef123456';

/** The bitmap's colours (src/frontends/web/app/colours.ts), as RGB. */
export const COLOURS = {
  free: [0x7c, 0xcf, 0x8e],
  used: [0x2b, 0x3a, 0x55],
  recordA: [0x3d, 0x6f, 0xc4],
  recordB: [0x8a, 0xb0, 0xe8],
  outside: [0xf3, 0xf4, 0xf6],
  recordEdge: [0x0b, 0x12, 0x20],
  markSolid: [0xc0, 0x26, 0xd3],
  busy: [0xf5, 0x9e, 0x0b],
} as const;

export interface Browser {
  ctx: BrowserContext;
  page: Page;
  /** Errors the page threw and requests it made elsewhere than our servers. */
  errors: string[];
  close(): Promise<void>;
}

export async function launch(allowed: () => string[]): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), 'cma-e2e-'));
  const ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 1500 },
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  const watch = (p: Page) => {
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('request', (r) => {
      if (!allowed().some((u) => r.url().startsWith(u)))
        errors.push(`request outside the server: ${r.url()}`);
    });
  };
  watch(page);
  ctx.on('page', watch);
  return {
    ctx,
    page,
    errors,
    close: async () => {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A dashboard server on a free loopback port. */
export async function serve(source: CmaSystem | ServeSource): Promise<{ srv: CmaServer; url: string }> {
  const srv = await createServer(source, { token: TOKEN, eventIntervalMs: 20 });
  const url = await srv.app.listen({ host: '127.0.0.1', port: 0 });
  return { srv, url };
}

/** What the bitmap canvas laid out (its data-layout attribute). */
export interface ShownLayout {
  left: number;
  top: number;
  cell: number;
  cols: number;
  rows: number;
  per: number;
  lead: number;
  from: number;
  to: number;
}

export const card = (page: Page, name: string): Locator => page.locator(`section.area[data-area="${name}"]`);
export const bitmap = (page: Page, name: string): Locator => card(page, name).locator('canvas.bitmap');

/** The layout a bitmap canvas was drawn with (its data-layout attribute). */
async function canvasLayout(canvas: Locator): Promise<ShownLayout> {
  return JSON.parse((await canvas.getAttribute('data-layout')) ?? 'null') as ShownLayout;
}

export function shownLayout(page: Page, name: string): Promise<ShownLayout> {
  return canvasLayout(bitmap(page, name));
}

/** The labels drawn on the axes. */
export async function axisLabels(
  page: Page,
  name: string,
): Promise<{ rows: { row: number; text: string }[]; cols: { col: number; text: string }[] }> {
  return JSON.parse((await bitmap(page, name).getAttribute('data-axis')) ?? 'null');
}

/** The canvas's colour at CSS pixel (x, y). */
export function pixel(page: Page, name: string, x: number, y: number): Promise<number[]> {
  return canvasPixel(bitmap(page, name), x, y);
}

/** A bitmap canvas's colour at CSS pixel (x, y). */
function canvasPixel(canvas: Locator, x: number, y: number): Promise<number[]> {
  return canvas.evaluate(
    (c, [px, py]) => {
      const cv = c as HTMLCanvasElement;
      const dpr = cv.width / cv.clientWidth;
      const d = cv.getContext('2d')!.getImageData(Math.floor(px! * dpr), Math.floor(py! * dpr), 1, 1).data;
      return [d[0]!, d[1]!, d[2]!];
    },
    [x, y],
  );
}

/** The CSS pixel at the centre of the cell showing bit `bit` (plus dx, dy). */
export function cellCentre(L: ShownLayout, bit: number, dx = 0, dy = 0): { x: number; y: number } {
  const i = L.lead + Math.floor((bit - L.from) / L.per);
  return {
    x: L.left + (i % L.cols) * L.cell + L.cell / 2 + dx,
    y: L.top + Math.floor(i / L.cols) * L.cell + L.cell / 2 + dy,
  };
}

/** The colour of the cell showing `bit`. */
export function cellColour(page: Page, name: string, bit: number): Promise<number[]> {
  return canvasCellColour(bitmap(page, name), bit);
}

/** The colour of the cell of a bitmap canvas showing `bit`. */
export async function canvasCellColour(canvas: Locator, bit: number): Promise<number[]> {
  const p = cellCentre(await canvasLayout(canvas), bit);
  return canvasPixel(canvas, p.x, p.y);
}

/** Resolves after the bitmap of `name` was drawn again. */
export async function redrawn(page: Page, name: string, before: string | null): Promise<void> {
  await page.waitForFunction(
    ([n, d]) =>
      document.querySelector(`section.area[data-area="${n}"] canvas.bitmap`)?.getAttribute('data-drawn') !==
      d,
    [name, before] as const,
  );
}

export const drawnCount = (page: Page, name: string): Promise<string | null> =>
  bitmap(page, name).getAttribute('data-drawn');

/** Colours within `tol` of each other per channel. */
export function near(a: readonly number[], b: readonly number[], tol = 24): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tol);
}

/** Waits (up to 10 s) until the cell showing `bit` has a colour near `colour` (or not, with `not`). */
export async function untilCell(
  page: Page,
  name: string,
  bit: number,
  colour: readonly number[],
  opts: { tol?: number; not?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last: number[] = [];
  while (Date.now() < deadline) {
    last = await cellColour(page, name, bit);
    if (near(last, colour, opts.tol ?? 0) !== !!opts.not) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`${name} bit ${bit}: colour ${last} ${opts.not ? 'still' : 'never'} near ${colour}`);
}
