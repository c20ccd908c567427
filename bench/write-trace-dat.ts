// Writes cma events as a trace-cmd trace.dat (version 6, little-endian, 64-bit, 4 KiB pages)
// with the 6.1 kernel's cma event formats: the bench's binary twin of a gen-trace text trace.
// (`trace-cmd report` reads what it writes; see docs/performance.md.)

import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent } from '../src/sources/trace/events.ts';
import { NsClock } from './ns-clock.ts';

const PAGE = 4096;
const DATA = 16;
const enc = new TextEncoder();

const COMMON = `\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
`;

function format(name: string, id: number, fields: string): string {
  return `name: ${name}\nID: ${id}\nformat:\n${COMMON}\n${fields}\nprint fmt: "cma"\n`;
}

const F_NAME = '\tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:0;\n';
const FORMATS = [
  format(
    'cma_alloc_start',
    1001,
    `${F_NAME}\tfield:unsigned long count;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:unsigned int align;\toffset:24;\tsize:4;\tsigned:0;\n`,
  ),
  ...(
    [
      ['cma_alloc_finish', 1002],
      ['cma_alloc_busy_retry', 1003],
    ] as const
  ).map(([n, id]) =>
    format(
      n,
      id,
      `${F_NAME}\tfield:unsigned long pfn;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const struct page * page;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:unsigned long count;\toffset:32;\tsize:8;\tsigned:0;\n\tfield:unsigned int align;\toffset:40;\tsize:4;\tsigned:0;\n`,
    ),
  ),
  format(
    'cma_release',
    1004,
    `${F_NAME}\tfield:unsigned long pfn;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const struct page * page;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:unsigned long count;\toffset:32;\tsize:8;\tsigned:0;\n`,
  ),
];
const HEADER_PAGE = `\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;
\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;
\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;
\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;
`;
const HEADER_EVENT =
  '# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n\tarray       :   32 bits\n';

/** Accumulates bytes. */
class Out {
  parts: Uint8Array[] = [];
  n = 0;
  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.n += b.length;
  }
  str(s: string): void {
    this.bytes(enc.encode(s));
  }
  u16(v: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    this.bytes(b);
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.bytes(b);
  }
  u64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.bytes(b);
  }
}

/** One CPU's pages being filled. */
class CpuWriter {
  pages: Uint8Array[] = [];
  page = new Uint8Array(PAGE);
  dv = new DataView(this.page.buffer);
  at = DATA;
  last = 0;
  started = false;

  add(tsNs: number, rec: Uint8Array): void {
    // a record over 112 bytes (type_len's 5 bits): type_len 0, its length in the next word
    const long = rec.length > 112;
    const need = 4 + (long ? 4 : 0) + rec.length + 8;
    if (!this.started || this.at + need > PAGE) this.newPage(tsNs);
    let delta = tsNs - this.last;
    if (delta >= 2 ** 27) {
      // a time extend: type_len 30, the low 27 bits in the header, the rest in the next word
      this.dv.setUint32(this.at, 30 | ((delta % 2 ** 27) << 5), true);
      this.dv.setUint32(this.at + 4, Math.floor(delta / 2 ** 27), true);
      this.at += 8;
      delta = 0;
    }
    if (long) {
      this.dv.setUint32(this.at, (delta << 5) >>> 0, true);
      this.dv.setUint32(this.at + 4, rec.length + 4, true);
      this.at += 4;
    } else this.dv.setUint32(this.at, ((rec.length / 4) | (delta << 5)) >>> 0, true);
    this.page.set(rec, this.at + 4);
    this.at += 4 + rec.length;
    this.last = tsNs;
  }

  newPage(tsNs: number): void {
    if (this.started) this.flush();
    this.page = new Uint8Array(PAGE);
    this.dv = new DataView(this.page.buffer);
    this.dv.setBigUint64(0, BigInt(tsNs), true);
    this.at = DATA;
    this.last = tsNs;
    this.started = true;
  }

  flush(): void {
    this.dv.setUint32(8, this.at - DATA, true);
    this.pages.push(this.page);
  }
}

