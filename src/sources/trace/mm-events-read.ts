// The mm events of `blame` and of the allocation table's migrate counts (mm-events.ts) from the
// binary traces: trace-cmd's trace.dat (every wanted event decoded by the offsets of the file's
// own format files, the CPUs merged in timestamp order as `trace-cmd report` merges them) and
// Perfetto (GenericFtraceEvent: Perfetto has no typed message for test_pages_isolated,
// mm_migrate_pages or mm_alloc_contig_migrate_range_info). The fields come out spelled as the
// kernel's text output spells them, so one consumer reads all formats.

import type { EventFormat, FormatField } from './event-format.ts';
import { MM_EVENT_NAMES, type MmEvent } from './mm-events.ts';
import {
  type ByteSource,
  MergedRecords,
  readTraceDatInfo,
  type TraceDatInfo,
  type TraceRecord,
} from './trace-dat.ts';

const TWO32 = 2 ** 32;
const utf8 = new TextDecoder('utf-8');

/** Fields printed in hex by the kernel's print fmt (`0x%lx`). */
const HEX_FIELDS = new Set(['pfn', 'start', 'end', 'start_pfn', 'end_pfn', 'fin_pfn', 'page']);

/** `{ 6, "contig_range" }` pairs of a print fmt's __print_symbolic for `field`. */
function symbolsOf(printFmt: string, field: string): Map<number, string> | null {
  const at = printFmt.indexOf(`__print_symbolic(REC->${field},`);
  if (at < 0) return null;
  const out = new Map<number, string>();
  // up to the closing parenthesis of this __print_symbolic (the pairs hold none)
  const end = printFmt.indexOf(')', at + 20);
  const body = printFmt.slice(at, end < 0 ? undefined : end);
  for (const m of body.matchAll(/\{\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*,\s*"([^"]*)"\s*\}/g))
    out.set(Number(m[1]), m[2]!);
  return out;
}

interface FieldPlan {
  readonly key: string;
  readonly f: FormatField;
  readonly symbols: Map<number, string> | null;
}

/** How one wanted event's record becomes text fields. */
function planOf(fmt: EventFormat): FieldPlan[] {
  const plans: FieldPlan[] = [];
  for (const f of fmt.fields) {
    if (f.name.startsWith('common_')) continue;
    let key = f.name;
    // mm_migrate_pages prints its counts as nr_<field> (`nr_succeeded=… nr_failed=…`)
    if (fmt.name === 'mm_migrate_pages' && !/^(nr_|mode$|reason$)/.test(key))
      key = key === 'large_folio_split' ? 'nr_split' : `nr_${key}`;
    plans.push({ key, f, symbols: symbolsOf(fmt.printFmt, f.name) });
  }
  return plans;
}

function readUns(dv: DataView, at: number, size: number, le: boolean): number {
  switch (size) {
    case 1:
      return dv.getUint8(at);
    case 2:
      return dv.getUint16(at, le);
    case 4:
      return dv.getUint32(at, le);
    case 8: {
      const lo = dv.getUint32(le ? at : at + 4, le);
      const hi = dv.getUint32(le ? at + 4 : at, le);
      return hi * TWO32 + lo;
    }
    default:
      return Number.NaN;
  }
}

function readInt(dv: DataView, at: number, size: number, le: boolean): number {
  switch (size) {
    case 1:
      return dv.getInt8(at);
    case 2:
      return dv.getInt16(at, le);
    case 4:
      return dv.getInt32(at, le);
    case 8: {
      const lo = dv.getUint32(le ? at : at + 4, le);
      const hi = dv.getInt32(le ? at + 4 : at, le);
      return hi * TWO32 + lo;
    }
    default:
      return Number.NaN;
  }
}

/** One field's text, or null when the record is too short for it. */
function fieldText(
  p: FieldPlan,
  buf: Uint8Array,
  dv: DataView,
  base: number,
  len: number,
  le: boolean,
): string | null {
  const f = p.f;
  if (f.offset + f.size > len) return null;
  const at = base + f.offset;
  if (f.dataLoc || f.relLoc || f.array || /char\s*\[/.test(f.type)) {
    let s = f.offset;
    let n = f.size;
    if (f.dataLoc || f.relLoc) {
      const v = dv.getUint32(at, le);
      s = (v & 0xffff) + (f.relLoc ? f.offset + f.size : 0);
      n = v >>> 16;
    }
    if (s + n > len) return null;
    let e = base + s + n;
    const z = buf.indexOf(0, base + s);
    if (z >= 0 && z < e) e = z;
    return utf8.decode(buf.subarray(base + s, e)).replace(/\s+$/, '');
  }
  // all bits set: the kernel's -1 in an unsigned long (a failed pfn)
  let ones = true;
  for (let k = 0; k < f.size && ones; k++) ones = buf[at + k] === 0xff;
  if (ones && f.size === 8 && HEX_FIELDS.has(f.name)) return '0xffffffffffffffff';
  const v = f.signed ? readInt(dv, at, f.size, le) : readUns(dv, at, f.size, le);
  if (p.symbols !== null) return p.symbols.get(v) ?? String(v);
  if (HEX_FIELDS.has(f.name))
    return f.name === 'page' ? v.toString(16).padStart(16, '0') : `0x${v.toString(16)}`;
  return String(v);
}

/** How the wanted mm events of a trace.dat are decoded: by event id, from its format file. */
export class TraceDatMmDecoder {
  private readonly plans = new Map<number, { name: string; plan: FieldPlan[] }>();
  private readonly pidField: FormatField | null = null;
  private readonly le: boolean;
  private readonly scale: number;

  constructor(
    private readonly info: TraceDatInfo,
    names: ReadonlySet<string>,
  ) {
    this.le = info.littleEndian;
    this.scale = info.clock === 'counter' ? 1 : 1e9;
    for (const f of info.events.values()) {
      this.pidField ??= f.fields.find((x) => x.name === 'common_pid') ?? null;
      if (names.has(f.name)) this.plans.set(f.id, { name: f.name, plan: planOf(f) });
    }
  }

  /** No wanted event has a format in this file (its records need not be looked at). */
  get empty(): boolean {
    return this.plans.size === 0;
  }

  /** Whether records of event `id` are wanted. */
  wants(id: number): boolean {
    return this.plans.has(id);
  }

  /** The record MergedRecords is on (of event `id`) as an MmEvent, or null (not wanted, too short). */
  decode(id: number, r: TraceRecord): MmEvent | null {
    const want = this.plans.get(id);
    if (want === undefined) return null;
    const { buf, dv, start, len } = r;
    const le = this.le;
    const fields: Record<string, string> = {};
    for (const p of want.plan) {
      const t = fieldText(p, buf, dv, start, len, le);
      if (t === null) return null;
      fields[p.key] = t;
    }
    if (want.name === 'test_pages_isolated')
      fields.ret = Number(fields.fin_pfn) >= Number(fields.end_pfn) ? 'success' : 'fail';
    const pf = this.pidField;
    const pid = pf !== null && pf.offset + pf.size <= len ? readInt(dv, start + pf.offset, pf.size, le) : 0;
    return {
      comm: pid === 0 ? '<idle>' : (this.info.cmdlines.get(pid) ?? '<...>'),
      pid,
      time: r.ts / this.scale,
      event: want.name,
      fields,
      line: r.record,
    };
  }
}

/** The common_type field of a trace.dat's records (offset 0, 2 bytes when no format says). */
export function typeFieldOf(info: TraceDatInfo): FormatField {
  for (const f of info.events.values()) {
    const t = f.fields.find((x) => x.name === 'common_type');
    if (t !== undefined) return t;
  }
  return {
    name: 'common_type',
    type: 'unsigned short',
    offset: 0,
    size: 2,
    signed: false,
    dataLoc: false,
    relLoc: false,
    array: false,
  };
}

/** The event id of the record MergedRecords is on, or -1 when the record is too short. */
export function recordType(r: TraceRecord, tf: FormatField, le: boolean): number {
  return tf.offset + tf.size <= r.len ? readUns(r.dv, r.start + tf.offset, tf.size, le) : -1;
}

/** The events of `names` in a trace.dat, in timestamp order (`time` in seconds). */
export function readTraceDatMmEvents(
  src: ByteSource,
  names: ReadonlySet<string> = MM_EVENT_NAMES,
): MmEvent[] {
  const info = readTraceDatInfo(src);
  const mm = new TraceDatMmDecoder(info, names);
  const out: MmEvent[] = [];
  if (mm.empty || info.latency) return out;
  const tf = typeFieldOf(info);
  const r = new MergedRecords(src, info);
  while (r.next()) {
    const e = mm.decode(recordType(r, tf, info.littleEndian), r);
    if (e !== null) out.push(e);
  }
  return out;
}

// ------------------------------------------------------------------ Perfetto

/** A protobuf reader over one buffer (the subset the generic events need). */
class Pb {
  p: number;
  constructor(
    readonly b: Uint8Array,
    start = 0,
    readonly end = b.length,
  ) {
    this.p = start;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      const c = this.b[this.p++];
      if (c === undefined || this.p > this.end) throw new Error('truncated varint');
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
    throw new Error('bad varint');
  }
  /** A varint as a signed int64 (exact: a negative one takes 10 bytes). */
  int64(): number {
    let v = 0n;
    let shift = 0n;
    for (let k = 0; k < 10; k++) {
      const c = this.b[this.p++];
      if (c === undefined || this.p > this.end) throw new Error('truncated varint');
      v |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) return Number(BigInt.asIntN(64, v));
      shift += 7n;
    }
    throw new Error('bad varint');
  }
  /** The next field: [number, wire type], or null at the end. */
  tag(): [number, number] | null {
    if (this.p >= this.end) return null;
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }
  /** [start, end) of a length-delimited value. */
  len(): [number, number] {
    const n = this.varint();
    const s = this.p;
    this.p += n;
    if (this.p > this.end) throw new Error('truncated field');
    return [s, this.p];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.p += 8;
    else if (wire === 2) this.len();
    else if (wire === 5) this.p += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/**
 * mm_migrate_pages as a generic event: the record's names (succeeded, failed, …, reason as a
 * number) into the text's (nr_succeeded, nr_failed, reason=contig_range). MR_CONTIG_RANGE is 6
 * in enum migrate_reason from 5.x to 7.x (the trace.dat path reads the kernel's own table).
 */
function migrateFields(f: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) {
    if (k === 'reason') out.reason = v === '6' ? 'contig_range' : v;
    else if (k === 'mode' || k.startsWith('nr_')) out[k] = v;
    else out[k === 'large_folio_split' ? 'nr_split' : `nr_${k}`] = v;
  }
  return out;
}

/** A GenericFtraceEvent at [s, e): its name and its fields as the text spells them. */
function genericFields(
  b: Uint8Array,
  s: number,
  e: number,
): { name: string; fields: Record<string, string> } {
  const str = (r: [number, number]) => utf8.decode(b.subarray(r[0], r[1]));
  const pb = new Pb(b, s, e);
  let name = '';
  const fields: Record<string, string> = {};
  for (let t = pb.tag(); t !== null; t = pb.tag()) {
    if (t[0] === 1 && t[1] === 2) name = str(pb.len());
    else if (t[0] === 2 && t[1] === 2) {
      const fr = pb.len();
      const q = new Pb(b, fr[0], fr[1]);
      let key = '';
      let val = '';
      let num = Number.NaN;
      for (let u = q.tag(); u !== null; u = q.tag()) {
        if (u[0] === 1 && u[1] === 2) key = str(q.len());
        else if (u[0] === 3 && u[1] === 2) val = str(q.len());
        else if (u[0] === 4 && u[1] === 0) num = q.int64();
        else if (u[0] === 5 && u[1] === 0) num = q.varint();
        else q.skip(u[1]);
      }
      if (!Number.isNaN(num))
        val =
          key === 'page'
            ? num.toString(16).padStart(16, '0')
            : HEX_FIELDS.has(key)
              ? num >= 2 ** 64 - 1
                ? '0xffffffffffffffff'
                : `0x${num.toString(16)}`
              : String(num);
      if (key !== '') fields[key] = val;
    } else pb.skip(t[1]);
  }
  return { name, fields };
}

/** The typed cma_alloc_start (465: align 1, count 2, name 3) or Android's cma_alloc_info (466). */
function typedCmaFields(b: Uint8Array, s: number, e: number, which: number): Record<string, string> {
  const keys =
    which === 465
      ? ['', 'align', 'count', 'name']
      : [
          '',
          'align',
          'count',
          'err_iso',
          'err_mig',
          'err_test',
          'name',
          'nr_mapped',
          'nr_migrated',
          'nr_reclaimed',
          'pfn',
        ];
  const pb = new Pb(b, s, e);
  const fields: Record<string, string> = {};
  for (let t = pb.tag(); t !== null; t = pb.tag()) {
    const key = keys[t[0]];
    if (key === undefined || key === '') pb.skip(t[1]);
    else if (t[1] === 2) fields[key] = utf8.decode(b.subarray(...pb.len()));
    else if (t[1] === 0) {
      const v = pb.varint();
      fields[key] =
        key === 'pfn' ? (v >= 2 ** 64 - 1 ? '0xffffffffffffffff' : `0x${v.toString(16)}`) : String(v);
    } else pb.skip(t[1]);
  }
  return fields;
}

/**
 * One Perfetto FtraceEvent's body at [s, e) of b (`which`: 465 cma_alloc_start, 466
 * cma_alloc_info, 327 a GenericFtraceEvent) as an MmEvent. `ts` in ns; the comm is the pid's
 * in `comms` so far (readers of a whole file set it again at the end).
 */
export function perfettoMmEvent(
  b: Uint8Array,
  s: number,
  e: number,
  which: number,
  pid: number,
  ts: number,
  line: number,
  comms: ReadonlyMap<number, string>,
): MmEvent {
  let name: string;
  let fields: Record<string, string>;
  if (which === 327) ({ name, fields } = genericFields(b, s, e));
  else {
    name = which === 465 ? 'cma_alloc_start' : 'cma_alloc_info';
    fields = typedCmaFields(b, s, e, which);
  }
  if (name === 'mm_migrate_pages') fields = migrateFields(fields);
  if (name === 'test_pages_isolated' && fields.ret === undefined && fields.fin_pfn !== undefined)
    fields.ret = Number(fields.fin_pfn) >= Number(fields.end_pfn) ? 'success' : 'fail';
  const comm = comms.get(pid) ?? (pid === 0 ? '<idle>' : '<...>');
  return { comm, pid, time: ts / 1e9, event: name, fields, line };
}
