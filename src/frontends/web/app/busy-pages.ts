// Busy pages on the dashboard: pages the kernel could not migrate (pinned or held), drawn in their
// own colour over the bitmap, with their owner (pid, comm, kind) in the hover line.

/** A busy page range of an area, as /api/areas gives it. */
export interface BusyView {
  pfn: number;
  count: number;
  error: number;
  owner?: { pid: number; comm: string; kind: string };
}

/** The colour of busy pages (amber: neither used nor free). */
export const BUSY_COLOUR = '#f59e0b';

/** Where the grid is drawn: first bit, bits per cell, columns, cell size (from the bitmap view). */
export interface GridPlace {
  from: number;
  per: number;
  cols: number;
  cell: number;
}

/** Paints the cells holding a busy page of the shown range. */
export function drawBusy(
  ctx: CanvasRenderingContext2D,
  busy: readonly BusyView[],
  basePfn: number,
  pagesPerBit: number,
  bits: number,
  L: GridPlace,
  cells: number,
): void {
  ctx.fillStyle = BUSY_COLOUR;
  for (const b of busy) {
    const firstBit = Math.floor((b.pfn - basePfn) / pagesPerBit);
    const lastBit = Math.floor((b.pfn + b.count - 1 - basePfn) / pagesPerBit);
    if (lastBit < 0 || firstBit >= bits) continue;
    const first = Math.max(0, Math.floor((Math.max(firstBit, 0) - L.from) / L.per));
    const last = Math.min(cells - 1, Math.floor((Math.min(lastBit, bits - 1) - L.from) / L.per));
    for (let i = first; i <= last; i++) {
      const inset = L.cell >= 6 ? 1 : 0;
      ctx.fillRect(
        (i % L.cols) * L.cell + inset,
        Math.floor(i / L.cols) * L.cell + inset,
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
    b.owner ? `pid ${b.owner.pid} (${b.owner.comm}, ${b.owner.kind})` : `owner unknown (error ${b.error})`,
  );
  return ` · busy: ${[...new Set(who)].join('; ')}`;
}
