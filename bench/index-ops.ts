// The placement index alone: its operations, recorded once from the bench replays, replayed in
// one process on two builds of assembly/indexed-bitmap.ts (min of N, interleaved), with every
// result and the final words checked against the recording. Not part of `npm test`/`npm run bench`.
//
//   node --import tsx bench/index-ops.ts record [CASE…]
//       replays .bench/traces/CASE.trace with the index, as `cma-debug replay` does, and writes
//       its IndexedBitmap calls and results to .bench/index-ops/CASE.ops (+ CASE.json: size and
//       the final words' sha256). Record again after a change of the engine's calls.
//   node --import tsx bench/index-ops.ts run [CASE…] [--ref REF] [--old F] [--new F] [--repeat N] [--kinds]
//       times REF's assembly/indexed-bitmap.ts (default main) against the working tree's; F is a
//       .wasm or an AssemblyScript file (compiled with scripts/build-wasm.mjs's flags). Min of N
//       (default 5), old and new interleaved, in CPU time (INDEX_OPS_WALL=1: wall time). --kinds adds time per operation kind and size
//       (each call timed: the timer's cost is included in the rows, subtracted in the totals).
//       --cold: each replay in a fresh process (the module compiled from scratch and tiered up
//       on the way, as in one `cma-debug` run), min of N.
//
// CASE defaults to gpu-1g random-1g camera-1g gpu-64g camera-64g (bench/cases.ts gives the
// areas). The file holds the TypeScript face's calls; `run` turns them into the wasm module's
// calls the way src/core/indexed-bitmap.ts does, so the timed loop is the module alone.
// Experiments: INDEX_OPS_POLICY='{"blockSummaries":false}' (another summary policy, same
// results; INDEX_OPS_POLICY_OLD / _NEW for one side), INDEX_OPS_NOCHECK=1 (a build that drops work on purpose), INDEX_OPS_STATS=1 (prints
// a build's exported globals named st*, e.g. counters), INDEX_OPS_NAMES=1 (function names for
// `node --cpu-prof`), INDEX_OPS_TOP=N (rows of --kinds).
//
// On a shared machine single replays vary by ±25%: --repeat 15 gave ratios that repeat within
// ~3%. Instruction counts (valgrind --tool=cachegrind, node --single-threaded --no-liftoff) are
// exact but did not predict time: a change with 18% fewer instructions was 3% slower.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { alignUp } from '../src/core/bitmap.ts';
import type { CmaBitmap } from '../src/core/cma-bitmap.ts';
import { DEFAULT_INDEX_POLICY, IndexedBitmap } from '../src/core/indexed-bitmap.ts';
import { fileSource } from '../src/sources/trace/input.ts';
import { replayTrace } from '../src/sources/trace/replay.ts';
import { CASES } from './cases.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opsDir = join(root, '.bench', 'index-ops');
const DEFAULT_CASES = ['gpu-1g', 'random-1g', 'camera-1g', 'gpu-64g', 'camera-64g'];

// ---- the recording: Int32 records [op, args…, result]
const OP_SET = 1; // start nbits → result
const OP_CLEAR = 2; // start nbits → result
const OP_FIND = 3; // start nr mask offset → result
const OP_WEIGHT = 4; // → result
const OP_LZR = 5; // → result
const OP_NEXTSET = 6; // from to → result
const ARGS = [0, 2, 2, 4, 0, 0, 2];

class Log {
  buf = new Int32Array(1 << 20);
  n = 0;
  push(op: number, a: readonly number[], r: number): void {
    if (this.n + 6 > this.buf.length) {
      const b = new Int32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = op;
    for (const x of a) this.buf[this.n++] = x;
    this.buf[this.n++] = r;
  }
}

/** An IndexedBitmap that logs every call. */
class Recording implements CmaBitmap {
  readonly inner: IndexedBitmap;
  constructor(
    readonly maxno: number,
    private readonly log: Log,
  ) {
    this.inner = new IndexedBitmap(maxno);
  }
  get words(): Uint32Array {
    return this.inner.words;
  }
  findArea(start: number, nr: number, alignMask: number, alignOffset: number): number {
    const r = this.inner.findArea(start, nr, alignMask, alignOffset);
    this.log.push(OP_FIND, [start, nr, alignMask, alignOffset], r);
    return r;
  }
  set(start: number, nbits: number): number {
    const r = this.inner.set(start, nbits);
    this.log.push(OP_SET, [start, nbits], r);
    return r;
  }
  clear(start: number, nbits: number): number {
    const r = this.inner.clear(start, nbits);
    this.log.push(OP_CLEAR, [start, nbits], r);
    return r;
  }
  weight(): number {
    const r = this.inner.weight();
    this.log.push(OP_WEIGHT, [], r);
    return r;
  }
  longestZeroRun(): number {
    const r = this.inner.longestZeroRun();
    this.log.push(OP_LZR, [], r);
    return r;
  }
  findNextSet(from: number, to: number): number {
    const r = this.inner.findNextSet(from, to);
    this.log.push(OP_NEXTSET, [from, to], r);
    return r;
  }
}

function caseOf(id: string) {
  const c = CASES.find((x) => x.id === id);
  if (c === undefined) throw new Error(`unknown case ${id} (bench/cases.ts)`);
  return c;
}

function sha(words: Uint32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(words.buffer, words.byteOffset, words.byteLength))
    .digest('hex');
}

