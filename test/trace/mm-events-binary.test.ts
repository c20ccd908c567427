// The mm events blame and the allocation table read (test_pages_isolated, mm_migrate_pages,
// mm_alloc_contig_migrate_range_info, the cma events) from the binary formats: a real trace.dat
// recorded by trace-cmd in the 6.12 page_owner kernel with cma-pinner holding pages
// (test/fixtures/pinned-pages/6.12-dat), checked field by field against `trace-cmd report` of
// the same file, and Perfetto traces of those events written by protobufjs (an encoder that
// shares no code with the decoder).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { readMmTrace } from '../../src/sources/busy-files.ts';
import { openTraceSource } from '../../src/sources/trace/input.ts';
import type { MmEvent } from '../../src/sources/trace/mm-events.ts';
import { AllocationCosts, COST_EVENT_NAMES, parseMmEventLine } from '../../src/sources/trace/mm-events.ts';
import { readTraceDatMmEvents } from '../../src/sources/trace/mm-events-read.ts';
import { readPerfettoMmEvents } from '../../src/sources/trace/perfetto.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import { memoryByteSource } from '../../src/sources/trace/trace-dat.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIX = join(ROOT, 'test/fixtures/pinned-pages/6.12-dat');
const DAT = join(FIX, 'trace.dat.gz');
const REPORT = join(FIX, 'report.txt.gz');

function reportEvents(): MmEvent[] {
  const text = gunzipSync(readFileSync(REPORT)).toString('utf8');
  const out: MmEvent[] = [];
  text.split('\n').forEach((l, i) => {
    const e = parseMmEventLine(l, i + 1);
    if (e) out.push(e);
  });
  return out;
}

/** The fields as comparable: pointers only by whether they are NULL. */
function norm(e: MmEvent): Record<string, unknown> {
  const f: Record<string, string> = { ...e.fields };
  if (f.page !== undefined) f.page = /^(\(nil\)|0+|0x0+)$/.test(f.page) ? 'NULL' : 'set';
  return { event: e.event, pid: e.pid, fields: f };
}

const datEvents = readTraceDatMmEvents(memoryByteSource(new Uint8Array(gunzipSync(readFileSync(DAT)))));
const report = reportEvents();

describe('trace.dat: every mm event blame reads, as `trace-cmd report` prints it', () => {
  it('the same events, in the same order, field by field (6.12, cma + page_isolation + migrate + kmem)', () => {
    assert.equal(datEvents.length, report.length);
    const kinds = new Set(datEvents.map((e) => e.event));
    for (const k of [
      'cma_alloc_start',
      'cma_alloc_busy_retry',
      'cma_alloc_finish',
      'test_pages_isolated',
      'mm_migrate_pages',
      'mm_alloc_contig_migrate_range_info',
    ])
      assert.ok(kinds.has(k), k);
    for (let i = 0; i < report.length; i++) {
      assert.deepEqual(norm(datEvents[i]!), norm(report[i]!), `event ${i} (report line ${report[i]!.line})`);
      // ns in the file, µs in the report
      assert.ok(Math.abs(datEvents[i]!.time - report[i]!.time) <= 1e-6, `time of event ${i}`);
      assert.equal(datEvents[i]!.comm, report[i]!.comm);
    }
  });

  it("ret=fail / success from fin_pfn, reason=contig_range from the file's own symbol table", () => {
    const fails = datEvents.filter((e) => e.event === 'test_pages_isolated' && e.fields.ret === 'fail');
    assert.ok(fails.length > 1000);
    assert.ok(datEvents.some((e) => e.event === 'mm_migrate_pages' && e.fields.reason === 'contig_range'));
  });

  it('readMmTrace tells trace.dat (gzip) apart and decodes it', async () => {
    const ev = await readMmTrace(DAT);
    assert.equal(ev.length, report.length);
  });
});

// ---------------------------------------------------------------- Perfetto

const root = protobuf.loadSync(join(ROOT, 'test/fixtures/perfetto/perfetto-subset.proto'));
const Trace = root.lookupType('perfetto.protos.Trace');

/** A record's field names in Perfetto's generic events (the kernel's format names, not the text's). */
function genericFields(e: MmEvent): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [k, v] of Object.entries(e.fields)) {
    if (e.event === 'test_pages_isolated' && k === 'ret') continue; // computed, not in the record
    if (k === 'name' || k === 'mode') {
      out.push({ name: k, strValue: v });
      continue;
    }
    let key = k;
    let val: string = v;
    if (e.event === 'mm_migrate_pages') {
      if (k === 'reason') val = v === 'contig_range' ? '6' : '0';
      else if (k === 'nr_split') key = 'large_folio_split';
      else key = k.replace(/^nr_/, '');
    }
    if (k === 'page') val = /^0x/.test(v) ? BigInt(v).toString() : '0';
    if (/^0x/.test(val)) val = BigInt(val).toString();
    if (val.startsWith('-')) out.push({ name: key, intValue: val });
    else out.push({ name: key, uintValue: val });
  }
  return out;
}

