// `cma-debug plan TRACE`: the smallest area (and order_per_bit) on which the recorded workload
// never fails, found by replaying its request/release sequence with our allocator.

import type { Command } from 'commander';
import type { TraceSource } from '../../../sources/trace/input.ts';
import { openTraceSource } from '../../../sources/trace/input.ts';
import type { FailedPolicy, PlanResult } from '../../../analysis/plan.ts';
import { planTrace } from '../../../analysis/plan.ts';
import { addSystemOptions, UsageError } from '../system-options.ts';
import type { TraceAreaFlags } from './replay.ts';
import { areasFromFlags, bitmapFactoryFromFlag } from './replay.ts';

interface PlanFlags extends TraceAreaFlags {
  json?: boolean;
  orderPerBit?: string;
  failed?: string;
}

function mib(pages: number): string {
  return `${((pages * 4096) / 2 ** 20).toFixed(pages % 256 === 0 ? 0 : 2)} MiB`;
}

export function registerPlan(program: Command): void {
  addSystemOptions(
    program
      .command('plan')
      .description(
        'size a CMA area for the workload recorded in a trace: the smallest size (per order_per_bit)\n' +
          'on which the sequence of requests and releases never fails, with the headroom at the worst moment;\n' +
          'it plans single-range areas (one contiguous range; a multi-range area is sized as one range)',
      )
      .argument('<trace>', 'trace file, .gz, or - for stdin')
      .argument('[areas...]', 'area specs, as --area (only base_pfn and name matter)')
      .option('--from-snapshot <file>', 'take the areas (base pfns) from a snapshot file')
      .option('--infer', 'guess the areas from the pfns in the trace')
      .option('--order-per-bit <list>', 'order_per_bit values to try, e.g. 0,9 (default 0-9)')
      .option(
        '--failed <policy>',
        'requests that failed in the recording: transient (default: must fit then, not kept), hold (kept to the end), skip',
      )
      .option('--bitmap <kind>', 'bitmap implementation: indexed (default) or plain')
      .option('--json', 'print JSON'),
  ).action(async (trace: string, positional: string[], flags: PlanFlags) => {
    const areas = areasFromFlags(flags, positional);
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
        bitmapFactory: bitmapFactoryFromFlag(flags.bitmap),
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
      process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
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
      o.push(
        '  order_per_bit        bits       pages        size   peak used    headroom  maxchunk@worst  worst line',
      );
      for (const c of a.choices)
        o.push(
          `  ${String(c.orderPerBit).padStart(13)} ${String(c.bits).padStart(11)} ${String(c.pages).padStart(11)} ${mib(c.pages).padStart(11)} ${String(c.peakUsedPages).padStart(11)} ${String(c.headroomPages).padStart(11)} ${String(c.maxchunkAtWorst).padStart(15)} ${String(c.worstLine).padStart(11)}`,
        );
      if (a.best)
        o.push(
          `  smallest: ${a.best.pages} pages (${mib(a.best.pages)}) with order_per_bit ${a.best.orderPerBit}; one granule less (${a.best.pages - 2 ** a.best.orderPerBit} pages) fails`,
        );
      else o.push('  no size up to 2^31 bits works');
    }
    process.stdout.write(`${o.join('\n')}\n`);
  });
}