async function record(ids: string[]): Promise<void> {
  mkdirSync(opsDir, { recursive: true });
  for (const id of ids) {
    const c = caseOf(id);
    const trace = join(root, '.bench', 'traces', `${id}.trace`);
    const log = new Log();
    const made: Recording[] = [];
    const res = await replayTrace(fileSource(trace), {
      areas: [{ name: 'reserved', basePfn: c.basePfn, count: c.count, orderPerBit: c.orderPerBit }],
      bitmapFactory: (maxno) => {
        const b = new Recording(maxno, log);
        made.push(b);
        return b;
      },
    });
    const bm = made[0];
    if (bm === undefined || made.length !== 1) throw new Error(`${id}: ${made.length} bitmaps made, not 1`);
    const ops = log.buf.subarray(0, log.n);
    writeFileSync(join(opsDir, `${id}.ops`), new Uint8Array(ops.buffer, 0, ops.byteLength));
    const meta = { maxno: bm.maxno, words: sha(bm.words), events: res.events, mismatches: res.mismatches };
    writeFileSync(join(opsDir, `${id}.json`), `${JSON.stringify(meta)}\n`);
    console.log(
      `${id}: ${log.n * 4} bytes of ops, ${res.events} events, final words ${meta.words.slice(0, 16)}`,
    );
  }
}

// ---- the modules

/** Compiles an assembly/indexed-bitmap.ts text with scripts/build-wasm.mjs's flags. */
/** The wire bytes of each module made here (for --cold: fresh processes load them). */
const wireBytes = new Map<WebAssembly.Module, Uint8Array>();

