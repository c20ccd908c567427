// `npm run bench`: times the commands users run, as whole processes, against the C reference
// (`ref-replay --stream`) in the same run, and checks every result (0 mismatches, the reference's
// final bitmap sha256, used and maxchunk). Never part of `npm test`.
//
// Per case: `cma-debug replay TRACE --area … --json -q` (the built CLI, allocation table and all)
// and ref-replay, run in turns (round-robin) and the fastest of --repeat kept for each, each run
// after its trace was read through (in the page cache, whatever the VM dropped since); the
// library-level child (.bench/replay-child.mjs: replayTrace() with the allocation table off) is a
// second column. Then `cma-debug plan` of gpu-1g against one `cma-debug replay` of it, the
// trace.dat and Perfetto forms of gpu-1g against its text, and the peak memory of the command
// on a ~1 GB trace.
//
//   npm run bench [-- options]
//     --quick            gpu-1g and gpu-64g only, no 1 GB memory run, no plan
//     --cases a,b        only these cases (ids in bench/cases.ts)
//     --repeat N         runs per measurement, the fastest is kept (default 3)
//     --no-lib           skip the library-level child column
//     --plain            also the plain scan (the kernel's linear search) in the library child
//     --plain-cap N      events replayed by the plain scan on 64 GiB cases (default 100000; 0 = all)
//     --no-ref           skip ref-replay
//     --plan / --no-plan          cma-debug plan of gpu-1g (default: on unless --quick)
//     --formats / --no-formats    trace.dat and Perfetto forms of gpu-1g (default: on)
//     --mem / --no-mem   the ~1 GB trace peak-memory run (default: on unless --quick)
//     --formats-only     only the formats table (`npm run bench:formats`)
//     --json FILE        also write all results as JSON
//     --perf-ref DIR     where gen-trace and ref-replay are (default ../shared/perf-ref)

import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, cpus as osCpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BenchCase, CASES } from './cases.ts';
import { ensureTrace, type TraceFile, truncatedTrace } from './traces.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, '.bench');
const cli = join(root, 'bin/cma-debug.js');

