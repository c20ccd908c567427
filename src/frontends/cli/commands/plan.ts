// `cma-debug plan TRACE`: the smallest area (and order_per_bit) on which the recorded workload
// never fails, found by replaying its request/release sequence with our allocator.

import type { Command } from 'commander';
import type { FailedPolicy, PlanResult } from '../../../analysis/plan.ts';
import { planTrace } from '../../../analysis/plan.ts';
import type { TraceSource } from '../../../sources/trace/input.ts';
import { openTraceSource } from '../../../sources/trace/input.ts';
import { jsonText } from '../json.ts';
import { addSystemOptions, UsageError } from '../system-options.ts';
import type { TraceAreaFlags } from './replay.ts';
import { areasFromFlags, bitmapFactoryFromFlag } from './replay.ts';

interface PlanFlags extends TraceAreaFlags {
  json?: boolean;
  orderPerBit?: string;
  failed?: string;
  includeOversize?: boolean;
  show?: string;
  threads?: string;
}

function mib(pages: number): string {
  const m = (pages * 4096) / 2 ** 20;
  if (m >= 1024) return `${(m / 1024).toFixed(pages % 262144 === 0 ? 0 : 2)} GiB`;
  return `${m.toFixed(pages % 256 === 0 ? 0 : 2)} MiB`;
}

