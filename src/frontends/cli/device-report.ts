// The CLI face of a device without debugfs: capture with a fallback to the device report, its
// JSON (`analyze --json`), its text (every figure marked known / ~inferred / ?unknown), and the
// warning line printed on stderr.

import { summarizeArea } from '../../analysis/summary.ts';
import type { DeviceReport } from '../../sources/device-model.ts';
import { deviceAreaJson, deviceReport, hasDeviceData } from '../../sources/device-model.ts';
import type { AreaModel } from '../../sources/model.ts';
import { readAreas } from '../../sources/model.ts';
import type { CmaTree } from '../../sources/tree.ts';
import { DEBUGFS_CMA, isTreeDir, SourceError } from '../../sources/tree.ts';
import { areaGrid } from '../render/grid.ts';
import { renderTerminal } from '../render/terminal.ts';

/** Areas from debugfs, or, when there is none, the device report. */
export type Capture =
  | { readonly kind: 'debugfs'; readonly tree: CmaTree; readonly areas: AreaModel[] }
  | { readonly kind: 'device'; readonly tree: CmaTree; readonly report: DeviceReport; readonly why: string };

/** readAreas, falling back to deviceReport when debugfs is missing but sysfs / device files are there. */
export function areasOrDevice(tree: CmaTree): Capture {
  try {
    return { kind: 'debugfs', tree, areas: readAreas(tree) };
  } catch (e) {
    // only a missing or unreadable debugfs falls back; a broken debugfs file stays an error
    if (!(e instanceof SourceError) || isTreeDir(tree, DEBUGFS_CMA) || !hasDeviceData(tree)) throw e;
    return { kind: 'device', tree, report: deviceReport(tree), why: e.message };
  }
}

/** The warning line for stderr when a report is built without debugfs. */
export function deviceWarning(c: Capture & { kind: 'device' }): string {
  const bad = Object.keys(c.report.unreadable);
  return `warning: no CMA debugfs (${c.why.replace(/^.*?: /, '')}): what sysfs, /proc and the kernel log tell${
    bad.length > 0 ? `; not readable: ${bad.map((p) => `${p} (${c.report.unreadable[p]})`).join(', ')}` : ''
  }\n`;
}

/** `analyze --json` of a device. */
export function deviceReportJson(r: DeviceReport) {
  return {
    source: r.source,
    capturedAt: r.capturedAt,
    kernelRelease: r.kernelRelease,
    debugfs: false,
    areas: r.areas.map(deviceAreaJson),
    system: r.system,
    read: r.read,
    unreadable: r.unreadable,
    warnings: r.warnings,
  };
}

/** A figure with its provenance: `16384`, `~16384` (inferred), `?` (unknown). */
export function mark(v: number | null, p: string, fmt: (n: number) => string = String): string {
  if (v === null || p === 'unknown') return '?';
  return p === 'inferred' ? `~${fmt(v)}` : fmt(v);
}

/** `analyze` text of a device. */
export function deviceReportText(r: DeviceReport, colour: boolean): string {
  const out: string[] = [
    `${r.source}  kernel ${r.kernelRelease ?? '?'}  (no debugfs: ~ inferred, ? unknown)`,
  ];
  for (const a of r.areas) {
    const s = a.source;
    out.push(
      `== ${s.name === 'inferred' ? '~' : ''}${a.name}: ${mark(a.count, s.count)} pages at pfn ${mark(a.basePfn, s.basePfn, (n) => `0x${n.toString(16)}`)}, order_per_bit ${mark(a.orderPerBit, s.orderPerBit)}${a.ranges !== null ? `, ${a.ranges} range(s)` : ''}`,
    );
    out.push(
      `used ${mark(a.used, s.used)}  free ${mark(a.free, s.free)}  maxchunk ?  (where the pages are is unknown)`,
    );
    const c = Object.entries(a.counters);
    out.push(
      c.length > 0
        ? `sysfs: ${c.map(([k, v]) => `${k} ${v}`).join('  ')}`
        : 'sysfs: none (no /sys/kernel/mm/cma)',
    );
    const f = a.lastFailure;
    if (f === null) out.push(`last failure: none in the kernel log${a.failures === 0 ? '' : ''}`);
    else {
      out.push(
        `last failure (log line ${f.line}): ${f.request ?? '?'} pages, ret ${f.ret ?? '?'}: ${f.verdict}: ${f.reason}`,
      );
      if (f.fitsUpTo !== null)
        out.push(
          `  at that moment: ${f.free} free, longest run ${f.maxchunk}: requests of 1..${f.fitsUpTo} pages fit (align 0)`,
        );
      if (a.atLastFailure) {
        const sum = summarizeArea(a.atLastFailure, false);
        const grid = areaGrid(a.atLastFailure, 64, 64 * 16);
        const ranges = a.atLastFailure.ranges.length;
        // the log gives range 0's pfn at most: the rest of the picture's pfns are offsets
        if (a.basePfn === null || ranges > 1)
          out.push(
            `  the picture's pfns: ${a.basePfn === null ? 'counted from 0 (the base is not in the log)' : 'range 0 at its base'}${ranges > 1 ? '; later ranges drawn end to end (their pfns are not in the log)' : ''}`,
          );
        out.push(
          renderTerminal(
            grid,
            { used: sum.used, free: f.free ?? sum.free, maxchunk: sum.maxchunk },
            colour,
          ).trimEnd(),
        );
      }
    }
    for (const n of a.notes) out.push(`note: ${n}`);
  }
  const sys = r.system;
  out.push('== system');
  out.push(
    `CmaTotal ${sys.cmaTotal ?? '?'}  CmaFree ${sys.cmaFree ?? '?'}  nr_free_cma ${sys.vmstat?.nrFreeCma ?? '?'}  cma_alloc_success ${sys.vmstat?.allocSuccess ?? '?'}  cma_alloc_fail ${sys.vmstat?.allocFail ?? '?'} (pages / calls)`,
  );
  if (sys.freeBlocksByOrder)
    out.push(
      `free CMA blocks in the page allocator by order (pagetypeinfo, order:blocks): ${sys.freeBlocksByOrder.map((n, o) => `${o}:${n}`).join(' ')}; CMA pageblocks ${sys.cmaPageblocks ?? '?'} of 2^${sys.pageblockOrder ?? '?'} pages`,
    );
  for (const z of sys.zones.filter((z) => (z.cma ?? 0) > 0 || (z.nrFreeCma ?? 0) > 0))
    out.push(`zone ${z.node}/${z.zone}: cma ${z.cma ?? '?'}  nr_free_cma ${z.nrFreeCma ?? '?'}`);
  for (const [p, why] of Object.entries(r.unreadable)) out.push(`not read: ${p}: ${why}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return `${out.join('\n')}\n`;
}
