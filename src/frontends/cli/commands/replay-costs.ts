// The migrate counts of each allocation in `replay`'s allocation table, CSV, JSON and report:
// mm_alloc_contig_migrate_range_info (6.9+) or Android's cma_alloc_info (5.10–6.0) events of the
// allocating task, read in the same pass as the cma events from a trace in any format
// (ReplayOptions.mmEvents) and joined by AllocationCosts (mm-events.ts).

import { openTraceSource } from '../../../sources/trace/input.ts';
import type { AllocationCost } from '../../../sources/trace/mm-events.ts';
import { AllocationCosts } from '../../../sources/trace/mm-events.ts';
import type {
  AllocationRecord,
  FailureRecord,
  LatencySummary,
  ReplayAreaSpec,
  ReplayOptions,
} from '../../../sources/trace/replay.ts';
import { replayTrace } from '../../../sources/trace/replay.ts';

/**
 * Replay options that join the migrate counts to the allocations as the trace is read, in one
 * pass: the other events go to the collector's costs (ReplayOptions.mmEvents: text lines, binary
 * records alike) and every allocation to the collector, then to `row` (e.g. a CSV writer) with
 * its counts. Without `row`, the allocations are handed out only from the first such event on
 * (ReplayOptions.onAllocation may be set during the replay): those before it cannot have counts,
 * and a trace without such events costs no allocation records.
 */
export function costsOption(
  collector: CostCollector,
  row: ((a: AllocationRecord, c: AllocationCost | null) => void) | null,
  opts: ReplayOptions,
): ReplayOptions {
  const feed = collector.costs.feed();
  const onAllocation = (a: AllocationRecord): void => {
    const c = collector.add(a);
    row?.(a, c);
  };
  const o: ReplayOptions = {
    ...opts,
    ...(row !== null ? { onAllocation } : {}),
    mmEvents: {
      names: feed.names,
      onEvents: (events, release) => {
        o.onAllocation ??= onAllocation;
        feed.onEvents(events, release);
      },
    },
  };
  return o;
}

/** The CSV header's extra columns. */
export const COST_CSV_HEADER = ',migrated,reclaimed,mapped,migrate_calls';

/** An allocation's extra CSV columns (empty when the trace has no counts for it). */
export function costCsv(c: AllocationCost | null): string {
  return c === null ? ',,,,' : `,${c.migrated},${c.reclaimed},${c.mapped},${c.calls}`;
}

/** The counts an allocation or failure carries (AllocationCost's fields). */
type Counts = { migrated: number; reclaimed: number; mapped: number; calls: number };

/** One allocation with its counts (JSON). */
export type CostedAllocation = Pick<
  AllocationRecord,
  'area' | 'pfn' | 'pages' | 'task' | 'pid' | 'startTs' | 'finishTs' | 'latencyUs'
> &
  Counts;

/** A failed allocation with what it migrated before giving up (JSON). */
export type CostedFailure = Pick<FailureRecord, 'area' | 'line' | 'ts' | 'task' | 'pid' | 'pages'> & Counts;

/** Collects the allocations that have counts, per area. */
export class CostCollector {
  readonly rows: CostedAllocation[] = [];
  readonly failed: CostedFailure[] = [];
  constructor(readonly costs: AllocationCosts) {}

