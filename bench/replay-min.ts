// BENCH ONLY: a minimal replayer of the perf-ref replay model (perf-ref README,
// "Replay model") for ONE area, used by `npm run bench` only while src/sources/trace has no
// replayTrace of its own. It is not the project's replay: no multi-area, no split-line
// bookkeeping beyond what the parser does, no reporting. It parses with the project's byte-level
// TraceLineParser and places with a CmaBitmap from the factory under test, so the numbers are
// the parser's and the bitmap's.
//
// Model: pending allocations keyed by pid. cma_alloc_start searches from 0 and sets the bits
// at once; busy_retry clears them and searches again from bitmap_no + mask + 1; finish checks
// the held placement (page NULL with a placement = alloc_contig_range error: clear); release
// clears pages_to_bits(count) bits. Every pfn disagreement is a mismatch, after which the
// replay resyncs to the trace, as ref-replay does by default.

import type { CmaBitmap, CmaBitmapFactory } from '../src/core/cma-bitmap.ts';
import type { TraceEvent } from '../src/sources/trace/events.ts';
import { EV_BUSY, EV_FINISH, EV_RELEASE, EV_START } from '../src/sources/trace/events.ts';
import { TraceLineParser } from '../src/sources/trace/parse.ts';

export interface MinArea {
  readonly name: string;
  readonly basePfn: number;
  readonly count: number;
  readonly orderPerBit: number;
}

export interface MinReplayResult {
  events: number;
  allocStart: number;
  allocsOk: number;
  failedNoSpace: number;
  failedAcrError: number;
  oversize: number;
  busyRetries: number;
  releases: number;
  mismatches: number;
  anomalies: number;
  otherArea: number;
  malformed: number;
}

interface Pending {
  count: number;
  align: number;
  /** Held bitmap_no, or -1. */
  no: number;
  bits: number;
  mask: number;
  offset: number;
  /** Last busy pfn of this call, or -1. */
  lastBusyPfn: number;
}

/** A replay in progress: feed() chunks, then end(). */
export class MinReplay {
  readonly bitmap: CmaBitmap;
  readonly maxno: number;
  readonly result: MinReplayResult = {
    events: 0,
    allocStart: 0,
    allocsOk: 0,
    failedNoSpace: 0,
    failedAcrError: 0,
    oversize: 0,
    busyRetries: 0,
    releases: 0,
    mismatches: 0,
    anomalies: 0,
    otherArea: 0,
    malformed: 0,
  };
  private readonly pending = new Map<number, Pending>();
  private readonly parser: TraceLineParser;
  private readonly unit: number;

  constructor(
    readonly area: MinArea,
    factory: CmaBitmapFactory,
    private readonly maxEvents = Number.POSITIVE_INFINITY,
  ) {
    this.unit = 2 ** area.orderPerBit;
    this.maxno = Math.floor(area.count / this.unit);
    this.bitmap = factory(this.maxno);
    this.parser = new TraceLineParser((ev) => this.onEvent(ev));
  }

  /** False once maxEvents were replayed (stop feeding). */
  get wantsMore(): boolean {
    return this.result.events < this.maxEvents;
  }

  feed(chunk: Uint8Array): void {
    this.parser.feed(chunk);
  }

  end(): MinReplayResult {
    const st = this.parser.end();
    this.result.malformed = st.malformed;
    return this.result;
  }

  private pfnOf(no: number): number {
    return this.area.basePfn + no * this.unit;
  }

  private noOf(pfn: number): number {
    return Math.floor((pfn - this.area.basePfn) / this.unit);
  }

  private bitsOf(count: number): number {
    return Math.ceil(count / this.unit);
  }

  private inArea(pfn: number): boolean {
    return pfn >= this.area.basePfn && pfn < this.area.basePfn + this.area.count;
  }

  /** Sets the trace's placement (resync after a mismatch). */
  private takeTrace(pfn: number, bits: number): void {
    if (!this.inArea(pfn)) return;
    const no = this.noOf(pfn);
    this.bitmap.set(no, Math.min(bits, this.maxno - no));
  }

  /** Replays one event (the parser's callback; also usable with a hand-made event). */
  onEvent(
    ev: Pick<TraceEvent, 'kind' | 'name' | 'pid' | 'count' | 'countBig' | 'align' | 'pfn' | 'hasPage'>,
  ): void {
    const r = this.result;
    if (r.events >= this.maxEvents) return;
    if (ev.name !== this.area.name) {
      r.otherArea++;
      return;
    }
    r.events++;
    const bm = this.bitmap;
    switch (ev.kind) {
      case EV_START: {
        r.allocStart++;
        if (this.pending.has(ev.pid)) r.anomalies++;
        const opb = this.area.orderPerBit;
        const align = ev.align;
        const mask = align <= opb ? 0 : 2 ** (align - opb) - 1;
        const offset = Math.floor((this.area.basePfn % 2 ** align) / this.unit);
        const bits = ev.countBig !== null ? Number.POSITIVE_INFINITY : this.bitsOf(ev.count);
        if (bits > this.maxno) {
          r.oversize++;
          this.pending.delete(ev.pid);
          return;
        }
        let no = bm.findArea(0, bits, mask, offset);
        if (no >= this.maxno) no = -1;
        else bm.set(no, bits);
        this.pending.set(ev.pid, { count: ev.count, align, no, bits, mask, offset, lastBusyPfn: -1 });
        return;
      }
      case EV_BUSY: {
        r.busyRetries++;
        const p = this.pending.get(ev.pid);
        if (!p || p.count !== ev.count || p.align !== ev.align) {
          r.anomalies++;
          return;
        }
        let no = p.no;
        if (no < 0 || this.pfnOf(no) !== ev.pfn) {
          r.mismatches++;
          if (no >= 0) bm.clear(no, p.bits);
          no = this.inArea(ev.pfn) ? this.noOf(ev.pfn) : -1;
          if (no < 0) {
            p.no = -1;
            return;
          }
        } else {
          bm.clear(no, p.bits);
        }
        p.lastBusyPfn = ev.pfn;
        let next = bm.findArea(no + p.mask + 1, p.bits, p.mask, p.offset);
        if (next >= this.maxno) next = -1;
        else bm.set(next, p.bits);
        p.no = next;
        return;
      }
      case EV_FINISH: {
        const p = this.pending.get(ev.pid);
        if (!p || p.count !== ev.count || p.align !== ev.align) {
          r.anomalies++;
          return;
        }
        this.pending.delete(ev.pid);
        if (ev.hasPage) {
          r.allocsOk++;
          if (p.no < 0 || this.pfnOf(p.no) !== ev.pfn) {
            r.mismatches++;
            if (p.no >= 0) bm.clear(p.no, p.bits);
            this.takeTrace(ev.pfn, p.bits);
          }
        } else if (p.no >= 0) {
          r.failedAcrError++;
          if (this.pfnOf(p.no) !== ev.pfn) r.mismatches++;
          bm.clear(p.no, p.bits);
        } else {
          r.failedNoSpace++;
          if (ev.pfn !== -1 && ev.pfn !== p.lastBusyPfn) r.mismatches++;
        }
        return;
      }
      case EV_RELEASE: {
        r.releases++;
        if (!this.inArea(ev.pfn)) {
          r.anomalies++;
          return;
        }
        const no = this.noOf(ev.pfn);
        const bits = ev.countBig !== null ? this.maxno : this.bitsOf(ev.count);
        if (no + bits > this.maxno) r.anomalies++;
        bm.clear(no, Math.min(bits, this.maxno - no));
        return;
      }
      default:
        return;
    }
  }
}
