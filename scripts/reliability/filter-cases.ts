// Event filters compared with real kernels: random filter expressions written to the cma events'
// `filter` files (and the subsystem's), what each write returned, and what the files then read.
// The oracles ran the generated script (test/fixtures/tracefs-filters/README.md); the emulator,
// given the same writes through its file API as busybox's `echo -ne` makes them, must print the
// same thing.
//   node --import tsx scripts/reliability/filter-cases.ts script [--seed S] [--count N] > f.sh
//   node --import tsx scripts/reliability/filter-cases.ts check PROFILE ORACLE_OUTPUT [--seed S] [--count N]
//   (or --cases FILE.json instead of --seed/--count: a list of {"event", "text"} written as given)

import { readFileSync } from 'node:fs';
import { createSystem } from '../../src/core/create.ts';
import { STRERROR } from '../../src/core/errno.ts';
import { rng } from '../../test/bitmap-check.ts';

const T = '/sys/kernel/tracing';
const E = `${T}/events/cma`;
const EVENTS = ['cma_alloc_start', 'cma_alloc_finish', 'cma_release', 'cma_alloc_busy_retry'];

/** One write: the file (an event's, or '' for the subsystem's) and the exact bytes written. */
export interface FilterCase {
  readonly event: string;
  readonly text: string;
}

const FIELDS = [
  'name',
  'count',
  'count',
  'request_count',
  'align',
  'pfn',
  'pfn',
  'page',
  'errorno',
  'common_pid',
  'common_type',
  'common_flags',
  'common_preempt_count',
  'CPU',
  'cpu',
  'COMM',
  'comm',
  'common_cpu',
  'common_comm',
  'foo',
  'total_count',
  'available_count',
];
const OPS = ['==', '!=', '<', '<=', '>', '>=', '&', '~', '==', '>', '<', '=', '!', '=>', '<>', '=~', '&&'];
const NUMS = [
  '0',
  '1',
  '4',
  '8',
  '16',
  '100',
  '4096',
  '0x10',
  '0X1f',
  '-1',
  '010',
  '08',
  '1e3',
  '4abc',
  '99999999999999999999',
  '18446744073709551615',
  '126000',
  '0x1ec00',
];
const STRS = [
  '"reserved"',
  '"res*"',
  '"*erv*"',
  '"[rs]eserved"',
  '"reser?ed"',
  '"sh"',
  '"s*"',
  '"x',
  "'reserved'",
  'reserved',
  '""',
  '"a b"',
  '"*"',
  '"\\"q"',
];
const CONNECT = ['&&', '||'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function sp(r: () => number): string {
  const x = r();
  return x < 0.15 ? '' : x < 0.9 ? ' ' : '  ';
}

function pred(r: () => number): string {
  const field = pick(r, FIELDS);
  const strField = field === 'name' || field === 'COMM' || field === 'comm' || field === 'common_comm';
  const op = r() < 0.85 ? pick(r, strField ? ['==', '!=', '~', '==', '~'] : OPS.slice(0, 9)) : pick(r, OPS);
  const value = r() < 0.85 ? pick(r, strField ? STRS : NUMS) : pick(r, r() < 0.5 ? STRS : NUMS);
  const s1 = r() < 0.2 ? '' : ' ';
  return `${field}${s1}${op}${s1 === '' && r() < 0.5 ? '' : sp(r)}${value}`;
}

function term(r: () => number, depth: number): string {
  const not = r() < 0.12 ? `!${sp(r)}` : '';
  if (depth < 2 && r() < 0.25) return `${not}(${sp(r)}${expr(r, depth + 1)}${sp(r)})`;
  return `${not}${pred(r)}`;
}

function expr(r: () => number, depth: number): string {
  let s = term(r, depth);
  const n = Math.floor(r() * (depth === 0 ? 3 : 2));
  for (let i = 0; i < n; i++) s += `${sp(r) || ' '}${pick(r, CONNECT)}${sp(r) || ' '}${term(r, depth)}`;
  return s;
}

/** Breaks a well-formed expression a little: a character dropped, doubled or inserted. */
function mutate(r: () => number, s: string): string {
  const at = Math.floor(r() * (s.length + 1));
  const x = r();
  if (x < 0.35) return s.slice(0, at) + s.slice(at + 1);
  if (x < 0.55) return s.slice(0, at) + s.charAt(at) + s.slice(at);
  return (
    s.slice(0, at) + pick(r, ['(', ')', '!', '&', '|', '"', ' ', '=', '<', '~', '\t', 'x', '1']) + s.slice(at)
  );
}

/** The cases of a seed: mostly valid expressions, some broken, some `0`; a few subsystem writes. */
export function filterCases(seed: number, count: number): FilterCase[] {
  const r = rng(seed);
  const out: FilterCase[] = [];
  for (let i = 0; i < count; i++) {
    let text = r() < 0.06 ? pick(r, ['0', '', ' ', '0 ', '1', '!', '()', '( )']) : expr(r, 0);
    if (r() < 0.3) text = mutate(r, text);
    const lead = r() < 0.08 ? pick(r, [' ', '  ', '\t']) : '';
    const tail = pick(r, ['\n', '\n', '\n', '', ' \n', '\t\n', '\n\n']);
    const event = r() < 0.12 ? '' : pick(r, EVENTS);
    out.push({ event, text: lead + text + tail });
  }
  return out;
}

/** busybox `echo -ne` escapes for any byte string: octal for everything but safe characters. */
function echoEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/[A-Za-z0-9 _.*?:,()=<>!&|~[\]-]/.test(ch)) out += ch;
    else out += `\\0${ch.charCodeAt(0).toString(8).padStart(3, '0')}`;
  }
  return out;
}