interface Options {
  quick: boolean;
  cases: string[] | null;
  repeat: number;
  lib: boolean;
  plain: boolean;
  plainCap: number;
  ref: boolean;
  plan: boolean;
  formats: boolean;
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
    repeat: 3,
    lib: true,
    plain: false,
    plainCap: 100_000,
    ref: true,
    plan: true,
    formats: true,
    mem: true,
    json: null,
    // ../shared from /work/main, ../../shared from a worktree under /work/wt
    perfRef:
      [resolve(root, '../shared/perf-ref'), resolve(root, '../../shared/perf-ref')].find(existsSync) ??
      resolve(root, '../shared/perf-ref'),
  };
  const set = new Set<string>();
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
    const flag = (name: 'plan' | 'formats' | 'mem', on: boolean): void => {
      o[name] = on;
      set.add(name);
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
      case '--no-lib':
        o.lib = false;
        break;
      case '--plain':
        o.plain = true;
        break;
      case '--plain-cap':
        o.plainCap = int();
        break;
      case '--no-ref':
        o.ref = false;
        break;
      case '--plan':
        flag('plan', true);
        break;
      case '--no-plan':
        flag('plan', false);
        break;
      case '--formats':
        flag('formats', true);
        break;
      case '--no-formats':
        flag('formats', false);
        break;
      case '--mem':
        flag('mem', true);
        break;
      case '--no-mem':
        flag('mem', false);
        break;
      case '--formats-only':
        o.cases = [];
        flag('plan', false);
        flag('mem', false);
        flag('formats', true);
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
  if (o.quick) {
    if (!set.has('mem')) o.mem = false;
    if (!set.has('plan')) o.plan = false;
  }
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

/**
 * node's own start-up on this machine (`node -e 0`, fastest of `repeat`): the floor under every
 * whole-process figure. NODE_EXTRA_CA_CERTS, when set, makes node 20 read that file at every start
 * (~40 ms on the project's VM): then also timed without it, for the reader.
 */
interface Startup {
  ms: number;
  extraCaCerts: string | null;
  msWithoutExtraCaCerts: number | null;
}

function nodeStartup(repeat: number): Startup {
  const fastest = (env: NodeJS.ProcessEnv): number => {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < Math.max(3, repeat); i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0'], { env, stdio: 'ignore' });
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return best;
  };
  const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS || null;
  const ms = fastest(process.env);
  let msWithoutExtraCaCerts: number | null = null;
  if (extraCaCerts !== null) {
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    msWithoutExtraCaCerts = fastest(env);
  }
  return { ms, extraCaCerts, msWithoutExtraCaCerts };
}

function startupLine(s: Startup): string {
  const base = `node's own start-up (\`node -e 0\`, fastest): ${s.ms.toFixed(0)} ms`;
  if (s.extraCaCerts === null) return `${base}.`;
  return `${base} with NODE_EXTRA_CA_CERTS=${s.extraCaCerts} set in this environment (node 20 reads it at every start; every process here, the reference's excepted, pays it), ${s.msWithoutExtraCaCerts?.toFixed(0)} ms without it.`;
}

/** A command to time: how to run it and how to read its stdout. */
interface Job<T> {
  cmd: string;
  args: string[];
  /** The trace it reads: read through before each run (warmInput), not timed. */
  input: string;
  parse: (stdout: string) => T;
}

const WARM_CHUNK = 4 << 20;
let warmBuf: Buffer | null = null;

/**
 * Reads `path` through (and drops what it read), so that the run after it finds the file in the
 * page cache. This project's VMs keep dropping file pages while memory is free (`fincore`: a
 * trace 50 → 42 MB cached within a minute, nothing running), so without it a run read part of
 * its trace from the disk, by chance, and the formats or the reference took that turn.
 */
function warmInput(path: string): void {
  warmBuf ??= Buffer.allocUnsafe(WARM_CHUNK);
  const fd = openSync(path, 'r');
  try {
    while (readSync(fd, warmBuf, 0, WARM_CHUNK, null) > 0) {}
  } finally {
    closeSync(fd);
  }
}

interface Measured<T> {
  /** The fastest run (by wall time); cpuMs is the lowest CPU time of all runs. */
  run: ProcRun;
  result: T;
  /** Wall times of every run, in order. */
  walls: number[];
}

/**
 * Runs the jobs in turns, `n` rounds (job 1, job 2, …, job 1, job 2, …), so that a change of the
 * machine's load hits them alike; keeps the fastest run of each. Exit status 0 or 1 (a finding)
 * is accepted, anything else is an error.
 */
async function rounds<T extends unknown[]>(
  n: number,
  jobs: { [K in keyof T]: Job<T[K]> },
): Promise<{ [K in keyof T]: Measured<T[K]> }> {
  const best: (ProcRun | null)[] = jobs.map(() => null);
  const walls: number[][] = jobs.map(() => []);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j]!;
      warmInput(job.input);
      const r = await runProcess(job.cmd, job.args);
      if (r.status !== 0 && r.status !== 1) {
        throw new Error(
          `${job.cmd} ${job.args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
      }
      walls[j]!.push(r.wallMs);
      const b = best[j];
      const cpu = b && b.cpuMs !== null && r.cpuMs !== null ? Math.min(b.cpuMs, r.cpuMs) : r.cpuMs;
      const rss = Math.max(b?.maxRssKb ?? 0, r.maxRssKb ?? 0) || null;
      if (!b || r.wallMs < b.wallMs) best[j] = { ...r, cpuMs: cpu, maxRssKb: rss };
      else best[j] = { ...b, cpuMs: cpu, maxRssKb: rss };
    }
  }
  return jobs.map((job, j) => ({
    run: best[j]!,
    result: job.parse(best[j]!.stdout),
    walls: walls[j]!,
  })) as { [K in keyof T]: Measured<T[K]> };
}

// ---------- the programs ----------

interface Area {
  basePfn: number;
  count: number;
  orderPerBit: number;
}

/** What every replay reports, whichever program ran it. */
interface Outcome {
  events: number;
  mismatches: number;
  malformed: number;
  usedPages: number;
  maxchunkPages: number;
  bitmapSha256: string;
}

/** `cma-debug replay TRACE --area … --json -q`, the command users run. */
function cmdReplay(a: Area, trace: string): Job<Outcome & { allocations: number }> {
  return {
    cmd: process.execPath,
    input: trace,
    args: [
      cli,
      'replay',
      trace,
      '--area',
      `name=reserved,base_pfn=0x${a.basePfn.toString(16)},count=${a.count},order_per_bit=${a.orderPerBit}`,
      '--json',
      '-q',
    ],
    parse: (out) => {
      const j = JSON.parse(out) as {
        events: number;
        mismatches: number;
        malformed: number;
        allocations: number;
        areas: { used: number; maxchunk: number; bitmapSha256: string }[];
      };
      const x = j.areas[0]!;
      return {
        events: j.events,
        mismatches: j.mismatches,
        malformed: j.malformed,
        usedPages: x.used,
        maxchunkPages: x.maxchunk,
        bitmapSha256: x.bitmapSha256,
        allocations: j.allocations,
      };
    },
  };
}

/**
 * `cma-debug plan TRACE --area … --json`: the answer kept is the choices per area without
 * `replays` (the work done, not the answer), as bench/plan-gpu-1g.json pins it.
 */
function cmdPlan(a: Area, trace: string): Job<{ answer: string }> {
  return {
    cmd: process.execPath,
    input: trace,
    args: [
      cli,
      'plan',
      trace,
      '--area',
      `name=reserved,base_pfn=0x${a.basePfn.toString(16)},count=${a.count}`,
      '--json',
    ],
    parse: (out) => {
      const j = JSON.parse(out) as { areas: { choices: { replays?: number }[] }[] };
      return { answer: JSON.stringify(j.areas.map((x) => x.choices.map(({ replays: _, ...c }) => c))) };
    },
  };
}

const childPath = join(benchDir, 'replay-child.mjs');

type ChildResult = Outcome & {
  vmHwmKb: number;
  micro?: Record<string, { nsPerCall: number; calls: number }>;
};

/** The library-level child: replayTrace() with the allocation table off, bundled. */
function child(impl: 'indexed' | 'plain', a: Area, trace: string, extra: string[] = []): Job<ChildResult> {
  return {
    cmd: process.execPath,
    input: trace,
    args: [
      childPath,
      '--impl',
      impl,
      '--trace',
      trace,
      '--base-pfn',
      String(a.basePfn),
      '--count',
      String(a.count),
      '--opb',
      String(a.orderPerBit),
      ...extra,
    ],
    parse: (out) => JSON.parse(out.trim().split('\n').pop() ?? '') as ChildResult,
  };
}

interface RefResult extends Outcome {
  time_stream_ms: number;
  cpu_stream_ms: number;
}

function ref(bin: string, a: Area, trace: string): Job<RefResult> {
  return {
    cmd: bin,
    input: trace,
    args: [
      '--base-pfn',
      String(a.basePfn),
      '--count',
      String(a.count),
      '--order-per-bit',
      String(a.orderPerBit),
      '--stream',
      '--json',
      trace,
    ],
    parse: (out) => {
      const j = JSON.parse(out) as {
        events: number;
        mismatches: number;
        time_stream_ms: number;
        cpu_stream_ms: number;
        areas: { used_pages: number; maxchunk_pages: number; bitmap_sha256: string }[];
      };
      const x = j.areas[0]!;
      return {
        events: j.events,
        mismatches: j.mismatches,
        malformed: 0,
        usedPages: x.used_pages,
        maxchunkPages: x.maxchunk_pages,
        bitmapSha256: x.bitmap_sha256,
        time_stream_ms: j.time_stream_ms,
        cpu_stream_ms: j.cpu_stream_ms,
      };
    },
  };
}

/** Problems of an outcome against the expected final state (the reference's, or the README's sha). */
function check(
  label: string,
  got: Outcome,
  want: { sha: string | null; used?: number; maxchunk?: number; events?: number },
): string[] {
  const bad: string[] = [];
  if (got.mismatches !== 0) bad.push(`${label}: ${got.mismatches} mismatches`);
  if (got.malformed !== 0) bad.push(`${label}: ${got.malformed} malformed lines`);
  if (want.sha !== null && got.bitmapSha256 !== want.sha)
    bad.push(`${label}: bitmap differs from the reference`);
  if (want.used !== undefined && (got.usedPages !== want.used || got.maxchunkPages !== want.maxchunk))
    bad.push(`${label}: used/maxchunk differ from the reference`);
  if (want.events !== undefined && got.events !== want.events)
    bad.push(`${label}: ${got.events} events, the reference ${want.events}`);
  return bad;
}

// ---------- formatting ----------

function ms(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)}`;
}
/** Seconds, with the unit. */
function sec(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : `${(x / 1000).toFixed(2)} s`;
}
/** A wall (cpu) pair with its unit when ms() left it out. */
function withMs(t: string): string {
  return /\d s\)?$/.test(t) ? t : `${t} ms`;
}
function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a && b ? `${(a / b).toFixed(3)}×` : '–';
}
function wallCpu(r: ProcRun): string {
  return `${ms(r.wallMs)} (${ms(r.cpuMs)})`;
}
function ratios(a: ProcRun, b: ProcRun | null | undefined): string {
  return b ? `${ratio(a.wallMs, b.wallMs)} (${ratio(a.cpuMs, b.cpuMs)})` : '–';
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
  cmd: Measured<Outcome & { allocations: number }>;
  lib: Measured<ChildResult> | null;
  plain: (Measured<ChildResult> & { cap: number | null; capRef: Measured<RefResult> | null }) | null;
  ref: Measured<RefResult> | null;
  checks: string[];
}

