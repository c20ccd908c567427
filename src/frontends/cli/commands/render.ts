// `cma-debug render SOURCE [--area NAME] (--png FILE | --svg FILE)`: the bitmap as a picture;
// a terminal view by default.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { summarizeArea } from '../../../analysis/summary.ts';
import { pickArea } from '../../../sources/model.ts';
import { areaGrid } from '../../render/grid.ts';
import { renderPng } from '../../render/png.ts';
import { renderSvg } from '../../render/svg.ts';
import { renderTerminal } from '../../render/terminal.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, areaName, captureAreas, SOURCE_HELP } from '../source-options.ts';
import { UsageError } from '../system-options.ts';

export function registerRender(program: Command): void {
  addSourceOptions(
    program
      .command('render')
      .summary("Draw an area's bitmap as a PNG, an SVG or in the terminal.")
      .description(
        `Draw an area's bitmap as a PNG, an SVG, or in the terminal (the default).\n\n${SOURCE_HELP}`,
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
      const { tree, areas } = await captureAreas(source, flags);
      const m = pickArea(areas, areaName(flags), tree.source);
      const s = summarizeArea(m.area, m.layout === 'ranges');
      const summary = { used: m.reported.used ?? s.used, free: s.free, maxchunk: s.maxchunk };
      const grid = areaGrid(m.area, columns, picture ? columns * 128 : columns * 32);
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
