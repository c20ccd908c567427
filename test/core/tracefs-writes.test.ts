// tracefs writes against the real kernels (test/fixtures/tracefs-writes/, README there):
// set_event (words, `!`, globs, NULs, errors, O_TRUNC against append), trace_marker (print entries,
// NULs, newlines, the most one write takes, EBADF with tracing off) and the counter clock's skips
// when a record starts a new ring-buffer page. Each script is played on the emulator through its
// file API as busybox sh does it (`>` truncates, `>>` appends, a short write goes on with the rest).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
// the flags column's need-resched (6.1 `N`, 7.3 lazy `l`) shows when the tick set it: not reproducible
import { withoutTick } from '../../scripts/reliability/filter-cases.ts';
import { createSystem } from '../../src/core/create.ts';
import { STRERROR } from '../../src/core/errno.ts';
import type { CmaSystem } from '../../src/core/system.ts';

const DIR = join(import.meta.dirname, '../fixtures/tracefs-writes');
const T = 'kernel/tracing';
const D = 'kernel/debug/cma/reserved';
const PROFILES = ['6.1', '6.12', '7.3'] as const;

/** busybox `echo -ne` of a script's argument: the escapes \n, \t, \0 become bytes. */
function echoBytes(s: string): Uint8Array {
  return new TextEncoder().encode(
    s.replace(/\\([nt0])/g, (_, c: string) => ({ n: '\n', t: '\t', 0: '\0' })[c]!),
  );
}

/** A redirection of sh: open (`>` truncates, `>>` appends), full_write, close; the error line or ''. */
function redirect(sys: CmaSystem, path: string, data: Uint8Array, append: boolean, pid: number): string {
  const task = { comm: 'sh', pid };
  const o = sys.open(path, append ? 0o2101 : 0o1101, task);
  assert.ok(o.ok, path);
  let err = '';
  for (let off = 0; off < data.length; ) {
    const r = sys.write(o.fh, data.subarray(off), undefined, task);
    if (!r.ok) {
      err = `sh: write error: ${STRERROR[r.errno]}\n`;
      break;
    }
    off += r.written;
  }
  sys.close(o.fh);
  return err;
}

function read(sys: CmaSystem, path: string): string {
  const r = sys.readFile(path);
  assert.ok(r.ok, path);
  return r.text;
}

/** The trace's pid of the oracle's shell (the first trace line's). */
function pidOf(text: string): number {
  return Number(/^\s+sh-(\d+)/m.exec(text)?.[1] ?? 1);
}

/** ev2.sh on the emulator: the same transcript. */
function setEventAndMarker(profile: string, pid: number): string {
  const sys = createSystem({ profile });
  let out = '';
  const w = (file: string, arg: string, append = false) => {
    const err = redirect(sys, `${T}/${file}`, echoBytes(arg), append, pid);
    out += `${err}${append ? 'append' : 'write'} '${arg}' rc=${err ? 1 : 0}\n`;
  };
  const se = () => {
    const lines = read(sys, `${T}/set_event`)
      .split('\n')
      .filter(Boolean)
      .map((l) => `${l} `)
      .join('');
    out += `-- set_event: ${lines}| enable ${read(sys, `${T}/events/cma/enable`).trim()}\n`;
  };
  redirect(sys, `${T}/trace_clock`, echoBytes('counter\n'), false, pid);
  const script = readFileSync(join(DIR, 'ev2.sh'), 'utf8');
  for (const line of script.split('\n')) {
    const m = /^(w|a) \$T\/(\S+) (?:'(.*)'|"\$\(printf '(\w)%\.0s' \$\(seq 1 (\d+)\)\)")(; se)?$/.exec(line);
    if (m) {
      const arg = m[3] ?? m[4]!.repeat(Number(m[5]));
      w(m[2]!, arg, m[1] === 'a');
      if (m[6]) se();
      continue;
    }
    const echo = /^echo (\S*) > \$T\/(\S+)(; se)?$/.exec(line);
    if (echo) {
      redirect(sys, `${T}/${echo[2]}`, echoBytes(`${echo[1]}\n`), false, pid);
      if (echo[3]) se();
      continue;
    }
    if (line.startsWith('cat $T/trace | sed 1,11d | cut')) {
      const body = read(sys, `${T}/trace`).split('\n').slice(11, -1);
      out += body.map((l) => `${l.slice(0, 200)}\n`).join('');
      out += body.map((l) => `${l.length}\n`).join('');
    }
  }
  return out;
}