const fileOf = (c: FilterCase) => (c.event === '' ? `${E}/filter` : `${E}/${c.event}/filter`);

/** The busybox script: each case written, its rc, then the file(s) it changed. */
export function filterScript(cases: readonly FilterCase[]): string {
  const lines = [`E=${E}`];
  cases.forEach((c, i) => {
    lines.push(`echo "@@ ${i}"`);
    lines.push(`echo -ne '${echoEscape(c.text)}' > ${fileOf(c).replace(E, '$E')}; echo "rc=$?"`);
    lines.push(`cat ${fileOf(c).replace(E, '$E')}`);
    if (c.event === '') for (const e of EVENTS) lines.push(`echo "- ${e}"; cat $E/${e}/filter`);
  });
  return `${lines.join('\n')}\n`;
}

/** What the script prints on the emulator (busybox's messages for a failed write). */
export function emulatedFilterOutput(profile: string, cases: readonly FilterCase[]): string {
  const sys = createSystem({ profile });
  const cat = (p: string) => {
    const r = sys.readFile(p);
    if (!r.ok) throw new Error(`${p}: ${r.errno}`);
    return r.text;
  };
  let out = '';
  cases.forEach((c, i) => {
    out += `@@ ${i}\n`;
    const w = sys.writeFile(fileOf(c), c.text);
    if (!w.ok) out += `sh: write error: ${STRERROR[w.errno]}\nrc=1\n`;
    else out += 'rc=0\n';
    out += cat(fileOf(c));
    if (c.event === '') for (const e of EVENTS) out += `- ${e}\n${cat(`${E}/${e}/filter`)}`;
  });
  return out;
}

/**
 * A program of filter writes and allocations for the records test (one command a line: `F EVENT
 * EXPR` sets a filter, EVENT `cma` the subsystem's; `A N` allocates N pages, `R N` frees the
 * oldest allocation of N, `P` prints the trace and clears it). Its filters are mostly valid, so
 * that what they let through is what is compared.
 */
