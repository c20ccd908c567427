// The replay engine: one model of cma_alloc over ranges for every era. A 6.1 area is one range;
// 7.x areas (mm/cma.c after "mm/cma: support multiple contiguous ranges, if requested") try their
// ranges in index order, first fit in each, a block never spans two ranges, and with a 7.x trace
// (`available_count=` in cma_alloc_start) `count > available_count` stops the search and `used`
// counts exact pages. Placement is the core's RangeFirstFit; every placement is compared with the
// recorded pfn, and the replay follows the trace after a divergence (resync).

import type { CmaBitmapFactory } from '../../core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../../core/indexed-bitmap.ts';
import type { TraceEvent } from './events.ts';
import { EV_ALLOC, EV_BUSY, EV_FINISH, EV_INFO, EV_RELEASE, EV_START } from './events.ts';
import { F } from './parallel-format.ts';
import type { ParseStats } from './parse.ts';
import { PidTable } from './pid-table.ts';
import type { AreaState } from './replay-area.ts';
import {
  areaResult,
  clearBits,
  liveRecords,
  maxchunkBits,
  newAreaState,
  rangeOf,
  recordAlloc,
  recordAllocRow,
  releaseRecord,
  releaseRow,
  setBits,
  take,
  usedPages,
} from './replay-area.ts';
import { bitsOf, dropHeld, newCall, newCallOf, type Pending, pfnOf, place } from './replay-call.ts';
import {
  LANE_ROWS,
  lanePid,
  ST_AVAIL,
  ST_BUSY,
  ST_BUSYFAIL,
  ST_EVENTS,
  ST_EXH,
  ST_FAILS,
  ST_FRAG,
  ST_FREE_RELEASES,
  ST_LAST_PID,
  ST_OK,
  ST_PEAK,
  ST_RELEASES,
  ST_ROOM,
  ST_STARTS,
  ST_USED,
  WasmLane,
} from './replay-lane.ts';
import { type ReplayCounters, ReplayReport } from './replay-report.ts';
import type {
  AllocationRecord,
  ReplayAreaSpec,
  ReplayOptions,
  ReplayResult,
  TimelineSample,
} from './replay-types.ts';

/** rows() may use the wasm lane (replay-lane.ts). */
let wasmLane = true;

/** Test hook: the wasm lane on or off (off: rows() replays the common rows in TypeScript). */
export function setWasmLane(on: boolean): void {
  wasmLane = on;
}

/**
 * The replay engine. Feed it events (from TraceLineParser) with `event(ev)`, then call
 * `finish(stats)`. Use replayTrace() unless you drive the parser yourself.
 */
export class TraceReplayer {
  private readonly areas: AreaState[];
  private readonly byName = new Map<string, AreaState>();
  private lastName = '\u0000';
  private lastArea: AreaState | undefined;
  private readonly pending = new PidTable<Pending>();
  /** Pending objects of finished calls, reused (fewer allocations per event). */
  private readonly freePending: Pending[] = [];
  private readonly resync: boolean;
  private readonly table: boolean;
  private readonly report: ReplayReport;
  private readonly res: ReplayCounters;
  private nEvents = 0;
  private readonly timelineMax: number;
  private timeline: TimelineSample[] = [];
  private sampleStep = 1;
  /** The wasm lane (rows()): undefined until the first batch, null when not used (any more). */
  private wasm: WasmLane | null | undefined = undefined;

  constructor(
    areas: readonly ReplayAreaSpec[],
    areaSource: ReplayResult['areaSource'],
    private readonly opts: ReplayOptions = {},
  ) {
    const factory: CmaBitmapFactory = opts.bitmapFactory ?? indexedBitmapFactory;
    this.resync = opts.resync ?? true;
    this.table = opts.allocations ?? true;
    this.timelineMax = opts.timelinePoints ?? 0;
    this.areas = areas.map((spec, index) => {
      const st = newAreaState(spec, index, factory);
      if (this.byName.has(spec.name)) throw new Error(`area ${spec.name} given twice`);
      this.byName.set(spec.name, st);
      return st;
    });
    this.report = new ReplayReport(areaSource, opts);
    this.res = this.report.res;
  }