/** cnt.sh on the emulator: the whole trace. */
function counterRun(profile: string, pid: number): string {
  const sys = createSystem({ profile });
  const w = (path: string, text: string) => redirect(sys, path, new TextEncoder().encode(text), false, pid);
  w(`${T}/trace_clock`, 'counter\n');
  w(`${T}/events/cma/enable`, '1\n');
  for (let i = 0; i < 150; i++) {
    w(`${D}/alloc`, `${(i % 7) + 1}\n`);
    if (i % 3 === 0) w(`${D}/free`, `${(i % 7) + 1}\n`);
    if (i % 10 === 0) w(`${T}/trace_marker`, `mark ${i}\n`);
  }
  w(`${D}/alloc`, '99999\n');
  w(`${D}/alloc`, '4096\n');
  return read(sys, `${T}/trace`);
}

/** ev.sh on the emulator: set_event with every form (`*:*` lists the kernel's whole event list). */
function setEventAll(profile: string, pid: number): string {
  const sys = createSystem({ profile });
  let out = '';
  const E = `${T}/events`;
  const show = () => {
    const en = [
      `${E}/cma/enable`,
      `${E}/cma/cma_alloc_start/enable`,
      `${E}/cma/cma_release/enable`,
      `${E}/enable`,
    ]
      .map((f) => read(sys, f).trim())
      .join(' ');
    out += `-- set_event:\n${read(sys, `${T}/set_event`)}-- enable: ${en}\n`;
  };
  const put = (file: string, arg: string, append: boolean) => {
    const err = redirect(sys, `${T}/${file}`, new TextEncoder().encode(arg), append, pid);
    out += `${append ? 'append' : 'write'} /sys/kernel/tracing/${file} '${arg}' rc=${err ? 1 : 0} \n`;
  };
  redirect(sys, `${T}/trace_clock`, new TextEncoder().encode('counter\n'), false, pid);
  show();
  for (const [op, arg] of [
    ['w', 'cma:cma_alloc_start'],
    ['a', 'cma:cma_release'],
    ['a', '!cma:cma_alloc_start'],
    ['w', 'cma:*'],
    ['w', ''],
    ['a', 'cma'],
    ['w', 'cma_alloc_finish'],
    ['a', 'cma:nosuch'],
    ['a', 'nosuch:*'],
    ['a', '*:*'],
  ] as const) {
    put('set_event', arg, op === 'a');
    show();
  }
  out += `-- set_event lines: ${read(sys, `${T}/set_event`).split('\n').length - 1}\n`;
  for (const [op, arg] of [
    ['a', '!*:*'],
    ['w', 'cma:cma_alloc_start cma:cma_release'],
    ['a', 'cma:cma_alloc_finish\ncma:cma_alloc_busy_retry'],
  ] as const) {
    put('set_event', arg, op === 'a');
    show();
  }
  redirect(sys, `${T}/trace`, new TextEncoder().encode('\n'), false, pid);
  for (const m of ['hello', 'two\nlines', '']) put('trace_marker', m, false);
  redirect(sys, `${D}/alloc`, new TextEncoder().encode('8\n'), false, pid);
  redirect(sys, `${D}/free`, new TextEncoder().encode('8\n'), false, pid);
  put('trace_marker', 'x'.repeat(40), false);
  out += read(sys, `${T}/trace`).split('\n').slice(11).join('\n');
  return out;
}

/** buffer-size.sh on the emulator (the sizes as each write leaves them, then 60 allocs in 2 pages). */
function bufferSize(profile: string, pid: number): string {
  const sys = createSystem({ profile });
  let out = '';
  const r = () => {
    out += `-- size ${read(sys, `${T}/buffer_size_kb`).trim()} total ${read(sys, `${T}/buffer_total_size_kb`).trim()}\n`;
  };
  const w = (arg: string) => {
    const err = redirect(sys, `${T}/buffer_size_kb`, echoBytes(arg), false, pid);
    out += `${err}write '${arg}' rc=${err ? 1 : 0}\n`;
    r();
  };
  const put = (path: string, text: string) => redirect(sys, path, new TextEncoder().encode(text), false, pid);
  r();
  for (const a of ['4\\n', '7\\n', '0\\n', '-1\\n', 'abc\\n', '0x10\\n', '99999999999\\n', '1408\\n']) w(a);
  put(`${T}/trace_clock`, 'counter\n');
  put(`${T}/events/cma/enable`, '1\n');
  w('4\\n');
  for (let i = 0; i < 60; i++) put(`${D}/alloc`, '1\n');
  const trace = () => read(sys, `${T}/trace`).split('\n');
  out += `${trace()[2]}\n${trace().slice(11, 14).join('\n')}\n`;
  w('8\\n');
  out += `${trace()[2]}\n`;
  return out;
}

