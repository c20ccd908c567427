// The event model of a parsed cma trace: plain numbers, one reused object per parser.

/** cma_alloc_start (5.x–7.x; Android's older `count=%u` form too). */
export const EV_START = 1;
/** cma_alloc_finish. */
export const EV_FINISH = 2;
/** cma_alloc_busy_retry. */
export const EV_BUSY = 3;
/** cma_release. */
export const EV_RELEASE = 4;
/** 4.x–5.x `cma_alloc`: one event per call, after the search (no start, no retries). */
export const EV_ALLOC = 5;
/** Android's `cma_alloc_info` (migration statistics of one call). */
export const EV_INFO = 6;

export type TraceEventKind =
  | typeof EV_START
  | typeof EV_FINISH
  | typeof EV_BUSY
  | typeof EV_RELEASE
  | typeof EV_ALLOC
  | typeof EV_INFO;

export const EVENT_NAMES: Record<TraceEventKind, string> = {
  [EV_START]: 'cma_alloc_start',
  [EV_FINISH]: 'cma_alloc_finish',
  [EV_BUSY]: 'cma_alloc_busy_retry',
  [EV_RELEASE]: 'cma_release',
  [EV_ALLOC]: 'cma_alloc',
  [EV_INFO]: 'cma_alloc_info',
};

/** The kind of each modelled cma event, by its tracepoint name. */
export const KIND_BY_NAME: ReadonlyMap<string, TraceEventKind> = new Map(
  Object.entries(EVENT_NAMES).map(([k, n]) => [n, Number(k) as TraceEventKind]),
);

/**
 * One cma trace event. The parser passes the SAME object to every callback and overwrites it
 * for the next line: copy what you keep. `comm()` is decoded lazily and only valid inside the
 * callback.
 */
export interface TraceEvent {
  kind: TraceEventKind;
  /** 1-based line number in the input (of the first line for a rejoined split line). */
  line: number;
  pid: number;
  cpu: number;
  /** Timestamp in µs as printed (`sec.usec`); a raw counter clock's value as is; NaN if none. */
  ts: number;
  /** Area name; '' when the event format has none (4.x). */
  name: string;
  /** Pages requested (`count`, `request_count`); exact below 2^53, see countBig. */
  count: number;
  /** The exact u64 count when it is ≥ 2^53 (e.g. 18446744073709551615), else null. */
  countBig: bigint | null;
  /** Alignment order; -1 when the event has none. */
  align: number;
  /** pfn; -1 for 0xffffffffffffffff (nothing tried), NaN when the event has none. */
  pfn: number;
  /** page != NULL. */
  hasPage: boolean;
  /** errorno (6.12+ finish), or null. */
  errorno: number | null;
  /** 7.x start: available_count / total_count, -1 when absent. */
  availableCount: number;
  totalCount: number;
  /** Android cma_alloc_info counters (0 when absent). */
  nrMigrated: number;
  errIso: number;
  errMig: number;
  errTest: number;
  /** The task name of the line prefix. */
  comm(): string;
  /**
   * Optional, for readers that hold the name as bytes: copies them right-aligned into
   * out[at, at + 16) (`outView` is a DataView of out's memory) and returns their number, or -1
   * (more than 16, nothing copied: use comm()). The allocation table keeps names this way and
   * decodes only the rows it hands out.
   */
  copyComm?(out: Uint8Array, outView: DataView, at: number): number;
}

/**
 * The fields of TraceEvent with their "absent" values: the one declaration the parser's and the
 * readers' reused event objects extend.
 */
export abstract class TraceEventFields implements TraceEvent {
  kind: TraceEventKind = EV_START;
  line = 0;
  pid = 0;
  cpu = 0;
  ts = Number.NaN;
  name = '';
  count = 0;
  countBig: bigint | null = null;
  align = -1;
  pfn = Number.NaN;
  hasPage = false;
  errorno: number | null = null;
  availableCount = -1;
  totalCount = -1;
  nrMigrated = 0;
  errIso = 0;
  errMig = 0;
  errTest = 0;
  abstract comm(): string;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Task names decoded once per pid: the bytes are compared, so a pid reused by another task
 * decodes anew (the events' comm() is called for failures and allocation records).
 */
export class CommCache {
  private readonly byPid = new Map<number, { bytes: Uint8Array; text: string }>();

  /** The text of bytes [s, s + n) of buf, the comm of `pid`. */
  text(pid: number, buf: Uint8Array, s: number, n: number): string {
    const hit = this.byPid.get(pid);
    if (hit !== undefined && hit.bytes.length === n) {
      let q = 0;
      while (q < n && buf[s + q] === hit.bytes[q]) q++;
      if (q === n) return hit.text;
    }
    // a copy (Buffer#slice would alias: the buffer is reused for later lines)
    const bytes = Uint8Array.prototype.slice.call(buf, s, s + n);
    const text = utf8.decode(bytes);
    if (this.byPid.size > 65536) this.byPid.clear();
    this.byPid.set(pid, { bytes, text });
    return text;
  }
}

/** The fields only some eras set: counts ≥ 2^53, 6.12's errorno, 7.x's and Android's counters. */
export type RareFields = Pick<
  TraceEvent,
  'countBig' | 'errorno' | 'availableCount' | 'totalCount' | 'nrMigrated' | 'errIso' | 'errMig' | 'errTest'
>;

/** Sets the rare fields of an event to "absent" (what a 6.1 line carries). */
export function clearRareFields(ev: RareFields): void {
  ev.countBig = null;
  ev.errorno = null;
  ev.availableCount = -1;
  ev.totalCount = -1;
  ev.nrMigrated = 0;
  ev.errIso = 0;
  ev.errMig = 0;
  ev.errTest = 0;
}

/** An area described by a `# cma_area:` annotation line (gen-trace --annotate). */
export interface AnnotatedArea {
  readonly name: string;
  readonly basePfn: number;
  readonly count: number;
  readonly orderPerBit: number;
}

/** A cma line the parser could not read. */
export interface MalformedLine {
  readonly line: number;
  readonly reason: string;
  readonly text: string;
}
