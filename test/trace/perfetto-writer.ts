// Writes Perfetto traces of a known cma event list with protobufjs and the schema subset in
// test/fixtures/perfetto/perfetto-subset.proto (Perfetto's field numbers): an encoder that
// shares no code with cma-debug's decoder (src/sources/trace/perfetto.ts).

import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import protobuf from 'protobufjs';
import type { TraceEvent } from '../../src/sources/trace/events.ts';

const root = protobuf.loadSync(
  fileURLToPath(new URL('../fixtures/perfetto/perfetto-subset.proto', import.meta.url)),
);
const Trace = root.lookupType('perfetto.protos.Trace');

/** One cma event to write (the fields of a TraceEvent). */
export interface WEvent {
  kind: number;
  pid: number;
  ts: number;
  name: string;
  count: number;
  align: number;
  pfn: number;
  hasPage: boolean;
  errorno: number | null;
  availableCount: number;
  totalCount: number;
  comm: string;
  nrMigrated?: number;
}

/** A decoded event's fields as the writer takes them: what the readers' tests compare. */
export function wEvent(e: TraceEvent): WEvent {
  return {
    kind: e.kind,
    pid: e.pid,
    ts: e.ts,
    name: e.name,
    count: e.count,
    align: e.align,
    pfn: e.pfn,
    hasPage: e.hasPage,
    errorno: e.errorno,
    availableCount: e.availableCount,
    totalCount: e.totalCount,
    comm: e.comm(),
  };
}

/** Every field of a decoded event: the writer's fields and the rest. */
export interface EventSnap extends WEvent {
  line: number;
  cpu: number;
  countBig: bigint | null;
  nrMigrated: number;
  errIso: number;
  errMig: number;
  errTest: number;
}

/** Every field of a decoded event (what the readers' two paths are compared on). */
export function eventSnap(e: TraceEvent): EventSnap {
  return {
    ...wEvent(e),
    line: e.line,
    cpu: e.cpu,
    countBig: e.countBig,
    nrMigrated: e.nrMigrated,
    errIso: e.errIso,
    errMig: e.errMig,
    errTest: e.errTest,
  };
}

export interface WriteOptions {
  /** system_info.utsname.release (omitted when undefined). */
  release?: string;
  /** Events go to CPU i % cpus; each cycle's bundles are written highest CPU first. */
  cpus?: number;
  /** Events per bundle cycle. */
  cycle?: number;
  /** Wrap the packets in compressed_packets (deflate, zlib format) of this many packets each. */
  compressEvery?: number;
  /** 5.10 era (Android): a typed cma_alloc_info after each finish. */
  info?: boolean;
  /** Non-cma events between the cma ones (sched_switch and a kmem generic event). */
  noise?: boolean;
  /** Rewrites the generic event of events[i] (its kind's usual fields in `fields`). */
  fields?: (fields: Record<string, unknown>[], e: WEvent, i: number) => Record<string, unknown>[];
  /** cma_alloc_start always as a generic event (else typed when its count fits). */
  genericStarts?: boolean;
  /** More packets before the cycle of events[i] (e.g. process trees renaming tasks). */
  before?: (i: number) => Record<string, unknown>[];
}

const U64_MAX = 18446744073709551615n;

function u(v: number): protobuf.Long | number | string {
  return v < 0 ? U64_MAX.toString() : v;
}

/** A count as protobufjs takes it: a decimal string when it is not an exact number. */
function big(v: number): number | string {
  return v >= 2 ** 53 ? (v >= 1.8e19 ? U64_MAX.toString() : BigInt(v).toString()) : v;
}

