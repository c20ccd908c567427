// The trace events around a busy CMA page, from a text trace (`trace`, `trace_pipe`,
// `trace-cmd report`; the binary formats through mm-events-read.ts): cma_alloc_start / cma_alloc_busy_retry / cma_alloc_finish (the attempt),
// test_pages_isolated (page_isolation: fin_pfn is the first page that stayed in use),
// mm_migrate_pages (migrate: nr_failed) and mm_alloc_contig_migrate_range_info (kmem, 6.9+).

/** One event line's header and fields. */
export interface MmEvent {
  readonly comm: string;
  readonly pid: number;
  /** Seconds, as printed. */
  readonly time: number;
  readonly event: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly line: number;
}

const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[\d+\]\s+(?:\S{4,5}\s+)?(\d+\.\d+): (\w+): (.*)$/;
/** The events blame and the allocation table read (cma, page_isolation, migrate, kmem). */
export const MM_EVENT_NAMES: ReadonlySet<string> = new Set([
  'cma_alloc_start',
  'cma_alloc_busy_retry',
  'cma_alloc_finish',
  'cma_release',
  'test_pages_isolated',
  'mm_migrate_pages',
  'mm_alloc_contig_migrate_range_info',
  'cma_alloc_info',
]);
const WANTED = MM_EVENT_NAMES;

/** A \w character (ASCII letter, digit, '_'). */
function isWord(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** A \s character (JavaScript's: ASCII and Unicode spaces, line ends, BOM). */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * `k=v k=v` into a record (values end at the next space; the kernel prints none with spaces):
 * what the matches of /(\w+)=(\S*)/g give, read without a regex (a line per event of a trace
 * with migrate counts enabled comes through here).
 */
function fieldsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isWord(text.charCodeAt(i))) {
      i++;
      continue;
    }
    // a run of word characters: a key only when '=' follows it (no shorter match either)
    let j = i + 1;
    while (j < n && isWord(text.charCodeAt(j))) j++;
    if (j < n && text.charCodeAt(j) === 61 /* = */) {
      let v = j + 1;
      while (v < n && !isSpace(text.charCodeAt(v))) v++;
      out[text.slice(i, j)] = text.slice(j + 1, v);
      i = v;
    } else i = j + 1;
  }
  return out;
}

/** Reads one trace line; null for headers, comments and events blame does not use. */
export function parseMmEventLine(text: string, line: number): MmEvent | null {
  const m = LINE.exec(text);
  if (!m || !WANTED.has(m[4]!)) return null;
  return { comm: m[1]!, pid: Number(m[2]), time: Number(m[3]), event: m[4]!, fields: fieldsOf(m[5]!), line };
}

