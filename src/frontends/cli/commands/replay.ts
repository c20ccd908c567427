// `cma-debug replay TRACE`: replay a recorded cma trace on emulated areas (6.1, or 7.x with
// multi-range areas), compare every placement with the kernel's, explain every failure, draw
// the timeline, save the final state.

import { createWriteStream, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { CmaBitmapFactory } from '../../../core/cma-bitmap.ts';
import { plainBitmapFactory } from '../../../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../../../core/indexed-bitmap.ts';
import type { TraceSource } from '../../../sources/trace/input.ts';
import { openTraceSource } from '../../../sources/trace/input.ts';
import { type AllocationCost, AllocationCosts } from '../../../sources/trace/mm-events.ts';
import type { AllocationRecord, ReplayAreaSpec, ReplayResult } from '../../../sources/trace/replay.ts';
import { replayTrace, toReplaySpec } from '../../../sources/trace/replay.ts';
import { jsonText } from '../json.ts';
import type { SystemFlags } from '../system-options.ts';
import { addSystemOptions, placedFromFlags, UsageError } from '../system-options.ts';
import { COST_CSV_HEADER, CostCollector, costCsv, costsOption, latencyText } from './replay-costs.ts';

/** Options shared by replay and plan for choosing areas and the bitmap. */
export interface TraceAreaFlags extends SystemFlags {
  fromSnapshot?: string;
  infer?: boolean;
  bitmap?: string;
}

/**
 * The areas the flags name, or 'auto' / 'infer'. Area options are placed without building the
 * emulated system; a snapshot's reader is loaded only for --from-snapshot.
 */
export async function areasFromFlags(
  flags: TraceAreaFlags,
  positional: string[],
): Promise<ReplayAreaSpec[] | 'auto' | 'infer'> {
  const given = [
    flags.fromSnapshot !== undefined,
    (flags.area?.length ?? 0) + positional.length > 0 || flags.config !== undefined,
    !!flags.infer,
  ].filter(Boolean).length;
  if (given > 1)
    throw new UsageError(
      'give areas in one way only: area specs/--area/--config, --from-snapshot, or --infer',
    );
  if (flags.fromSnapshot !== undefined) {
    const { areasOfSnapshotFile } = await import('./replay-snapshot.ts');
    try {
      return areasOfSnapshotFile(flags.fromSnapshot);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
  }
  if (flags.infer) return 'infer';
  if ((flags.area?.length ?? 0) + positional.length > 0 || flags.config !== undefined) {
    // several range= in an area describe a 7.x kernel: without --profile, read them as 7.3
    const multi = [...(flags.area ?? []), ...positional].some(
      (spec) => (spec.match(/(?:^|,)\s*range=/g)?.length ?? 0) > 1,
    );
    const f = flags.profile === undefined && multi ? { ...flags, profile: '7.3' } : flags;
    let placed: ReturnType<typeof placedFromFlags>;
    try {
      placed = placedFromFlags(f, positional);
    } catch (e) {
      // (a config file with several ranges and no "profile" is read as 7.3 too)
      if (f.profile !== undefined) throw e;
      try {
        placed = placedFromFlags({ ...flags, profile: '7.3' }, positional);
      } catch {
        throw e;
      }
    }
    return placed.specs.map((a) =>
      toReplaySpec({ name: a.name, orderPerBit: a.orderPerBit, ranges: a.ranges }),
    );
  }
  return 'auto';
}

/** --bitmap plain|indexed. */
export function bitmapFactoryFromFlag(v: string | undefined): CmaBitmapFactory {
  if (v === undefined || v === 'indexed') return indexedBitmapFactory;
  if (v === 'plain') return plainBitmapFactory;
  throw new UsageError(`--bitmap: '${v}' is not plain or indexed`);
}

/**
 * A progress bar on stderr for long inputs on a terminal; returns the callback and a stop.
 * (cli-progress is loaded only then: a run into a pipe or with -q does not pay for it.)
 */
async function progressFor(
  src: TraceSource,
  quiet: boolean,
): Promise<{ onProgress?: (b: number) => void; stop: () => void }> {
  if (quiet || !process.stderr.isTTY || src.size === null || src.size < 16 * 1024 * 1024 || src.gzip)
    return { stop: () => {} };
  const { SingleBar } = await import('cli-progress');
  const bar = new SingleBar({
    format: 'reading {bar} {percentage}% | {value}/{total} MB',
    stream: process.stderr,
    hideCursor: true,
  });
  const total = Math.ceil(src.size / 1e6);
  bar.start(total, 0);
  let last = 0;
  return {
    onProgress: (b) => {
      const mb = Math.floor(b / 1e6);
      if (mb !== last) {
        last = mb;
        bar.update(Math.min(mb, total));
      }
    },
    stop: () => bar.stop(),
  };
}

/**
 * `o`'s own members in order, but not `drop`: none of them is read (a result's `bitmapText` is
 * made when first read).
 */
function without<T extends object, K extends keyof T>(o: T, ...drop: K[]): Omit<T, K> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (!drop.includes(k as K)) out[k] = o[k as keyof T];
  return out as Omit<T, K>;
}

function hex(n: number): string {
  return n < 0 ? '-1' : `0x${n.toString(16)}`;
}

function fmtTs(us: number): string {
  return Number.isNaN(us) ? '-' : (us / 1e6).toFixed(6);
}

function csvField(v: string | number | bigint | null): string {
  const s = v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

interface ReplayFlags extends TraceAreaFlags {
  kernelRelease?: string;
  json?: boolean;
  save?: string;
  timeline?: string;
  allocations?: string;
  resync?: boolean;
  show?: string;
  quiet?: boolean;
}

export function registerReplay(program: Command): void {
  addSystemOptions(
    program
      .command('replay')
      .summary('Replay an ftrace cma trace on emulated areas and check every placement.')
      .description(
        "Replay a cma trace (ftrace text: trace, trace_pipe or trace-cmd report; trace-cmd's trace.dat v6/v7; " +
          'Perfetto; found by content; a file, a named pipe such as <(zcat t.gz), - for stdin, or .gz) on emulated areas, check every placement ' +
          'against the kernel and explain every failure. ' +
          'The areas come from the options, else from the trace\'s "# cma_area:" lines, else they are inferred ' +
          'from the pfns (base and end rounded to 512 pages; order_per_bit 9 for 512-aligned hugetlb* areas; a 7.x area spanning more than its total_count: the ranges its events touch). ' +
          '7.x traces and multi-range areas (range=BASE:COUNT… in index order) replay with the 7.x allocator.',
      )
      .argument('<trace>', 'trace file (text, trace.dat or Perfetto), .gz, a named pipe, or - for stdin')
      .argument(
        '[areas...]',
        'area specs, as --area (default: the trace\'s "# cma_area:" lines, else inferred)',
      )
      .option('--from-snapshot <file>', 'take the areas from a snapshot file')
      .option('--infer', 'guess the areas from the pfns in the trace (rounded to 512 pages; a guess)')
      .option('--json', 'print the result as JSON')
      .option('--save <file>', 'save the final state as a snapshot (readable by cat/analyze)')
      .option('--timeline <file>', 'draw used and maxchunk over time (.svg or .png)')
      .option(
        '--allocations <file>',
        'write the whole allocation table as CSV (with migrated/reclaimed/mapped pages when the trace has mm_alloc_contig_migrate_range_info or cma_alloc_info events)',
      )
      .option('--no-resync', 'after a mismatch keep our own placement instead of following the trace')
      .option('--bitmap <kind>', "bitmap implementation: indexed (default) or plain (the kernel's scan)")
      .option('--show <n>', 'failures/mismatches/anomalies listed in the text report', '10')
      .option('-q, --quiet', 'no progress bar')
      .option(
        '--kernel-release <release>',
        'the kernel release to report when the trace does not record one (text traces; trace.dat and Perfetto files carry theirs)',
      ),
  ).action(async (trace: string, positional: string[], flags: ReplayFlags) => {
    const areas = await areasFromFlags(flags, positional);
    const show = Number(flags.show ?? '10');
    if (!Number.isInteger(show) || show < 0) throw new UsageError(`--show: '${flags.show}' is not a count`);
    if (flags.timeline !== undefined && !/\.(svg|png)$/i.test(flags.timeline))
      throw new UsageError(`--timeline: '${flags.timeline}' must end in .svg or .png`);
    let src: TraceSource;
    try {
      src = await openTraceSource(trace, areas === 'auto' || areas === 'infer');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const csv = flags.allocations !== undefined ? createWriteStream(flags.allocations) : null;
    // migrate counts per allocation (mm_alloc_contig_migrate_range_info / cma_alloc_info): events
    // other than the cma events a replay models, read in the same pass (costsOption)
    const costs = new CostCollector(new AllocationCosts([], flags.kernelRelease ?? null));
    // the CSV header at the first row: the counts arrive with the trace's events
    let csvCosts: boolean | null = null;
    const csvHeader = (): void => {
      if (csvCosts !== null) return;
      csvCosts = costs.costs.events > 0;
      csv?.write(
        `area,pfn,pages,task,pid,start_ts,finish_ts,latency_us,busy_retries,release_ts${csvCosts ? COST_CSV_HEADER : ''}\n`,
      );
    };
    const csvRow = (a: AllocationRecord, c: AllocationCost | null): void => {
      if (csv === null) return;
      csvHeader();
      csv.write(
        `${[a.area, hex(a.pfn), a.pages, a.task, a.pid, fmtTs(a.startTs), fmtTs(a.finishTs), Number.isNaN(a.latencyUs) ? '' : a.latencyUs, a.busyRetries, a.releaseTs === null ? '' : fmtTs(a.releaseTs)].map(csvField).join(',')}${csvCosts ? costCsv(c) : ''}\n`,
      );
    };
    const progress = await progressFor(src, !!flags.quiet);
    let r: ReplayResult;
    try {
      r = await replayTrace(
        src,
        costsOption(costs, csv !== null ? csvRow : null, {
          areas,
          bitmapFactory: bitmapFactoryFromFlag(flags.bitmap),
          resync: flags.resync !== false,
          allocations: true,
          ...(flags.kernelRelease !== undefined ? { kernelRelease: flags.kernelRelease } : {}),
          ...(flags.timeline !== undefined ? { timelinePoints: 1000 } : {}),
          ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
        }),
      );
    } catch (e) {
      if (
        (e as NodeJS.ErrnoException).code !== undefined ||
        / can only be read once/.test((e as Error).message)
      )
        throw new UsageError(`${src.label}: ${(e as Error).message}`);
      throw e;
    } finally {
      progress.stop();
      src.dispose();
    }
    if (csv) {
      csvHeader();
      await new Promise<void>((res) => csv.end(res));
    }
    // (a trace without such events: no migration member, section or columns)
    const collector = costs.costs.events > 0 ? costs : null;
    collector?.addFailures(r.failures);
    if (flags.save !== undefined) {
      // the emulator lays out the saved files: loaded only for --save
      const { replaySnapshotText } = await import('./replay-snapshot.ts');
      writeFileSync(flags.save, replaySnapshotText(r, src.label));
    }
    if (flags.timeline !== undefined) {
      // the renderer (and its native canvas) only for --timeline
      const { timelinePng, timelineSvg } = await import('../../render/timeline.ts');
      if (flags.timeline.toLowerCase().endsWith('.png'))
        writeFileSync(flags.timeline, timelinePng(r, `replay of ${basename(src.label)}`));
      else writeFileSync(flags.timeline, timelineSvg(r, `replay of ${basename(src.label)}`));
    }
    if (flags.json) {
      // r's members in order, but not the timeline, nor the bitmaps; the live allocations
      // counted, not read (reading r.allocations would build their records)
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(r) as (keyof ReplayResult)[]) {
        if (k === 'timeline') continue;
        out[k] =
          k === 'areas'
            ? r.areas.map((a) => ({
                ...without(a, 'words', 'bitmapText', 'ranges'),
                ranges: a.ranges.map((rg) => without(rg, 'words', 'bitmapText')),
              }))
            : k === 'allocations'
              ? r.areas.reduce((n, a) => n + a.liveAllocations, 0)
              : r[k];
      }
      if (collector) out.migration = collector.json();
      process.stdout.write(`${jsonText(out, 1)}\n`);
    } else
      process.stdout.write(
        textReport(r, src.label, show) +
          (collector
            ? collector
                .text(show)
                .map((l) => `${l}\n`)
                .join('')
            : ''),
      );
    if (r.mismatches > 0 && r.areaSource !== 'inferred') process.exitCode = 1;
  });
}

function textReport(r: ReplayResult, label: string, show: number): string {
  const o: string[] = [];
  if (r.format === 'text')
    o.push(
      `trace ${label}: ${r.lines} lines, ${r.events} cma events, ${r.otherLines} other lines skipped, ${r.malformed} malformed`,
    );
  else
    o.push(
      `trace ${label} (${r.format}${r.kernelRelease !== null ? `, kernel ${r.kernelRelease}` : ''}): ${r.lines} records, ${r.events} cma events, ${r.otherLines} other events skipped, ${r.malformed} malformed`,
    );
  if (r.lostEvents > 0 || r.lostEventPages > 0)
    o.push(
      `  WARNING: the kernel lost events while recording (${r.lostEvents > 0 ? `${r.lostEvents} counted` : 'number not recorded'}, after ${r.lostEventPages} buffer pages): placements after a loss may mismatch`,
    );
  if ((r.lateEvents ?? 0) > 0)
    o.push(
      `  WARNING: ${r.lateEvents} events (Perfetto) arrived further out of timestamp order than the reader's reorder window holds and were replayed after later events: placements after them may mismatch`,
    );
  for (const m of r.malformedLines.slice(0, show)) o.push(`  line ${m.line}: ${m.reason}: ${m.text}`);
  if (r.joinedSplitLines > 0)
    o.push(`  ${r.joinedSplitLines} events of unnamed areas (name=cma%d\\n) rejoined`);
  const src = {
    options: 'areas: from the options',
    annotation: 'areas: from the trace\'s "# cma_area:" lines',
    inferred:
      'areas: INFERRED from the pfns in the trace (base rounded down and end up to 512 pages; order_per_bit 9 when every placement is 512-aligned in a hugetlb* area or with odd-sized requests, else 0; a 7.x area whose pfns span more than its total_count: the ranges they touch, in the order first used or, when that mismatches, the order that replays best): a guess, mismatches are possible; give the real areas with --area or --from-snapshot',
  }[r.areaSource];
  o.push(src);
  for (const a of r.areas) {
    o.push(
      `area ${a.name}: ${a.ranges.length > 1 ? `${a.ranges.length} ranges` : `base_pfn ${hex(a.basePfn)}`} count ${a.count} order_per_bit ${a.orderPerBit}`,
      `  allocations: ${a.allocStarts} requested, ${a.allocsOk} ok, ${a.allocsFailed} failed (no room ${a.failedNoSpace}, migration error ${a.failedMigration}, larger than ${a.ranges.length > 1 ? 'every range' : 'the area'} ${a.failedOversize}); busy retries ${a.busyRetries}`,
      `  releases: ${a.releases}   mismatches: ${a.mismatches}`,
      `  final: used ${a.used}${a.usedMode === 'exact' ? ' (exact pages, 7.x)' : ''}  maxchunk ${a.maxchunk}  peak used ${a.peakUsed}  live allocations ${a.liveAllocations}`,
    );
    if (a.latencyUs !== null) o.push(`  ${latencyText(a.latencyUs)}`);
    if (a.ranges.length > 1)
      o.push(
        ...a.ranges.map(
          (rg, i) =>
            `  range ${i}: base_pfn ${hex(rg.basePfn)} count ${rg.count}  set bits ${rg.usedBitsPages} pages  maxchunk ${rg.maxchunk}  bitmap sha256 ${rg.bitmapSha256}`,
        ),
      );
    else o.push(`  bitmap sha256 ${a.bitmapSha256}`);
  }
  if (r.skippedOtherArea > 0) o.push(`events of other areas skipped: ${r.skippedOtherArea}`);
  const fc = r.failureClasses;
  o.push(
    `failures: ${r.allocs.failed} — fragmentation ${fc.fragmentation} (enough free pages, no fitting run), exhaustion ${fc.exhaustion} (not enough free pages), busy pages ${fc.busy} (fitting runs held pages that could not be migrated), larger than the area (or than every range) ${fc.oversize}, migration error ${fc.migration}`,
  );
  for (const f of r.failures.slice(0, show))
    o.push(
      `  line ${f.line} ${fmtTs(f.ts)} ${f.task}-${f.pid} ${f.area}: ${f.pages} pages align ${f.align} → ${f.class}: ${f.freePages} pages free, ${f.neededPages} needed${f.busyRetries ? `, after ${f.busyRetries} busy retries` : ''}`,
    );
  o.push(`mismatches: ${r.mismatches}`);
  for (const m of r.mismatchList.slice(0, show))
    o.push(
      `  line ${m.line} ${m.event} ${m.area} pid ${m.pid}: kernel ${m.traceOk ? hex(m.tracePfn) : `NULL (pfn ${hex(m.tracePfn)})`}, replay ${hex(m.ourPfn)}`,
    );
  o.push(`anomalies: ${r.anomalies}`);
  for (const a of r.anomalyList.slice(0, show)) o.push(`  line ${a.line} ${a.event}: ${a.reason}`);
  if (r.pendingAtEnd > 0) o.push(`calls still inside cma_alloc() at the end: ${r.pendingAtEnd}`);
  if (r.zeroCountStarts > 0)
    o.push(
      `count=0 requests: ${r.zeroCountStarts} (traced by 6.12, refused with no finish; not allocations)`,
    );
  const live = [...r.allocations]
    .sort((a, b) => (b.pages > a.pages ? 1 : b.pages < a.pages ? -1 : 0))
    .slice(0, show);
  if (live.length > 0) {
    o.push(`largest live allocations at the end (of ${r.allocations.length}):`);
    for (const a of live)
      o.push(
        `  ${a.area} ${hex(a.pfn)} ${a.pages} pages  ${a.task}-${a.pid}  start ${fmtTs(a.startTs)} latency ${Number.isNaN(a.latencyUs) ? '-' : `${a.latencyUs} us`} busy ${a.busyRetries}`,
      );
  }
  return `${o.join('\n')}\n`;
}
