// Replays the transcripts of the golden scripts (basic.sh, trace.sh) against the library and
// returns what the emulator would have printed, line for line, so a test can compare it with the
// real kernel's output. Lines the kernel prints from /proc or uname are copied through and
// listed in `skipped` (they are not the CMA interface).

import type { CmaSystem } from '../../src/core/system.ts';
import { O_RDONLY } from '../../src/core/vfs.ts';
import { runCommand } from '../../src/frontends/shell/mini-shell.ts';

const D = '/sys/kernel/debug/cma';
const S = '/sys/kernel/mm/cma';
const T = '/sys/kernel/tracing';

/** The outcome of a replay: our text for every line, and the golden lines we did not check. */
export interface Replay {
  readonly expected: string[];
  readonly actual: string[];
  readonly skipped: string[];
}

/** `$(cat FILE)`: the file's text without trailing newlines (command substitution strips them). */
function catSubst(sys: CmaSystem, path: string): string {
  const r = sys.readFile(path);
  return r.ok ? r.text.replace(/\n+$/, '') : '';
}

function modeString(mode: number, type: string): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : '-';
  const rwx = (m: number) => `${m & 4 ? 'r' : '-'}${m & 2 ? 'w' : '-'}${m & 1 ? 'x' : '-'}`;
  return t + rwx(mode >> 6) + rwx((mode >> 3) & 7) + rwx(mode & 7);
}

/** dmesg | grep -E 'cma: |hugetlb_cma: ' */
function grepDmesg(sys: CmaSystem): string[] {
  return sys
    .dmesg()
    .split('\n')
    .filter((l) => /cma: |hugetlb_cma: /.test(l));
}

/**
 * Replays a basic.sh or trace.sh transcript. Each golden line is matched by its shape and the
 * corresponding emulator output is produced; a line of unknown shape fails the replay.
 */
