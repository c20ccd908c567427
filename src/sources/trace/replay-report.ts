// What a replay reports besides the final state: counters, the first mismatches, anomalies and
// failures (each explained), and Android's cma_alloc_info attached to the failure it follows.

import { cmaBitmapPagesToBits } from '../../core/cma.ts';
import type { TraceEvent } from './events.ts';
import { EVENT_NAMES } from './events.ts';
import type { AreaState } from './replay-area.ts';
import type { FailureClass, FailureRecord, ReplayOptions, ReplayResult } from './replay-types.ts';

/** The failures whose event numbers ReplayCounters.failureEvents lists (the first ones). */
let MAX_FAILURE_EVENTS = 20000;

/** For tests: how many failures' event numbers are listed (the lists fill up sooner). */
export function setMaxFailureEvents(n: number): void {
  MAX_FAILURE_EVENTS = n;
}

/** The counters and lists of ReplayResult kept while replaying. */
export type ReplayCounters = Omit<
  ReplayResult,
  | 'events'
  | 'lines'
  | 'otherLines'
  | 'malformed'
  | 'malformedLines'
  | 'joinedSplitLines'
  | 'areas'
  | 'allocations'
  | 'pendingAtEnd'
  | 'timeline'
  | 'format'
  | 'kernelRelease'
  | 'lostEvents'
  | 'lostEventPages'
  | 'lateEvents'
>;

/** What a failure record needs of the call. */
export interface FailedCall {
  readonly align: number;
  /** Bits the request needs. */
  readonly bits: number;
  /** cma_alloc_busy_retry events of the call. */
  readonly busy: number;
}

export class ReplayReport {
  readonly res: ReplayCounters;
  private readonly maxKept: number;
  /** The last finished call (for Android's cma_alloc_info that follows it): pid (-1: none) and failure. */
  private lastPid = -1;
  private lastFail: FailureRecord | null = null;

  constructor(
    areaSource: ReplayResult['areaSource'],
    private readonly opts: ReplayOptions,
  ) {
    this.maxKept = opts.maxKept ?? 1000;
    this.res = {
      allocStarts: 0,
      zeroCountStarts: 0,
      allocs: { ok: 0, failed: 0 },
      failedBy: { noSpace: 0, migration: 0, oversize: 0 },
      failureClasses: { exhaustion: 0, fragmentation: 0, busy: 0, oversize: 0, migration: 0 },
      busyRetries: 0,
      releases: 0,
      mismatches: 0,
      mismatchList: [],
      anomalies: 0,
      anomalyList: [],
      releasesOfFreeBits: 0,
      skippedOtherArea: 0,
      infoEvents: 0,
      areaSource,
      failures: [],
      failureEvents: [],
    };
  }

  anomaly(ev: TraceEvent, reason: string): void {
    this.res.anomalies++;
    if (this.res.anomalyList.length < this.maxKept)
      this.res.anomalyList.push({ line: ev.line, event: EVENT_NAMES[ev.kind], reason });
  }

  mismatch(ev: TraceEvent, a: AreaState, ourPfn: number): void {
    this.res.mismatches++;
    a.r.mismatches++;
    if (this.res.mismatchList.length < this.maxKept)
      this.res.mismatchList.push({
        line: ev.line,
        event: EVENT_NAMES[ev.kind],
        area: a.spec.name,
        pid: ev.pid,
        tracePfn: ev.pfn,
        traceOk: ev.hasPage,
        ourPfn,
      });
  }

  /** A call that ended with a page. */
  succeeded(pid: number): void {
    this.lastPid = pid;
    this.lastFail = null;
  }

  /**
   * Whether a failure would keep no record now (the list is full, no onFailure): then the
   * engine's fast lane may take failures of no space itself (as fail() with succeeded()), listing
   * their event numbers while failureEventRoom() allows.
   */
  failuresCounted(): boolean {
    return this.res.failures.length >= this.maxKept && this.opts.onFailure === undefined;
  }

  /** How many more failures' event numbers failureEvents lists. */
  failureEventRoom(): number {
    return Math.max(0, MAX_FAILURE_EVENTS - this.res.failureEvents.length);
  }

  /** A failed call, explained; `event` is its number among the cma events (1-based). */
  fail(
    ev: TraceEvent,
    a: AreaState,
    p: FailedCall,
    cls: FailureClass,
    tracePfn: number | null,
    event: number,
  ): void {
    this.res.failureClasses[cls]++;
    if (this.res.failureEvents.length < MAX_FAILURE_EVENTS) this.res.failureEvents.push(event);
    const keep = this.res.failures.length < this.maxKept;
    if (!keep && !this.opts.onFailure) {
      // no record: a cma_alloc_info after it has nothing to attach to (not an older failure)
      this.succeeded(ev.pid);
      return;
    }
    const rec: FailureRecord = {
      area: a.spec.name,
      line: ev.line,
      ts: ev.ts,
      task: ev.comm(),
      pid: ev.pid,
      pages: ev.countBig ?? ev.count,
      align: p.align,
      class: cls,
      freePages: (a.maxno - a.usedBits) * a.unit,
      neededPages:
        ev.countBig !== null ? cmaBitmapPagesToBits(ev.countBig, a.opb) << BigInt(a.opb) : p.bits * a.unit,
      busyRetries: p.busy,
      tracePfn,
    };
    if (keep) this.res.failures.push(rec);
    this.opts.onFailure?.(rec);
    this.lastPid = ev.pid;
    this.lastFail = rec;
  }

  /** Android's cma_alloc_info: the counters of the failure it follows (same pid). */
  info(ev: TraceEvent): void {
    this.res.infoEvents++;
    const fail = this.lastFail;
    if (this.lastPid === ev.pid && fail !== null && ev.pfn === -1) {
      fail.info = {
        nrMigrated: ev.nrMigrated,
        errIso: ev.errIso,
        errMig: ev.errMig,
        errTest: ev.errTest,
      };
    }
  }
}
