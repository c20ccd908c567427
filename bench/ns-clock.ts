// Nanosecond timestamps for the binary forms of a text trace. The kernel's clock counts
// nanoseconds and the text prints them rounded to the microsecond (ns2usecs), so a text event at
// `t` µs happened somewhere in [t·1000 − 500, t·1000 + 499] ns, and events printed in the same
// microsecond (on different CPUs) happened in the order the text lists them. A binary form gets
// such a time for every event: a spread offset for the first event of a microsecond, the next
// nanoseconds for the events after it. Its readers then merge the CPUs back into the text's
// order, and latencies have the nanosecond digits real trace.dat and Perfetto files have.

/** Gives each event (in file order) its nanosecond timestamp. */
export class NsClock {
  private lastUs = Number.NaN;
  private last = 0;
  private n = 0;

  /** The time in ns of the next event, printed at `us` microseconds in the text. */
  ns(us: number): number {
    const mid = Math.round(us * 1000);
    this.n++;
    if (us === this.lastUs) {
      this.last = Math.min(this.last + 1, mid + 499);
      return this.last;
    }
    this.lastUs = us;
    // a deterministic spread over the microsecond's first 900 ns
    const h = Math.imul(this.n, 0x9e3779b1) >>> 0;
    this.last = mid - 500 + (h % 900);
    return this.last;
  }
}
