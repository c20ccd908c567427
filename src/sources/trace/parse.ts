// A streaming parser for ftrace text with cma:* events, working on bytes.
//
// Accepts /sys/kernel/tracing/trace, trace_pipe and `trace-cmd report` text of every era:
// 4.x `cma_alloc`/`cma_release` (no name, `pfn=%lx`), 5.x–6.1 start/finish/busy_retry/release,
// 6.12's `errorno=`, 7.x's `request_count=/available_count=/total_count=`, and Android's
// `cma_alloc_info`. Lines are found with one memchr per line; fields are read from bytes in
// place (no regex, no split, no substring per line). Unknown lines are counted and skipped; a
// cma line that cannot be read is reported with its line number. The 6.1 unnamed-area quirk
// (`name=cma0\n` splits every event of that area over two lines) is rejoined.

import type { AnnotatedArea, MalformedLine, TraceEvent, TraceEventKind } from './events.ts';
import {
  CommCache,
  clearRareFields,
  EV_ALLOC,
  EV_BUSY,
  EV_FINISH,
  EV_INFO,
  EV_RELEASE,
  EV_START,
  TraceEventFields,
} from './events.ts';
import { type MmEvent, parseMmEventLine } from './mm-events.ts';
import { isNullPointer } from './parse-bytes.ts';
import {
  COLON,
  DASH,
  DOT,
  EQ,
  FL_ALIGN,
  FL_COMM,
  FL_COUNT,
  FL_CPU,
  FL_KIND,
  FL_PAGE,
  FL_PFN,
  FL_PID,
  FL_TS,
  fastLine,
  HASH,
  LBRACKET,
  LPAREN,
  NL,
  RBRACKET,
  SP,
} from './parse-fast.ts';
import { WasmScanner } from './parse-wasm.ts';

/** What the parser saw besides events. */
/** Longest line kept (1 MiB): a kernel trace line is under 1 KiB; longer input is garbage. */
export const MAX_LINE_BYTES = 1 << 20;

export interface ParseStats {
  /** Bytes consumed. */
  bytes: number;
  /** Lines read (a split line counts twice). */
  lines: number;
  /** cma events passed to onEvent. */
  events: number;
  /** Lines starting with '#' (header, annotations). */
  headerLines: number;
  blankLines: number;
  /** Lines that are not cma events (other tracepoints, trace-cmd headers, noise). */
  otherLines: number;
  /** cma_* events this parser does not model (e.g. cma_alloc_at_start). */
  otherCmaEvents: number;
  /** cma lines that could not be read. */
  malformed: number;
  /** The first `maxMalformedKept` of them. */
  malformedLines: MalformedLine[];
  /** Events rejoined from the 6.1 `name=cma%d\n` split. */
  joinedSplitLines: number;
  /** `# cma_area:` annotations seen. */
  annotations: AnnotatedArea[];
  /** Binary inputs: what was read ('trace.dat v7 (zstd)', 'perfetto'); absent for text. */
  format?: string;
  /** Binary inputs: the kernel release the file records, or null. */
  kernelRelease?: string | null;
  /** Events the kernel's buffer lost (counted), and buffer pages after which some were lost. */
  lostEvents?: number;
  lostEventPages?: number;
  /**
   * Perfetto: events that arrived further out of timestamp order than the reader's reorder
   * window holds, so they were replayed after later ones.
   */
  lateEvents?: number;
}

/** The statistics of an input with nothing read yet. */
export function emptyParseStats(): ParseStats {
  return {
    bytes: 0,
    lines: 0,
    events: 0,
    headerLines: 0,
    blankLines: 0,
    otherLines: 0,
    otherCmaEvents: 0,
    malformed: 0,
    malformedLines: [],
    joinedSplitLines: 0,
    annotations: [],
  };
}

/**
 * Where the fast path's lines go instead of onEvent (the parse worker's batch encoder): fastLine()
 * writes a line's numbers (parse-fast.ts's FL_* slots) into `out` from `at`, then fast() is
 * called to complete them. The parser's own event fields are not set for those lines.
 */
export interface FastTarget {
  out: Float64Array;
  at: number;
  /**
   * The line at `s` in the chunk `dv` views is line `line` of area `name`; FL_COMM holds where
   * its task name starts (it ends at s + 16).
   */
  fast(dv: DataView, s: number, line: number, name: string): void;
}

/**
 * Reads runs of fast-path lines in bulk (the parse worker's WebAssembly scanner, parse-wasm.ts):
 * the lines from `pos` of `chunk` whose event's area is `name` (bytes `nameBytes`, the previous
 * event's), numbered from `line` + 1, delivered by the scanner itself. Returns how many it read
 * (0: none, e.g. a chunk it does not hold) and sets `stop` to the position after them.
 */