/** buffer-pages.sh on the emulator: when the buffer grows, and 300 events in 2 pages. */
function bufferPages(profile: string, pid: number): string {
  const sys = createSystem({ profile });
  const put = (path: string, text: string) => redirect(sys, path, new TextEncoder().encode(text), false, pid);
  const size = () => read(sys, `${T}/buffer_size_kb`).trim();
  let out = `-- boot: ${size()} / ${read(sys, `${T}/buffer_total_size_kb`).trim()} / ${read(sys, `${T}/per_cpu/cpu0/buffer_size_kb`).trim()}\n`;
  put(`${T}/trace_marker`, 'hi\n');
  out += `-- after marker: ${size()}\n`;
  put(`${T}/trace_clock`, 'counter\n');
  out += `-- after clock: ${size()}\n`;
  put(`${T}/events/cma/cma_release/enable`, '1\n');
  out += `-- after enable: ${size()} / ${read(sys, `${T}/buffer_total_size_kb`).trim()} / ${read(sys, `${T}/per_cpu/cpu0/buffer_size_kb`).trim()}\n`;
  put(`${T}/buffer_size_kb`, '4\n');
  put(`${T}/events/cma/enable`, '1\n');
  for (let i = 0; i < 100; i++) {
    put(`${D}/alloc`, '1\n');
    put(`${D}/free`, '1\n');
  }
  const trace = read(sys, `${T}/trace`).split('\n');
  return `${out}${trace[2]}\n${trace.slice(11, 13).join('\n')}\n`;
}

/** The counter column, where the kernel's other events (enabled by `*:*`) read the clock too. */
const noCounter = (s: string) => s.replace(/^( +sh-\d+ +\[\d+\] .{5}) +\d+:/gm, '$1 N:');

describe('tracefs writes against the real kernels', () => {
  for (const profile of PROFILES) {
    it(`${profile}: set_event and trace_marker print the kernel's transcript`, () => {
      const want = readFileSync(join(DIR, `set-event-marker-${profile}.txt`), 'utf8');
      assert.equal(withoutTick(setEventAndMarker(profile, pidOf(want))), withoutTick(want));
    });

    it(`${profile}: available_events is the kernel's list, and set_event lists it all after *:*`, () => {
      const list = readFileSync(join(DIR, `available-events-${profile}.txt`), 'utf8');
      assert.equal(read(createSystem({ profile }), `${T}/available_events`), list);
      const want = readFileSync(join(DIR, `set-event-all-${profile}.txt`), 'utf8');
      assert.ok(want.includes(list), 'the kernel listed its whole list');
      assert.equal(noCounter(withoutTick(setEventAll(profile, pidOf(want)))), noCounter(withoutTick(want)));
    });

    it(`${profile}: buffer_size_kb: sizes in pages, errors, growth on the first enable, 2 pages overwritten`, () => {
      const sizes = readFileSync(join(DIR, `buffer-size-${profile}.txt`), 'utf8');
      assert.equal(withoutTick(bufferSize(profile, pidOf(sizes))), withoutTick(sizes));
      const pages = readFileSync(join(DIR, `buffer-pages-${profile}.txt`), 'utf8');
      assert.match(pages, /entries-in-buffer\/entries-written: (83|102)\/300/);
      assert.equal(withoutTick(bufferPages(profile, pidOf(pages))), withoutTick(pages));
    });

    it(`${profile}: 150 rounds under the counter clock, page skips included, byte for byte`, () => {
      const want = readFileSync(join(DIR, `counter-${profile}.txt`), 'utf8');
      assert.match(want, /entries-in-buffer\/entries-written: 3\d\d\//);
      assert.equal(withoutTick(counterRun(profile, pidOf(want))), withoutTick(want));
    });
  }
});
