// `npm run bench`: replays gen-trace traces with the indexed and the plain bitmap, and with the
// C reference (`ref-replay --stream`) on the same files, each in its own process, and prints
// whole-process times, events/s, ratios, peak memory, used/maxchunk read times and the checks
// (0 mismatches, final bitmap sha256 = the reference's). Never part of `npm test`.
//
//   npm run bench [-- options]
//     --quick            gpu-1g and gpu-64g only, no 1 GB memory run
//     --cases a,b        only these cases (ids below)
//     --repeat N         runs per measurement, the fastest is kept (default 1)
//     --plain-cap N      events replayed by the plain scan on 64 GiB cases (default 100000; 0 = all)
//     --no-plain         skip the plain scan
//     --no-ref           skip ref-replay
//     --mem / --no-mem   the ~1 GB trace peak-memory run (default: on unless --quick)
//     --json FILE        also write all results as JSON
//     --perf-ref DIR     where gen-trace and ref-replay are (default ../shared/perf-ref)

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BenchCase, CASES } from './cases.ts';
import { ensureTrace, type TraceFile, truncatedTrace } from './traces.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, '.bench');

interface Options {
  quick: boolean;
  cases: string[] | null;
  repeat: number;
  plainCap: number;
  plain: boolean;
  ref: boolean;
  mem: boolean;
  json: string | null;
  perfRef: string;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    cases: null,
    repeat: 1,
    plainCap: 100_000,
    plain: true,
    ref: true,
    mem: true,
    json: null,
    perfRef: resolve(root, '../shared/perf-ref'),
  };
  let memSet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = val();
      if (!/^\d+$/.test(v)) usage(`${a} needs a whole number, got '${v}'`);
      return Number(v);
    };
    switch (a) {
      case '--quick':
        o.quick = true;
        break;
      case '--cases':
        o.cases = val().split(',');
        break;
      case '--repeat':
        o.repeat = Math.max(1, int());
        break;
      case '--plain-cap':
        o.plainCap = int();
        break;
      case '--no-plain':
        o.plain = false;
        break;
      case '--no-ref':
        o.ref = false;
        break;
      case '--mem':
        o.mem = true;
        memSet = true;
        break;
      case '--no-mem':
        o.mem = false;
        memSet = true;
        break;
      case '--json':
        o.json = val();
        break;
      case '--perf-ref':
        o.perfRef = resolve(val());
        break;
      default:
        usage(`unknown option '${a}' (see the header of bench/run.ts)`);
    }
  }
  if (o.quick && !memSet) o.mem = false;
  const known = new Set(CASES.map((c) => c.id));
  for (const c of o.cases ?? [])
    if (!known.has(c)) usage(`unknown case '${c}' (known: ${[...known].join(', ')})`);
  return o;
}

/** One process run: wall and CPU time, peak RSS, stdout. */
interface ProcRun {
  wallMs: number;
  cpuMs: number | null;
  maxRssKb: number | null;
  stdout: string;
  status: number | null;
  stderr: string;
}

const hasTime = existsSync('/usr/bin/time');