/** A pfn field ("0x1cc00" or decimal) as a number; null for the -1 of a failed allocation. */
export function pfnField(v: string | undefined): number | null {
  if (v === undefined) return null;
  if (/^0xf{16}$/i.test(v) || v === '-1') return null;
  const n = v.startsWith('0x') ? Number.parseInt(v.slice(2), 16) : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** mm_alloc_contig_migrate_range_info's counts, decoded. */
export interface ContigRangeInfo {
  readonly start: number | null;
  readonly end: number | null;
  readonly migratetype: number;
  readonly nrMigrated: number;
  readonly nrReclaimed: number;
  readonly nrMapped: number;
}

/**
 * Decodes mm_alloc_contig_migrate_range_info. Seen on 6.12.118: __alloc_contig_migrate_range()
 * passes (start, end, nr_mapped, migratetype, nr_migrated, nr_reclaimed) to a prototype of (start,
 * end, migratetype, nr_migrated, nr_reclaimed, nr_mapped), so each printed field holds the next
 * argument. `shifted` says whether the trace came from such a kernel.
 */
export function decodeContigRangeInfo(
  f: Readonly<Record<string, string>>,
  shifted: boolean,
): ContigRangeInfo {
  const n = (k: string) => Number(f[k] ?? 'NaN');
  const base = { start: pfnField(f.start), end: pfnField(f.end) };
  if (shifted)
    return {
      ...base,
      nrMapped: n('migratetype'),
      migratetype: n('nr_migrated'),
      nrMigrated: n('nr_reclaimed'),
      nrReclaimed: n('nr_mapped'),
    };
  return {
    ...base,
    migratetype: n('migratetype'),
    nrMigrated: n('nr_migrated'),
    nrReclaimed: n('nr_reclaimed'),
    nrMapped: n('nr_mapped'),
  };
}

/** Whether a kernel release prints mm_alloc_contig_migrate_range_info shifted (seen on 6.12). */
export function contigRangeInfoShifted(release: string | null): boolean {
  const m = release ? /^(\d+)\.(\d+)/.exec(release) : null;
  if (!m) return false;
  const v = Number(m[1]) * 1000 + Number(m[2]);
  return v >= 6009 && v <= 6012;
}

/** Whether text looks like a text trace with events blame reads. */
export function looksLikeMmTrace(head: string): boolean {
  return /^# tracer:/m.test(head) || head.split('\n').some((l, i) => parseMmEventLine(l, i + 1) !== null);
}

/**
 * Whether a trace's mm_alloc_contig_migrate_range_info events are printed shifted, when the
 * kernel release is unknown, by their content: a cma_alloc() always isolates MIGRATE_CMA (4),
 * so the field that is 4 in every event is the migratetype. Fed one event at a time.
 */
class ShiftGuess {
  private n = 0;
  private migratetype4 = 0;
  private nrMigrated4 = 0;
  add(e: MmEvent): void {
    this.n++;
    if (e.fields.migratetype === '4') this.migratetype4++;
    if (e.fields.nr_migrated === '4') this.nrMigrated4++;
  }
  get shifted(): boolean {
    return this.n > 0 && this.migratetype4 < this.n && this.nrMigrated4 === this.n;
  }
}

/** What one cma_alloc() cost in migration, from the events of its task during the call. */
export interface AllocationCost {
  /** mm_alloc_contig_migrate_range_info (6.9+) or Android's cma_alloc_info (5.10–6.0). */
  readonly source: 'migrate_range_info' | 'cma_alloc_info';
  /** alloc_contig_range() calls seen (one per retry window). */
  readonly calls: number;
  readonly migrated: number;
  readonly reclaimed: number;
  readonly mapped: number;
  /** cma_alloc_info's failure counts (isolation, migration, test_pages_isolated), else 0. */
  readonly errIso: number;
  readonly errMig: number;
  readonly errTest: number;
}

/**
 * One cost event as a lookup needs it (not the event: its strings are not kept). For
 * mm_alloc_contig_migrate_range_info, the four counts as printed (`a`–`d`: migratetype,
 * nr_migrated, nr_reclaimed, nr_mapped; decoded at lookup time, by what is known then of the
 * shift); for cma_alloc_info, nr_migrated, nr_reclaimed, nr_mapped, err_iso, err_mig, err_test
 * (`a`–`f`) and the pfn.
 */
interface Stamped {
  readonly us: number;
  readonly android: boolean;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly e: number;
  readonly f: number;
  readonly pfn: number | null;
}

/** A cost event as Stamped. */
function stamped(ev: MmEvent): Stamped {
  const f = ev.fields;
  const us = Math.round(ev.time * 1e6);
  if (ev.event === 'cma_alloc_info') {
    const n = (k: string) => Number(f[k] ?? 0) || 0;
    return {
      us,
      android: true,
      a: n('nr_migrated'),
      b: n('nr_reclaimed'),
      c: n('nr_mapped'),
      d: n('err_iso'),
      e: n('err_mig'),
      f: n('err_test'),
      pfn: pfnField(f.pfn),
    };
  }
  // decodeContigRangeInfo's reading
  const n = (k: string) => Number(f[k] ?? 'NaN');
  return {
    us,
    android: false,
    a: n('migratetype'),
    b: n('nr_migrated'),
    c: n('nr_reclaimed'),
    d: n('nr_mapped'),
    e: 0,
    f: 0,
    pfn: null,
  };
}

/** The events that carry an allocation's migrate counts. */
export const COST_EVENT_NAMES: ReadonlySet<string> = new Set([
  'mm_alloc_contig_migrate_range_info',
  'cma_alloc_info',
]);

/**
 * Joins the migrate counts to the allocation table: a task's mm_alloc_contig_migrate_range_info
 * events between its cma_alloc_start and cma_alloc_finish add up to that allocation's cost;
 * Android's cma_alloc_info follows its finish with the same pfn. Times are µs as the replay's
 * allocation records carry them. Built from every event at once, or fed while the trace is read
 * (`add`, in any order: a lookup sees the events added before it).
 */
export class AllocationCosts {
  private readonly byPid = new Map<number, Stamped[]>();
  private release: string | null;
  private fixedShift: boolean | null = null;
  private readonly guess = new ShiftGuess();
  /** The cost events read. */
  events = 0;
  /** Whether they include Android's cma_alloc_info. */
  hasAndroidInfo = false;

  constructor(events: readonly MmEvent[] = [], release: string | null = null) {
    this.release = release;
    for (const e of events) this.add(e);
  }

  /** What a replay (ReplayOptions.mmEvents) feeds these costs through, in the pass that reads the trace. */
  feed(): MmEventsOption {
    return {
      names: COST_EVENT_NAMES,
      onEvents: (events, release) => {
        this.setRelease(release);
        for (const e of events) this.add(e);
      },
    };
  }

  /**
   * Whether mm_alloc_contig_migrate_range_info is printed shifted: by the kernel release when
   * known, else guessed from the events added so far.
   */
  get shifted(): boolean {
    if (this.fixedShift === null && this.release !== null && /^\d+\.\d+/.test(this.release))
      this.fixedShift = contigRangeInfoShifted(this.release);
    return this.fixedShift ?? this.guess.shifted;
  }

  /** The kernel release the trace itself records (binary traces): it wins over the one assumed. */
  setRelease(release: string | null): void {
    if (release === null || release === this.release) return;
    this.release = release;
    this.fixedShift = null;
  }

  /** Adds one event (others than the cost events are ignored). */
  add(e: MmEvent): void {
    if (e.event === 'cma_alloc_info') this.hasAndroidInfo = true;
    else if (e.event === 'mm_alloc_contig_migrate_range_info') this.guess.add(e);
    else return;
    this.events++;
    let l = this.byPid.get(e.pid);
    if (l === undefined) {
      l = [];
      this.byPid.set(e.pid, l);
    }
    const x = stamped(e);
    // in time order (stable): at the end but for an event of an earlier bundle
    let at = l.length;
    while (at > 0 && l[at - 1]!.us > x.us) at--;
    if (at === l.length) l.push(x);
    else l.splice(at, 0, x);
  }

  /** The cost of the allocation of `pid` from startUs to finishUs at `pfn`, or null (no events). */
  lookup(pid: number, startUs: number, finishUs: number, pfn: number): AllocationCost | null {
    const l = this.byPid.get(pid);
    if (l === undefined || Number.isNaN(finishUs)) return null;
    let lo = 0;
    let hi = l.length;
    const from = Number.isNaN(startUs) ? finishUs : startUs;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid]!.us < from) lo = mid + 1;
      else hi = mid;
    }
    let calls = 0;
    let migrated = 0;
    let reclaimed = 0;
    let mapped = 0;
    let shifted: boolean | null = null;
    for (let i = lo; i < l.length; i++) {
      const x = l[i]!;
      if (x.android) {
        if (x.us < finishUs) continue;
        if (x.pfn !== pfn) break;
        return {
          source: 'cma_alloc_info',
          calls: 1,
          migrated: x.a,
          reclaimed: x.b,
          mapped: x.c,
          errIso: x.d,
          errMig: x.e,
          errTest: x.f,
        };
      }
      if (x.us > finishUs) break;
      // as decodeContigRangeInfo() reads the fields
      shifted ??= this.shifted;
      calls++;
      if (shifted) {
        migrated += x.c || 0;
        reclaimed += x.d || 0;
        mapped += x.a || 0;
      } else {
        migrated += x.b || 0;
        reclaimed += x.c || 0;
        mapped += x.d || 0;
      }
    }
    if (calls === 0) return null;
    return {
      source: 'migrate_range_info',
      calls,
      migrated,
      reclaimed,
      mapped,
      errIso: 0,
      errMig: 0,
      errTest: 0,
    };
  }
}

/** Other events a binary trace's reader decodes in the same pass as the cma events. */
export interface MmEventsOption {
  /** The events wanted (MM_EVENT_NAMES, COST_EVENT_NAMES…). */
  names: ReadonlySet<string>;
  /**
   * Called with the events as they are decoded (in timestamp order for trace.dat, in file order
   * for Perfetto; before the cma events that follow them) and the kernel release the file records.
   */
  onEvents: (events: readonly MmEvent[], kernelRelease: string | null) => void;
}

/**
 * An MmEventsOption that holds the events until `open()` (then passes them on, and every later
 * one at once): a replay that must start over with other areas drops what it held instead of
 * handing the same events twice. `open` at once when `now` is true.
 */
export function heldMmEvents(to: MmEventsOption, now: boolean): { option: MmEventsOption; open(): void } {
  let held: [readonly MmEvent[], string | null][] | null = now ? null : [];
  return {
    option: {
      names: to.names,
      onEvents: (events, release) => {
        if (held === null) to.onEvents(events, release);
        else held.push([events, release]);
      },
    },
    open: () => {
      if (held === null) return;
      const h = held;
      held = null;
      for (const [events, release] of h) to.onEvents(events, release);
    },
  };
}