export interface BulkScanner {
  stop: number;
  scan(chunk: Uint8Array, pos: number, nameBytes: Uint8Array, name: string, line: number): number;
  /**
   * false: the scanner leaves the lines it read as records (parallel-format.ts's F numbers each)
   * and line starts, for the parser to hand on as events.
   */
  readonly delivers: boolean;
  readonly records: Float64Array;
  readonly starts: Uint32Array;
}

/** Parser options. */
export interface ParseOptions {
  /** Called for each `# cma_area:` line (gen-trace --annotate), in order. */
  onAnnotation?: (area: AnnotatedArea) => void;
  /** Called for each malformed cma line. */
  onMalformed?: (m: MalformedLine) => void;
  /** Called after each chunk with the total bytes consumed (for progress bars). */
  onProgress?: (bytes: number) => void;
  /** Malformed lines kept in the stats (default 100). */
  maxMalformedKept?: number;
  /** Use the fast path for the common 6.1 line layout (default true; false only to test it). */
  fastPath?: boolean;
  /** Lines before the input (it starts at a line start): line numbers continue from there. */
  firstLine?: number;
  /**
   * Read the common lines with the fast path compiled to WebAssembly (parse-wasm.ts): each chunk
   * (up to 1 MiB) is copied into its memory first. Compiled code from the first line: worth it
   * for a parse on a thread whose JavaScript fast path is not warm yet (default false).
   */
  wasm?: boolean;
  /**
   * Other events to pick out of the lines, e.g. the migrate counts (COST_EVENT_NAMES): each line
   * of one of `names` goes to `onEvent` as parseMmEventLine() reads it, before the cma events
   * after it. Only lines the fast path leaves to the general path are looked at: names of cma
   * events the fast path takes (cma_alloc_start, _finish, _busy_retry, cma_release) are seen
   * only with `fastPath: false`.
   */
  otherEvents?: { names: ReadonlySet<string>; onEvent: (e: MmEvent) => void };
}

// byte values: the fast path's (its hot comparisons keep them module-local there; this general
// path, taken by few lines, reads them as imports), and two only this file needs
const CR = 13;
const RPAREN = 41;

const F_NAME = 1;
const F_COUNT = 2;
const F_PFN = 4;
const F_PAGE = 8;
const F_ALIGN = 16;

const TWO53 = 2 ** 53;

