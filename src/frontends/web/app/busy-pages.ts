// Busy pages on the dashboard: pages the kernel could not migrate (pinned or held), drawn in their
// own colour over the bitmap, with their owner (pid, comm, kind) in the hover line.

import type { BusyView } from './api.ts';
import type { GridLayout } from './layout.ts';
import { cellOfBit } from './layout.ts';

/** The colour of busy pages (amber: neither used nor free). */
export const BUSY_COLOUR = '#f59e0b';

/** Paints the cells holding a busy page of the shown bits. */
export function drawBusy(ctx: CanvasRenderingContext2D, busy: readonly BusyView[], L: GridLayout): void {
  ctx.fillStyle = BUSY_COLOUR;
  const inset = L.cell >= 6 ? 1 : 0;
  for (const b of busy) {
    const firstBit = Math.max(L.from, Math.floor((b.pfn - L.basePfn) / L.unit));
    const lastBit = Math.min(L.to - 1, Math.floor((b.pfn + b.count - 1 - L.basePfn) / L.unit));
    if (lastBit < firstBit) continue;
    for (let i = cellOfBit(L, firstBit); i <= cellOfBit(L, lastBit); i++) {
      ctx.fillRect(
        L.left + (i % L.cols) * L.cell + inset,
        L.top + Math.floor(i / L.cols) * L.cell + inset,
        L.cell - 2 * inset,
        L.cell - 2 * inset,
      );
    }
  }
}

/** " · busy: pid 1234 (camera_hal, anon)" for a hovered pfn range holding busy pages, else "". */
export function busyHover(busy: readonly BusyView[], pfnFrom: number, pfnTo: number): string {
  const hit = busy.filter((b) => b.pfn < pfnTo && pfnFrom < b.pfn + b.count);
  if (hit.length === 0) return '';
  const who = hit.map((b) =>
    b.owner
      ? `pid ${b.owner.pid} (${b.owner.comm}, ${b.owner.kind})`
      : b.isolated
        ? 'pageblock left isolated by a zero-bit allocation'
        : `owner unknown (error ${b.error})`,
  );
  return ` · busy: ${[...new Set(who)].join('; ')}`;
}
