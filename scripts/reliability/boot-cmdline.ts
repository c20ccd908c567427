// Boot command lines compared with real kernels: which CMA areas a `cma=` / `hugetlb_cma=` /
// `memmap=` line gives on a machine of some RAM, where they go (7.3: in which ranges, in which
// order), what the boot log says, and how many 1 GiB pages `nr_hugepages` then finds. The
// oracles ran PROBE (test/fixtures/ram-placement/cmdline/probe.sh) for each case; the emulator,
// booted with the same `--cmdline` and `--mem`, must print the same thing.
//   node --import tsx scripts/reliability/boot-cmdline.ts cases [--seed S] [--count N] > cases.txt
//   (run each case line `KERNEL|MEM|CMDLINE` on its oracle: test/fixtures/ram-placement/cmdline/README.md)
//   node --import tsx scripts/reliability/boot-cmdline.ts merge OUT FILE...  (oracle outputs → fixture)
//   node --import tsx scripts/reliability/boot-cmdline.ts check FILE...   (oracle sections)

import { readFileSync, writeFileSync } from 'node:fs';
import { createSystem } from '../../src/core/create.ts';
import type { CmaSystem } from '../../src/core/system.ts';
// mulberry32, the generator the recorded cases (seeds 1-4) came from
import { rng } from '../../test/bitmap-check.ts';

/** The words every oracle run.sh puts before the extra command line. */
export const ORACLE_CMDLINE = 'console=ttyS0 cma=16M tsc_early_khz=2600000 tsc=reliable';

const D = '/sys/kernel/debug/cma';
const NR_HUGEPAGES = '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages';

/** One oracle boot: kernel profile, qemu -m and the extra command line. */
export interface BootCase {
  readonly profile: '6.1' | '6.12' | '7.3';
  readonly mem: string;
  readonly extra: string;
}

/** A section header of the fixtures: `### 7.3 12G hugetlb_cma=5G memmap=64M$0x1e0000000`. */
export function caseHeader(c: BootCase): string {
  return `### ${c.profile} ${c.mem} ${c.extra}`;
}

function read(sys: CmaSystem, path: string): string {
  const r = sys.readFile(path);
  if (!r.ok) throw new Error(`${path}: ${r.errno}`);
  return r.text;
}

/** What probe.sh prints on the emulator booted as `c` (the oracle's own words first). */
export function emulatedProbe(c: BootCase): string {
  const cmdline = `${ORACLE_CMDLINE} ${c.extra}`.trim();
  const sys = createSystem({ profile: c.profile, mem: c.mem, cmdline });
  const out: string[] = [cmdline];
  const names = sys.readdir(D);
  for (const a of names.ok ? [...names.names].sort() : []) {
    const v = (f: string) => read(sys, `${D}/${a}/${f}`).trim();
    out.push(`${a} base_pfn=${v('base_pfn')} count=${v('count')} order_per_bit=${v('order_per_bit')}`);
    const ranges = sys.readdir(`${D}/${a}/ranges`);
    if (!ranges.ok) continue;
    for (const r of [...ranges.names].sort()) {
      const words = read(sys, `${D}/${a}/ranges/${r}/bitmap`).trim().split(/\s+/).filter(Boolean).length;
      out.push(`  range ${r} base_pfn=${read(sys, `${D}/${a}/ranges/${r}/base_pfn`).trim()} words=${words}`);
    }
  }
  out.push(
    ...sys
      .procFile('meminfo')
      .split('\n')
      .filter((l) => l.startsWith('CmaTotal')),
  );
  out.push(
    ...sys
      .dmesg()
      .split('\n')
      .filter((l) => /^(cma|hugetlb_cma): /.test(l)),
  );
  const w = sys.writeFile(NR_HUGEPAGES, '64\n');
  if (w.ok || sys.stat(NR_HUGEPAGES).ok) out.push(`nr_hugepages=${read(sys, NR_HUGEPAGES).trim()}`);
  return `${out.join('\n')}\n`;
}

/** The sections of an oracle output file: header → what the guest printed (run.sh's own line cut). */
export function oracleSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(/^(?=### )/m)) {
    if (!part.startsWith('### ')) continue;
    const nl = part.indexOf('\n');
    const body = part
      .slice(nl + 1)
      .replace(/oracle: script exit status[^\n]*\n?/, '')
      .replace(/\n*$/, '\n');
    out.set(part.slice(0, nl), body);
  }
  return out;
}