  /**
   * The failures' counts: a failure has no start time in the table, so its calls are those of
   * its task after the task's previous allocation or failure ended.
   */
  addFailures(failures: readonly FailureRecord[]): void {
    const ends = new Map<number, number[]>();
    const note = (pid: number, us: number) => {
      let l = ends.get(pid);
      if (l === undefined) {
        l = [];
        ends.set(pid, l);
      }
      l.push(us);
    };
    for (const r of this.rows) note(r.pid, r.finishTs);
    for (const f of failures) note(f.pid, f.ts);
    // each task's ends in order (NaN last): the latest before a failure by a binary search
    const sorted = new Map<number, Float64Array>();
    for (const [pid, l] of ends) sorted.set(pid, Float64Array.from(l).sort());
    for (const f of failures) {
      const l = sorted.get(f.pid)!;
      let lo = 0;
      let hi = l.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (l[mid]! < f.ts) lo = mid + 1;
        else hi = mid;
      }
      const prev = lo > 0 ? l[lo - 1]! : Number.NEGATIVE_INFINITY;
      const c = this.costs.lookup(f.pid, prev === Number.NEGATIVE_INFINITY ? 0 : prev + 1, f.ts, Number.NaN);
      if (c !== null)
        this.failed.push({
          area: f.area,
          line: f.line,
          ts: f.ts,
          task: f.task,
          pid: f.pid,
          pages: f.pages,
          migrated: c.migrated,
          reclaimed: c.reclaimed,
          mapped: c.mapped,
          calls: c.calls,
        });
    }
  }

  add(a: AllocationRecord): AllocationCost | null {
    const c = this.costs.lookup(a.pid, a.startTs, a.finishTs, a.pfn);
    if (c !== null)
      this.rows.push({
        area: a.area,
        pfn: a.pfn,
        pages: a.pages,
        task: a.task,
        pid: a.pid,
        startTs: a.startTs,
        finishTs: a.finishTs,
        latencyUs: a.latencyUs,
        migrated: c.migrated,
        reclaimed: c.reclaimed,
        mapped: c.mapped,
        calls: c.calls,
      });
    return c;
  }

  /** The JSON `migration` member. */
  json(): Record<string, unknown> {
    return {
      source: this.sourceName(),
      shifted: this.costs.shifted,
      events: this.costs.events,
      allocations: this.rows,
      failures: this.failed,
    };
  }

  private sourceName(): string {
    return this.costs.hasAndroidInfo ? 'cma_alloc_info' : 'mm_alloc_contig_migrate_range_info';
  }

  /** An area's allocations with counts and what they migrated, reclaimed and mapped in all. */
  totals(area: string): AreaCostTotals {
    const rows = this.rows.filter((r) => r.area === area);
    const sum = (k: 'migrated' | 'reclaimed' | 'mapped') => rows.reduce((s, r) => s + r[k], 0);
    const failed = this.failed.filter((f) => f.area === area);
    return {
      source: this.sourceName(),
      allocations: rows.length,
      migrated: sum('migrated'),
      reclaimed: sum('reclaimed'),
      mapped: sum('mapped'),
      failures: failed.length,
      failuresMigrated: failed.reduce((n, f) => n + f.migrated, 0),
    };
  }

  /** Report lines: per area, totals and the costliest allocations. */
  text(show: number): string[] {
    const o: string[] = [];
    if (this.rows.length === 0 && this.failed.length === 0) return o;
    o.push(
      `migration per allocation (${this.sourceName()}${this.costs.shifted ? ', fields printed shifted by this kernel: decoded' : ''}):`,
    );
    const areas = [...new Set([...this.rows, ...this.failed].map((r) => r.area))];
    for (const area of areas) {
      const rows = this.rows.filter((r) => r.area === area);
      o.push(`  ${area}: ${totalsText(this.totals(area))}`);
      for (const r of [...rows].sort((a, b) => b.migrated - a.migrated).slice(0, show))
        o.push(
          `    0x${r.pfn.toString(16)} ${r.pages} pages  ${r.task}-${r.pid}  migrated ${r.migrated} reclaimed ${r.reclaimed} mapped ${r.mapped} in ${r.calls} calls, latency ${Number.isNaN(r.latencyUs) ? '-' : `${r.latencyUs} us`}`,
        );
      for (const f of this.failed.filter((x) => x.area === area).slice(0, show))
        o.push(
          `    failed at line ${f.line}: ${f.pages} pages  ${f.task}-${f.pid}  migrated ${f.migrated} reclaimed ${f.reclaimed} mapped ${f.mapped} in ${f.calls} calls before giving up`,
        );
    }
    return o;
  }
}

/** What an area's allocations migrated (CostCollector.totals). */
export interface AreaCostTotals {
  source: string;
  /** Allocations with counts, and the failures with counts. */
  allocations: number;
  migrated: number;
  reclaimed: number;
  mapped: number;
  /** Failed allocations with counts, and the pages they migrated before giving up. */
  failures: number;
  failuresMigrated: number;
}

/** "N allocations migrated X pages, reclaimed Y, mapped Z". */
export function totalsText(t: AreaCostTotals): string {
  return `${t.allocations} allocations migrated ${t.migrated} pages, reclaimed ${t.reclaimed}, mapped ${t.mapped}`;
}

/** The latency line of replay's and analyze's reports. */
export function latencyText(l: LatencySummary): string {
  return `cma_alloc latency (µs, ${l.count} allocations): p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}`;
}

/** What a trace tells of one area's allocations (analyze --trace). */
export interface AreaTraceCosts {
  area: string;
  allocsOk: number;
  allocsFailed: number;
  /** Start → finish of the successful allocations (µs), as replay reports it; null: none. */
  latencyUs: LatencySummary | null;
  /** The migrate counts, when the trace has them. */
  migration: AreaCostTotals | null;
}

/**
 * Replays a trace on the given areas for what its allocations cost: per area, replay's latency
 * distribution and the migrate counts (the same computations as `replay`'s report).
 */
export async function traceCosts(
  path: string,
  areas: ReplayAreaSpec[],
  release: string | null,
): Promise<{ label: string; format: string; events: number; mismatches: number; areas: AreaTraceCosts[] }> {
  const src = await openTraceSource(path, true);
  try {
    const collector = new CostCollector(new AllocationCosts([], release));
    const r = await replayTrace(
      src,
      costsOption(collector, null, {
        areas,
        allocations: true,
        ...(release !== null ? { kernelRelease: release } : {}),
      }),
    );
    const withCosts = collector.costs.events > 0 ? collector : null;
    withCosts?.addFailures(r.failures);
    return {
      label: src.label,
      format: r.format,
      events: r.events,
      mismatches: r.mismatches,
      areas: r.areas.map((a) => ({
        area: a.name,
        allocsOk: a.allocsOk,
        allocsFailed: a.allocsFailed,
        latencyUs: a.latencyUs,
        migration: withCosts ? withCosts.totals(a.name) : null,
      })),
    };
  } finally {
    src.dispose();
  }
}