  /** Replays one event (the parser's reused object). */
  event(ev: TraceEvent): void {
    // the calls the wasm lane holds come back here for good (events and rows are not mixed)
    if (this.wasm !== undefined) this.leaveWasm();
    this.replay(ev);
  }

  private replay(ev: TraceEvent): void {
    this.nEvents++;
    switch (ev.kind) {
      case EV_START:
        this.start(ev);
        break;
      case EV_FINISH:
        // where the event has errorno, it says whether the call failed (whatever page printed)
        if (ev.errorno !== null && ev.errorno !== 0 && ev.hasPage) ev.hasPage = false;
        this.finishEv(ev);
        break;
      case EV_RELEASE:
        this.release(ev);
        break;
      case EV_BUSY:
        this.busy(ev);
        break;
      case EV_ALLOC:
        this.legacyAlloc(ev);
        break;
      case EV_INFO:
        this.report.info(ev);
        break;
    }
    if (this.timelineMax > 0 && this.nEvents % this.sampleStep === 0) this.sample(ev.ts);
  }

  /**
   * The fast lane: replays rows [0, n) of a parse batch (BatchRows: F numbers a row, see
   * parallel-format.ts) as event() would, in order. The common rows of a 6.1 trace on a
   * one-range area — a cma_alloc_start with no call of its pid in flight, a busy retry and a
   * successful cma_alloc_finish at the placement we hold, a cma_release inside the area — are
   * replayed from the numbers; any other row, and any row where a condition for an anomaly, a
   * mismatch, a failure or an oversize request holds, goes through event() (`at(i)` makes it
   * the event object), so the result is the same. Nothing is changed before a row is known to
   * be a fast one.
   */
  rows(
    f: Float64Array,
    n: number,
    names: readonly string[],
    comm: Int32Array,
    at: (i: number) => TraceEvent,
  ): void {
    if (this.timelineMax > 0) {
      for (let i = 0; i < n; i++) this.replay(at(i));
      return;
    }
    if (this.wasm === undefined) {
      // the wasm lane: one one-range area, from the first row on, while nothing is handed out;
      // its allocation table is the area's from then on (empty now)
      this.wasm =
        wasmLane && this.nEvents === 0 && this.areas.length === 1 && this.opts.onAllocation === undefined
          ? WasmLane.of(this.areas[0]!, this.table)
          : null;
      if (this.wasm?.table) this.areas[0]!.live = this.wasm.table;
    }
    if (this.wasm !== null) {
      if (this.opts.onAllocation === undefined) {
        this.wasmRows(this.wasm, f, n, names, comm, at);
        return;
      }
      // onAllocation was set (the migrate-cost collector's first event): rows go on here
      this.leaveWasm();
    }
    // the batch's areas by name id: one-range areas only (undefined: the row takes event())
    const areaOf: (AreaState | undefined)[] = [];
    for (const name of names) {
      const a = name === '' ? undefined : this.byName.get(name);
      areaOf.push(a !== undefined && !a.multi ? a : undefined);
    }
    for (let i = 0, o = 0; i < n; i++, o += F) {
      // an extra: 7.x/6.12/Android fields, a long comm, a count ≥ 2^53
      const a = f[o + 11]! < 0 ? areaOf[f[o + 5]!] : undefined;
      if (a === undefined || !this.fastRow(f, o, a, comm, i)) this.replay(at(i));
    }
  }