export function replayTranscript(sys: CmaSystem, golden: string): Replay {
  const lines = golden.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const actual: string[] = [];
  const skipped: string[] = [];
  let pid = 100;
  let heldBitmap: number | null = null;
  let i = 0;
  const emitLines = (text: string) => {
    const out = text.split('\n');
    if (out.at(-1) === '') out.pop();
    actual.push(...out);
  };
  const copyThrough = (line: string) => {
    skipped.push(line);
    actual.push(line);
  };
  // the number of golden lines the current block spans, for blocks we regenerate whole
  const until = (pred: (l: string) => boolean) => {
    let j = i + 1;
    while (j < lines.length && !pred(lines[j]!)) j++;
    return j;
  };
  let last = -1;
  while (i < lines.length) {
    if (i === last) throw new Error(`transcript replay stuck at line ${i + 1}`);
    last = i;
    const line = lines[i]!;
    let m: RegExpExecArray = [] as unknown as RegExpExecArray;
    const is = (re: RegExp): boolean => {
      const r = re.exec(line);
      if (r) m = r;
      return r !== null;
    };
    if (line.startsWith('$ ')) {
      const cmd = line.slice(2);
      actual.push(line);
      const r = runCommand(sys, cmd, { comm: 'sh', pid: pid++ });
      emitLines(r.output);
      actual.push(`rc=${r.status}`);
      i = until((l) => l.startsWith('rc=')) + 1;
      continue;
    }
    if (line === '== kernel') {
      actual.push(line);
      i++;
      while (i < lines.length && !lines[i]!.startsWith('==')) copyThrough(lines[i++]!);
      continue;
    }
    if (is(/^== ls (\S+)$/)) {
      actual.push(line);
      const names = sys.readdir(m[1]!);
      if (names.ok) actual.push(...[...names.names].sort());
      i = until((l) => l.startsWith('==') || l.startsWith('  '));
      if (m[1] === S && names.ok) {
        for (const a of [...names.names].sort()) {
          const files = sys.readdir(`${S}/${a}`);
          actual.push(
            `  ${a}: ${
              files.ok
                ? [...files.names]
                    .sort()
                    .map((f) => `${f} `)
                    .join('')
                : ''
            }`,
          );
        }
        i = until((l) => l.startsWith('=='));
      }
      continue;
    }
    if (line === `== ls -l ${D}/<first area>`) {
      actual.push(line);
      const first = sys.readdir(D);
      const area = first.ok ? [...first.names].sort()[0] : undefined;
      const files = area ? sys.readdir(`${D}/${area}`) : undefined;
      for (const f of files?.ok ? [...files.names].sort() : []) {
        const st = sys.stat(`${D}/${area}/${f}`, false);
        if (st.ok && (st.stat.type === 'file' || st.stat.type === 'dir'))
          actual.push(`${modeString(st.stat.mode, st.stat.type)} ${f}`);
      }
      i = until((l) => l.startsWith('=='));
      continue;
    }
    if (
      line === '== /proc/meminfo Cma*' ||
      /^CmaTotal:/.test(line) ||
      /^CmaFree:/.test(line) ||
      /^nr_free_cma /.test(line)
    ) {
      if (line.startsWith('==')) actual.push(line);
      else copyThrough(line);
      i++;
      continue;
    }
    if (is(/^(cma_alloc_success|cma_alloc_fail) \d+$/)) {
      actual.push(`${m[1]} ${sys.vmstat[m[1] as 'cma_alloc_success']}`);
      i++;
      continue;
    }
    if (!line.startsWith(`  ${S}`) && is(/^ {2}(\S+?)\/(\w+): /)) {
      actual.push(`  ${m[1]}/${m[2]}: ${catSubst(sys, `${D}/${m[1]}/${m[2]}`)}`);
      i++;
      continue;
    }
    if (is(/^ {2}(\/sys\/kernel\/mm\/cma\/\S+): /)) {
      actual.push(`  ${m[1]}: ${catSubst(sys, m[1]!)}`);
      i++;
      continue;
    }
    if (is(/^ {2}\(no (\S+)\)$/)) {
      actual.push(sys.stat(m[1]!).ok ? '  (present)' : line);
      i++;
      continue;
    }
    if (line === '--- bitmap text is built when the file is opened') {
      actual.push(line);
      const area = lines[i + 1]!.match(/cma\/(\S+)\/alloc/)![1]!;
      const o = sys.open(`${D}/${area}/bitmap`, O_RDONLY);
      heldBitmap = o.ok ? o.fh : null;
      i++;
      continue;
    }
    if (is(/^ {2}(fd opened before the alloc|opened after the alloc): {1,5}/)) {
      const label = m[0];
      let text = '';
      const area =
        golden.slice(0, golden.indexOf(line)).match(/cma\/(\S+)\/alloc\n[^$]*$/)?.[1] ?? 'reserved';
      if (m[1] === 'fd opened before the alloc' && heldBitmap !== null) {
        const r = sys.read(heldBitmap, 1 << 20);
        text = r.ok ? new TextDecoder().decode(r.data) : '';
        sys.close(heldBitmap);
        heldBitmap = null;
      } else text = catSubst(sys, `${D}/${area}/bitmap`);
      actual.push(label + text.replace(/\n+$/, '').split(' ').slice(0, 4).join(' '));
      i++;
      continue;
    }
    if (line.startsWith("== dmesg | grep -E 'cma: |hugetlb_cma: '")) {
      actual.push(line, ...grepDmesg(sys));
      i = lines.length;
      continue;
    }
    // ---- trace.sh ----
    if (is(/^== (\/sys\/kernel\/tracing\/events\/cma\/\w+\/)format$/)) {
      actual.push(line);
      emitLines(catSubst(sys, `${m[1]}format`));
      i = until((l) => l.startsWith('=='));
      continue;
    }
    if (line === '== trace_clock' || line === '== current_tracer') {
      actual.push(line, catSubst(sys, `${T}/${line.slice(3)}`));
      i += 2;
      continue;
    }
    if (line === '######## default trace_clock (local)') {
      actual.push(line);
      sys.writeFile(`${T}/trace`, '\n');
      sys.writeFile(`${T}/events/cma/enable`, '1\n');
      i++;
      continue;
    }
    if (line === '######## trace_clock counter (deterministic timestamps)') {
      actual.push(line);
      sys.writeFile(`${T}/trace_clock`, 'counter\n');
      sys.writeFile(`${T}/trace`, '\n');
      sys.writeFile(`${T}/events/cma/enable`, '1\n');
      i++;
      continue;
    }
    if (line === `== cat ${T}/trace`) {
      sys.writeFile(`${T}/events/cma/enable`, '0\n');
      actual.push(line);
      const trace = sys.readFile(`${T}/trace`);
      if (trace.ok) emitLines(trace.text);
      i = until((l) => l === '' || l.startsWith('########'));
      continue;
    }
    if (is(/^== base_pfn of (\S+): /)) {
      const b = catSubst(sys, `${D}/${m[1]}/base_pfn`);
      actual.push(`== base_pfn of ${m[1]}: ${b} (0x${Number(b).toString(16)})`);
      i++;
      continue;
    }
    if (
      line === '' ||
      line.startsWith('---') ||
      line.startsWith('=====') ||
      /^== (final|area|\/proc\/vmstat)/.test(line)
    ) {
      actual.push(line);
      i++;
      continue;
    }
    throw new Error(`transcript line ${i + 1} has an unknown shape: ${JSON.stringify(line)}`);
  }
  return { expected: lines, actual, skipped };
}

/** The oracle README's normalisation of trace lines: PID, flags and timestamp masked. */
export function normaliseTrace(line: string): string {
  return line.replace(/^( *sh)-[0-9]+ +(\[[0-9]+\]) [^ ]+ +[0-9.]+:/, '$1-PID $2 FLAGS TS:');
}

/** Masks only the PID and flags (counter-clock timestamps are deterministic). */
export function normalisePid(line: string): string {
  return line.replace(/^( *sh)-[0-9]+ +(\[[0-9]+\]) [^ ]+ /, '$1-PID $2 FLAGS ');
}
