// A table keyed by pid for the replay's calls in flight (a task is in one cma_alloc() at a time).

/**
 * Values keyed by pid: a plain array for the usual pids (below 65536), a Map above. Iteration
 * order is not kept (the replay only counts and searches the values).
 */
export class PidTable<T> {
  private readonly small: (T | undefined)[] = [];
  /** Small pids that may hold a value (each once: inLive), so values() does not scan 65536. */
  private live: number[] = [];
  private readonly inLive = new Uint8Array(65536);
  private readonly big = new Map<number, T>();
  private static isSmall(pid: number): boolean {
    return pid >= 0 && pid < 65536 && Number.isInteger(pid);
  }
  get(pid: number): T | undefined {
    return PidTable.isSmall(pid) ? this.small[pid] : this.big.get(pid);
  }
  set(pid: number, v: T): void {
    if (PidTable.isSmall(pid)) {
      // grow densely (no holes: the array stays a fast packed one)
      while (this.small.length <= pid) this.small.push(undefined);
      this.small[pid] = v;
      if (this.inLive[pid] === 0) {
        this.inLive[pid] = 1;
        this.live.push(pid);
      }
    } else this.big.set(pid, v);
  }
  delete(pid: number): void {
    if (PidTable.isSmall(pid)) {
      if (pid < this.small.length) this.small[pid] = undefined;
    } else this.big.delete(pid);
  }
  *values(): IterableIterator<T> {
    const kept: number[] = [];
    for (const pid of this.live) {
      if (this.small[pid] !== undefined) kept.push(pid);
      else this.inLive[pid] = 0;
    }
    this.live = kept;
    for (const pid of kept) yield this.small[pid]!;
    yield* this.big.values();
  }
}

/**
 * The replay engine. Feed it events (from TraceLineParser) with `event(ev)`, then call
 * `finish(stats)`. Use replayTrace() unless you drive the parser yourself.
 */
