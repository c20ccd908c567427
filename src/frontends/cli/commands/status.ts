// `cma-debug status [SOURCE] [--watch] [--json]`: one line per area, like `top` with --watch.

import type { Command } from 'commander';
import { summarizeArea } from '../../../analysis/summary.ts';
import type { DeviceArea } from '../../../sources/device-model.ts';
import { showsFailures } from '../../../sources/device-model.ts';
import type { AreaModel } from '../../../sources/model.ts';
import { areasOrDevice, deviceWarning, mark } from '../device-report.ts';
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

/** One device area: figures with provenance, counters, and their rates since the previous read. */
function deviceRow(
  a: DeviceArea,
  prev: { at: number; counters: Map<string, Record<string, number>> } | null,
  now: number,
) {
  const before = prev?.counters.get(a.name);
  const seconds = prev ? (now - prev.at) / 1000 : 0;
  const rates: Record<string, number> = {};
  if (before && seconds > 0)
    for (const [k, v] of Object.entries(a.counters))
      if (before[k] !== undefined && /success|fail/.test(k))
        rates[k] = Number(((v - before[k]!) / seconds).toFixed(2));
  return {
    name: a.name,
    count: a.count,
    used: a.used,
    free: a.free,
    source: a.source,
    counters: a.counters,
    rates,
    lastFailure: a.lastFailure ? { request: a.lastFailure.request, verdict: a.lastFailure.verdict } : null,
  };
}

function deviceTable(rows: ReturnType<typeof deviceRow>[], header: string): string {
  const lines = [
    header,
    'AREA            SIZE(pages)        USED        FREE  ALLOC_OK/FAIL (pages)  RATE ok/fail (pages/s)  LAST FAILURE',
  ];
  for (const r of rows) {
    const ok = r.counters.alloc_pages_success ?? '-';
    const fail = r.counters.alloc_pages_fail ?? '-';
    const rate =
      r.rates.alloc_pages_success !== undefined
        ? `${r.rates.alloc_pages_success}/${r.rates.alloc_pages_fail ?? '-'}`
        : '-';
    const last = r.lastFailure ? `${r.lastFailure.request ?? '?'} pages: ${r.lastFailure.verdict}` : '-';
    lines.push(
      `${r.name.padEnd(14)} ${mark(r.count, r.source.count).padStart(12)} ${mark(r.used, r.source.used).padStart(11)} ${mark(r.free, r.source.free).padStart(11)}  ${`${ok}/${fail}`.padEnd(21)}  ${rate.padEnd(22)}  ${last}`,
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
        `Print one line per area: size, used, free, maxchunk, fragmentation (1 - maxchunk/free) and the sysfs counters. ` +
          `Without debugfs: size, used, free (known, ~inferred or ?unknown), the sysfs counters, their rates between ` +
          `two reads (--watch) and the last failure's verdict, with a warning line on stderr; exit 1 when it shows a ` +
          `failed allocation (sysfs alloc_pages_fail above 0, a failure in the kernel log), else 0.\n\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .option(
        '--watch [seconds]',
        'redraw every N seconds (default 2) until interrupted; shows counter rates between reads',
      )
      .option('--json', 'print JSON'),
  ).action(
    async (source: string | undefined, flags: SourceFlags & { watch?: string | boolean; json?: boolean }) => {
      const src = sourceFromFlags(source, flags);
      let prev: { at: number; counters: Map<string, Record<string, number>> } | null = null;
      let warned = false;
      let failing = false;
      const once = async () => {
        const tree = await src.capture();
        const c = areasOrDevice(tree);
        if (c.kind === 'debugfs') {
          const rows = c.areas.map(row);
          if (flags.json)
            return `${jsonText({ source: tree.source, capturedAt: tree.capturedAt, kernelRelease: tree.kernelRelease, areas: rows })}\n`;
          return table(rows, `${tree.source}  kernel ${tree.kernelRelease ?? '?'}  ${tree.capturedAt}`);
        }
        if (!warned) process.stderr.write(deviceWarning(c));
        warned = true;
        const now = Date.parse(tree.capturedAt);
        failing = showsFailures(c.report);
        const rows = c.report.areas.map((a) => deviceRow(a, prev, now));
        prev = { at: now, counters: new Map(c.report.areas.map((a) => [a.name, { ...a.counters }])) };
        if (flags.json)
          return `${jsonText({ source: tree.source, capturedAt: tree.capturedAt, kernelRelease: tree.kernelRelease, debugfs: false, areas: rows, system: c.report.system })}\n`;
        return deviceTable(
          rows,
          `${tree.source}  kernel ${tree.kernelRelease ?? '?'}  ${tree.capturedAt}  (no debugfs: ~ inferred, ? unknown)`,
        );
      };
      if (flags.watch === undefined) {
        process.stdout.write(await once());
        // a failed allocation a device without debugfs shows is a finding: exit 1
        if (failing) process.exitCode = 1;
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