function enc(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
const N_START = enc('cma_alloc_start');
const N_FINISH = enc('cma_alloc_finish');
const N_BUSY = enc('cma_alloc_busy_retry');
const N_RELEASE = enc('cma_release');
const N_ALLOC = enc('cma_alloc');
const N_INFO = enc('cma_alloc_info');

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

function sameBytes(buf: Uint8Array, pos: number, lit: Uint8Array): boolean {
  for (let k = 0; k < lit.length; k++) if (buf[pos + k] !== lit[k]) return false;
  return true;
}

const decoder = new TextDecoder('utf-8');

/**
 * The incremental line parser behind parseTraceStream/parseTraceText. Feed it chunks; it calls
 * `onEvent` synchronously for every cma event.
 */
export class TraceLineParser extends TraceEventFields {
  // ---- the reused event (TraceEvent; its fields are TraceEventFields') ----
  /**
   * The current event came from the fast path: its rare fields (countBig, errorno, 7.x and
   * Android counters) are their defaults and its comm is at most 16 bytes.
   */
  fastEvent = false;
  private buf: Uint8Array = new Uint8Array(0);
  /** Where the comm starts in `buf` (set by the fast path too). */
  commStart = 0;
  private commEnd = 0;
  comm(): string {
    return this.commCache.text(this.pid, this.buf, this.commStart, this.commEnd - this.commStart);
  }
  private readonly commCache = new CommCache();
  /** The general path may have set rare fields (a fast-path event clears them first). */
  private rareSet = true;
  /**
   * Copies the task name's bytes (of the current event, inside the callback) to the end of
   * out[at, at + 16) and returns their number, or -1 (nothing copied) when there are more than
   * 16. `outView` is a DataView of `out`'s memory.
   */
  copyComm(out: Uint8Array, outView: DataView, at: number): number {
    const e = this.commEnd;
    const n = e - this.commStart;
    if (this.fastEvent) {
      // the fast path's comm field is the line's first 16 bytes ("%16s", right-aligned): four
      // words, spaces and all
      const dv = this.dv;
      outView.setInt32(at, dv.getInt32(e - 16, true), true);
      outView.setInt32(at + 4, dv.getInt32(e - 12, true), true);
      outView.setInt32(at + 8, dv.getInt32(e - 8, true), true);
      outView.setInt32(at + 12, dv.getInt32(e - 4, true), true);
      return n;
    }
    if (n > 16) return -1;
    const buf = this.buf;
    const s = this.commStart;
    const to = at + 16 - n;
    for (let q = 0; q < n; q++) out[to + q] = buf[s + q]!;
    return n;
  }

  // ---- parser state ----
  readonly stats: ParseStats = emptyParseStats();
  private leftover: Uint8Array | null = null;
  /** A line being skipped for its length: its first bytes and its size so far. */
  private skipping: { head: Uint8Array; bytes: number } | null = null;
  private split: Uint8Array | null = null;
  private splitLine = 0;
  private lastNameBytes: Uint8Array = new Uint8Array(0);
  /** lastNameBytes' whole four-byte words, little-endian (the fast path compares them). */
  private lastNameWords: Int32Array = new Int32Array(0);
  private readonly maxKept: number;

  constructor(
    private readonly onEvent: (ev: TraceEvent) => void,
    private readonly opts: ParseOptions = {},
  ) {
    super();
    this.maxKept = opts.maxMalformedKept ?? 100;
    this.fast = opts.fastPath ?? true;
    this.stats.lines = opts.firstLine ?? 0;
    this.otherNames = opts.otherEvents ? [...opts.otherEvents.names].map(enc) : null;
    if (opts.wasm && this.fast) {
      const sc = new WasmScanner(1 << 20, null);
      this.scanner = sc;
      this.copyInto = sc.chunk;
    }
  }
  /** Where feed() copies chunks first (the wasm scanner's memory), or null. */
  private copyInto: Uint8Array | null = null;
  /** otherEvents' names as bytes (null: none wanted). */
  private readonly otherNames: Uint8Array[] | null;

  /** A `name=cma%d` line waits for its continuation (the input must not be cut here). */
  get splitPending(): boolean {
    return this.split !== null || this.leftover !== null;
  }
  private readonly fast: boolean;
  /** fastLine()'s output when there is no FastTarget: read into this event's fields. */
  private readonly scratch: FastTarget = { out: new Float64Array(16), at: 0, fast: () => {} };
  private target: FastTarget = this.scratch;
  private scanner: BulkScanner | null = null;
  /** Tries `sc` first on every line the fast path may read (see BulkScanner). */
  setBulkScanner(sc: BulkScanner): void {
    this.scanner = sc;
  }
  /** Sends the fast path's lines to `t` (see FastTarget); the others still go to onEvent. */
  setFastTarget(t: FastTarget): void {
    this.target = t;
  }
  /** A DataView of the chunk fastLine() reads (same offsets as the chunk). */
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  /** Consumes one chunk of input bytes. */
  feed(chunk: Uint8Array): void {
    const into = this.copyInto;
    if (into !== null && chunk.length <= into.length && chunk.buffer !== into.buffer) {
      into.set(chunk);
      chunk = into.subarray(0, chunk.length);
    }
    this.stats.bytes += chunk.length;
    let pos = 0;
    if (this.skipping !== null) {
      // inside a line past MAX_LINE_BYTES: counted, never kept (constant memory)
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.skipping.bytes += chunk.length;
        this.opts.onProgress?.(this.stats.bytes);
        return;
      }
      this.endSkip(nl);
      pos = nl + 1;
    } else if (this.leftover !== null) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        if (this.leftover.length + chunk.length > MAX_LINE_BYTES) {
          this.skipping = { head: this.leftover.slice(0, 80), bytes: this.leftover.length + chunk.length };
          this.leftover = null;
        } else this.leftover = concat(this.leftover, chunk);
        this.opts.onProgress?.(this.stats.bytes);
        return;
      }
      const joined = concat(this.leftover, chunk.subarray(0, nl));
      this.leftover = null;
      this.lineAt(joined, 0, joined.length);
      pos = nl + 1;
    }
    const len = chunk.length;
    if (this.fast) {
      this.dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    while (pos < len) {
      // the common 6.1 line, parsed without looking for its end first
      if (this.split === null && this.fast) {
        const sc = this.scanner;
        if (sc !== null) {
          const st = this.stats;
          const k = sc.scan(chunk, pos, this.lastNameBytes, this.lastName, st.lines);
          if (k > 0) {
            if (sc.delivers) {
              st.lines += k;
              st.events += k;
            } else this.acceptScanned(chunk, sc, k);
            pos = sc.stop;
            continue;
          }
        }
        const t = this.target;
        const next = fastLine(chunk, pos, this.dv, this.lastNameBytes, this.lastNameWords, t.out, t.at);
        if (next > 0) {
          this.acceptFast(chunk, pos);
          pos = next;
          continue;
        }
      }
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) {
        this.leftover = copyOf(chunk, pos, chunk.length);
        break;
      }
      this.lineAt(chunk, pos, nl);
      pos = nl + 1;
    }
    this.opts.onProgress?.(this.stats.bytes);
  }

  /** Ends a line skipped for its length: one malformed line naming its number and size. */
  private endSkip(extra: number): void {
    const sk = this.skipping!;
    this.skipping = null;
    const lineNo = ++this.stats.lines;
    this.malformedAt(
      lineNo,
      `line of ${sk.bytes + extra} bytes, longer than the ${MAX_LINE_BYTES}-byte limit (kernel trace lines are short): skipped`,
      sk.head,
      0,
      sk.head.length,
    );
  }

  /** Flushes a last line without '\n' and a dangling split line. */
  end(): ParseStats {
    if (this.skipping !== null) this.endSkip(0);
    if (this.leftover !== null) {
      const l = this.leftover;
      this.leftover = null;
      if (l.length > 0) this.lineAt(l, 0, l.length);
    }
    if (this.split !== null) {
      const s = this.split;
      this.split = null;
      this.malformedAt(
        this.splitLine,
        'event ends after name= (split line without continuation)',
        s,
        0,
        s.length,
      );
    }
    return this.stats;
  }

  private lineAt(buf: Uint8Array, start: number, end: number): void {
    const lineNo = ++this.stats.lines;
    if (end > start && buf[end - 1] === CR) end--;
    if (this.split !== null) {
      const s = this.split;
      this.split = null;
      // the continuation of `name=cma0\n`: " count=… align=…" (no task prefix, no ": cma_")
      if (buf[start] === SP && this.findCma(buf, start, end) < 0) {
        const joined = concat(s, buf.subarray(start, end));
        this.stats.joinedSplitLines++;
        this.parseCmaLine(joined, 0, joined.length, this.splitLine, true);
        return;
      }
      this.malformedAt(
        this.splitLine,
        'event ends after name= (split line without continuation)',
        s,
        0,
        s.length,
      );
    }
    if (start === end) {
      this.stats.blankLines++;
      return;
    }
    if (buf[start] === HASH) {
      this.stats.headerLines++;
      if (end - start > 11 && buf[start + 2] === 99 /* c */) this.annotation(buf, start, end);
      return;
    }
    this.parseCmaLine(buf, start, end, lineNo, false);
  }

  /** Hands on the line fastLine() accepted at `s` (its numbers are in the target's `out`). */
  private acceptFast(buf: Uint8Array, s: number): void {
    const st = this.stats;
    const line = ++st.lines;
    st.events++;
    const t = this.target;
    if (t !== this.scratch) {
      t.fast(this.dv, s, line, this.lastName);
      return;
    }
    const f = t.out;
    this.kind = f[FL_KIND] as TraceEventKind;
    this.line = line;
    this.pid = f[FL_PID]!;
    this.cpu = f[FL_CPU]!;
    this.ts = f[FL_TS]!;
    this.count = f[FL_COUNT]!;
    this.align = f[FL_ALIGN]!;
    this.pfn = f[FL_PFN]!;
    this.hasPage = f[FL_PAGE] === 1;
    this.buf = buf;
    this.commStart = f[FL_COMM]!;
    this.commEnd = s + 16;
    if (this.rareSet) {
      clearRareFields(this);
      this.rareSet = false;
    }
    this.name = this.lastName;
    this.fastEvent = true;
    this.onEvent(this);
  }

  /** Hands on the `k` lines of `chunk` the scanner left as records, as fast-path events. */
  private acceptScanned(chunk: Uint8Array, sc: BulkScanner, k: number): void {
    const st = this.stats;
    const rec = sc.records;
    const starts = sc.starts;
    this.buf = chunk;
    if (this.rareSet) {
      clearRareFields(this);
      this.rareSet = false;
    }
    this.name = this.lastName;
    this.fastEvent = true;
    for (let i = 0, o = 0; i < k; i++, o += 12) {
      st.lines++;
      st.events++;
      this.kind = rec[o + FL_KIND] as TraceEventKind;
      this.line = rec[o + 1]!;
      this.pid = rec[o + FL_PID]!;
      this.cpu = rec[o + FL_CPU]!;
      this.ts = rec[o + FL_TS]!;
      const e = starts[i]! + 16;
      this.commEnd = e;
      // the record holds the comm's length (the batch layout), not its start
      this.commStart = e - rec[o + FL_COMM]!;
      this.count = rec[o + FL_COUNT]!;
      this.align = rec[o + FL_ALIGN]!;
      this.pfn = rec[o + FL_PFN]!;
      this.hasPage = rec[o + FL_PAGE] === 1;
      this.onEvent(this);
    }
  }

  /**
   * Position of the ':' of ": cma_", or -1. (Not 0 for "none": a line that starts with ": cma_"
   * sits at 0 when it starts a chunk, and must read the same wherever the chunks are cut.)
   */
  private findCma(buf: Uint8Array, start: number, end: number): number {
    // fast path: the kernel's fixed layout puts ": cma_" at column 49
    // ("%16s-%-7d [%03d] ..... %5lu.%06lu: ")
    const f = start + 49;
    if (
      buf[f] === COLON &&
      buf[f + 1] === SP &&
      buf[f + 2] === 99 &&
      buf[f + 3] === 109 &&
      buf[f + 4] === 97 &&
      buf[f + 5] === 95 &&
      f + 6 <= end
    )
      return f;
    const last = end - 6;
    for (let i = start; i <= last; i++) {
      if (
        buf[i] === COLON &&
        buf[i + 1] === SP &&
        buf[i + 2] === 99 &&
        buf[i + 3] === 109 &&
        buf[i + 4] === 97 &&
        buf[i + 5] === 95
      )
        return i;
    }
    return -1;
  }

  /**
   * An other event's line (otherEvents): whether the line holds ": NAME: " for one of the names
   * (the name at `at` only when `at` ≥ 0), then read as parseMmEventLine() reads it.
   */
  private otherLine(buf: Uint8Array, start: number, end: number, lineNo: number, at: number): void {
    if (at >= 0 ? !this.otherNameAt(buf, at, end) : !this.otherNameIn(buf, start, end)) return;
    const e = parseMmEventLine(decoder.decode(buf.subarray(start, end)), lineNo);
    if (e !== null && this.opts.otherEvents!.names.has(e.event)) this.opts.otherEvents!.onEvent(e);
  }

  /** Whether one of otherEvents' names is at `p`, followed by ": ". */
  private otherNameAt(buf: Uint8Array, p: number, end: number): boolean {
    const names = this.otherNames!;
    for (let k = 0; k < names.length; k++) {
      const n = names[k]!;
      const e = p + n.length;
      if (e + 1 < end && buf[e] === COLON && buf[e + 1] === SP && buf[p] === n[0] && sameBytes(buf, p, n))
        return true;
    }
    return false;
  }

  /** Whether the line holds ": NAME: " for one of otherEvents' names (its colons found by indexOf). */
  private otherNameIn(buf: Uint8Array, start: number, end: number): boolean {
    for (let q = buf.indexOf(COLON, start); q >= 0 && q + 2 < end; q = buf.indexOf(COLON, q + 1))
      if (buf[q + 1] === SP && this.otherNameAt(buf, q + 2, end)) return true;
    return false;
  }

  private parseCmaLine(buf: Uint8Array, start: number, end: number, lineNo: number, joined: boolean): void {
    const i = this.findCma(buf, start, end);
    if (i < 0) {
      this.stats.otherLines++;
      if (this.otherNames !== null) this.otherLine(buf, start, end, lineNo, -1);
      return;
    }
    // ---- event name ----
    const evStart = i + 2;
    let evEnd = evStart;
    while (evEnd < end && buf[evEnd] !== COLON && buf[evEnd] !== SP) evEnd++;
    if (buf[evEnd] !== COLON) {
      this.stats.otherLines++;
      if (this.otherNames !== null) this.otherLine(buf, start, end, lineNo, -1);
      return;
    }
    // (a joined line was seen as its first half)
    if (this.otherNames !== null && !joined) this.otherLine(buf, start, end, lineNo, evStart);
    const evLen = evEnd - evStart;
    let kind: TraceEventKind;
    if (evLen === 15 && sameBytes(buf, evStart, N_START)) kind = EV_START;
    else if (evLen === 16 && sameBytes(buf, evStart, N_FINISH)) kind = EV_FINISH;
    else if (evLen === 11 && sameBytes(buf, evStart, N_RELEASE)) kind = EV_RELEASE;
    else if (evLen === 20 && sameBytes(buf, evStart, N_BUSY)) kind = EV_BUSY;
    else if (evLen === 9 && sameBytes(buf, evStart, N_ALLOC)) kind = EV_ALLOC;
    else if (evLen === 14 && sameBytes(buf, evStart, N_INFO)) kind = EV_INFO;
    else {
      this.stats.otherCmaEvents++;
      return;
    }
    // ---- prefix, read backwards from the ':' before the event name ----
    let k = i - 1;
    let intEnd = k;
    while (k >= start && isDigit(buf[k])) k--;
    let ts: number;
    if (buf[k] === DOT && k < intEnd) {
      const fracLen = intEnd - k;
      let frac = 0;
      for (let q = k + 1; q <= intEnd; q++) frac = frac * 10 + buf[q]! - 48;
      k--;
      intEnd = k;
      while (k >= start && isDigit(buf[k])) k--;
      let sec = 0;
      for (let q = k + 1; q <= intEnd; q++) sec = sec * 10 + buf[q]! - 48;
      ts = sec * 1e6 + (fracLen === 6 ? frac : frac * 10 ** (6 - fracLen));
    } else if (k < intEnd) {
      let raw = 0;
      for (let q = k + 1; q <= intEnd; q++) raw = raw * 10 + buf[q]! - 48;
      ts = raw;
    } else {
      this.malformedAt(lineNo, 'no timestamp before the event name', buf, start, end);
      return;
    }
    while (k >= start && buf[k] === SP) k--;
    if (buf[k] !== RBRACKET) {
      // the irq-info flags column (".....", "d..1", ".N...")
      while (k >= start && buf[k] !== SP) k--;
      while (k >= start && buf[k] === SP) k--;
    }
    if (buf[k] !== RBRACKET) {
      this.malformedAt(lineNo, 'no [cpu] field', buf, start, end);
      return;
    }
    k--;
    let cpu = 0;
    let mul = 1;
    while (k >= start && isDigit(buf[k])) {
      cpu += (buf[k]! - 48) * mul;
      mul *= 10;
      k--;
    }
    if (buf[k] !== LBRACKET) {
      this.malformedAt(lineNo, 'no [cpu] field', buf, start, end);
      return;
    }
    k--;
    while (k >= start && buf[k] === SP) k--;
    if (buf[k] === RPAREN) {
      // record-tgid: "comm-pid (tgid)"
      while (k >= start && buf[k] !== LPAREN) k--;
      k--;
      while (k >= start && buf[k] === SP) k--;
    }
    const pidEnd = k;
    let pid = 0;
    mul = 1;
    while (k >= start && isDigit(buf[k])) {
      pid += (buf[k]! - 48) * mul;
      mul *= 10;
      k--;
    }
    if (k === pidEnd || buf[k] !== DASH) {
      this.malformedAt(lineNo, 'no TASK-PID before the cpu field', buf, start, end);
      return;
    }
    let cs = start;
    while (cs < k && buf[cs] === SP) cs++;

    // ---- payload ----
    this.kind = kind;
    this.line = lineNo;
    this.pid = pid;
    this.cpu = cpu;
    this.ts = ts;
    this.buf = buf;
    this.commStart = cs;
    this.commEnd = k;
    this.align = -1;
    this.pfn = Number.NaN;
    this.hasPage = false;
    clearRareFields(this);
    this.rareSet = true;
    this.name = '';
    let seen = 0;
    let p = evEnd + 1;
    while (p < end && buf[p] === SP) p++;
    if (
      p + 5 <= end &&
      buf[p] === 110 /* n */ &&
      buf[p + 1] === 97 &&
      buf[p + 2] === 109 &&
      buf[p + 3] === 101 &&
      buf[p + 4] === EQ
    ) {
      p += 5;
      const ns = p;
      // %s runs to the first " key=" (a name may contain spaces)
      let ne = -1;
      const ln = this.lastNameBytes;
      const ll = ln.length;
      if (ll > 0 && buf[p + ll] === SP && p + ll < end) {
        // fast path: the same name as the previous event, followed by " key="
        let q = 0;
        while (q < ll && buf[p + q] === ln[q]) q++;
        if (q === ll) {
          let r = p + ll + 1;
          while (r < end && buf[r] !== SP && buf[r] !== EQ) r++;
          if (r < end && buf[r] === EQ && r > p + ll + 1) ne = p + ll;
        }
      }
      for (let q = p; ne < 0 && q < end; q++) {
        if (buf[q] !== SP) continue;
        let r = q + 1;
        while (r < end && buf[r] !== SP && buf[r] !== EQ) r++;
        if (r < end && buf[r] === EQ && r > q + 1) {
          ne = q;
          break;
        }
      }
      if (ne < 0) {
        if (!joined) {
          // 6.1 `name=cma%d\n`: the fields follow on the next line
          this.split = copyOf(buf, start, end);
          this.splitLine = lineNo;
          return;
        }
        ne = end;
      }
      this.name = this.internName(buf, ns, ne);
      seen |= F_NAME;
      p = ne;
    }
    while (p < end) {
      while (p < end && buf[p] === SP) p++;
      if (p >= end) break;
      const ks = p;
      while (p < end && buf[p] !== EQ && buf[p] !== SP) p++;
      if (p >= end || buf[p] !== EQ) {
        this.malformedAt(lineNo, `expected key=value at column ${ks - start + 1}`, buf, start, end);
        return;
      }
      const kl = p - ks;
      p++;
      const vs = p;
      while (p < end && buf[p] !== SP) p++;
      const ve = p;
      const c0 = buf[ks];
      if (kl === 3 && c0 === 112 /* pfn */) {
        const v = this.hex(buf, vs, ve);
        if (Number.isNaN(v)) {
          this.malformedAt(lineNo, 'bad pfn', buf, start, end);
          return;
        }
        this.pfn = v;
        seen |= F_PFN;
      } else if (kl === 4 && c0 === 112 /* page */) {
        this.hasPage = !isNullPointer(buf, vs, ve);
        seen |= F_PAGE;
      } else if ((kl === 5 && c0 === 99) /* count */ || (kl === 13 && c0 === 114) /* request_count */) {
        const v = this.dec(buf, vs, ve, true);
        if (Number.isNaN(v)) {
          this.malformedAt(lineNo, 'bad count', buf, start, end);
          return;
        }
        this.count = v;
        seen |= F_COUNT;
      } else if (kl === 5 && c0 === 97 /* align */) {
        const v = this.dec(buf, vs, ve, false);
        if (Number.isNaN(v) || v > 63) {
          this.malformedAt(lineNo, 'bad align', buf, start, end);
          return;
        }
        this.align = v;
        seen |= F_ALIGN;
      } else if (kl === 7 && c0 === 101 && buf[ks + 3] === 111 /* errorno, not err_iso */) {
        const neg = buf[vs] === DASH;
        const v = this.dec(buf, neg ? vs + 1 : vs, ve, false);
        if (Number.isNaN(v)) {
          this.malformedAt(lineNo, 'bad errorno', buf, start, end);
          return;
        }
        this.errorno = neg ? -v : v;
      } else if (kl === 15 && c0 === 97 /* available_count */) {
        this.availableCount = this.dec(buf, vs, ve, false);
      } else if (kl === 11 && c0 === 116 /* total_count */) {
        this.totalCount = this.dec(buf, vs, ve, false);
      } else if (kind === EV_INFO) {
        const v = this.dec(buf, vs, ve, false);
        if (kl === 11 && c0 === 110) this.nrMigrated = v;
        else if (kl === 7 && buf[ks + 4] === 105) this.errIso = v;
        else if (kl === 7 && buf[ks + 4] === 109) this.errMig = v;
        else if (kl === 8 && buf[ks + 4] === 116) this.errTest = v;
      }
      // other keys (nr_reclaimed, …) are ignored
    }
    let need: number;
    switch (kind) {
      case EV_START:
        need = F_NAME | F_COUNT;
        break;
      case EV_FINISH:
      case EV_BUSY:
        need = F_NAME | F_PFN | F_PAGE | F_COUNT;
        break;
      case EV_INFO:
        need = F_NAME | F_PFN | F_COUNT;
        break;
      default:
        need = F_PFN | F_COUNT;
    }
    if ((seen & need) !== need) {
      const missing = [
        [F_NAME, 'name'],
        [F_COUNT, 'count'],
        [F_PFN, 'pfn'],
        [F_PAGE, 'page'],
      ]
        .filter(([f]) => (need & (f as number)) !== 0 && (seen & (f as number)) === 0)
        .map(([, n]) => n)
        .join(', ');
      this.malformedAt(lineNo, `missing ${missing}`, buf, start, end);
      return;
    }
    if (kind === EV_ALLOC && (seen & F_PAGE) === 0) this.hasPage = this.pfn >= 0;
    this.fastEvent = false;
    this.stats.events++;
    this.onEvent(this);
  }

  private internName(buf: Uint8Array, s: number, e: number): string {
    const last = this.lastNameBytes;
    const n = e - s;
    if (n === last.length) {
      let same = true;
      for (let q = 0; q < n; q++) {
        if (buf[s + q] !== last[q]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastName;
    }
    this.lastNameBytes = copyOf(buf, s, e);
    this.lastNameWords = wordsOf(this.lastNameBytes);
    this.lastName = decoder.decode(this.lastNameBytes);
    return this.lastName;
  }
  private lastName = '';

  /** Hex with or without 0x; 0xffffffffffffffff → -1; NaN when not hex. */
  private hex(buf: Uint8Array, s: number, e: number): number {
    if (e - s > 2 && buf[s] === 48 && (buf[s + 1] === 120 || buf[s + 1] === 88)) s += 2;
    if (s >= e) return Number.NaN;
    if (e - s > 13) {
      let text = '';
      for (let q = s; q < e; q++) text += String.fromCharCode(buf[q]!);
      if (!/^[0-9a-fA-F]+$/.test(text)) return Number.NaN;
      const big = BigInt(`0x${text}`);
      if (big === 0xffffffffffffffffn) return -1;
      return Number(big);
    }
    let v = 0;
    for (let q = s; q < e; q++) {
      const c = buf[q]!;
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else return Number.NaN;
      v = v * 16 + d;
    }
    return v;
  }

  /** Unsigned decimal; NaN when not; for counts ≥ 2^53 also sets countBig. */
  private dec(buf: Uint8Array, s: number, e: number, isCount: boolean): number {
    if (s >= e) return Number.NaN;
    let v = 0;
    for (let q = s; q < e; q++) {
      const c = buf[q]!;
      if (c < 48 || c > 57) return Number.NaN;
      v = v * 10 + c - 48;
    }
    if (v >= TWO53) {
      let text = '';
      for (let q = s; q < e; q++) text += String.fromCharCode(buf[q]!);
      const big = BigInt(text);
      if (isCount) this.countBig = big;
      return Number(big);
    }
    return v;
  }

  private annotation(buf: Uint8Array, start: number, end: number): void {
    const text = decoder.decode(buf.subarray(start, end));
    const m = /^#\s*cma_area:\s*(.*)$/.exec(text);
    if (!m) return;
    const kv = new Map<string, string>();
    for (const part of m[1]!.trim().split(/\s+/)) {
      const eq = part.indexOf('=');
      if (eq > 0) kv.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const num = (k: string): number => {
      const v = kv.get(k);
      return v === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number.NaN : Number(v);
    };
    const a: AnnotatedArea = {
      name: kv.get('name') ?? '',
      basePfn: num('base_pfn'),
      count: num('count'),
      orderPerBit: kv.has('order_per_bit') ? num('order_per_bit') : 0,
    };
    if (a.name === '' || [a.basePfn, a.count, a.orderPerBit].some((x) => !Number.isSafeInteger(x))) {
      this.malformedAt(this.stats.lines, 'bad # cma_area: annotation', buf, start, end);
      return;
    }
    this.stats.annotations.push(a);
    this.opts.onAnnotation?.(a);
  }

  private malformedAt(line: number, reason: string, buf: Uint8Array, start: number, end: number): void {
    this.stats.malformed++;
    const m: MalformedLine = {
      line,
      reason,
      text: decoder.decode(buf.subarray(start, Math.min(end, start + 300))),
    };
    if (this.stats.malformedLines.length < this.maxKept) this.stats.malformedLines.push(m);
    this.opts.onMalformed?.(m);
  }
}

/** A copy of bytes [s, e) (Buffer#slice would alias: chunks may be reused by the caller). */
function copyOf(buf: Uint8Array, s: number, e: number): Uint8Array {
  return Uint8Array.prototype.slice.call(buf, s, e);
}

/** The whole little-endian int32 words of `b` (its last length % 4 bytes are left out). */
function wordsOf(b: Uint8Array): Int32Array {
  const w = new Int32Array(b.length >> 2);
  for (let j = 0; j < w.length; j++)
    w[j] = b[4 * j]! | (b[4 * j + 1]! << 8) | (b[4 * j + 2]! << 16) | (b[4 * j + 3]! << 24);
  return w;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Parses a trace from a stream of byte chunks (a file or stdin stream, a gunzip stream, …),
 * calling `onEvent` for each cma event with a reused TraceEvent. Constant memory.
 */
export async function parseTraceStream(
  input: AsyncIterable<Uint8Array>,
  onEvent: (ev: TraceEvent) => void,
  opts: ParseOptions = {},
): Promise<ParseStats> {
  const parser = new TraceLineParser(onEvent, opts);
  for await (const chunk of input) parser.feed(chunk);
  return parser.end();
}

/** Parses a whole trace held in memory (text or bytes). */
export function parseTraceText(
  text: string | Uint8Array,
  onEvent: (ev: TraceEvent) => void,
  opts: ParseOptions = {},
): ParseStats {
  const parser = new TraceLineParser(onEvent, opts);
  parser.feed(typeof text === 'string' ? new TextEncoder().encode(text) : text);
  return parser.end();
}