async function compile(source: string, label: string): Promise<WebAssembly.Module> {
  const dir = join(tmpdir(), `cma-index-ops-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'indexed-bitmap.ts');
  const out = join(dir, 'indexed-bitmap.wasm');
  writeFileSync(src, source);
  const { error, stderr } = await asc.main([
    src,
    '--outFile',
    out,
    '-O3',
    '--runtime',
    'stub',
    '--noAssert',
    '--enable',
    'simd',
    '--initialMemory',
    '1',
    // names in cpu profiles (INDEX_OPS_NAMES=1 node --cpu-prof …)
    ...(process.env.INDEX_OPS_NAMES ? ['--debug'] : []),
  ]);
  if (error) throw new Error(`${label}: ${error.message}\n${stderr.toString()}`);
  const bytes = readFileSync(out);
  rmSync(dir, { recursive: true, force: true });
  const mod = new WebAssembly.Module(bytes);
  wireBytes.set(mod, bytes);
  return mod;
}

async function moduleOf(spec: { ref?: string; file?: string }, label: string): Promise<WebAssembly.Module> {
  if (spec.file?.endsWith('.wasm')) {
    const bytes = readFileSync(spec.file);
    const mod = new WebAssembly.Module(bytes);
    wireBytes.set(mod, bytes);
    return mod;
  }
  if (spec.file !== undefined) return compile(readFileSync(spec.file, 'utf8'), label);
  const text =
    spec.ref === undefined
      ? readFileSync(join(root, 'assembly', 'indexed-bitmap.ts'), 'utf8')
      : execFileSync('git', ['show', `${spec.ref}:assembly/indexed-bitmap.ts`], {
          cwd: root,
          encoding: 'utf8',
        });
  return compile(text, label);
}

interface Exports {
  readonly memory: WebAssembly.Memory;
  init(maxno: number): number;
  setPolicy(
    blocksOn: number,
    blockTries: number,
    maxSummaries: number,
    after: number,
    perUpdate: number,
  ): void;
  set(start: number, n: number): number;
  clear(start: number, n: number): number;
  weight(): number;
  longestZeroRun(): number;
  nextClear(from: number): number;
  findNextSet(from: number, to: number): number;
  findArea(start: number, nr: number, alignMask: number, alignOffset: number): number;
}

// ---- the program: the wasm calls of the recording (what src/core/indexed-bitmap.ts makes of them),
// 6 Int32 each: code, a, b, c, d, expected result
const W_SET = 1;
const W_CLEAR = 2;
const W_FIND = 3;
const W_WEIGHT = 4;
const W_LZR = 5;
const W_NEXTSET = 6;
const W_NEXTCLEAR = 7; // a zero-length findArea: nextClear(a), then aligned by (b mask, c offset)
const W_NONE = 8; // answered by the TypeScript face without the module

interface Program {
  readonly maxno: number;
  readonly code: Int32Array;
  readonly words: string;
  readonly counts: number[];
}

function program(id: string): Program {
  const file = join(opsDir, `${id}.ops`);
  if (!existsSync(file)) throw new Error(`${file} missing: run \`bench/index-ops.ts record ${id}\` first`);
  const raw = readFileSync(file);
  const ops = new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength >> 2);
  const meta = JSON.parse(readFileSync(join(opsDir, `${id}.json`), 'utf8')) as {
    maxno: number;
    words: string;
  };
  const maxno = meta.maxno;
  const out: number[] = [];
  const counts = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < ops.length; ) {
    const op = ops[i]!;
    const a = ops.subarray(i + 1, i + 1 + ARGS[op]!);
    const r = ops[i + 1 + ARGS[op]!]!;
    i += 2 + ARGS[op]!;
    let w: number[];
    if (op === OP_SET || op === OP_CLEAR) {
      const lo = Math.max(a[0]!, 0);
      const n = Math.min(a[0]! + a[1]!, maxno) - lo;
      w = n > 0 ? [op === OP_SET ? W_SET : W_CLEAR, lo, n, 0, 0] : [W_NONE, 0, 0, 0, 0];
    } else if (op === OP_FIND) {
      const start = Math.min(Math.max(a[0]!, 0), maxno);
      const [nr, mask, off] = [a[1]!, a[2]!, a[3]!];
      if (nr <= 0) w = [W_NEXTCLEAR, start, mask, off, 0];
      else if (nr > maxno) w = [W_NONE, 0, 0, 0, 0];
      else if (mask >= 2 ** 30 || off >= 2 ** 30 || mask < 0 || off < 0)
        throw new Error(`${id}: an alignment past int32 (the face scans): not timed here`);
      else w = [W_FIND, start, nr, mask, off];
    } else if (op === OP_WEIGHT) w = [W_WEIGHT, 0, 0, 0, 0];
    else if (op === OP_LZR) w = [W_LZR, 0, 0, 0, 0];
    else if (op === OP_NEXTSET) {
      const to = Math.min(a[1]!, maxno);
      const from = Math.max(a[0]!, 0);
      w = from >= to ? [W_NONE, 0, 0, 0, 0] : [W_NEXTSET, from, to, 0, 0];
    } else throw new Error(`${id}: bad op ${op} at ${i}`);
    counts[w[0]!]!++;
    out.push(...w, r);
  }
  return { maxno, code: Int32Array.from(out), words: meta.words, counts };
}

/** Each module's policy changes (INDEX_OPS_POLICY, INDEX_OPS_POLICY_OLD / _NEW: JSON). */
const policies = new Map<WebAssembly.Module, string>();

function instance(mod: WebAssembly.Module, maxno: number): { x: Exports; at: number } {
  const x = new WebAssembly.Instance(mod, {}).exports as unknown as Exports;
  const at = x.init(maxno);
  const p = { ...DEFAULT_INDEX_POLICY, ...JSON.parse(policies.get(mod) ?? '{}') };
  x.setPolicy(
    p.blockSummaries ? 1 : 0,
    p.blockTriesPerUpdate,
    p.maxAlignSummaries,
    p.summaryAfterTries,
    p.summaryTriesPerUpdate,
  );
  return { x, at };
}

/** The process's CPU time in ms (what a shared machine's other processes take is not in it). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * One replay of the program: CPU ms for the calls (init not counted), or wall ms with
 * INDEX_OPS_WALL=1. Throws at a wrong result.
 */