  /** rows() through the wasm lane (replay-lane.ts: the protocol). */
  private wasmRows(
    w: WasmLane,
    f: Float64Array,
    n: number,
    names: readonly string[],
    comm: Int32Array,
    at: (i: number) => TraceEvent,
  ): void {
    const a = this.areas[0]!;
    // -1: no row of the batch is the area's (the lane takes none)
    const id = names.indexOf(a.spec.name);
    w.prepare();
    for (let c = 0; c < n; c += LANE_ROWS) {
      const m = Math.min(n - c, LANE_ROWS);
      w.load(f, comm, c, m);
      let i = 0;
      while (i < m) {
        let st = w.st;
        st[ST_USED] = a.usedBits;
        st[ST_PEAK] = a.peakUsedBits;
        st[ST_AVAIL] = a.avail;
        st[ST_FAILS] = this.report.failuresCounted() ? 1 : 0;
        st[ST_ROOM] = this.report.failureEventRoom();
        const stop = w.run(i, m, id);
        // (the run may have grown the lane's memory: a fresh view)
        st = w.st;
        a.usedBits = st[ST_USED]!;
        a.peakUsedBits = st[ST_PEAK]!;
        a.avail = st[ST_AVAIL]!;
        if (st[ST_EVENTS]! > 0) this.fromLane(w, a, st);
        if (stop >= m) break;
        // the row the lane stopped at: event(), with the calls it may read
        const o = (c + stop) * F;
        const pid = f[o + 2]!;
        const small = lanePid(pid);
        if (small && w.state(pid) === 1) this.takeCall(w, pid);
        if (f[o] === EV_START && f[o + 11]! >= 0) for (const q of w.held()) this.takeCall(w, q);
        this.replay(at(c + stop));
        if (small) w.mark(pid, this.pending.get(pid) !== undefined ? 2 : 0);
        i = stop + 1;
      }
    }
  }

  /** After a run of the wasm lane: its counts. */
  private fromLane(w: WasmLane, a: AreaState, st: Float64Array): void {
    const before = this.nEvents;
    this.nEvents += st[ST_EVENTS]!;
    const res = this.res;
    const starts = st[ST_STARTS]!;
    a.r.allocStarts += starts;
    res.allocStarts += starts;
    const ok = st[ST_OK]!;
    a.r.allocsOk += ok;
    res.allocs.ok += ok;
    const releases = st[ST_RELEASES]!;
    a.r.releases += releases;
    res.releases += releases;
    const busy = st[ST_BUSY]!;
    a.r.busyRetries += busy;
    res.busyRetries += busy;
    res.releasesOfFreeBits += st[ST_FREE_RELEASES]!;
    const frag = st[ST_FRAG]!;
    const exh = st[ST_EXH]!;
    const busyFails = st[ST_BUSYFAIL]!;
    if (frag + exh + busyFails > 0) {
      // failures of no space the lane counted (ST_FAILS): failNoSpace() with no record kept
      const failed = frag + exh + busyFails;
      a.r.allocsFailed += failed;
      res.allocs.failed += failed;
      a.r.failedNoSpace += failed;
      res.failedBy.noSpace += failed;
      res.failureClasses.fragmentation += frag;
      res.failureClasses.exhaustion += exh;
      res.failureClasses.busy += busyFails;
      // the event numbers of the first ones, while the list has room (failuresCounted)
      for (const k of w.failEvents(st[ST_ROOM]!)) res.failureEvents.push(before + k);
    }
    if (st[ST_LAST_PID]! >= 0) this.report.succeeded(st[ST_LAST_PID]!);
  }

  /** Moves the call the wasm lane holds for a pid to the pending table. */
  private takeCall(w: WasmLane, pid: number): void {
    const c = w.call(pid);
    const p = newCallOf(this.freePending, this.areas[0]!, c.count, c.bits, c.align, c.startTs, false);
    p.held = c.held;
    p.busy = c.busy;
    p.lastBusyPfn = c.lastBusyPfn;
    this.pending.set(pid, p);
    w.mark(pid, 2);
  }

  /**
   * Ends the wasm lane: its calls move to the pending table, its latencies into the area's
   * counts (its allocation table stays the area's).
   */
  private leaveWasm(): void {
    const w = this.wasm;
    this.wasm = null;
    if (w === null || w === undefined) return;
    for (const pid of w.held()) this.takeCall(w, pid);
    if (w.table !== null) {
      const { counts, n } = w.latencies();
      this.areas[0]!.lat.addDense(counts, n);
    }
  }

