// Writes cma events as a Perfetto trace the way Perfetto records them: a typed
// cma_alloc_start (FtraceEvent field 465), generic events (327, named fields) for finish, busy
// retry and release, bundles of up to 1000 events per CPU, a process tree and system_info.
// A plain protobuf encoder (the tests' fixtures come from protobufjs instead).

import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent } from '../src/sources/trace/events.ts';
import { NsClock } from './ns-clock.ts';

const enc = new TextEncoder();

class Buf {
  b = new Uint8Array(1 << 16);
  n = 0;
  grow(k: number): void {
    if (this.n + k <= this.b.length) return;
    const nb = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
    nb.set(this.b.subarray(0, this.n));
    this.b = nb;
  }
  varint(v: number | bigint): void {
    this.grow(10);
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    if (x < 0x80n) {
      this.b[this.n++] = Number(x);
      return;
    }
    while (x >= 0x80n) {
      this.b[this.n++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.b[this.n++] = Number(x);
  }
  vnum(v: number): void {
    this.grow(10);
    while (v >= 128) {
      this.b[this.n++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.b[this.n++] = v;
  }
  tagv(field: number, v: number): void {
    this.vnum(field * 8);
    if (v < 0 || v >= 2 ** 53) this.varint(BigInt.asUintN(64, BigInt(Math.round(v))));
    else this.vnum(v);
  }
  bytes(field: number, b: Uint8Array): void {
    this.vnum(field * 8 + 2);
    this.vnum(b.length);
    this.grow(b.length);
    this.b.set(b, this.n);
    this.n += b.length;
  }
  take(): Uint8Array {
    const r = this.b.slice(0, this.n);
    this.n = 0;
    return r;
  }
}

function field(name: string, v: number | bigint, signed = false): Uint8Array {
  const f = new Buf();
  f.bytes(1, enc.encode(name));
  f.vnum((signed ? 4 : 5) * 8);
  f.varint(typeof v === 'bigint' ? v : v < 0 ? BigInt.asUintN(64, BigInt(v)) : v);
  return f.take();
}

/** Writes the events to `path` as a Perfetto trace on `cpus` CPUs (by pid). */
export async function writePerfettoBench(
  path: string,
  each: (onEvent: (ev: TraceEvent) => void) => Promise<void>,
  /** nsClock: nanosecond timestamps inside each microsecond, in the events' order (bench/ns-clock.ts); else µs × 1000 */
  opts: { cpus?: number; release?: string; nsClock?: boolean } = {},
): Promise<number> {
  const ncpu = opts.cpus ?? 1;
  // the task names first (a process tree before the events, as Perfetto's process scan at start)
  const comms = new Map<number, string>();
  await each((ev) => {
    if (!comms.has(ev.pid)) comms.set(ev.pid, ev.comm());
  });
  const fd = openSync(path, 'w');
  const out = new Buf();
  const per: Uint8Array[][] = Array.from({ length: ncpu }, () => []);
  let n = 0;
  const names = new Map<string, Uint8Array>();
  const flushBundles = (): void => {
    for (let c = 0; c < ncpu; c++) {
      if (per[c]!.length === 0) continue;
      const bundle = new Buf();
      bundle.tagv(1, c);
      for (const e of per[c]!) bundle.bytes(2, e);
      const packet = new Buf();
      packet.bytes(1, bundle.take());
      packet.tagv(10, 1);
      out.bytes(1, packet.take());
      per[c] = [];
    }
    writeSync(fd, out.take());
  };
  try {
    const si = new Buf();
    const uts = new Buf();
    uts.bytes(1, enc.encode('Linux'));
    uts.bytes(3, enc.encode(opts.release ?? '6.1.0'));
    si.bytes(1, uts.take());
    const p0 = new Buf();
    p0.bytes(45, si.take());
    out.bytes(1, p0.take());
    const tree = new Buf();
    for (const [pid, c] of comms) {
      const t = new Buf();
      t.tagv(1, pid);
      t.bytes(2, enc.encode(c));
      tree.bytes(2, t.take());
    }
    const p = new Buf();
    p.bytes(2, tree.take());
    out.bytes(1, p.take());
    const clock = opts.nsClock ? new NsClock() : null;
    await each((ev) => {
      let nm = names.get(ev.name);
      if (nm === undefined) {
        nm = enc.encode(ev.name);
        names.set(ev.name, nm);
      }
      const body = new Buf();
      let which: number;
      if (ev.kind === 1) {
        which = 465;
        body.tagv(1, ev.align);
        body.tagv(2, ev.count);
        body.bytes(3, nm);
      } else {
        which = 327;
        body.bytes(
          1,
          enc.encode(
            ev.kind === 2 ? 'cma_alloc_finish' : ev.kind === 3 ? 'cma_alloc_busy_retry' : 'cma_release',
          ),
        );
        const f = new Buf();
        f.bytes(1, enc.encode('name'));
        f.bytes(3, nm);
        body.bytes(2, f.take());
        body.bytes(2, field('pfn', ev.pfn < 0 ? 0xffffffffffffffffn : ev.pfn));
        body.bytes(2, field('page', ev.hasPage ? 0xffffea0000000000n + BigInt(ev.pfn) * 64n : 0));
        body.bytes(2, field('count', ev.count));
        if (ev.kind !== 4) body.bytes(2, field('align', ev.align));
      }
      const fe = new Buf();
      fe.tagv(1, clock ? clock.ns(ev.ts) : Math.round(ev.ts * 1000));
      fe.tagv(2, ev.pid);
      fe.bytes(which, body.take());
      const list = per[ev.cpu % ncpu]!;
      list.push(fe.take());
      n++;
      if (list.length >= 1000) flushBundles();
    });
    flushBundles();
  } finally {
    closeSync(fd);
  }
  return n;
}