function runOnce(mod: WebAssembly.Module, pr: Program, label: string): number {
  const clock = process.env.INDEX_OPS_WALL ? () => performance.now() : cpuMs;
  const { x, at } = instance(mod, pr.maxno);
  const code = pr.code;
  const n = code.length;
  let bad = -1;
  const t0 = clock();
  for (let i = 0; i < n; i += 6) {
    let r: number;
    switch (code[i]) {
      case W_SET:
        r = x.set(code[i + 1]!, code[i + 2]!);
        break;
      case W_CLEAR:
        r = x.clear(code[i + 1]!, code[i + 2]!);
        break;
      case W_FIND:
        r = x.findArea(code[i + 1]!, code[i + 2]!, code[i + 3]!, code[i + 4]!);
        break;
      case W_WEIGHT:
        r = x.weight();
        break;
      case W_LZR:
        r = x.longestZeroRun();
        break;
      case W_NEXTSET:
        r = x.findNextSet(code[i + 1]!, code[i + 2]!);
        break;
      case W_NEXTCLEAR:
        r = alignUp(x.nextClear(code[i + 1]!) + code[i + 3]!, code[i + 2]!) - code[i + 3]!;
        break;
      default:
        r = code[i + 5]!;
    }
    if (r !== code[i + 5] && bad < 0) bad = i;
  }
  const ms = clock() - t0;
  const st = x as unknown as Record<string, { value: number }>;
  if (process.env.INDEX_OPS_STATS)
    console.log(
      Object.keys(st)
        .filter((k) => k.startsWith('st'))
        .map(
          (k) => `${k} ${typeof st[k] === 'function' ? (st[k] as unknown as () => number)() : st[k]!.value}`,
        )
        .join(', '),
    );
  if (process.env.INDEX_OPS_NOCHECK) return ms; // experiments that drop work on purpose
  if (bad >= 0) {
    const c = Array.from(code.subarray(bad, bad + 6));
    throw new Error(`${label}: call ${bad / 6} (${c.join(' ')}) returned another result than recorded`);
  }
  const words = new Uint32Array(x.memory.buffer, at, Math.ceil(pr.maxno / 32));
  if (sha(words) !== pr.words) throw new Error(`${label}: final words differ from the recording`);
  return ms;
}

