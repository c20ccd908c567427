// `npm run bench:formats`: the same gen-trace workload (gpu-1g: 1M events) as ftrace text,
// trace-cmd trace.dat (v6, 4 CPUs) and a Perfetto trace (4 CPUs), each replayed by the CLI in
// its own process (`cma-debug replay FILE --area … --json -q`); prints the fastest wall time of
// --repeat runs per format and checks that the final bitmaps are identical. Never part of npm test.
//
//   npm run bench:formats [-- --events N] [--repeat N] [--perf-ref DIR]

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSource } from '../src/sources/trace/input.ts';
import { readTraceEvents } from '../src/sources/trace/read-events.ts';
import { writePerfettoBench } from './write-perfetto.ts';
import { writeTraceDat } from './write-trace-dat.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const events = Number(opt('--events', '1000000'));
const repeat = Number(opt('--repeat', '3'));
const perfRef = resolve(
  opt(
    '--perf-ref',
    [join(root, '../shared/perf-ref'), join(root, '../../shared/perf-ref')].find(existsSync) ?? '',
  ),
);
const dir = join(root, '.bench', 'formats');
mkdirSync(dir, { recursive: true });
const text = join(dir, `gpu-${events}.trace`);
const area = 'name=reserved,base_pfn=0x80000,count=262144';

if (!existsSync(text)) {
  const g = spawnSync(
    join(perfRef, 'gen-trace'),
    [
      '--workload',
      'gpu',
      '--seed',
      '1',
      '--events',
      String(events),
      '--base-pfn',
      '0x80000',
      '--count',
      '262144',
      '--fill',
      '0.8',
      '--cpus',
      '4',
      '-o',
      text,
      '-q',
    ],
    { stdio: 'inherit' },
  );
  if (g.status !== 0) throw new Error('gen-trace failed');
}
const each = (onEvent: Parameters<typeof readTraceEvents>[1]) =>
  readTraceEvents(fileSource(text), onEvent).then(() => undefined);
const dat = join(dir, `gpu-${events}.dat`);
const pf = join(dir, `gpu-${events}.pftrace`);
if (!existsSync(dat)) await writeTraceDat(dat, each, { cpus: 4, release: '6.1.192' });
if (!existsSync(pf)) await writePerfettoBench(pf, each, { cpus: 4, release: '6.1.192' });

const rows: {
  format: string;
  file: string;
  bytes: number;
  ms: number;
  sha: string;
  events: number;
  mismatches: number;
}[] = [];
for (const [format, file] of [
  ['text', text],
  ['trace.dat', dat],
  ['perfetto', pf],
] as const) {
  let best = Number.POSITIVE_INFINITY;
  let out: { events: number; mismatches: number; areas: { bitmapSha256: string }[] } | null = null;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [join(root, 'bin/cma-debug.js'), 'replay', file, '--area', area, '--json', '-q'],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      },
    );
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`replay of ${file} failed: ${r.stderr}`);
    out = JSON.parse(r.stdout);
    best = Math.min(best, ms);
  }
  rows.push({
    format,
    file,
    bytes: statSync(file).size,
    ms: best,
    sha: out!.areas[0]!.bitmapSha256,
    events: out!.events,
    mismatches: out!.mismatches,
  });
}
const base = rows[0]!.ms;
process.stdout.write(
  '| format | bytes | events | mismatches | replay (whole CLI process, ms, min of ' +
    repeat +
    ') | × text | bitmap sha256 |\n|---|---|---|---|---|---|---|\n',
);
for (const r of rows)
  process.stdout.write(
    `| ${r.format} | ${r.bytes} | ${r.events} | ${r.mismatches} | ${r.ms.toFixed(0)} | ${(r.ms / base).toFixed(2)} | ${r.sha.slice(0, 16)}… |\n`,
  );
const same = rows.every((r) => r.sha === rows[0]!.sha && r.events === rows[0]!.events);
process.stdout.write(same ? 'same final bitmap and events in every format\n' : 'FORMATS DISAGREE\n');
if (!same) process.exitCode = 1;