function runProcess(cmd: string, args: string[]): Promise<ProcRun> {
  const tmp = mkdtempSync(join(tmpdir(), 'cma-bench-'));
  const timeFile = join(tmp, 'time');
  const [c, a] = hasTime
    ? ['/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args]]
    : [cmd, args];
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', fail);
    p.on('close', (status) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let cpuMs: number | null = null;
      let maxRssKb: number | null = null;
      if (hasTime && existsSync(timeFile)) {
        const f = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        if (f.length === 4 && f.every(Number.isFinite)) {
          cpuMs = (f[1]! + f[2]!) * 1000;
          maxRssKb = f[3]!;
        }
      }
      rmSync(tmp, { recursive: true, force: true });
      done({
        wallMs,
        cpuMs,
        maxRssKb,
        stdout: Buffer.concat(out).toString(),
        status,
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}

/** The fastest of `n` runs (by wall time); the stdout of that run. */
async function best(n: number, cmd: string, args: string[]): Promise<ProcRun> {
  let b: ProcRun | null = null;
  for (let i = 0; i < n; i++) {
    const r = await runProcess(cmd, args);
    if (r.status !== 0 && r.status !== 1) {
      throw new Error(
        `${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    if (!b || r.wallMs < b.wallMs)
      b = { ...r, cpuMs: b && b.cpuMs !== null && r.cpuMs !== null ? Math.min(b.cpuMs, r.cpuMs) : r.cpuMs };
    else if (b.cpuMs !== null && r.cpuMs !== null) b.cpuMs = Math.min(b.cpuMs, r.cpuMs);
  }
  return b!;
}

interface ChildResult {
  events: number;
  mismatches: number;
  anomalies: number;
  malformed: number;
  usedPages: number;
  maxchunkPages: number;
  bitmapSha256: string;
  vmHwmKb: number;
  mainMs: number;
  micro?: Record<string, { nsPerCall: number; calls: number }>;
}

interface RefResult {
  events: number;
  mismatches: number;
  used_pages: number;
  maxchunk_pages: number;
  bitmap_sha256: string;
  time_stream_ms: number;
  cpu_stream_ms: number;
  time_total_ms: number;
}

interface Measured<T> {
  run: ProcRun;
  result: T;
}

const childPath = join(benchDir, 'replay-child.mjs');

async function child(
  impl: 'indexed' | 'plain',
  c: { basePfn: number; count: number; orderPerBit: number },
  trace: string,
  repeat: number,
  extra: string[] = [],
): Promise<Measured<ChildResult>> {
  // (extra: e.g. --micro, --engine min)
  const args = [
    childPath,
    '--impl',
    impl,
    '--trace',
    trace,
    '--base-pfn',
    String(c.basePfn),
    '--count',
    String(c.count),
    '--opb',
    String(c.orderPerBit),
    ...extra,
  ];
  const run = await best(repeat, process.execPath, args);
  const line = run.stdout.trim().split('\n').pop() ?? '';
  return { run, result: JSON.parse(line) as ChildResult };
}

async function ref(
  bin: string,
  c: { basePfn: number; count: number; orderPerBit: number },
  trace: string,
  repeat: number,
): Promise<Measured<RefResult>> {
  const args = [
    '--base-pfn',
    String(c.basePfn),
    '--count',
    String(c.count),
    '--order-per-bit',
    String(c.orderPerBit),
    '--stream',
    '--json',
    trace,
  ];
  const run = await best(repeat, bin, args);
  const j = JSON.parse(run.stdout) as RefResult & { areas: RefResult[] };
  const a = j.areas[0]!;
  return {
    run,
    result: {
      ...j,
      used_pages: a.used_pages,
      maxchunk_pages: a.maxchunk_pages,
      bitmap_sha256: a.bitmap_sha256,
    },
  };
}

// ---------- formatting ----------

function ms(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)}`;
}
function evs(events: number, msTime: number | null): string {
  if (!msTime) return '–';
  const r = events / (msTime / 1000);
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : `${(r / 1e3).toFixed(0)} k`;
}
function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a && b ? `${(a / b).toFixed(3)}×` : '–';
}
function mb(kb: number | null | undefined): string {
  return kb ? `${(kb / 1024).toFixed(0)}` : '–';
}
function table(head: string[], rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---------- main ----------

interface CaseReport {
  id: string;
  bits: number;
  trace: TraceFile;
  indexed: Measured<ChildResult>;
  plain:
    | (Measured<ChildResult> & {
        cap: number | null;
        capIndexed: Measured<ChildResult> | null;
        capRef: Measured<RefResult> | null;
      })
    | null;
  ref: Measured<RefResult> | null;
  checks: string[];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const genTrace = join(o.perfRef, 'gen-trace');
  const refBin = join(o.perfRef, 'ref-replay');
  if (!existsSync(genTrace)) usage(`gen-trace not found at ${genTrace} (use --perf-ref DIR)`);
  const useRef = o.ref && existsSync(refBin);
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

  // the child, and the trace parse worker next to it (replayTrace parses files on it)
  for (const [entry, outfile] of [
    ['bench/replay-child.ts', childPath],
    ['src/sources/trace/parse-worker.ts', join(benchDir, 'parse-worker.mjs')],
  ] as const) {
    await build({
      entryPoints: [join(root, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'warning',
    });
  }

  const cases = CASES.filter((c) => (o.cases ? o.cases.includes(c.id) : o.quick ? c.quick : true));
  const cpus = (await import('node:os')).cpus();
  const load = (await import('node:os')).loadavg();
  log(
    `${cpus.length} × ${cpus[0]?.model ?? '?'}, load ${load.map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`,
  );

  const reports: CaseReport[] = [];
  for (const c of cases) {
    const trace = ensureTrace(join(benchDir, 'traces'), genTrace, c.id, c.args, c.traceSha256, log);
    log(`${c.id}: replaying (${(trace.bytes / 1e6).toFixed(0)} MB)`);
    const bits = Math.floor(c.count / 2 ** c.orderPerBit);
    const checks: string[] = [];
    const r = useRef ? await ref(refBin, c, trace.path, o.repeat) : null;
    const ix = await child('indexed', c, trace.path, o.repeat);
    let plain: CaseReport['plain'] = null;
    if (o.plain) {
      // on 64 GiB the plain scan replays only the first N events (a truncated copy of the trace);
      // its bitmap is compared with the indexed one and ref-replay's on the same file
      const cap = c.big && o.plainCap > 0 ? o.plainCap : null;
      const file = cap ? truncatedTrace(trace, cap) : trace.path;
      const p = await child('plain', c, file, cap ? 1 : o.repeat);
      let capIndexed: Measured<ChildResult> | null = null;
      let capRef: Measured<RefResult> | null = null;
      if (cap) {
        capIndexed = await child('indexed', c, file, 1);
        capRef = useRef ? await ref(refBin, c, file, 1) : null;
        if (capIndexed.result.bitmapSha256 !== p.result.bitmapSha256)
          checks.push('plain≠indexed bitmap after the cap');
        if (capRef && capRef.result.bitmap_sha256 !== p.result.bitmapSha256)
          checks.push('plain≠ref bitmap after the cap');
      } else if (p.result.bitmapSha256 !== ix.result.bitmapSha256) checks.push('plain≠indexed bitmap');
      plain = { ...p, cap, capIndexed, capRef };
      if (p.result.mismatches !== 0) checks.push(`plain: ${p.result.mismatches} mismatches`);
      if (p.result.malformed !== 0) checks.push(`plain: ${p.result.malformed} malformed lines`);
    }
    if (ix.result.mismatches !== 0) checks.push(`indexed: ${ix.result.mismatches} mismatches`);
    if (ix.result.malformed !== 0) checks.push(`${ix.result.malformed} malformed lines`);
    const want = r?.result.bitmap_sha256 ?? c.bitmapSha256;
    if (want && ix.result.bitmapSha256 !== want) checks.push('bitmap sha256 differs from the reference');
    if (
      r &&
      (r.result.used_pages !== ix.result.usedPages || r.result.maxchunk_pages !== ix.result.maxchunkPages)
    ) {
      checks.push('used/maxchunk differ from ref-replay');
    }
    if (trace.matchesReadme === false) checks.push('trace sha256 differs from the perf-ref README');
    reports.push({ id: c.id, bits, trace, indexed: ix, plain, ref: r, checks });
  }

  // used/maxchunk reads on a fragmented 64 GiB area (the final state of the gpu-64g trace)
  let micro: ChildResult['micro'] | null = null;
  const big = CASES.find((c) => c.id === 'gpu-64g')!;
  if (cases.some((c) => c.big)) {
    const t = ensureTrace(join(benchDir, 'traces'), genTrace, big.id, big.args, big.traceSha256, log);
    log('used/maxchunk read times on gpu-64g’s final state');
    micro = (await child('indexed', big, t.path, 1, ['--micro'])).result.micro ?? null;
  }

  // peak memory on a ~1 GB trace
  let memRun: { trace: TraceFile; indexed: Measured<ChildResult>; ref: Measured<RefResult> | null } | null =
    null;
  if (o.mem) {
    const memCase: BenchCase = {
      ...CASES[0]!,
      id: 'gpu-1g-8.5m',
      args: [
        '--workload',
        'gpu',
        '--seed',
        '3',
        '--events',
        '8500000',
        '--base-pfn',
        '0x80000',
        '--count',
        '262144',
        '--fill',
        '0.8',
      ],
    };
    const t = ensureTrace(join(benchDir, 'traces'), genTrace, memCase.id, memCase.args, null, log);
    log(`peak memory: ${memCase.id} (${(t.bytes / 1e9).toFixed(2)} GB)`);
    const ix = await child('indexed', memCase, t.path, 1);
    const r = useRef ? await ref(refBin, memCase, t.path, 1) : null;
    memRun = { trace: t, indexed: ix, ref: r };
  }

  // ---------- report ----------
  const out: string[] = [];
  out.push(
    `machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}; load at start ${load.map((x) => x.toFixed(2)).join(' ')}; ${process.version}; runs per measurement: ${o.repeat} (fastest kept)`,
  );
  out.push('');
  out.push(
    'Whole-process wall time in ms (CPU user+sys in parentheses); ratio = cma-debug indexed / ref-replay --stream.',
  );
  out.push('');
  out.push(
    table(
      [
        'case',
        'events',
        'bits',
        'ref-replay --stream',
        'indexed',
        'ratio wall (cpu)',
        'indexed events/s',
        'plain scan',
        'plain events/s',
        'plain/ref',
        'peak RSS MB (indexed)',
        'mismatches',
        'bitmap = ref',
      ],
      reports.map((r) => {
        const ix = r.indexed;
        const rf = r.ref;
        const p = r.plain;
        const pLabel = p
          ? `${ms(p.run.wallMs)} (${ms(p.run.cpuMs)})${p.cap ? ` [first ${p.cap / 1000}k events]` : ''}`
          : '–';
        return [
          r.id,
          String(ix.result.events),
          String(r.bits),
          rf ? `${ms(rf.run.wallMs)} (${ms(rf.run.cpuMs)})` : '–',
          `${ms(ix.run.wallMs)} (${ms(ix.run.cpuMs)})`,
          rf ? `${ratio(ix.run.wallMs, rf.run.wallMs)} (${ratio(ix.run.cpuMs, rf.run.cpuMs)})` : '–',
          evs(ix.result.events, ix.run.wallMs),
          pLabel,
          p ? evs(p.result.events, p.run.wallMs) : '–',
          p && !p.cap && rf
            ? ratio(p.run.wallMs, rf.run.wallMs)
            : p?.capRef
              ? `${ratio(p.run.wallMs, p.capRef.run.wallMs)} (ref ${ms(p.capRef.run.wallMs)}, indexed ${ms(p.capIndexed?.run.wallMs)} on the same events)`
              : '–',
          mb(ix.run.maxRssKb ?? ix.result.vmHwmKb),
          String(ix.result.mismatches + (p?.result.mismatches ?? 0)),
          r.checks.length === 0 ? 'yes' : `NO: ${r.checks.join('; ')}`,
        ];
      }),
    ),
  );
  if (micro) {
    out.push('');
    out.push(
      'used/maxchunk reads, 64 GiB area (16,777,216 bits) in the final state of gpu-64g, ns per call:',
    );
    out.push('');
    out.push(
      table(
        ['read', 'ns/call', 'calls'],
        Object.entries(micro).map(([k, v]) => [k, v.nsPerCall.toFixed(1), String(v.calls)]),
      ),
    );
  }
  if (memRun) {
    const m = memRun;
    out.push('');
    out.push(
      `1 GB trace (${m.trace.bytes} bytes, ${m.indexed.result.events} events): indexed ${ms(m.indexed.run.wallMs)} ms (cpu ${ms(m.indexed.run.cpuMs)}), peak RSS ${mb(m.indexed.run.maxRssKb ?? m.indexed.result.vmHwmKb)} MB (VmHWM ${mb(m.indexed.result.vmHwmKb)} MB), mismatches ${m.indexed.result.mismatches}` +
        (m.ref
          ? `; ref-replay --stream ${ms(m.ref.run.wallMs)} ms, bitmap ${m.ref.result.bitmap_sha256 === m.indexed.result.bitmapSha256 ? '= ref' : 'DIFFERS from ref'}`
          : ''),
    );
  }
  const failed = reports.some((r) => r.checks.length > 0);
  out.push('');
  out.push(
    failed ? 'CHECKS FAILED' : 'all checks passed: 0 mismatches, every final bitmap equals the reference',
  );
  process.stdout.write(`${out.join('\n')}\n`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ reports, micro, memRun }, null, 2)}\n`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