/** Time per operation kind and size (log2 of bits), each call timed: includes the timer's overhead. */
function kinds(mod: WebAssembly.Module, pr: Program): Map<string, { n: number; ms: number }> {
  const { x } = instance(mod, pr.maxno);
  const code = pr.code;
  const acc = new Map<string, { n: number; ms: number }>();
  const kindName = ['', 'set', 'clear', 'find', 'weight', 'lzr', 'nextSet', 'nextClear', 'none'];
  for (let i = 0; i < code.length; i += 6) {
    const k = code[i]!;
    const t0 = performance.now();
    switch (k) {
      case W_SET:
        x.set(code[i + 1]!, code[i + 2]!);
        break;
      case W_CLEAR:
        x.clear(code[i + 1]!, code[i + 2]!);
        break;
      case W_FIND:
        x.findArea(code[i + 1]!, code[i + 2]!, code[i + 3]!, code[i + 4]!);
        break;
      case W_WEIGHT:
        x.weight();
        break;
      case W_LZR:
        x.longestZeroRun();
        break;
      case W_NEXTSET:
        x.findNextSet(code[i + 1]!, code[i + 2]!);
        break;
      case W_NEXTCLEAR:
        x.nextClear(code[i + 1]!);
        break;
    }
    const dt = performance.now() - t0;
    let key = kindName[k]!;
    if (k === W_SET || k === W_CLEAR) key += ` 2^${Math.floor(Math.log2(code[i + 2]!))}`;
    if (k === W_FIND) key += ` nr 2^${Math.floor(Math.log2(code[i + 2]!))} align ${code[i + 3]! + 1}`;
    const e = acc.get(key) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += dt;
    acc.set(key, e);
  }
  return acc;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

async function run(args: string[]): Promise<void> {
  const repeat = Number(flag(args, '--repeat') ?? '5');
  const ref = flag(args, '--ref') ?? 'main';
  const oldFile = flag(args, '--old');
  const newFile = flag(args, '--new');
  const byKind = args.includes('--kinds');
  const cold = args.includes('--cold');
  const ids = args.filter((a) => !a.startsWith('--'));
  const oldM = await moduleOf(oldFile !== undefined ? { file: oldFile } : { ref }, 'old');
  const newM = await moduleOf(newFile !== undefined ? { file: newFile } : {}, 'new');
  const env = process.env;
  policies.set(oldM, env.INDEX_OPS_POLICY_OLD ?? env.INDEX_OPS_POLICY ?? '{}');
  policies.set(newM, env.INDEX_OPS_POLICY_NEW ?? env.INDEX_OPS_POLICY ?? '{}');
  console.log(
    `old: ${oldFile ?? `${ref}:assembly/indexed-bitmap.ts`}, new: ${newFile ?? 'working tree'}; min of ${repeat}`,
  );
  let tOld = 0;
  let tNew = 0;
  for (const id of ids.length > 0 ? ids : DEFAULT_CASES) {
    const pr = program(id);
    const c = pr.counts;
    let bestOld = Number.POSITIVE_INFINITY;
    let bestNew = Number.POSITIVE_INFINITY;
    for (let k = 0; k < repeat; k++) {
      bestOld = Math.min(bestOld, cold ? once(oldM, id) : runOnce(oldM, pr, `${id} old`));
      bestNew = Math.min(bestNew, cold ? once(newM, id) : runOnce(newM, pr, `${id} new`));
    }
    tOld += bestOld;
    tNew += bestNew;
    console.log(
      `${id.padEnd(11)} ${pr.code.length / 6} calls (set ${c[W_SET]}, clear ${c[W_CLEAR]}, find ${c[W_FIND]}, ` +
        `other ${c[W_WEIGHT]! + c[W_LZR]! + c[W_NEXTSET]! + c[W_NEXTCLEAR]!}): ` +
        `old ${bestOld.toFixed(1)} ms, new ${bestNew.toFixed(1)} ms (${(bestNew / bestOld).toFixed(3)}×), results and words identical`,
    );
    if (byKind) {
      for (const [label, m] of [
        ['old', oldM],
        ['new', newM],
      ] as const) {
        const acc = kinds(m, pr);
        // the timer's own cost per call, measured on empty pairs
        let t = performance.now();
        const t0 = t;
        for (let i = 0; i < 200000; i++) t = performance.now() - t + t;
        const per = (performance.now() - t0) / 200000;
        const sum = (re: RegExp) => {
          let ms = 0;
          for (const [k, e] of acc) if (re.test(k)) ms += e.ms - e.n * per;
          return ms.toFixed(1);
        };
        console.log(
          `  ${label}: updates ${sum(/^(set|clear)/)} ms, finds ${sum(/^find/)} ms, other ${sum(/^(weight|lzr|next)/)} ms ` +
            `(less the timer, ${(per * 1e6).toFixed(0)} ns a call)`,
        );
        const rows = [...acc]
          .sort((p, q) => q[1].ms - p[1].ms)
          .slice(0, Number(process.env.INDEX_OPS_TOP ?? 14));
        console.log(`  ${label}: ${rows.map(([k, e]) => `${k}: ${e.n} ${e.ms.toFixed(1)}ms`).join('; ')}`);
      }
    }
  }
  console.log(`total: old ${tOld.toFixed(1)} ms, new ${tNew.toFixed(1)} ms (${(tNew / tOld).toFixed(3)}×)`);
}

/** One replay in a fresh process (the module compiled from scratch, as in a `cma-debug` run): CPU ms. */
function once(mod: WebAssembly.Module, id: string): number {
  const file = join(tmpdir(), `cma-index-ops-${process.pid}-${wireBytes.size}-${id}.wasm`);
  const bytes = wireBytes.get(mod);
  if (bytes === undefined) throw new Error('no wire bytes for a module');
  writeFileSync(file, bytes);
  try {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), 'once', id, file],
      {
        cwd: root,
        encoding: 'utf8',
        env: process.env,
      },
    );
    return Number(out.trim());
  } finally {
    rmSync(file, { force: true });
  }
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'once') {
  // internal (run --cold): one replay of CASE on F.wasm in this fresh process; prints CPU ms
  const [id, file] = rest as [string, string];
  const pr = program(id);
  console.log(runOnce(new WebAssembly.Module(readFileSync(file)), pr, `${id} ${file}`));
  process.exit(0);
}
if (cmd === 'record') await record(rest.length > 0 ? rest : DEFAULT_CASES);
else if (cmd === 'run') await run(rest);
else {
  console.error(
    'usage: bench/index-ops.ts record [CASE…] | run [CASE…] [--ref REF] [--old F] [--new F] [--repeat N] [--kinds] [--cold]',
  );
  process.exit(2);
}
