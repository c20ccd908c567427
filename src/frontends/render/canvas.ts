// A drawing surface for the PNG pictures: @napi-rs/canvas (Skia, prebuilt) with the DejaVu fonts
// from npm, so labels are real text (lowercase hex, a slashed/dotted 0 distinct from O).

import { createRequire } from 'node:module';
import type { Canvas, SKRSContext2D } from '@napi-rs/canvas';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';

let registered = false;

/** The font families the pictures use (registered once). */
export const SANS = 'DejaVu Sans';
export const MONO = 'DejaVu Sans Mono';

function registerFonts(): void {
  if (registered) return;
  const require = createRequire(import.meta.url);
  GlobalFonts.registerFromPath(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), SANS);
  GlobalFonts.registerFromPath(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSansMono.ttf'), MONO);
  registered = true;
}

/** A white canvas of width × height with the fonts ready. */
export function whiteCanvas(width: number, height: number): { canvas: Canvas; ctx: SKRSContext2D } {
  registerFonts();
  const canvas = createCanvas(Math.ceil(width), Math.ceil(height));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.textBaseline = 'alphabetic';
  return { canvas, ctx };
}

/** Width of `text` in `font` (for layout before drawing). */
export function measure(text: string, font: string): number {
  registerFonts();
  const { ctx } = measurer();
  ctx.font = font;
  return ctx.measureText(text).width;
}

let m: { ctx: SKRSContext2D } | null = null;
function measurer(): { ctx: SKRSContext2D } {
  if (!m) m = { ctx: createCanvas(4, 4).getContext('2d') };
  return m;
}