export function recordProgram(seed: number, rounds: number): string[] {
  const r = rng(seed);
  const num = () => pick(r, ['1', '2', '3', '4', '5', '8', '16', '0x10', '010', '0', '100']);
  const preds = [
    () => `count ${pick(r, ['==', '!=', '<', '<=', '>', '>='])} ${num()}`,
    () => `request_count ${pick(r, ['>', '<', '=='])} ${num()}`,
    () => `pfn & ${pick(r, ['1', '2', '4', '0x10', '0x1ec01', '0xff'])}`,
    () => `pfn ${pick(r, ['<', '>', '>=', '!='])} ${pick(r, ['126000', '0x1ec10', '0x1ec40', '0'])}`,
    () => `align ${pick(r, ['==', '!='])} 0`,
    () =>
      `name ${pick(r, ['==', '!=', '~'])} ${pick(r, ['"reserved"', '"res*"', '"*ved"', '"*x*"', '"[rs]e*"', '"?eserved"', '""', '"*"'])}`,
    () => `${pick(r, ['COMM', 'comm'])} ${pick(r, ['==', '!=', '~'])} ${pick(r, ['"sh"', '"s*"', '"x"'])}`,
    () => `${pick(r, ['CPU', 'cpu', 'common_cpu'])} ${pick(r, ['==', '!='])} ${pick(r, ['0', '1', '-1'])}`,
    () => `common_pid ${pick(r, ['>', '<', '!='])} ${pick(r, ['0', '-1', '1', '100000', '4294967296'])}`,
    () => `page ${pick(r, ['>', '==', '&'])} ${pick(r, ['0', '1'])}`,
    () => `errorno ${pick(r, ['==', '!=', '<'])} ${pick(r, ['0', '-12', '-16'])}`,
    () => `available_count ${pick(r, ['<', '>'])} ${pick(r, ['4000', '4090'])}`,
    () => `common_type ${pick(r, ['>', '<'])} ${pick(r, ['200', '260'])}`,
    () => `common_flags ${pick(r, ['==', '!='])} 0`,
  ];
  const term = (depth: number): string => {
    const not = r() < 0.15 ? '!' : '';
    if (depth < 1 && r() < 0.2) return `${not}(${expr(depth + 1)})`;
    return `${not}${pick(r, preds)()}`;
  };
  const expr = (depth: number): string => {
    let x = term(depth);
    for (let i = Math.floor(r() * 3); i > 0; i--) x += ` ${pick(r, CONNECT)} ${term(depth)}`;
    return x;
  };
  const lines: string[] = [];
  for (let k = 0; k < rounds; k++) {
    const writes = 1 + Math.floor(r() * 2);
    for (let w = 0; w < writes; w++) {
      const ev =
        r() < 0.15
          ? 'cma'
          : pick(r, ['cma_alloc_start', 'cma_alloc_finish', 'cma_alloc_finish', 'cma_release']);
      lines.push(`F ${ev} ${r() < 0.1 ? '0' : r() < 0.08 ? mutate(r, expr(0)) : expr(0)}`);
    }
    for (let i = 3 + Math.floor(r() * 6); i > 0; i--) {
      const x = r();
      lines.push(x < 0.6 ? `A ${pick(r, ['1', '2', '3', '4', '5', '8', '16'])}` : x < 0.9 ? 'R' : 'A 99999');
    }
    lines.push('P');
  }
  return lines;
}

/** The busybox script that runs a record program on the kernel. */
export function recordScript(program: readonly string[]): string {
  return `T=${T}
E=${E}
D=/sys/kernel/debug/cma/reserved
echo counter > $T/trace_clock
echo 1 > $E/enable
held=""
while IFS= read -r line; do
  op=\${line%% *}; arg=\${line#* }
  case $op in
    F) ev=\${arg%% *}; ex=\${arg#* }
       f=$E/$ev/filter; [ "$ev" = cma ] && f=$E/filter
       echo "$ex" > $f; echo "F rc=$?";;
    A) if echo $arg > $D/alloc 2>/dev/null; then held="$held $arg"; fi;;
    R) set -- $held; if [ $# -gt 0 ]; then echo $1 > $D/free; shift; held="$*"; fi;;
    P) grep -v '^#' $T/trace; echo > $T/trace; echo "--";;
  esac
done <<'PROGRAM'
${program.join('\n')}
PROGRAM
`;
}

/** Trace lines with the flags column's need-resched bit (set by the timer tick: N, l) as '.'. */
export function withoutTick(text: string): string {
  return text.replace(/^(\s+\S+-\d+\s+\[\d{3}\] .)[Nnlp]/gm, '$1.');
}

