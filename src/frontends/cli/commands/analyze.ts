// `cma-debug analyze SOURCE [--area NAME] [--json]`: free-run histogram, largest run at each
// alignment, and the fits / exhaustion / fragmentation verdict for request sizes.

import type { Command } from 'commander';
import { explainAlloc } from '../../../analysis/explain.ts';
import { summarizeArea } from '../../../analysis/summary.ts';
import type { KernelProfile } from '../../../core/profile.ts';
import { showsFailures } from '../../../sources/device-model.ts';
import type { AreaModel } from '../../../sources/model.ts';
import { pickArea, profileForLayout, profileForTree } from '../../../sources/model.ts';
import { toReplaySpec } from '../../../sources/trace/replay.ts';
import { areasOrDevice, deviceReportJson, deviceReportText, deviceWarning } from '../device-report.ts';
import { jsonText } from '../json.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, areaName, SOURCE_HELP, sourceFromFlags } from '../source-options.ts';
import { UsageError } from '../system-options.ts';
import { type AreaTraceCosts, latencyText, totalsText, traceCosts } from './replay-costs.ts';

/** The JSON object of one area (numbers in pages). */
function analyzeAreaJson(
  m: AreaModel,
  requests: number[],
  align: number,
  profile: KernelProfile = profileForLayout(m.layout),
) {
  const s = summarizeArea(m.area, m.layout === 'ranges');
  return {
    name: m.name,
    basePfn: s.basePfn,
    count: s.count,
    orderPerBit: s.orderPerBit,
    layout: m.layout,
    used: m.reported.used ?? s.used,
    maxchunk: s.maxchunk,
    free: s.free,
    usedFromBitmap: s.usedFromBitmap,
    reportedUsed: m.reported.used,
    reportedMaxchunk: m.reported.maxchunk,
    fragmentation: s.fragmentation,
    freeRuns: s.freeRunCount,
    fitsUpTo: s.fitsUpTo,
    histogram: s.histogram,
    largestByOrder: s.largestByOrder,
    ranges: s.ranges,
    sysfs: Object.fromEntries(Object.entries(m.sysfs).map(([k, v]) => [k, Number(v)])),
    requests: requests.map((pages) => {
      const e = explainAlloc(m.area, profile, pages, align);
      return { pages, align, verdict: e.verdict, ok: e.ok, pfn: e.pfn, reason: e.reason };
    }),
    notes: m.notes,
    trace: undefined as (AreaTraceCosts & { file: string }) | undefined,
  };
}

/** Which request sizes (align 0) fit, fail by fragmentation, fail by exhaustion: no empty ranges. */
export function fitSentence(fitsUpTo: number, free: number, count: number): string {
  const parts: string[] = [];
  if (fitsUpTo === 0) parts.push('no request fits (no free page)');
  else parts.push(fitsUpTo === 1 ? 'requests of 1 page fit' : `requests of 1..${fitsUpTo} pages fit`);
  if (free > fitsUpTo)
    parts.push(
      free === fitsUpTo + 1
        ? `${free} pages fail by fragmentation`
        : `${fitsUpTo + 1}..${free} pages fail by fragmentation`,
    );
  if (free < count) parts.push(`more than ${free} pages fail by exhaustion`);
  else parts.push(`more than ${count} pages are larger than the area`);
  return `${parts.join('; ')}.`;
}

function text(a: ReturnType<typeof analyzeAreaJson>): string {
  const out = [
    `== ${a.name}: ${a.count} pages, order_per_bit ${a.orderPerBit}, ${a.ranges.length} range(s), layout ${a.layout}`,
    `used ${a.used}  free ${a.free}  maxchunk ${a.maxchunk}  free runs ${a.freeRuns}  fragmentation ${(a.fragmentation * 100).toFixed(1)}% (1 - maxchunk/free)`,
  ];
  if (a.reportedMaxchunk !== null && a.reportedMaxchunk !== a.maxchunk)
    out.push(`warning: the maxchunk file says ${a.reportedMaxchunk} (captured while changing?)`);
  if (a.ranges.length > 1)
    a.ranges.forEach((r, i) => {
      out.push(
        `range ${i}: base_pfn 0x${r.basePfn.toString(16)} ${r.count} pages, ${r.usedBits} bits used, maxchunk ${r.maxchunk}`,
      );
    });
  out.push(fitSentence(a.fitsUpTo, a.free, a.count));
  out.push('free runs (pages): count, total pages');
  for (const b of a.histogram)
    out.push(
      `  ${`${b.minPages}-${b.maxPages}`.padStart(17)}: ${String(b.runs).padStart(6)} ${String(b.pages).padStart(10)}`,
    );
  out.push('largest request that fits, by alignment order (2^order pages):');
  out.push(`  ${a.largestByOrder.map((o) => `${o.order}:${o.pages}`).join('  ')}`);
  for (const r of a.requests)
    out.push(
      `alloc ${r.pages} align ${r.align}: ${r.verdict}${r.pfn !== null ? ` at pfn 0x${r.pfn.toString(16)}` : ''} (${r.reason})`,
    );
  for (const n of a.notes) out.push(`note: ${n}`);
  if (a.trace !== undefined) out.push(...traceText(a.trace));
  return `${out.join('\n')}\n`;
}

