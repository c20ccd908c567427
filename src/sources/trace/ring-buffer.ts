// The kernel's ftrace ring-buffer pages as trace.dat stores them (kernel/trace/ring_buffer.c:
// struct buffer_data_page, struct ring_buffer_event): a page header (timestamp, commit), then
// events of a 32-bit header each (type_len:5, time_delta:27), time extends, absolute
// timestamps and padding. The commit word's top bits mark pages after which events were lost
// ("ring-buffer: Add the number of missed events to the page").

import type { PageHeader } from './event-format.ts';

/** type_len values above the data range. */
const TYPE_PADDING = 29;
const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;
/** Bits of commit: events were lost before this page; their number is stored after the data. */
const MISSED_EVENTS = 0x80000000;
const MISSED_STORED = 0x40000000;
const COMMIT_MASK = (1 << 27) - 1;
const TS_SHIFT = 27;
const TWO32 = 2 ** 32;

/**
 * Walks the events of one ring-buffer page. `reset()` a page, then call `next()` until it
 * returns false; after each true, `ts` (ns, or clock units), `start` and `len` describe the
 * record's data in `buf`.
 */
export class PageReader {
  /** Timestamp of the current record (the clock's units: ns for local/global/mono…). */
  ts = 0;
  /** Offset of the current record's data in buf, and its length in bytes. */
  start = 0;
  len = 0;
  /** Events lost before this page: 0 none, > 0 their number, -1 some (number not stored). */
  lost = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private dv: DataView = new DataView(new ArrayBuffer(0));
  private pos = 0;
  private end = 0;

  constructor(
    private readonly header: PageHeader,
    private readonly le: boolean,
    private readonly longSize: number,
  ) {}

  /** Starts on the page at buf[at, at + pageSize). Returns false for a page that is not one. */
  reset(buf: Uint8Array, at: number, pageSize: number): boolean {
    if (this.buf !== buf) {
      this.buf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const h = this.header;
    const le = this.le;
    const dv = this.dv;
    if (at + h.dataOffset > buf.length) return false;
    this.ts = u64(dv, at + h.timestampOffset, le);
    // the flag bits are in the low 32 bits of commit (a long)
    const low = h.commitSize === 8 && !le ? at + h.commitOffset + 4 : at + h.commitOffset;
    const commit = dv.getUint32(low, le);
    let size = commit & COMMIT_MASK;
    const dataMax = Math.min(pageSize, buf.length - at) - h.dataOffset;
    if (size > dataMax) size = dataMax;
    this.pos = at + h.dataOffset;
    this.end = this.pos + size;
    this.lost = 0;
    if ((commit & MISSED_EVENTS) !== 0) {
      this.lost = -1;
      if (
        (commit & MISSED_STORED) !== 0 &&
        this.end + this.longSize <= at + Math.min(pageSize, buf.length - at)
      ) {
        const n = this.longSize === 8 ? u64(dv, this.end, le) : dv.getUint32(this.end, le);
        if (n > 0) this.lost = n;
      }
    }
    return true;
  }

  /** Advances to the next data record; false at the end of the page. */
  next(): boolean {
    const dv = this.dv;
    const le = this.le;
    while (this.pos + 4 <= this.end) {
      const w = dv.getUint32(this.pos, le);
      let typeLen: number;
      let delta: number;
      if (le) {
        typeLen = w & 31;
        delta = w >>> 5;
      } else {
        typeLen = w >>> 27;
        delta = w & COMMIT_MASK;
      }
      const p = this.pos;
      if (typeLen === TYPE_PADDING) {
        // a discarded event, or (delta 0) the rest of the page is empty
        if (delta === 0 || p + 8 > this.end) {
          this.pos = this.end;
          return false;
        }
        this.ts += delta;
        this.pos = p + 4 + dv.getUint32(p + 4, le);
        continue;
      }
      if (typeLen === TYPE_TIME_EXTEND) {
        if (p + 8 > this.end) break;
        this.ts += dv.getUint32(p + 4, le) * 2 ** TS_SHIFT + delta;
        this.pos = p + 8;
        continue;
      }
      if (typeLen === TYPE_TIME_STAMP) {
        if (p + 8 > this.end) break;
        // an absolute timestamp; its top bits (above the 59 stored) come from the page's
        const abs = dv.getUint32(p + 4, le) * 2 ** TS_SHIFT + delta;
        const top = Math.floor(this.ts / 2 ** 59) * 2 ** 59;
        this.ts = abs + (abs < 2 ** 59 ? top : 0);
        this.pos = p + 8;
        continue;
      }
      this.ts += delta;
      if (typeLen === 0) {
        // the length is in the next word (which it counts), the data after it
        if (p + 8 > this.end) break;
        const l = dv.getUint32(p + 4, le);
        if (l < 4) break;
        this.start = p + 8;
        this.len = l - 4;
        this.pos = p + 4 + l;
      } else {
        this.start = p + 4;
        this.len = typeLen * 4;
        this.pos = p + 4 + this.len;
      }
      if (this.pos > this.end) break;
      return true;
    }
    this.pos = this.end;
    return false;
  }
}

/** An unsigned 64-bit value as a number (exact below 2^53). */
export function u64(dv: DataView, at: number, le: boolean): number {
  const lo = dv.getUint32(le ? at : at + 4, le);
  const hi = dv.getUint32(le ? at + 4 : at, le);
  return hi * TWO32 + lo;
}