/** The case a section header names. */
export function parseHeader(header: string): BootCase {
  const m = /^### (6\.1|6\.12|7\.3) (\S+) ?(.*)$/.exec(header);
  if (!m) throw new Error(`not a case header: ${header}`);
  return { profile: m[1] as BootCase['profile'], mem: m[2]!, extra: m[3]! };
}

/**
 * Random boots: RAM from 3 to 20 GiB, hugetlb_cma in GiB (sometimes in MiB, as a percentage or
 * for node 0), 0-6 memmap holes of 2-512 MiB at 2 MiB-aligned addresses above 4 GiB (sometimes
 * below), sometimes a cma= of another size or at a base.
 */
export function randomCases(seed: number, count: number): BootCase[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: BootCase[] = [];
  for (let i = 0; i < count; i++) {
    const profile = pick(['6.1', '6.12', '7.3'] as const);
    const memG = 3 + Math.floor(r() * 18);
    const words: string[] = [];
    if (r() < 0.3)
      words.push(
        `cma=${pick(['8M', '17M', '32M', '64M', '128M', '16M@1G', '32M@5G', '16M@0x100200000', '64M@256M-1G', '16M@3G', '8M@4G-6G', '0'])}`,
      );
    const hg = 1 + Math.floor(r() * Math.max(1, memG - 3));
    const h = r();
    words.push(
      h < 0.6
        ? `hugetlb_cma=${hg}G`
        : h < 0.7
          ? `hugetlb_cma=${hg * 1024 + pick([0, 512])}M`
          : h < 0.85
            ? `hugetlb_cma=${pick([10, 20, 25, 33, 50])}%`
            : `hugetlb_cma=0:${hg}G`,
    );
    const holes = Math.floor(r() * 7);
    for (let k = 0; k < holes; k++) {
      const low = r() < 0.15;
      const lo = low ? 512 : 4096;
      const hi = low ? 3072 : 4096 + (memG - 3) * 1024;
      const at = (lo + Math.floor((r() * (hi - lo)) / 2) * 2) * 2 ** 20;
      words.push(`memmap=${pick([2, 16, 64, 64, 256, 512])}M$0x${at.toString(16)}`);
    }
    out.push({ profile, mem: `${memG}G`, extra: words.join(' ') });
  }
  return out;
}

/** Compares oracle sections with the emulator; returns the differing headers with both texts. */
export function checkSections(text: string): { header: string; kernel: string; emulator: string }[] {
  const bad: { header: string; kernel: string; emulator: string }[] = [];
  for (const [header, kernel] of oracleSections(text)) {
    let emulator: string;
    try {
      emulator = emulatedProbe(parseHeader(header));
    } catch (e) {
      emulator = `error: ${(e as Error).message}\n`;
    }
    if (emulator !== kernel) bad.push({ header, kernel, emulator });
  }
  return bad;
}

function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  const opt = (k: string, d: number) => {
    const i = rest.indexOf(k);
    return i >= 0 ? Number(rest[i + 1]) : d;
  };
  if (cmd === 'cases') {
    for (const c of randomCases(opt('--seed', 1), opt('--count', 40)))
      process.stdout.write(`${c.profile}|${c.mem}|${c.extra}\n`);
    return;
  }
  if (cmd === 'merge') {
    // the fixture: every section of FILES (oracle outputs), the last one of a header kept, run.sh's
    // own line cut; a boot whose script did not finish (a kernel panic, a timeout) is left out
    const [out, ...files] = rest;
    const all = new Map<string, string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const finished = new Set(
        text
          .split(/^(?=### )/m)
          .filter((p) => p.includes('oracle: script exit status 0'))
          .map((p) => p.slice(0, p.indexOf('\n'))),
      );
      for (const [h, b] of oracleSections(text)) if (finished.has(h)) all.set(h, b);
    }
    writeFileSync(out!, [...all].map(([h, b]) => `${h}\n${b}`).join(''));
    process.stdout.write(`${all.size} boots in ${out}\n`);
    return;
  }
  if (cmd === 'check') {
    let failed = 0;
    let total = 0;
    for (const f of rest) {
      const text = readFileSync(f, 'utf8');
      total += oracleSections(text).size;
      for (const b of checkSections(text)) {
        failed++;
        process.stdout.write(`${b.header}\n--- kernel\n${b.kernel}--- emulator\n${b.emulator}\n`);
      }
    }
    process.stdout.write(`${total - failed}/${total} boots identical\n`);
    process.exitCode = failed > 0 ? 1 : 0;
    return;
  }
  process.stderr.write(
    'usage: boot-cmdline.ts cases [--seed S] [--count N] | merge OUT FILE... | check FILE...\n',
  );
  process.exitCode = 2;
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