/** What the trace (--trace) tells of an area's allocations. */
function traceText(t: AreaTraceCosts & { file: string }): string[] {
  const out = [`trace ${t.file}: ${t.allocsOk} allocations ok, ${t.allocsFailed} failed`];
  out.push(
    t.latencyUs !== null ? `  ${latencyText(t.latencyUs)}` : '  no allocation latency (no start/finish pair)',
  );
  if (t.migration !== null)
    out.push(
      `  migration (${t.migration.source}): ${totalsText(t.migration)}, ${t.migration.failures} failures with counts`,
    );
  return out;
}

export function registerAnalyze(program: Command): void {
  addSourceOptions(
    program
      .command('analyze')
      .summary("Show an area's free runs and which request sizes fit.")
      .description(
        `Show the free-run histogram, the largest usable run per alignment, and which request sizes fit, fail by fragmentation or fail by exhaustion. ` +
          `Without debugfs (a production kernel, a copy DIR/{sys/kernel/mm/cma,proc,dmesg}, a bug report) it reports ` +
          `what sysfs, /proc and the kernel log tell, each figure known, ~inferred or ?unknown, and the last failure's ` +
          `verdict from its free-range dump (6.12+), with a warning line on stderr; exit 1 when it shows a failed ` +
          `allocation (sysfs alloc_pages_fail above 0, a failure in the kernel log), else 0 (unreadable files alone are not a finding).\n\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .option('--name <area>', 'only this area.')
      .option(
        '--alloc <pages>',
        'verdict for a request of this many pages (repeatable)',
        (v: string, p: string[] | undefined) => [...(p ?? []), v],
      )
      .option('--align <order>', 'alignment order of the --alloc requests', '0')
      .option(
        '--trace <file>',
        "a cma trace of this system (text, trace.dat or Perfetto): replayed on the source's areas for each area's cma_alloc latency (p50/p90/p99/max, µs) and, when the trace has them, migrate counts",
      )
      .option(
        '--kernel-release <release>',
        'with --trace: the kernel release when the trace does not record one',
      )
      .option(
        '--json',
        'print JSON: {"areas":[{"name","basePfn","count","orderPerBit","used","maxchunk",…,"trace" (with --trace)}]}; without debugfs {"debugfs":false,"areas":[{"name","basePfn","count","orderPerBit","source","counters","lastFailure"}],"system",…}',
      ),
  ).action(
    async (
      source: string | undefined,
      flags: SourceFlags & {
        alloc?: string[];
        align: string;
        json?: boolean;
        trace?: string;
        kernelRelease?: string;
      },
    ) => {
      const requests = (flags.alloc ?? []).map((v) => {
        if (!/^\d+$/.test(v) || Number(v) === 0)
          throw new UsageError(`--alloc: '${v}' is not a positive number of pages`);
        return Number(v);
      });
      if (!/^\d+$/.test(flags.align) || Number(flags.align) > 63)
        throw new UsageError(`--align: '${flags.align}' is not an order`);
      const c = areasOrDevice(await sourceFromFlags(source, flags).capture());
      const name = areaName(flags);
      if (c.kind === 'device') {
        process.stderr.write(deviceWarning(c));
        const r = c.report;
        const pick = name !== undefined ? r.areas.filter((a) => a.name === name) : r.areas;
        if (name !== undefined && pick.length === 0)
          throw new UsageError(
            `${r.source}: no area '${name}' (have: ${r.areas.map((a) => a.name).join(', ')})`,
          );
        const shown = { ...r, areas: pick };
        if (requests.length > 0)
          process.stderr.write(
            'warning: --alloc needs the bitmap (debugfs); without it the verdict is unknown\n',
          );
        if (flags.trace !== undefined)
          process.stderr.write(
            "warning: --trace needs the areas' layout (debugfs); give it to `cma-debug replay --infer` instead\n",
          );
        if (flags.json) process.stdout.write(`${jsonText(deviceReportJson(shown), 2)}\n`);
        else
          process.stdout.write(
            deviceReportText(shown, process.stdout.isTTY === true && !process.env.NO_COLOR),
          );
        // a failed allocation the device shows is a finding: exit 1
        if (showsFailures(shown)) process.exitCode = 1;
        return;
      }
      const { tree, areas } = c;
      const chosen = name !== undefined ? [pickArea(areas, name, tree.source)] : areas;
      if (chosen.length === 0) throw new UsageError(`${tree.source}: no CMA areas`);
      const profile = profileForTree(tree, areas);
      const out = chosen.map((m) => analyzeAreaJson(m, requests, Number(flags.align), profile));
      if (flags.trace !== undefined) {
        // the trace replayed on every area of the source (the trace may use any of them)
        const specs = areas.map((m) =>
          toReplaySpec({ name: m.name, orderPerBit: m.area.orderPerBit, ranges: m.area.ranges }),
        );
        let t: Awaited<ReturnType<typeof traceCosts>>;
        try {
          t = await traceCosts(flags.trace, specs, flags.kernelRelease ?? tree.kernelRelease ?? null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== undefined)
            throw new UsageError(`--trace: ${(e as Error).message}`);
          throw e;
        }
        for (const a of out) {
          const c = t.areas.find((x) => x.area === a.name);
          if (c !== undefined) a.trace = { ...c, file: t.label };
        }
      }
      if (flags.json)
        process.stdout.write(
          `${jsonText({ source: tree.source, capturedAt: tree.capturedAt, kernelRelease: tree.kernelRelease, areas: out }, 2)}\n`,
        );
      else process.stdout.write(out.map(text).join('\n'));
      // a requested size that does not fit is a finding: exit 1
      if (out.some((a) => a.requests.some((r) => !r.ok))) process.exitCode = 1;
    },
  );
}