/** Builds dist/ when the sources are newer (bin/cma-debug.js would otherwise run them through tsx). */
function ensureBuilt(log: (s: string) => void): void {
  const r = spawnSync(process.execPath, [join(root, 'scripts/prepare.mjs')], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`building dist/ failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  log(r.stdout.trim().split('\n').pop() ?? 'dist/ built');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const genTrace = join(o.perfRef, 'gen-trace');
  const refBin = join(o.perfRef, 'ref-replay');
  if (!existsSync(genTrace)) usage(`gen-trace not found at ${genTrace} (use --perf-ref DIR)`);
  const useRef = o.ref && existsSync(refBin);
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

  ensureBuilt(log);
  // the library child, and the trace parse worker next to it (replayTrace parses files on it)
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
  const cpus = osCpus();
  const load0 = loadavg();
  const machine = `${cpus.length} × ${cpus[0]?.model ?? '?'}, node ${process.version}`;
  log(`${machine}, load ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const startup = nodeStartup(o.repeat);

  const reports: CaseReport[] = [];
  const traceOf = new Map<string, TraceFile>();
  for (const c of cases) {
    const trace = ensureTrace(join(benchDir, 'traces'), genTrace, c.id, c.args, c.traceSha256, log);
    traceOf.set(c.id, trace);
    log(`${c.id}: replaying (${(trace.bytes / 1e6).toFixed(0)} MB), ${o.repeat} rounds`);
    const bits = Math.floor(c.count / 2 ** c.orderPerBit);
    const checks: string[] = [];
    const jobs: Job<unknown>[] = [cmdReplay(c, trace.path)];
    if (useRef) jobs.push(ref(refBin, c, trace.path));
    if (o.lib) jobs.push(child('indexed', c, trace.path));
    const got = (await rounds(o.repeat, jobs)) as Measured<unknown>[];
    const cmd = got[0] as Measured<Outcome & { allocations: number }>;
    const r = useRef ? (got[1] as Measured<RefResult>) : null;
    const lib = o.lib ? (got[useRef ? 2 : 1] as Measured<ChildResult>) : null;
    const want = r
      ? {
          sha: r.result.bitmapSha256,
          used: r.result.usedPages,
          maxchunk: r.result.maxchunkPages,
          events: r.result.events,
        }
      : { sha: c.bitmapSha256 };
    if (r) checks.push(...check('ref-replay', r.result, { sha: c.bitmapSha256 }));
    checks.push(...check('cma-debug replay', cmd.result, want));
    if (lib) checks.push(...check('library child', lib.result, want));
    let plain: CaseReport['plain'] = null;
    if (o.plain) {
      // on 64 GiB the plain scan replays only the first N events (a truncated copy of the trace),
      // checked against ref-replay on the same file
      const cap = c.big && o.plainCap > 0 ? o.plainCap : null;
      const file = cap ? truncatedTrace(trace, cap) : trace.path;
      const [p] = await rounds(cap ? 1 : o.repeat, [child('plain', c, file)]);
      let capRef: Measured<RefResult> | null = null;
      if (cap && useRef) {
        [capRef] = await rounds(1, [ref(refBin, c, file)]);
        checks.push(...check('plain scan (capped)', p.result, { sha: capRef.result.bitmapSha256 }));
      } else checks.push(...check('plain scan', p.result, want));
      plain = { ...p, cap, capRef };
    }
    if (trace.matchesReadme === false) checks.push('trace sha256 differs from the perf-ref README');
    reports.push({ id: c.id, bits, trace, cmd, lib, plain, ref: r, checks });
  }

  const gpu = CASES.find((c) => c.id === 'gpu-1g')!;
  const gpuTrace = (): TraceFile => {
    let t = traceOf.get(gpu.id);
    if (!t) {
      t = ensureTrace(join(benchDir, 'traces'), genTrace, gpu.id, gpu.args, gpu.traceSha256, log);
      traceOf.set(gpu.id, t);
    }
    return t;
  };
  const extraChecks: string[] = [];

  // plan of gpu-1g against one replay of it
  let plan: { plan: Measured<{ answer: string }>; replay: Measured<Outcome> } | null = null;
  if (o.plan) {
    log(`plan of gpu-1g against one replay, ${o.repeat} rounds`);
    const t = gpuTrace();
    const [p, rp] = await rounds(o.repeat, [cmdPlan(gpu, t.path), cmdReplay(gpu, t.path)]);
    extraChecks.push(...check('replay (plan row)', rp.result, { sha: gpu.bitmapSha256 }));
    const pinned = JSON.parse(readFileSync(join(root, 'bench/plan-gpu-1g.json'), 'utf8')) as {
      choices: unknown;
    };
    if (p.result.answer !== JSON.stringify(pinned.choices))
      extraChecks.push('plan: the answer differs from the one pinned in bench/plan-gpu-1g.json');
    plan = { plan: p, replay: rp };
  }

  // trace.dat and Perfetto forms of gpu-1g against its text
  let formats: { format: string; bytes: number; m: Measured<Outcome> }[] | null = null;
  if (o.formats) {
    const t = gpuTrace();
    const { writeBinaryForms } = await import('./formats.ts');
    const forms = await writeBinaryForms(t.path, log);
    log(`gpu-1g as text, trace.dat and Perfetto, ${o.repeat} rounds`);
    const files = [
      ['text', t.path, t.bytes],
      ['trace.dat', forms.dat, forms.datBytes],
      ['Perfetto', forms.perfetto, forms.perfettoBytes],
    ] as const;
    const got = await rounds(
      o.repeat,
      files.map(([, f]) => cmdReplay(gpu, f)),
    );
    formats = files.map(([format, , bytes], i) => ({ format, bytes, m: got[i]! }));
    for (const f of formats)
      extraChecks.push(...check(`${f.format} form`, f.m.result, { sha: gpu.bitmapSha256 }));
  }

  // peak memory of the command on a ~1 GB trace
  let memRun: {
    trace: TraceFile;
    cmd: Measured<Outcome>;
    lib: Measured<ChildResult> | null;
    ref: Measured<RefResult> | null;
  } | null = null;
  if (o.mem) {
    const memCase: BenchCase = {
      ...gpu,
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
    const jobs: Job<unknown>[] = [cmdReplay(memCase, t.path)];
    if (useRef) jobs.push(ref(refBin, memCase, t.path));
    if (o.lib) jobs.push(child('indexed', memCase, t.path));
    const got = (await rounds(1, jobs)) as Measured<unknown>[];
    const cmd = got[0] as Measured<Outcome>;
    const r = useRef ? (got[1] as Measured<RefResult>) : null;
    const lib = o.lib ? (got[useRef ? 2 : 1] as Measured<ChildResult>) : null;
    extraChecks.push(
      ...check(
        '1 GB trace',
        cmd.result,
        r ? { sha: r.result.bitmapSha256, events: r.result.events } : { sha: null },
      ),
    );
    memRun = { trace: t, cmd, lib, ref: r };
  }

  // micro: used/maxchunk reads on a fragmented 64 GiB area (the final state of gpu-64g)
  let micro: ChildResult['micro'] | null = null;
  const big = CASES.find((c) => c.id === 'gpu-64g')!;
  if (cases.some((c) => c.big)) {
    const t =
      traceOf.get(big.id) ??
      ensureTrace(join(benchDir, 'traces'), genTrace, big.id, big.args, big.traceSha256, log);
    log('used/maxchunk read times on gpu-64g’s final state');
    micro = (await rounds(1, [child('indexed', big, t.path, ['--micro'])]))[0].result.micro ?? null;
  }
  const load1 = loadavg();

  // ---------- report ----------
  const out: string[] = [];
  out.push(
    `machine: ${machine}; load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}; runs per measurement: ${o.repeat}, in turns, fastest kept, each after reading its trace through (page cache)`,
  );
  out.push(startupLine(startup));
  out.push('');
  out.push(
    'Whole-process wall time in ms (lowest CPU user+sys of the runs in parentheses). ratio = cma-debug / ref-replay --stream in the same rounds.',
  );
  out.push('');
  if (reports.length > 0)
    out.push(
      table(
        [
          'case',
          'events',
          'bits',
          'ref-replay --stream',
          '`cma-debug replay --json`',
          'ratio wall (cpu)',
          'library child (replayTrace, no table)',
          'child/ref wall (cpu)',
          ...(o.plain ? ['plain scan (library)', 'plain/ref'] : []),
          'peak RSS MB (cma-debug)',
          'mismatches',
          'bitmap = ref',
        ],
        reports.map((r) => {
          const p = r.plain;
          return [
            r.id,
            String(r.cmd.result.events),
            String(r.bits),
            r.ref ? wallCpu(r.ref.run) : '–',
            wallCpu(r.cmd.run),
            ratios(r.cmd.run, r.ref?.run),
            r.lib ? wallCpu(r.lib.run) : '–',
            r.lib ? ratios(r.lib.run, r.ref?.run) : '–',
            ...(o.plain
              ? [
                  p ? `${wallCpu(p.run)}${p.cap ? ` [first ${p.cap / 1000}k events]` : ''}` : '–',
                  p && !p.cap
                    ? ratios(p.run, r.ref?.run)
                    : p?.capRef
                      ? `${ratio(p.run.wallMs, p.capRef.run.wallMs)} (ref ${ms(p.capRef.run.wallMs)} on the same events)`
                      : '–',
                ]
              : []),
            mb(r.cmd.run.maxRssKb),
            String(r.cmd.result.mismatches + (r.lib?.result.mismatches ?? 0) + (p?.result.mismatches ?? 0)),
            r.checks.length === 0 ? 'yes' : `NO: ${r.checks.join('; ')}`,
          ];
        }),
      ),
    );
  if (plan) {
    out.push('');
    out.push(
      `cma-debug plan of gpu-1g: ${withMs(wallCpu(plan.plan.run))} against one cma-debug replay ${withMs(wallCpu(plan.replay.run))}: ${ratios(plan.plan.run, plan.replay.run)} (wall (cpu)); peak RSS ${mb(plan.plan.run.maxRssKb)} MB; answer (the one pinned in bench/plan-gpu-1g.json) sha256 ${(await import('node:crypto')).createHash('sha256').update(plan.plan.result.answer).digest('hex').slice(0, 16)}…`,
    );
  }
  if (formats) {
    out.push('');
    out.push('gpu-1g in three formats, `cma-debug replay FILE --area … --json -q`:');
    out.push('');
    const text = formats[0]!.m.run;
    out.push(
      table(
        [
          'format',
          'bytes',
          'wall (cpu) ms',
          '× text wall (cpu)',
          'peak RSS MB',
          'events',
          'mismatches',
          'bitmap = ref',
        ],
        formats.map((f) => [
          f.format,
          String(f.bytes),
          wallCpu(f.m.run),
          ratios(f.m.run, text),
          mb(f.m.run.maxRssKb),
          String(f.m.result.events),
          String(f.m.result.mismatches),
          f.m.result.bitmapSha256 === gpu.bitmapSha256 ? 'yes' : 'NO',
        ]),
      ),
    );
  }
  if (memRun) {
    const m = memRun;
    out.push('');
    out.push(
      `1 GB trace (${m.trace.bytes} bytes, ${m.cmd.result.events} events): cma-debug replay --json ${sec(m.cmd.run.wallMs)} (cpu ${sec(m.cmd.run.cpuMs)}), peak RSS ${mb(m.cmd.run.maxRssKb)} MB` +
        (m.lib ? `; library child ${sec(m.lib.run.wallMs)}, peak RSS ${mb(m.lib.run.maxRssKb)} MB` : '') +
        (m.ref
          ? `; ref-replay --stream ${sec(m.ref.run.wallMs)} (ratio ${ratio(m.cmd.run.wallMs, m.ref.run.wallMs)}), bitmap ${m.ref.result.bitmapSha256 === m.cmd.result.bitmapSha256 ? '= ref' : 'DIFFERS from ref'}`
          : '') +
        `; mismatches ${m.cmd.result.mismatches}`,
    );
  }
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
  const problems = [...reports.flatMap((r) => r.checks), ...extraChecks];
  out.push('');
  out.push(
    problems.length > 0
      ? `CHECKS FAILED: ${problems.join('; ')}`
      : 'all checks passed: 0 mismatches, every final bitmap, used and maxchunk equal the reference',
  );
  process.stdout.write(`${out.join('\n')}\n`);
  if (o.json)
    writeFileSync(
      o.json,
      `${JSON.stringify({ machine, startup, load: [load0, load1], reports, plan, formats, memRun, micro }, null, 2)}\n`,
    );
  process.exitCode = problems.length > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
