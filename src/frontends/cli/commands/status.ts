// `cma-debug status [SOURCE] [--watch] [--json]`: one line per area, like `top` with --watch.

import type { Command } from 'commander';
import { summarizeArea } from '../../../analysis/summary.ts';
import type { AreaModel } from '../../../sources/model.ts';
import { readAreas } from '../../../sources/model.ts';
import { jsonText } from '../json.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, SOURCE_HELP, sourceFromFlags } from '../source-options.ts';
import { UsageError } from '../system-options.ts';

function row(m: AreaModel) {
  const s = summarizeArea(m.area, m.layout === 'ranges');
  return {
    name: m.name,
    count: m.area.count,
    used: m.reported.used ?? s.used,
    free: m.area.count - (m.reported.used ?? s.used),
    maxchunk: s.maxchunk,
    fragmentation: Number(s.fragmentation.toFixed(4)),
    ranges: m.area.ranges.length,
    sysfs: Object.fromEntries(Object.entries(m.sysfs).map(([k, v]) => [k, v.toString()])),
  };
}

function table(rows: ReturnType<typeof row>[], header: string): string {
  const lines = [
    header,
    'AREA            SIZE(pages)        USED        FREE    MAXCHUNK  FRAG  ALLOC_OK/FAIL',
  ];
  for (const r of rows) {
    const ok = r.sysfs.alloc_pages_success ?? '-';
    const fail = r.sysfs.alloc_pages_fail ?? '-';
    lines.push(
      `${r.name.padEnd(14)} ${String(r.count).padStart(12)} ${String(r.used).padStart(11)} ${String(r.free).padStart(11)} ${String(r.maxchunk).padStart(11)} ${`${Math.round(r.fragmentation * 100)}%`.padStart(5)}  ${ok}/${fail}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function registerStatus(program: Command): void {
  addSourceOptions(
    program
      .command('status')
      .summary('Print one line per area: size, used, free, maxchunk and fragmentation.')
      .description(
        `Print one line per area: size, used, free, maxchunk, fragmentation (1 - maxchunk/free) and the sysfs counters.\n\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .option('--watch [seconds]', 'redraw every N seconds (default 2) until interrupted')
      .option('--json', 'print JSON'),
  ).action(
    async (source: string | undefined, flags: SourceFlags & { watch?: string | boolean; json?: boolean }) => {
      const src = sourceFromFlags(source, flags);
      const once = async () => {
        const tree = await src.capture();
        const rows = readAreas(tree).map(row);
        if (flags.json)
          return `${jsonText({ source: tree.source, capturedAt: tree.capturedAt, kernelRelease: tree.kernelRelease, areas: rows })}\n`;
        return table(rows, `${tree.source}  kernel ${tree.kernelRelease ?? '?'}  ${tree.capturedAt}`);
      };
      if (flags.watch === undefined) {
        process.stdout.write(await once());
        return;
      }
      const seconds = flags.watch === true ? 2 : Number(flags.watch);
      if (!(seconds > 0))
        throw new UsageError(`--watch: '${flags.watch}' is not a positive number of seconds`);
      for (;;) {
        const text = await once();
        process.stdout.write(flags.json || !process.stdout.isTTY ? text : `\x1b[H\x1b[2J${text}`);
        await new Promise((r) => setTimeout(r, seconds * 1000));
      }
    },
  );
}
