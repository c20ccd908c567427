// The kernel log (printk) with the default ratelimit of pr_err_ratelimited.

/** DEFAULT_RATELIMIT_INTERVAL (5 s) and DEFAULT_RATELIMIT_BURST (10). */
const RATELIMIT_INTERVAL_MS = 5000;
const RATELIMIT_BURST = 10;

/** One kernel log record. */
export interface LogRecord {
  /** Sequence number, from 0. */
  readonly seq: number;
  /** Milliseconds since boot. */
  readonly timeMs: number;
  readonly text: string;
}

interface RatelimitState {
  begin: number;
  printed: number;
  missed: number;
}

/** The kernel ring buffer of log lines. */
export class KernelLog {
  readonly records: LogRecord[] = [];
  private readonly limits = new Map<string, RatelimitState>();
  private listeners: ((r: LogRecord) => void)[] = [];

  constructor(private readonly now: () => number) {}

  /** printk of one line. */
  print(text: string): void {
    const record = { seq: this.records.length, timeMs: this.now(), text };
    this.records.push(record);
    for (const l of this.listeners) l(record);
  }

  /**
   * pr_*_ratelimited from the call site `func`: ___ratelimit lets 10 through per 5 s; when the
   * next interval begins it first prints "<func>: N callbacks suppressed".
   */
  printRatelimited(func: string, text: string): void {
    const t = this.now();
    let rs = this.limits.get(func);
    if (!rs) {
      rs = { begin: t, printed: 0, missed: 0 };
      this.limits.set(func, rs);
    }
    if (t - rs.begin > RATELIMIT_INTERVAL_MS) {
      if (rs.missed) this.print(`${func}: ${rs.missed} callbacks suppressed`);
      rs.missed = 0;
      rs.begin = t;
      rs.printed = 0;
    }
    if (rs.printed < RATELIMIT_BURST) {
      rs.printed++;
      this.print(text);
    } else {
      rs.missed++;
    }
  }

  /** What `dmesg` prints: one line per record, with `[ s.us]` stamps if asked. */
  dmesg(timestamps = false): string {
    return this.records
      .map((r) => (timestamps ? `[${(r.timeMs / 1000).toFixed(6).padStart(12)}] ${r.text}\n` : `${r.text}\n`))
      .join('');
  }

  /** Calls `fn` for every new record; returns an unsubscribe function. */
  subscribe(fn: (r: LogRecord) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }
}
