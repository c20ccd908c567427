// cma_alloc() latencies of a replayed area, counted instead of listed: the percentiles of the
// report are exact (nearest rank over every value, as a sorted list gives them) while memory
// stays bounded by the number of DISTINCT values, not by the number of allocations (an 8.5M-event
// trace has ~2.8M allocations but a few thousand distinct latencies).

import type { LatencySummary } from './replay-types.ts';

/** Whole microseconds from 0 up to this are counted in a typed array; other values in a Map. */
const DENSE = 1 << 16;

/** Counts of latency values (µs); `summary()` gives the exact nearest-rank percentiles. */
export class LatencyCounts {
  /** Allocated at the first whole value below DENSE. */
  private dense: Uint32Array | null = null;
  /** Every value dense counts, as add() gave each its first count (null: not listed, since addDense). */
  private touched: number[] | null = [];
  /** Values that are not whole, negative or DENSE and above: count by value. */
  private readonly other = new Map<number, number>();
  /** Finite values counted. */
  count = 0;

  /** Counts one value (non-finite ones, from a trace without timestamps, are not counted). */
  add(x: number): void {
    if (!Number.isFinite(x)) return;
    this.count++;
    if (x >= 0 && x < DENSE && Math.floor(x) === x) {
      if (this.dense === null) this.dense = new Uint32Array(DENSE);
      if (this.dense[x]!++ === 0) this.touched?.push(x);
    } else this.other.set(x, (this.other.get(x) ?? 0) + 1);
  }

  /**
   * Adds `n` values counted by whole value below 65536 (counts[x]: how many x; the wasm lane's,
   * copied). A copy of `counts` and the few values add() counted, not a loop over all 65536: it
   * runs once per replay, at its end, cold (interpreted: ~3-8 ms on the command's critical path).
   */
  addDense(counts: Uint32Array, n: number): void {
    if (n === 0) return;
    const old = this.dense;
    if (old !== null && this.touched === null) {
      for (let x = 0; x < DENSE; x++) old[x]! += counts[x]!;
    } else {
      const dense = counts.slice(0, DENSE);
      if (old !== null) for (const x of this.touched!) dense[x]! += old[x]!;
      this.dense = dense;
      this.touched = null;
    }
    this.count += n;
  }

  /** p50/p90/p99/max by nearest rank (the value at rank ceil(q·n)), or null when nothing was counted. */
  summary(): LatencySummary | null {
    const n = this.count;
    if (n === 0) return null;
    const rank = (q: number): number => Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
    const want = [rank(0.5), rank(0.9), rank(0.99), n - 1];
    const got: number[] = [];
    // the distinct values in ascending order: the Map's keys sorted, merged with the dense range
    const keys = Float64Array.from(this.other.keys()).sort();
    const dense = this.dense;
    let seen = 0;
    let k = 0;
    let d = 0;
    const take = (v: number, c: number): void => {
      seen += c;
      while (got.length < want.length && want[got.length]! < seen) got.push(v);
    };
    while (got.length < want.length) {
      // next dense value with a count (none left: DENSE)
      if (dense !== null) while (d < DENSE && dense[d] === 0) d++;
      else d = DENSE;
      if (k < keys.length && (d >= DENSE || keys[k]! < d)) {
        const v = keys[k++]!;
        take(v, this.other.get(v)!);
      } else if (d < DENSE) {
        take(d, dense![d]!);
        d++;
      } else break;
    }
    return { count: n, p50: got[0]!, p90: got[1]!, p99: got[2]!, max: got[3]! };
  }
}

/** Nearest-rank percentiles of the finite values of a list (not changed). */
export function latencySummary(values: ArrayLike<number>): LatencySummary | null {
  const c = new LatencyCounts();
  for (let i = 0; i < values.length; i++) c.add(values[i]!);
  return c.summary();
}