/** Writes the events to `path` as trace.dat v6 (events on `cpus` CPUs by pid). */
export async function writeTraceDat(
  path: string,
  each: (onEvent: (ev: TraceEvent) => void) => Promise<void>,
  /** nsClock: nanosecond timestamps inside each microsecond, in the events' order (bench/ns-clock.ts); else µs × 1000 */
  opts: { cpus?: number; release?: string; nsClock?: boolean } = {},
): Promise<number> {
  const ncpu = opts.cpus ?? 1;
  const cpus = Array.from({ length: ncpu }, () => new CpuWriter());
  const comms = new Map<number, string>();
  let rec = new Uint8Array(64);
  let rv = new DataView(rec.buffer);
  let n = 0;
  const clock = opts.nsClock ? new NsClock() : null;
  await each((ev) => {
    const name = enc.encode(ev.name);
    // (a long area name: a larger record)
    if (44 + name.length + 4 > rec.length) {
      rec = new Uint8Array(44 + name.length + 4);
      rv = new DataView(rec.buffer);
    }
    let fixed: number;
    let id: number;
    rec.fill(0);
    if (ev.kind === 1) {
      id = 1001;
      fixed = 28;
      rv.setBigUint64(16, BigInt(ev.count), true);
      rv.setUint32(24, ev.align, true);
    } else {
      id = ev.kind === 2 ? 1002 : ev.kind === 3 ? 1003 : 1004;
      fixed = ev.kind === 4 ? 40 : 44;
      rv.setBigUint64(16, ev.pfn < 0 ? 0xffffffffffffffffn : BigInt(ev.pfn), true);
      rv.setBigUint64(24, ev.hasPage ? 0xffffea0000000000n + BigInt(ev.pfn) * 64n : 0n, true);
      rv.setBigUint64(32, BigInt(ev.count), true);
      if (ev.kind !== 4) rv.setUint32(40, ev.align, true);
    }
    rv.setUint16(0, id, true);
    rv.setInt32(4, ev.pid, true);
    rv.setUint32(8, fixed | ((name.length + 1) << 16), true);
    rec.set(name, fixed);
    const len = Math.ceil((fixed + name.length + 1) / 4) * 4;
    if (!comms.has(ev.pid)) comms.set(ev.pid, ev.comm());
    cpus[ev.cpu % ncpu]!.add(clock ? clock.ns(ev.ts) : Math.round(ev.ts * 1000), rec.slice(0, len));
    n++;
  });
  for (const c of cpus) if (c.started) c.flush();

  const o = new Out();
  o.bytes(new Uint8Array([0x17, 0x08, 0x44]));
  o.str('tracing6\0');
  o.bytes(new Uint8Array([0, 8]));
  o.u32(PAGE);
  o.str('header_page\0');
  o.u64(enc.encode(HEADER_PAGE).length);
  o.str(HEADER_PAGE);
  o.str('header_event\0');
  o.u64(enc.encode(HEADER_EVENT).length);
  o.str(HEADER_EVENT);
  o.u32(0); // ftrace formats
  o.u32(1);
  o.str('cma\0');
  o.u32(FORMATS.length);
  for (const f of FORMATS) {
    o.u64(enc.encode(f).length);
    o.str(f);
  }
  o.u32(0); // kallsyms
  o.u32(0); // printk
  const cmd = [...comms].map(([p, c]) => `${p} ${c}\n`).join('');
  o.u64(enc.encode(cmd).length);
  o.str(cmd);
  o.u32(ncpu);
  o.str('options  \0');
  const uname = enc.encode(`Linux bench ${opts.release ?? '6.1.0'} x86_64\0`);
  o.u16(5);
  o.u32(uname.length);
  o.bytes(uname);
  o.u16(0);
  o.str('flyrecord\0');
  const tableAt = o.n;
  let at = Math.ceil((tableAt + 16 * ncpu) / PAGE) * PAGE;
  for (const c of cpus) {
    o.u64(at);
    o.u64(c.pages.length * PAGE);
    at += c.pages.length * PAGE;
  }
  o.bytes(new Uint8Array(Math.ceil(o.n / PAGE) * PAGE - o.n));
  const fd = openSync(path, 'w');
  try {
    for (const p of o.parts) writeSync(fd, p);
    for (const c of cpus) for (const p of c.pages) writeSync(fd, p);
  } finally {
    closeSync(fd);
  }
  return n;
}