export function registerPlan(program: Command): void {
  addSystemOptions(
    program
      .command('plan')
      .summary('Find the smallest area on which a traced workload never fails.')
      .description(
        'Size a CMA area for the workload recorded in a trace: for each order_per_bit, the smallest size on ' +
          'which the sequence of requests and releases never fails, with the headroom at the worst moment. ' +
          'Requests larger than the recorded area are set aside and listed (--include-oversize keeps them). ' +
          'It plans single-range areas: a multi-range area is sized as one contiguous range.',
      )
      .argument('<trace>', 'trace file, .gz, a named pipe, or - for stdin')
      .argument('[areas...]', 'area specs, as --area (only base_pfn and name matter)')
      .option('--from-snapshot <file>', 'take the areas (base pfns) from a snapshot file')
      .option('--infer', 'guess the areas from the pfns in the trace')
      .option('--order-per-bit <list>', 'order_per_bit values to try, e.g. 0,9 (default 0-9)')
      .option(
        '--failed <policy>',
        'requests that failed in the recording: transient (default: must fit then, not kept), hold (kept to the end), skip',
      )
      .option(
        '--include-oversize',
        'also size for requests larger than the recorded area (by default they are set aside and listed).',
      )
      .option('--show <n>', 'how many set-aside requests to list per area.', '10')
      .option('--bitmap <kind>', 'bitmap implementation: indexed (default) or plain')
      .option(
        '--threads <n>',
        'threads sizing the order_per_bit values at once: 1 (one thread) or 2 (a helper thread too); by default 2 for a trace of 8 MiB or more when the rest of the machine leaves a core idle while the trace is read, else 1',
      )
      .option('--json', 'print JSON'),
  ).action(async (trace: string, positional: string[], flags: PlanFlags) => {
    const areas = await areasFromFlags(flags, positional);
    let opbs: number[] | undefined;
    if (flags.orderPerBit !== undefined) {
      opbs = flags.orderPerBit
        .split(',')
        .map((t) => {
          const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(t);
          if (range) return [Number(range[1]), Number(range[2])];
          if (!/^\s*\d+\s*$/.test(t)) throw new UsageError(`--order-per-bit: '${t}' is not a number`);
          return [Number(t), Number(t)];
        })
        .flatMap(([a, b]) => Array.from({ length: Math.max(0, b! - a! + 1) }, (_, i) => a! + i));
      if (opbs.some((v) => v > 30)) throw new UsageError('--order-per-bit: values must be 0…30');
    }
    const failed = (flags.failed ?? 'transient') as FailedPolicy;
    if (!['transient', 'hold', 'skip'].includes(failed))
      throw new UsageError(`--failed: '${flags.failed}' is not transient, hold or skip`);
    let threads: number | undefined;
    if (flags.threads !== undefined) {
      if (!/^[12]$/.test(flags.threads)) throw new UsageError(`--threads: '${flags.threads}' is not 1 or 2`);
      threads = Number(flags.threads);
    }
    const show = Number(flags.show ?? '10');
    if (!/^\d+$/.test(flags.show ?? '10')) throw new UsageError(`--show: '${flags.show}' is not a count`);
    let src: TraceSource;
    try {
      src = await openTraceSource(trace, true);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    let r: PlanResult;
    try {
      r = await planTrace(src, {
        areas,
        failed,
        includeOversize: !!flags.includeOversize,
        bitmapFactory: bitmapFactoryFromFlag(flags.bitmap),
        ...(threads !== undefined ? { threads } : {}),
        ...(opbs ? { orderPerBits: opbs } : {}),
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== undefined)
        throw new UsageError(`${src.label}: ${(e as Error).message}`);
      throw e;
    } finally {
      src.dispose();
    }
    if (flags.json) {
      process.stdout.write(`${jsonText(r, 1)}\n`);
      if (r.areas.some((a) => a.best === null && a.noSizeReason?.startsWith('no size'))) process.exitCode = 1;
      return;
    }
    const o: string[] = [
      `trace ${src.label}: ${r.events} cma events; failed requests treated as ${r.failedPolicy}`,
    ];
    if (r.areaSource === 'inferred')
      o.push(
        'areas: INFERRED from the pfns (a guess); the base pfn matters for aligned requests, give it with --area',
      );
    for (const a of r.areas) {
      if (a.recordedRanges > 1)
        o.push(
          `note: area ${a.name} was recorded with ${a.recordedRanges} ranges; plan sizes single-range areas: the sizes below are for ONE contiguous range at base_pfn 0x${a.basePfn.toString(16)} (range 0), not per range`,
        );
      o.push(
        `area ${a.name} (base_pfn 0x${a.basePfn.toString(16)}; recorded: ${a.recordedCount} pages${a.recordedRanges > 1 ? ` in ${a.recordedRanges} ranges` : ''}, order_per_bit ${a.recordedOrderPerBit}): ${a.requests} requests, ${a.releases} releases, ${a.failedInTrace} failed in the recording${a.unknownReleases ? `, ${a.unknownReleases} releases of allocations older than the trace (ignored)` : ''}`,
      );
      if (a.setAside.length > 0) {
        o.push(
          `  set aside ${a.setAside.length} request${a.setAside.length === 1 ? '' : 's'} larger than the recorded area (${a.recordedCount} pages): no size of this area can satisfy ${a.setAside.length === 1 ? 'it' : 'them'} (--include-oversize keeps them)`,
        );
        for (const x of a.setAside.slice(0, show))
          o.push(
            `    line ${x.line}: ${x.pages} pages align ${x.align}, ${x.recorded === 'failed' ? 'failed in the recording' : 'succeeded in the recording (the count wraps around to 0 bits)'}`,
          );
        if (a.setAside.length > show) o.push(`    … ${a.setAside.length - show} more (--show)`);
      }
      if (a.choices.length === 0) {
        o.push(`  no size: ${a.noSizeReason}`);
        continue;
      }
      o.push(
        '  order_per_bit        bits       pages        size   peak used    headroom  maxchunk@worst  worst line',
      );
      for (const c of a.choices)
        o.push(
          `  ${String(c.orderPerBit).padStart(13)} ${String(c.bits).padStart(11)} ${String(c.pages).padStart(11)} ${mib(c.pages).padStart(11)} ${String(c.peakUsedPages).padStart(11)} ${String(c.headroomPages).padStart(11)} ${String(c.maxchunkAtWorst).padStart(15)} ${String(c.worstLine).padStart(11)}`,
        );
      if (a.best && a.best.bits > 0)
        o.push(
          `  smallest: ${a.best.pages} pages (${mib(a.best.pages)}) with order_per_bit ${a.best.orderPerBit}; one granule less (${a.best.pages - 2 ** a.best.orderPerBit} pages) fails`,
        );
      else if (a.best) o.push('  smallest: 0 pages: the requests need no bitmap bits');
      else o.push(`  no size: ${a.noSizeReason}`);
    }
    process.stdout.write(`${o.join('\n')}\n`);
    // a workload with no size that works is a finding (exit 1), as in --json
    if (r.areas.some((a) => a.best === null && a.requests > 0 && a.noSizeReason?.startsWith('no size')))
      process.exitCode = 1;
  });
}