  /** One row of rows(): true when replayed here, false (nothing changed) for event(). */
  private fastRow(f: Float64Array, o: number, a: AreaState, comm: Int32Array, i: number): boolean {
    switch (f[o]) {
      case EV_START: {
        const pid = f[o + 2]!;
        const count = f[o + 7]!;
        if (count === 0 || this.pending.get(pid) !== undefined) return false;
        const bits = Math.floor((count + a.unit - 1) / a.unit);
        if (!(bits <= a.maxRangeBits)) return false;
        this.nEvents++;
        a.r.allocStarts++;
        this.res.allocStarts++;
        const p = newCallOf(this.freePending, a, count, bits, f[o + 8]!, f[o + 4]!, false);
        place(p, 0, 0);
        this.pending.set(pid, p);
        return true;
      }
      case EV_FINISH: {
        // a failed call, or a comm in an extra
        if (f[o + 10] !== 1 || f[o + 6]! < 0) return false;
        const pid = f[o + 2]!;
        const p = this.pending.get(pid);
        if (p === undefined || !this.fastCall(f, o, a, p)) return false;
        this.nEvents++;
        this.pending.delete(pid);
        a.r.allocsOk++;
        this.res.allocs.ok++;
        if (this.table)
          recordAllocRow(
            a,
            f[o + 9]!,
            f[o + 7]!,
            pid,
            p.startTs,
            f[o + 4]!,
            p.busy,
            f[o + 1]!,
            comm,
            4 * i,
            f[o + 6]!,
            this.opts.onAllocation,
          );
        this.report.succeeded(pid);
        if (this.freePending.length < 1024) this.freePending.push(p);
        return true;
      }
      case EV_RELEASE: {
        const pfn = f[o + 9]!;
        const count = f[o + 7]!;
        const r = a.ranges[0]!;
        if (!(pfn >= r.base && pfn < r.base + r.count)) return false;
        const bit = Math.floor((pfn - r.base) / a.unit);
        const bits = Math.floor((count + a.unit - 1) / a.unit);
        if (!(bit < r.maxno && bit + bits <= r.maxno)) return false;
        this.nEvents++;
        a.r.releases++;
        this.res.releases++;
        a.avail = Math.min(a.spec.count, a.avail + count);
        if (clearBits(a, r, bit, bits) !== bits) this.res.releasesOfFreeBits++;
        if (this.table) releaseRow(a, pfn, count, f[o + 4]!, this.opts.onAllocation);
        return true;
      }
      case EV_BUSY: {
        const p = this.pending.get(f[o + 2]!);
        if (p === undefined || !this.fastCall(f, o, a, p)) return false;
        this.nEvents++;
        a.r.busyRetries++;
        this.res.busyRetries++;
        p.busy++;
        p.lastBusyPfn = f[o + 9]!;
        const ri = p.range;
        const bit = p.held;
        dropHeld(p);
        // EBUSY: the search goes on in the same range after the block, then the next ranges
        place(p, ri, bit + p.mask + 1);
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * A finish or busy row for call p that event() would take without an anomaly or mismatch: p is
   * the pending call of the row's request on area a, and holds a placement at the row's pfn.
   */
  private fastCall(f: Float64Array, o: number, a: AreaState, p: Pending): boolean {
    const align = f[o + 8]!;
    return (
      p.area === a &&
      p.count === f[o + 7]! &&
      (align < 0 || p.align === align) &&
      !p.oversize &&
      p.held >= 0 &&
      a.ranges[p.range]!.base + p.held * a.unit === f[o + 9]!
    );
  }

  // ---------------------------------------------------------------- helpers

  /** byName.has(name), without the lookup for the name of the last area looked up. */
  private known(name: string): boolean {
    return (name === this.lastName && this.lastArea !== undefined) || this.byName.has(name);
  }

  private area(ev: TraceEvent): AreaState | undefined {
    const name = ev.name;
    if (name === this.lastName) return this.lastArea;
    let a = this.byName.get(name);
    if (a === undefined && name === '') {
      // 4.x events carry no name: the only area, or the one holding the pfn
      if (this.areas.length === 1) a = this.areas[0];
      else if (ev.pfn >= 0) a = this.areas.find((x) => rangeOf(x, ev.pfn) !== null);
      if (a === undefined) {
        this.res.skippedOtherArea++;
        return undefined;
      }
      return a;
    }
    this.lastName = name;
    this.lastArea = a;
    return a;
  }

  /** Follows the trace: sets the bits of its placement at `pfn` (an anomaly outside the area). */
  private followTrace(ev: TraceEvent, a: AreaState, p: Pending): void {
    const r = rangeOf(a, ev.pfn);
    if (r === null) {
      this.report.anomaly(ev, 'allocated pfn outside the area');
      return;
    }
    const tb = Math.floor((ev.pfn - r.base) / a.unit);
    setBits(a, r, tb, Math.min(p.bits, r.maxno - tb));
    if (p.counts) take(a, p.pages);
  }

  // ---------------------------------------------------------------- events

  private start(ev: TraceEvent): void {
    const a = this.area(ev);
    if (a === undefined) {
      this.res.skippedOtherArea++;
      return;
    }
    const old = this.pending.get(ev.pid);
    if (old !== undefined) {
      if (!old.oversize) {
        this.report.anomaly(ev, `pid ${ev.pid} starts a cma_alloc while its previous one has no finish`);
        if (old.held >= 0) dropHeld(old);
      }
      this.pending.delete(ev.pid);
    }
    if (ev.count === 0) {
      // 6.12 __cma_alloc traces the start, then returns NULL for count 0: no finish follows
      this.res.zeroCountStarts++;
      return;
    }
    const v7 = ev.availableCount >= 0;
    if (v7) this.checkCounters(ev, a);
    a.r.allocStarts++;
    this.res.allocStarts++;
    const p = newCall(this.freePending, a, ev, v7);
    // larger than every range; or (7.x) more pages than the area, e.g. a count that wraps to 0 bits
    // (a count that is no number, from a caller's own events, fits nowhere either)
    p.oversize = !(p.bits <= a.maxRangeBits) || (v7 && ev.count > a.spec.count);
    if (p.oversize) {
      // 6.1: cma_alloc_start then `goto out`: no finish (7.x prints one, paired below)
      a.r.failedOversize++;
      a.r.allocsFailed++;
      this.res.failedBy.oversize++;
      this.res.allocs.failed++;
      this.report.fail(ev, a, p, 'oversize', null, this.nEvents);
    } else place(p, 0, 0);
    this.pending.set(ev.pid, p);
  }

  /**
   * 7.x start: total_count must be the area's size (once), and available_count ours whenever
   * no other call of the area is in flight (in-flight calls may or may not have taken theirs).
   */
  private checkCounters(ev: TraceEvent, a: AreaState): void {
    a.exact = true;
    if (!a.totalChecked) {
      a.totalChecked = true;
      if (ev.totalCount >= 0 && ev.totalCount !== a.spec.count)
        this.report.anomaly(
          ev,
          `total_count=${ev.totalCount} but area ${a.spec.name} has ${a.spec.count} pages: the areas do not match the trace`,
        );
    }
    if (ev.availableCount === a.avail) return;
    for (const q of this.pending.values()) if (q.area === a && !q.oversize) return;
    this.report.anomaly(
      ev,
      `available_count=${ev.availableCount} but the replay has ${a.avail}${this.resync ? ' (following the trace)' : ''}`,
    );
    if (this.resync) a.avail = ev.availableCount;
  }

  private pendingFor(ev: TraceEvent): Pending | undefined {
    const p = this.pending.get(ev.pid);
    if (p === undefined) {
      this.report.anomaly(ev, `no cma_alloc_start of pid ${ev.pid} before it`);
      return undefined;
    }
    if (p.count !== ev.count || (ev.align >= 0 && p.align !== ev.align) || p.area.spec.name !== ev.name) {
      this.report.anomaly(
        ev,
        `does not match the pending cma_alloc_start of pid ${ev.pid} (count/align/name)`,
      );
      this.pending.delete(ev.pid);
      if (p.held >= 0) dropHeld(p);
      return undefined;
    }
    return p;
  }

  private busy(ev: TraceEvent): void {
    if (!this.known(ev.name)) {
      this.res.skippedOtherArea++;
      return;
    }
    const p = this.pendingFor(ev);
    if (p === undefined) return;
    const a = p.area;
    a.r.busyRetries++;
    this.res.busyRetries++;
    p.busy++;
    p.lastBusyPfn = ev.pfn;
    const ours = pfnOf(p);
    let ri = p.held >= 0 ? p.range : -1;
    let bit = p.held;
    if (ours !== ev.pfn && this.mismatchAt(ev, a, ours)) {
      const r = rangeOf(a, ev.pfn);
      if (r === null) this.report.anomaly(ev, 'busy pfn outside the area');
      else {
        ri = r.index;
        bit = Math.floor((ev.pfn - r.base) / a.unit);
      }
    }
    if (p.held >= 0) dropHeld(p);
    // EBUSY: the search goes on in the same range after the block, then the next ranges
    if (ri >= 0 && bit >= 0) place(p, ri, bit + p.mask + 1);
  }

  /** Counts a mismatch; true when the replay then follows the trace. */
  private mismatchAt(ev: TraceEvent, a: AreaState, ours: number): boolean {
    this.report.mismatch(ev, a, ours);
    return this.resync;
  }

  private finishEv(ev: TraceEvent): void {
    if (!this.known(ev.name)) {
      this.res.skippedOtherArea++;
      return;
    }
    const p = this.pendingFor(ev);
    if (p === undefined) return;
    this.pending.delete(ev.pid);
    this.finishCall(ev, p);
    // the call is over and nothing refers to p any more: reuse it for a later start
    if (this.freePending.length < 1024) this.freePending.push(p);
  }

  private finishCall(ev: TraceEvent, p: Pending): void {
    const a = p.area;
    if (p.oversize) {
      // 7.x: finish(pfn=0, errorno=-16) after an oversize start; 6.1 never gets here
      if (ev.hasPage) this.report.mismatch(ev, a, -1);
      return;
    }
    const ours = pfnOf(p);
    if (ev.hasPage) {
      if (ours !== ev.pfn && this.mismatchAt(ev, a, ours)) {
        if (p.held >= 0) dropHeld(p);
        this.followTrace(ev, a, p);
      }
      a.r.allocsOk++;
      this.res.allocs.ok++;
      if (this.table) recordAlloc(a, ev, p.startTs, p.busy, this.opts.onAllocation);
      this.report.succeeded(ev.pid);
      return;
    }
    a.r.allocsFailed++;
    this.res.allocs.failed++;
    const zero = ev.pfn === 0 && ev.errorno !== null; // 7.x prints pfn 0 for every failure
    if (p.held >= 0) {
      // alloc_contig_range failed with another error than -EBUSY at the placement
      if (ours !== ev.pfn && !zero) this.report.mismatch(ev, a, ours);
      dropHeld(p);
      a.r.failedMigration++;
      this.res.failedBy.migration++;
      this.report.fail(ev, a, p, 'migration', ev.pfn, this.nEvents);
      return;
    }
    // no zero area: the pfn is -1, the last busy pfn, or 0 (7.x)
    if (!(ev.pfn === -1 || ev.pfn === p.lastBusyPfn || zero)) this.report.mismatch(ev, a, -1);
    a.r.failedNoSpace++;
    this.res.failedBy.noSpace++;
    this.failNoSpace(ev, a, p);
  }

  /** A failure of no space: busy when the call had a busy retry (a fitting run it could not take), else by free pages. */
  private failNoSpace(ev: TraceEvent, a: AreaState, p: Pending): void {
    const free = (a.maxno - a.usedBits) * a.unit;
    this.report.fail(
      ev,
      a,
      p,
      p.busy > 0 ? 'busy' : free >= p.bits * a.unit ? 'fragmentation' : 'exhaustion',
      ev.pfn,
      this.nEvents,
    );
  }

  /** cma_release: the range that holds the pfn. */
  private release(ev: TraceEvent): void {
    const a = this.area(ev);
    if (a === undefined) {
      if (ev.name !== '') this.res.skippedOtherArea++;
      return;
    }
    a.r.releases++;
    this.res.releases++;
    // available_count += count (exact pages; only read in 7.x mode)
    a.avail = Math.min(a.spec.count, a.avail + ev.count);
    const r = rangeOf(a, ev.pfn);
    if (r === null) {
      this.report.anomaly(
        ev,
        `release of pfn 0x${ev.pfn.toString(16)} outside the area${a.multi ? "'s ranges" : ''}`,
      );
      return;
    }
    const bit = Math.floor((ev.pfn - r.base) / a.unit);
    let bits = bitsOf(a, ev);
    if (bit + bits > r.maxno) {
      this.report.anomaly(
        ev,
        `release runs past the end of ${a.multi ? `range ${r.index}` : 'the area'} (clamped)`,
      );
      bits = r.maxno - bit;
    }
    if (clearBits(a, r, bit, bits) !== bits) this.res.releasesOfFreeBits++;
    if (this.table) releaseRecord(a, ev, this.opts.onAllocation);
  }

  /** 4.x/5.x `cma_alloc`: one event after the whole call; placed atomically. */
  private legacyAlloc(ev: TraceEvent): void {
    const a = this.area(ev);
    if (a === undefined) return;
    if (a.multi) {
      this.report.anomaly(
        ev,
        `a 4.x/5.x cma_alloc event on the multi-range area ${a.spec.name} (not replayed)`,
      );
      return;
    }
    a.r.allocStarts++;
    this.res.allocStarts++;
    const p = newCall(this.freePending, a, ev, false);
    p.oversize = !(p.bits <= a.maxno);
    if (!p.oversize) place(p, 0, 0);
    const ours = pfnOf(p);
    if (ev.hasPage) {
      if (ours !== ev.pfn && this.mismatchAt(ev, a, ours)) {
        if (p.held >= 0) dropHeld(p);
        const r = rangeOf(a, ev.pfn);
        if (r !== null) {
          const tb = Math.floor((ev.pfn - r.base) / a.unit);
          setBits(a, r, tb, Math.min(p.bits, r.maxno - tb));
        }
      }
      a.r.allocsOk++;
      this.res.allocs.ok++;
      if (this.table) recordAlloc(a, ev, p.startTs, p.busy, this.opts.onAllocation);
    } else {
      if (p.held >= 0) {
        // we found room, the kernel did not (busy pages we cannot see)
        if (this.mismatchAt(ev, a, ours)) dropHeld(p);
      }
      a.r.allocsFailed++;
      this.res.allocs.failed++;
      if (p.oversize) {
        a.r.failedOversize++;
        this.res.failedBy.oversize++;
        this.report.fail(ev, a, p, 'oversize', ev.pfn, this.nEvents);
      } else {
        a.r.failedNoSpace++;
        this.res.failedBy.noSpace++;
        this.failNoSpace(ev, a, p);
      }
    }
    if (this.freePending.length < 1024) this.freePending.push(p);
  }

  private sample(ts: number): void {
    this.timeline.push({
      event: this.nEvents,
      ts,
      used: this.areas.map((a) => usedPages(a)),
      maxchunk: this.areas.map((a) => maxchunkBits(a) * a.unit),
    });
    if (this.timeline.length >= 2 * this.timelineMax) {
      this.timeline = this.timeline.filter((_, i) => i % 2 === 1);
      this.sampleStep *= 2;
    }
  }

  /** Ends the replay: final state of every area, live allocations, counters. */
  finish(stats: ParseStats): ReplayResult {
    if (this.wasm !== undefined) this.leaveWasm();
    if (this.timelineMax > 0 && (this.timeline.length === 0 || this.timeline.at(-1)!.event !== this.nEvents))
      this.sample(Number.NaN);
    // the live allocations' records are built when first read (`--json` only counts them:
    // AreaResult.liveAllocations), or at once for onAllocation
    let live: AllocationRecord[] | null = null;
    const allocations = (): AllocationRecord[] => {
      live ??= this.areas.flatMap((a) => liveRecords(a));
      return live;
    };
    const areas = this.areas.map((a) => areaResult(a));
    const onAllocation = this.opts.onAllocation;
    if (onAllocation) for (const rec of allocations()) onAllocation(rec);
    return {
      events: stats.events,
      lines: stats.lines,
      otherLines: stats.otherLines + stats.otherCmaEvents,
      malformed: stats.malformed,
      malformedLines: stats.malformedLines,
      joinedSplitLines: stats.joinedSplitLines,
      format: stats.format ?? 'text',
      kernelRelease: stats.kernelRelease ?? this.opts.kernelRelease ?? null,
      lostEvents: stats.lostEvents ?? 0,
      lostEventPages: stats.lostEventPages ?? 0,
      ...(stats.lateEvents !== undefined ? { lateEvents: stats.lateEvents } : {}),
      ...this.res,
      pendingAtEnd: [...this.pending.values()].filter((p) => !p.oversize).length,
      areas,
      get allocations() {
        return allocations();
      },
      timeline: this.timelineMax > 0 ? this.timeline : null,
    };
  }
}
