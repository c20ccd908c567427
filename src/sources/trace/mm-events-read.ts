// The mm events of `blame` and of the allocation table's migrate counts (mm-events.ts) from the
// binary traces: trace-cmd's trace.dat (every wanted event decoded by the offsets of the file's
// own format files, the CPUs merged in timestamp order as `trace-cmd report` merges them) and
// Perfetto (GenericFtraceEvent: Perfetto has no typed message for test_pages_isolated,
// mm_migrate_pages or mm_alloc_contig_migrate_range_info). The fields come out spelled as the
// kernel's text output spells them, so one consumer reads all formats.

import { readFileSync } from 'node:fs';
import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { EventFormat, FormatField } from './event-format.ts';
import { MM_EVENT_NAMES, type MmEvent } from './mm-events.ts';
import { PageReader } from './ring-buffer.ts';
import { type ByteSource, CpuPages, readTraceDatInfo } from './trace-dat.ts';

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

/** The events of `names` in a trace.dat, in timestamp order (`time` in seconds). */
export function readTraceDatMmEvents(
  src: ByteSource,
  names: ReadonlySet<string> = MM_EVENT_NAMES,
): MmEvent[] {
  const info = readTraceDatInfo(src);
  const le = info.littleEndian;
  const plans = new Map<number, { name: string; plan: FieldPlan[] }>();
  let typeField: FormatField | null = null;
  let pidField: FormatField | null = null;
  for (const f of info.events.values()) {
    typeField ??= f.fields.find((x) => x.name === 'common_type') ?? null;
    pidField ??= f.fields.find((x) => x.name === 'common_pid') ?? null;
    if (names.has(f.name)) plans.set(f.id, { name: f.name, plan: planOf(f) });
  }
  const out: MmEvent[] = [];
  if (plans.size === 0 || info.latency) return out;
  const tf = typeField ?? { offset: 0, size: 2 };
  const scale = info.clock === 'counter' ? 1 : 1e9;
  const cpus = info.cpus
    .filter((c) => c.size > 0)
    .map((c) => ({
      pages: new CpuPages(src, c, info),
      rd: new PageReader(info.pageHeader, le, info.longSize),
      buf: new Uint8Array(0) as Uint8Array,
      dv: new DataView(new ArrayBuffer(0)) as DataView,
      live: false,
    }));
  const advance = (c: (typeof cpus)[number]): void => {
    for (;;) {
      if (c.live && c.rd.next()) return;
      const p = c.pages.next();
      if (p === null) {
        c.live = false;
        return;
      }
      if (p[0] !== c.buf) {
        c.buf = p[0];
        c.dv = new DataView(p[0].buffer, p[0].byteOffset, p[0].byteLength);
      }
      c.live = c.rd.reset(p[0], p[1], info.pageSize);
    }
  };
  for (const c of cpus) advance(c);
  let record = 0;
  for (;;) {
    let best = -1;
    let bestTs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < cpus.length; i++) {
      const c = cpus[i]!;
      if (c.live && c.rd.ts < bestTs) {
        bestTs = c.rd.ts;
        best = i;
      }
    }
    if (best < 0) break;
    const c = cpus[best]!;
    record++;
    const { start, len } = c.rd;
    const id = tf.offset + tf.size <= len ? readUns(c.dv, start + tf.offset, tf.size, le) : -1;
    const want = plans.get(id);
    if (want !== undefined) {
      const fields: Record<string, string> = {};
      let ok = true;
      for (const p of want.plan) {
        const t = fieldText(p, c.buf, c.dv, start, len, le);
        if (t === null) {
          ok = false;
          break;
        }
        fields[p.key] = t;
      }
      if (ok) {
        if (want.name === 'test_pages_isolated')
          fields.ret = Number(fields.fin_pfn) >= Number(fields.end_pfn) ? 'success' : 'fail';
        const pid =
          pidField !== null && pidField.offset + pidField.size <= len
            ? readInt(c.dv, start + pidField.offset, pidField.size, le)
            : 0;
        out.push({
          comm: pid === 0 ? '<idle>' : (info.cmdlines.get(pid) ?? '<...>'),
          pid,
          time: c.rd.ts / scale,
          event: want.name,
          fields,
          line: record,
        });
      }
    }
    advance(c);
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

/**
 * The generic ftrace events of `names` in a Perfetto trace (plain, gzip, compressed_packets),
 * in timestamp order. Task names come from process_tree threads when present.
 */
export function readPerfettoMmEvents(
  bytes: Uint8Array,
  names: ReadonlySet<string> = MM_EVENT_NAMES,
): MmEvent[] {
  const data = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes)) : bytes;
  const out: MmEvent[] = [];
  const comms = new Map<number, string>();
  let seq = 0;
  const str = (b: Uint8Array, r: [number, number]) => utf8.decode(b.subarray(r[0], r[1]));
  const generic = (b: Uint8Array, r: [number, number]): { name: string; fields: Record<string, string> } => {
    const pb = new Pb(b, r[0], r[1]);
    let name = '';
    const fields: Record<string, string> = {};
    for (let t = pb.tag(); t !== null; t = pb.tag()) {
      if (t[0] === 1 && t[1] === 2) name = str(b, pb.len());
      else if (t[0] === 2 && t[1] === 2) {
        const fr = pb.len();
        const q = new Pb(b, fr[0], fr[1]);
        let key = '';
        let val = '';
        let num = Number.NaN;
        for (let u = q.tag(); u !== null; u = q.tag()) {
          if (u[0] === 1 && u[1] === 2) key = str(b, q.len());
          else if (u[0] === 3 && u[1] === 2) val = str(b, q.len());
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
  };
  // the typed cma_alloc_start (465: align 1, count 2, name 3) and Android's cma_alloc_info (466)
  const typedCma = (
    b: Uint8Array,
    r: [number, number],
    which: number,
  ): { name: string; fields: Record<string, string> } => {
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
    const pb = new Pb(b, r[0], r[1]);
    const fields: Record<string, string> = {};
    for (let t = pb.tag(); t !== null; t = pb.tag()) {
      const key = keys[t[0]];
      if (key === undefined || key === '') pb.skip(t[1]);
      else if (t[1] === 2) fields[key] = str(b, pb.len());
      else if (t[1] === 0) {
        const v = pb.varint();
        fields[key] =
          key === 'pfn' ? (v >= 2 ** 64 - 1 ? '0xffffffffffffffff' : `0x${v.toString(16)}`) : String(v);
      } else pb.skip(t[1]);
    }
    return { name: which === 465 ? 'cma_alloc_start' : 'cma_alloc_info', fields };
  };
  const ftraceEvent = (b: Uint8Array, r: [number, number]): void => {
    const pb = new Pb(b, r[0], r[1]);
    let ts = 0;
    let pid = 0;
    let gen: [number, number] | null = null;
    let typed: [number, number] | null = null;
    let which = 0;
    for (let t = pb.tag(); t !== null; t = pb.tag()) {
      if (t[0] === 1 && t[1] === 0) ts = pb.varint();
      else if (t[0] === 2 && t[1] === 0) pid = pb.varint();
      else if (t[0] === 327 && t[1] === 2) gen = pb.len();
      else if ((t[0] === 465 || t[0] === 466) && t[1] === 2) {
        which = t[0];
        typed = pb.len();
      } else pb.skip(t[1]);
    }
    let g: { name: string; fields: Record<string, string> };
    if (gen !== null) g = generic(b, gen);
    else if (typed !== null) g = typedCma(b, typed, which);
    else return;
    if (!names.has(g.name)) return;
    if (g.name === 'mm_migrate_pages') g.fields = migrateFields(g.fields);
    if (g.name === 'test_pages_isolated' && g.fields.ret === undefined && g.fields.fin_pfn !== undefined)
      g.fields.ret = Number(g.fields.fin_pfn) >= Number(g.fields.end_pfn) ? 'success' : 'fail';
    out.push({ comm: '', pid, time: ts / 1e9, event: g.name, fields: g.fields, line: ++seq });
  };
  const processTree = (b: Uint8Array, r: [number, number]): void => {
    const pb = new Pb(b, r[0], r[1]);
    for (let t = pb.tag(); t !== null; t = pb.tag()) {
      if (t[0] !== 2 || t[1] !== 2) {
        pb.skip(t[1]);
        continue;
      }
      const q = new Pb(b, ...pb.len());
      let tid = -1;
      let name = '';
      for (let u = q.tag(); u !== null; u = q.tag()) {
        if (u[0] === 1 && u[1] === 0) tid = q.varint();
        else if (u[0] === 2 && u[1] === 2) name = str(b, q.len());
        else q.skip(u[1]);
      }
      if (tid >= 0 && name !== '') comms.set(tid, name);
    }
  };
  const packets = (b: Uint8Array, depth: number): void => {
    const pb = new Pb(b);
    for (let t = pb.tag(); t !== null; t = pb.tag()) {
      if (t[0] !== 1 || t[1] !== 2) {
        pb.skip(t[1]);
        continue;
      }
      const q = new Pb(b, ...pb.len());
      for (let u = q.tag(); u !== null; u = q.tag()) {
        if (u[0] === 1 && u[1] === 2) {
          // FtraceEventBundle: event = 2
          const bq = new Pb(b, ...q.len());
          for (let v = bq.tag(); v !== null; v = bq.tag()) {
            if (v[0] === 2 && v[1] === 2) ftraceEvent(b, bq.len());
            else bq.skip(v[1]);
          }
        } else if (u[0] === 2 && u[1] === 2) processTree(b, q.len());
        else if (u[0] === 50 && u[1] === 2 && depth === 0) {
          const r = q.len();
          const z = b.subarray(r[0], r[1]);
          let inner: Uint8Array;
          try {
            inner = inflateSync(z);
          } catch {
            inner = inflateRawSync(z);
          }
          packets(new Uint8Array(inner.buffer, inner.byteOffset, inner.byteLength), 1);
        } else q.skip(u[1]);
      }
    }
  };
  packets(data, 0);
  for (const e of out) (e as { comm: string }).comm = comms.get(e.pid) ?? (e.pid === 0 ? '<idle>' : '<...>');
  // bundles of several CPUs: a stable sort by time
  return out.sort((a, b) => a.time - b.time || a.line - b.line);
}

/** readPerfettoMmEvents of a file. */
export function readPerfettoMmFile(path: string, names?: ReadonlySet<string>): MmEvent[] {
  const b = readFileSync(path);
  return readPerfettoMmEvents(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), names);
}