function genericOf(e: WEvent, i: number, opts: WriteOptions): Record<string, unknown> {
  const fields: Record<string, unknown>[] = [{ name: 'name', strValue: e.name }];
  const names = ['', 'cma_alloc_start', 'cma_alloc_finish', 'cma_alloc_busy_retry', 'cma_release'];
  if (e.kind === 1) {
    fields.push({ name: e.availableCount < 0 ? 'count' : 'request_count', uintValue: big(e.count) });
    if (e.availableCount >= 0) {
      fields.push({ name: 'available_count', uintValue: e.availableCount });
      fields.push({ name: 'total_count', uintValue: e.totalCount });
    }
    fields.push({ name: 'align', uintValue: e.align });
  } else {
    fields.push({ name: 'pfn', uintValue: u(e.pfn) });
    fields.push({
      name: 'page',
      uintValue: e.hasPage ? (0xffffea0000000000n + BigInt(e.pfn) * 64n).toString() : 0,
    });
    fields.push({ name: 'count', uintValue: big(e.count) });
    if (e.kind !== 4) fields.push({ name: 'align', uintValue: e.align });
    if (e.errorno !== null) fields.push({ name: 'errorno', intValue: e.errorno });
  }
  return { eventName: names[e.kind], field: opts.fields ? opts.fields(fields, e, i) : fields };
}

/** The Trace bytes of `events` (in timestamp order, µs timestamps). */
export function writePerfetto(events: readonly WEvent[], opts: WriteOptions = {}): Uint8Array {
  const cpus = opts.cpus ?? 1;
  const cycle = opts.cycle ?? 40;
  const packets: Record<string, unknown>[] = [];
  if (opts.release !== undefined)
    packets.push({
      systemInfo: { utsname: { sysname: 'Linux', release: opts.release, machine: 'aarch64' } },
    });
  const threads = new Map<number, string>();
  for (const e of events) if (e.comm !== '<...>') threads.set(e.pid, e.comm);
  packets.push({
    processTree: {
      processes: [...threads.keys()].map((pid) => ({
        pid,
        ppid: 1,
        cmdline: [`/system/bin/${threads.get(pid)}`],
      })),
      threads: [...threads].map(([tid, name]) => ({ tid, name, tgid: tid })),
    },
  });
  for (let at = 0; at < events.length; at += cycle) {
    if (opts.before) packets.push(...opts.before(at));
    const per: Record<string, unknown>[][] = Array.from({ length: cpus }, () => []);
    events.slice(at, at + cycle).forEach((e, j) => {
      const i = at + j;
      // ns, increasing (the µs, plus the index below 500 ns so that it rounds back)
      const ts = e.ts * 1000 + (i % 400);
      const list = per[i % cpus]!;
      if (opts.noise)
        list.push({
          timestamp: ts - 1 + 0,
          pid: 0,
          schedSwitch: { prevComm: 'swapper', prevPid: 0, nextComm: e.comm, nextPid: e.pid },
        });
      // (the typed message's count is a uint32: larger requests as generic events)
      if (e.kind === 1 && e.availableCount < 0 && e.count < 2 ** 32 && !opts.genericStarts)
        list.push({
          timestamp: ts,
          pid: e.pid,
          cmaAllocStart: { align: e.align, count: e.count, name: e.name },
        });
      else list.push({ timestamp: ts, pid: e.pid, generic: genericOf(e, i, opts) });
      if (opts.info && e.kind === 2)
        list.push({
          timestamp: ts,
          pid: e.pid,
          cmaAllocInfo: {
            align: e.align,
            count: e.count,
            name: e.name,
            pfn: u(e.hasPage ? e.pfn : -1),
            nrMigrated: e.nrMigrated ?? 0,
            nrReclaimed: 0,
            nrMapped: 0,
            errIso: 0,
            errMig: e.hasPage ? 0 : 1,
            errTest: 0,
          },
        });
      if (opts.noise && j === 0)
        list.push({
          timestamp: ts,
          pid: e.pid,
          generic: {
            eventName: 'mm_alloc_contig_migrate_range_info',
            field: [
              { name: 'start', uintValue: 1 },
              { name: 'end', uintValue: 2 },
            ],
          },
        });
    });
    for (let c = cpus - 1; c >= 0; c--)
      if (per[c]!.length > 0) packets.push({ ftraceEvents: { cpu: c, event: per[c] } });
  }
  const out: Record<string, unknown>[] = [];
  if (opts.compressEvery) {
    for (let i = 0; i < packets.length; i += opts.compressEvery) {
      const inner = Trace.encode(
        Trace.fromObject({ packet: packets.slice(i, i + opts.compressEvery) }),
      ).finish();
      out.push({ compressedPackets: deflateSync(inner) });
    }
  } else out.push(...packets);
  return Trace.encode(Trace.fromObject({ packet: out })).finish();
}
