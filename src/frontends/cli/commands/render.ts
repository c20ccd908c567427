// `cma-debug render SOURCE [--area NAME] (--png FILE | --svg FILE)`: the bitmap as a picture;
// a terminal view by default.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { summarizeArea } from '../../../analysis/summary.ts';
import type { CmaArea } from '../../../core/cma.ts';
import type { DeviceArea } from '../../../sources/device-model.ts';
import { pickArea } from '../../../sources/model.ts';
import { SourceError } from '../../../sources/tree.ts';
import { areaGrid } from '../../render/grid.ts';
import { renderPng } from '../../render/png.ts';
import { renderSvg } from '../../render/svg.ts';
import { renderTerminal } from '../../render/terminal.ts';
import { areasOrDevice, deviceWarning } from '../device-report.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, areaName, SOURCE_HELP, sourceFromFlags } from '../source-options.ts';
import { UsageError } from '../system-options.ts';

export function registerRender(program: Command): void {
  addSourceOptions(
    program
      .command('render')
      .summary("Draw an area's bitmap as a PNG, an SVG or in the terminal.")
      .description(
        `Draw an area's bitmap as a PNG, an SVG, or in the terminal (the default). Without debugfs (a production ` +
          `kernel, a device copy, a bug report) it draws the area at its last failure from the free-range dump the ` +
          `kernel log holds (6.12+), and says so on stderr.\n\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .option('--name <area>', 'the area to look at (needed when there are several).')
      .option('--png <file>', 'write a PNG')
      .option('--svg <file>', 'write an SVG')
      .option('--columns <n>', 'cells per row (default: 128 for pictures, 64 in the terminal)'),
  ).action(
    async (
      source: string | undefined,
      flags: SourceFlags & { png?: string; svg?: string; columns?: string },
    ) => {
      if (flags.png && flags.svg) throw new UsageError('choose --png or --svg, not both');
      const picture = flags.png !== undefined || flags.svg !== undefined;
      const columns = flags.columns !== undefined ? Number(flags.columns) : picture ? 128 : 64;
      if (!Number.isInteger(columns) || columns < 8 || columns > 1024)
        throw new UsageError(`--columns: '${flags.columns}' must be an integer from 8 to 1024`);
      const c = areasOrDevice(await sourceFromFlags(source, flags).capture());
      let area: CmaArea;
      let summary: { used: number; free: number; maxchunk: number };
      if (c.kind === 'device') {
        // no bitmap without debugfs: the area at its last failure, from the free-range dump
        process.stderr.write(deviceWarning(c));
        const d = pickDeviceArea(c.report.areas, areaName(flags), c.tree.source);
        const f = d.lastFailure;
        if (!d.atLastFailure || !f)
          throw new SourceError(
            `${c.tree.source}: ${d.name}: nothing to draw without debugfs: ${f ? 'the last failure printed no free-range dump (before 6.12)' : 'no failure with a free-range dump in the kernel log'}; where the pages are is unknown (a cma trace and cma-debug replay, or debugfs, would say)`,
          );
        process.stderr.write(
          `${d.name}: drawn from the free-range dump after the failure at kernel log line ${f.line} (${f.request ?? '?'} pages, ${f.verdict}), not the present state${d.basePfn === null ? '; the base pfn is unknown (the boot line gives no address): pfns count from 0' : ''}\n`,
        );
        area = d.atLastFailure;
        const s = summarizeArea(area, area.ranges.length > 1);
        // the dump's "=> N free" is the exact free count (available_count), as 7.x debugfs used is exact
        const free = f.free ?? s.free;
        summary = { used: area.count - free, free, maxchunk: s.maxchunk };
      } else {
        const m = pickArea(c.areas, areaName(flags), c.tree.source);
        const s = summarizeArea(m.area, m.layout === 'ranges');
        area = m.area;
        summary = { used: m.reported.used ?? s.used, free: s.free, maxchunk: s.maxchunk };
      }
      const grid = areaGrid(area, columns, picture ? columns * 128 : columns * 32);
      const write = (file: string, data: string | Buffer) => {
        try {
          fs.writeFileSync(file, data);
        } catch (e) {
          throw new UsageError(
            `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
      };
      if (flags.png !== undefined) write(flags.png, renderPng(grid, summary));
      else if (flags.svg !== undefined) write(flags.svg, renderSvg(grid, summary));
      else
        process.stdout.write(
          renderTerminal(grid, summary, process.stdout.isTTY === true && !process.env.NO_COLOR),
        );
    },
  );
}

/** The device area `name`, or the only one, or the only one with a failure dump to draw. */
function pickDeviceArea(areas: readonly DeviceArea[], name: string | undefined, source: string): DeviceArea {
  const have = () => areas.map((a) => a.name).join(', ') || 'none';
  if (name !== undefined) {
    const a = areas.find((x) => x.name === name);
    if (!a) throw new UsageError(`${source}: no area '${name}' (have: ${have()})`);
    return a;
  }
  if (areas.length === 1) return areas[0]!;
  const drawable = areas.filter((a) => a.atLastFailure !== null);
  if (drawable.length === 1) return drawable[0]!;
  throw new UsageError(`${source}: several areas (${have()}): choose one with --name`);
}