function perfettoOf(events: readonly MmEvent[], compress: boolean): Uint8Array {
  const comms = new Map(events.map((e) => [e.pid, e.comm]));
  const packets: Record<string, unknown>[] = [
    { processTree: { threads: [...comms].map(([tid, name]) => ({ tid, name, tgid: tid })) } },
  ];
  for (let at = 0; at < events.length; at += 64) {
    const event = events.slice(at, at + 64).map((e) => ({
      timestamp: Math.round(e.time * 1e9).toString(),
      pid: e.pid,
      generic: { eventName: e.event, field: genericFields(e) },
    }));
    packets.push({ ftraceEvents: { cpu: 0, event } });
  }
  if (!compress) return Trace.encode(Trace.fromObject({ packet: packets })).finish();
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < packets.length; i += 10)
    out.push({
      compressedPackets: deflateSync(
        Trace.encode(Trace.fromObject({ packet: packets.slice(i, i + 10) })).finish(),
      ),
    });
  return Trace.encode(Trace.fromObject({ packet: out })).finish();
}

describe('Perfetto: the same events as generic ftrace events', () => {
  for (const compress of [false, true]) {
    it(`decodes them field by field${compress ? ' (compressed_packets)' : ''}`, () => {
      const bytes = perfettoOf(report, compress);
      const ev = readPerfettoMmEvents(bytes);
      assert.equal(ev.length, report.length);
      for (let i = 0; i < report.length; i++) {
        assert.deepEqual(norm(ev[i]!), norm(report[i]!), `event ${i}`);
        assert.equal(ev[i]!.comm, report[i]!.comm);
      }
    });
  }

  it('blame from Perfetto (gzip) names the same holders as from trace.dat', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blame-pf-'));
    try {
      const pf = join(dir, 'trace.perfetto-trace.gz');
      writeFileSync(pf, gzipSync(perfettoOf(report, true)));
      const po = join(FIX, 'page_owner.txt.gz');
      const a = cli(['blame', '--json', pf, po]);
      const b = cli(['blame', '--json', DAT, po]);
      assert.equal(a.status, 0, a.stderr);
      assert.equal(b.status, 0, b.stderr);
      const strip = (s: string) =>
        JSON.stringify(JSON.parse(s).areas, (k, v) => (/time|Time|seconds/.test(k) ? undefined : v));
      assert.equal(strip(a.stdout), strip(b.stdout));
      const j = JSON.parse(b.stdout).areas[0];
      const pins = readFileSync(join(FIX, 'pins.txt'), 'utf8');
      const pid = Number(/ready pid=(\d+)/.exec(pins)![1]);
      assert.equal(j.holders[0].pid, pid);
      assert.equal(j.holders[0].comm, 'cma-pinner');
      // every blocking pfn the trace names is one the helper pinned
      const pinned = new Set([...pins.matchAll(/pfn=(0x[0-9a-f]+)/g)].map((m) => Number(m[1])));
      for (const x of j.busy) assert.ok(pinned.has(x.pfn), `0x${x.pfn.toString(16)}`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/cma-debug.js'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------- migrate counts per allocation

describe('migrate counts per allocation (replay --allocations / --json)', () => {
  it('6.12 prints mm_alloc_contig_migrate_range_info shifted: told by the release and by the content', () => {
    const infos = report.filter((e) => e.event === 'mm_alloc_contig_migrate_range_info');
    assert.equal(new AllocationCosts(infos, '6.12.118').shifted, true);
    assert.equal(new AllocationCosts(infos, null).shifted, true);
    assert.equal(new AllocationCosts(infos, '6.8.0').shifted, false);
  });

  it('the same table from trace.dat, its report and Perfetto; the failure shows what it migrated', async () => {
    const area = 'name=reserved,count=4096,base_pfn=0x1c400';
    const dir = mkdtempSync(join(tmpdir(), 'blame-costs-'));
    try {
      const pf = join(dir, 't.pftrace');
      writeFileSync(pf, perfettoOf(report, false));
      const outs = [DAT, REPORT, pf].map((f) => {
        const csv = join(dir, 'a.csv');
        const r = cli(['replay', '-q', '--json', f, area, '--allocations', csv]);
        assert.equal(r.status, 0, r.stderr);
        return { json: JSON.parse(r.stdout).migration, csv: readFileSync(csv, 'utf8') };
      });
      // the same counts (line numbers are records in trace.dat, lines in the report)
      const noLine = (j: { failures: { line?: number }[] }) => ({
        ...j,
        failures: j.failures.map(({ line: _l, ...f }) => f),
      });
      assert.deepEqual(noLine(outs[0]!.json), noLine(outs[1]!.json));
      assert.deepEqual(noLine(outs[2]!.json), noLine(outs[1]!.json));
      assert.equal(outs[0]!.csv, outs[1]!.csv);
      const m = outs[0]!.json;
      assert.equal(m.shifted, true);
      assert.equal(m.source, 'mm_alloc_contig_migrate_range_info');
      // the 2048-page request: one alloc_contig_range() call per busy retry, plus the last
      const retries = report.filter((e) => e.event === 'cma_alloc_busy_retry').length;
      assert.equal(m.failures.length, 1);
      assert.equal(m.failures[0].calls, retries);
      // decoded sums equal the raw fields' sums taken one field further (the shift)
      const infos = report.filter((e) => e.event === 'mm_alloc_contig_migrate_range_info' && e.time > 23.2);
      const sum = (k: string) => infos.reduce((s, e) => s + Number(e.fields[k]), 0);
      assert.equal(m.failures[0].migrated, sum('nr_reclaimed'));
      assert.equal(m.failures[0].mapped, sum('migratetype'));
      assert.equal(m.failures[0].reclaimed, sum('nr_mapped'));
      assert.ok(m.failures[0].migrated > 0);
      const header = outs[0]!.csv.split('\n')[0]!;
      assert.match(header, /,migrated,reclaimed,mapped,migrate_calls$/);
      assert.match(outs[0]!.csv.split('\n')[1]!, /^reserved,0x1c400,200,sh,\d+,.*,0,0,0,1$/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('--json without --allocations: the same counts (read in the same pass as the replay)', () => {
    const area = 'name=reserved,count=4096,base_pfn=0x1c400';
    const dir = mkdtempSync(join(tmpdir(), 'blame-costs-'));
    try {
      const pf = join(dir, 't.pftrace');
      writeFileSync(pf, perfettoOf(report, false));
      const csv = join(dir, 'a.csv');
      for (const f of [REPORT, DAT, pf]) {
        const withCsv = cli(['replay', '-q', '--json', f, area, '--allocations', csv]);
        const alone = cli(['replay', '-q', '--json', f, area]);
        assert.equal(alone.status, 0, alone.stderr);
        const j = JSON.parse(alone.stdout);
        assert.equal(j.migration.source, 'mm_alloc_contig_migrate_range_info', f);
        assert.deepEqual(j, JSON.parse(withCsv.stdout), f);
        // and the text report names them too
        assert.equal(
          cli(['replay', '-q', f, area]).stdout,
          cli(['replay', '-q', f, area, '--allocations', csv]).stdout,
          f,
        );
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('the replay reads only the cost events, from each format, in the same pass', async () => {
    const costsOf = async (f: string) => {
      const got: MmEvent[] = [];
      await readTraceEvents(await openTraceSource(f), () => {}, {
        mm: { names: COST_EVENT_NAMES, onEvents: (events) => void got.push(...events) },
      });
      return got;
    };
    const ev = await costsOf(DAT);
    assert.ok(ev.length > 1000);
    assert.ok(ev.every((e) => e.event === 'mm_alloc_contig_migrate_range_info'));
    const text = await costsOf(REPORT);
    assert.equal(text.length, ev.length);
    assert.deepEqual(
      text.map((e) => e.fields),
      ev.map((e) => e.fields),
    );
  });
});

// ---------------------------------------------------------------- analyze --trace

describe('analyze --trace: the latency distribution and migrate counts per area', () => {
  it("equal replay's, from trace.dat, its report and Perfetto", () => {
    const area = 'name=reserved,count=4096,base_pfn=0x1c400';
    const dir = mkdtempSync(join(tmpdir(), 'analyze-trace-'));
    try {
      const snap = join(dir, 's.json');
      const rp = cli(['replay', '-q', '--json', DAT, area, '--save', snap]);
      assert.equal(rp.status, 0, rp.stderr);
      const replayed = JSON.parse(rp.stdout);
      const pf = join(dir, 't.pftrace');
      writeFileSync(pf, perfettoOf(report, false));
      const got = [DAT, REPORT, pf].map((f) => {
        const r = cli(['analyze', snap, '--trace', f, '--json']);
        assert.equal(r.status, 0, r.stderr);
        const { file: _f, ...t } = JSON.parse(r.stdout).areas[0].trace;
        return t;
      });
      assert.deepEqual(got[1], got[0]);
      assert.deepEqual(got[2], got[0]);
      const t = got[0];
      // replay's own figures
      assert.deepEqual(t.latencyUs, replayed.areas[0].latencyUs);
      assert.equal(t.allocsOk, replayed.areas[0].allocsOk);
      assert.equal(t.allocsFailed, replayed.areas[0].allocsFailed);
      const m = replayed.migration;
      assert.equal(t.migration.allocations, m.allocations.length);
      assert.equal(t.migration.failures, m.failures.length);
      assert.equal(t.migration.failuresMigrated, m.failures[0].migrated);
      assert.ok(t.migration.failuresMigrated > 0);
      // and the text report says it
      const text = cli(['analyze', snap, '--trace', DAT]).stdout;
      assert.match(
        text,
        new RegExp(`cma_alloc latency \\(µs, ${t.latencyUs.count} allocations\\): p50 ${t.latencyUs.p50} `),
      );
      assert.match(text, /migration \(mm_alloc_contig_migrate_range_info\): 1 allocations migrated/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