/** What a record program prints on the emulator, the shell's pid being `pid`. */
export function emulatedRecords(profile: string, program: readonly string[], pid: number): string {
  const sys = createSystem({ profile });
  const task = { comm: 'sh', pid };
  const D = '/sys/kernel/debug/cma/reserved';
  const write = (path: string, text: string) => sys.writeFile(path, text, task);
  write(`${T}/trace_clock`, 'counter\n');
  write(`${E}/enable`, '1\n');
  let held: string[] = [];
  let out = '';
  for (const line of program) {
    const [op, ...rest] = line.split(' ');
    const argText = rest.join(' ');
    if (op === 'F') {
      const ev = rest[0]!;
      const w = write(ev === 'cma' ? `${E}/filter` : `${E}/${ev}/filter`, `${rest.slice(1).join(' ')}\n`);
      out += w.ok ? 'F rc=0\n' : `sh: write error: ${STRERROR[w.errno]}\nF rc=1\n`;
    } else if (op === 'A') {
      if (write(`${D}/alloc`, `${argText}\n`).ok) held.push(argText);
    } else if (op === 'R') {
      const n = held[0];
      if (n !== undefined) {
        const w = write(`${D}/free`, `${n}\n`);
        if (!w.ok) out += `sh: write error: ${STRERROR[w.errno]}\n`;
        held = held.slice(1);
      }
    } else if (op === 'P') {
      const r = sys.readFile(`${T}/trace`, task);
      if (!r.ok) throw new Error(`trace: ${r.errno}`);
      out += r.text
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => `${l}\n`)
        .join('');
      write(`${T}/trace`, '\n');
      out += '--\n';
    }
  }
  return out;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cmd = process.argv[2];
  const file = process.argv.indexOf('--cases');
  const cases: FilterCase[] =
    file >= 0
      ? JSON.parse(readFileSync(process.argv[file + 1]!, 'utf8'))
      : filterCases(arg('--seed', 1), arg('--count', 300));
  if (cmd === 'script') process.stdout.write(filterScript(cases));
  else if (cmd === 'records')
    process.stdout.write(recordScript(recordProgram(arg('--seed', 1), arg('--count', 40))));
  else if (cmd === 'check') {
    const profile = process.argv[3]!;
    const oracle = readFileSync(process.argv[4]!, 'utf8').replace(/^oracle: .*\n?/m, '');
    const ours = emulatedFilterOutput(profile, cases);
    const a = oracle.split(/^(?=@@ \d+$)/m);
    const b = ours.split(/^(?=@@ \d+$)/m);
    let bad = 0;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] === b[i]) continue;
      bad++;
      if (bad <= 12) {
        const n = Number(/@@ (\d+)/.exec(a[i] ?? b[i] ?? '')?.[1] ?? -1);
        process.stdout.write(`--- case ${n} ${JSON.stringify(cases[n])}\n[kernel]\n${a[i]}[ours]\n${b[i]}`);
      }
    }
    process.stdout.write(`${a.length - bad}/${a.length} identical\n`);
    process.exitCode = bad === 0 ? 0 : 1;
  } else if (cmd === 'check-records') {
    const profile = process.argv[3]!;
    const oracle = readFileSync(process.argv[4]!, 'utf8').replace(/^oracle: .*\n?/m, '');
    const pid = Number(/^\s+sh-(\d+)/m.exec(oracle)?.[1] ?? 1);
    const ours = emulatedRecords(profile, recordProgram(arg('--seed', 1), arg('--count', 40)), pid);
    const a = withoutTick(oracle).split('\n');
    const b = withoutTick(ours).split('\n');
    const at = a.findIndex((l, i) => l !== b[i]);
    if (at < 0) process.stdout.write(`identical (${a.length} lines)\n`);
    else {
      process.stdout.write(
        `first difference at line ${at + 1}:\n[kernel] ${a.slice(Math.max(0, at - 3), at + 3).join('\n[kernel] ')}\n[ours]   ${b.slice(Math.max(0, at - 3), at + 3).join('\n[ours]   ')}\n`,
      );
      process.exitCode = 1;
    }
  } else {
    process.stderr.write('usage: filter-cases.ts script|check …\n');
    process.exitCode = 2;
  }
}
