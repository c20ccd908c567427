// `cma-debug replay FILE` starts the trace's parse worker before the command line loads
// (bin/cma-debug.js → src/frontends/cli/prestart.ts → worker-spawn.ts); the replay then takes
// that worker. These tests check that the trace argument is found as commander finds it, and
// that a replay that takes the early worker — late, after it filled its batches, or never —
// gives the result of the single-thread replay.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { planTrace } from '../../src/analysis/plan.ts';
import { registerPlan } from '../../src/frontends/cli/commands/plan.ts';
import { registerReplay } from '../../src/frontends/cli/commands/replay.ts';
import {
  PLAN_VALUE_OPTIONS,
  prestart,
  REPLAY_VALUE_OPTIONS,
  replayTraceArg,
} from '../../src/frontends/cli/prestart.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { PRESTART_MIN_BYTES, prestartTextParse, workerScript } from '../../src/sources/trace/worker-spawn.ts';

/** The long names of a command's options that take a value, sorted. */
function valuedOptions(register: (program: Command) => void, name: string): string[] {
  const program = new Command();
  register(program);
  return program.commands
    .find((c) => c.name() === name)!
    .options.filter((o) => o.required || o.optional)
    .map((o) => o.long!)
    .sort();
}

describe('replay prestart: the trace argument', () => {
  it("lists exactly the replay command's options that take a value", () => {
    assert.deepEqual([...REPLAY_VALUE_OPTIONS].sort(), valuedOptions(registerReplay, 'replay'));
  });

  it("lists exactly the plan command's options that take a value", () => {
    assert.deepEqual([...PLAN_VALUE_OPTIONS].sort(), valuedOptions(registerPlan, 'plan'));
    assert.equal(
      replayTraceArg(['--order-per-bit', '0,9', '--threads', '1', 'p.trace'], PLAN_VALUE_OPTIONS),
      'p.trace',
    );
  });

  it('is the first operand, skipping option values', () => {
    assert.equal(replayTraceArg(['t.trace', '--json']), 't.trace');
    assert.equal(replayTraceArg(['--area', 'name=a,count=8', 't.trace']), 't.trace');
    assert.equal(replayTraceArg(['--area=name=a,count=8', '-q', 't.trace', 'name=b,count=8']), 't.trace');
    assert.equal(replayTraceArg(['--json', '--save', 'out.json', '--show', '3', 'x.trace']), 'x.trace');
    assert.equal(replayTraceArg(['--', '-odd-name']), '-odd-name');
    assert.equal(replayTraceArg(['--json']), null);
  });
});

describe('replay prestart: the early worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cma-prestart-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const areas = [{ name: 'reserved', basePfn: 0x80000, count: 8192, orderPerBit: 0 }];

  /** A text trace of `bytes` or more: calls that allocate and free blocks of an 8192-page area. */
  function bigTrace(name: string, bytes: number): string {
    const line = (pid: number, ts: number, ev: string) =>
      `${'RenderThread'.padStart(16)}-${String(pid).padEnd(7)} [001] ..... ${(100 + ts / 1e6).toFixed(6).padStart(12)}: ${ev}\n`;
    const parts: string[] = ['# tracer: nop\n'];
    let size = 0;
    let ts = 0;
    for (let i = 0; size < bytes; i++) {
      const pfn = 0x80000 + (i % 64) * 64;
      const count = 1 + (i % 50);
      const l =
        line(600 + (i % 7), ts++, `cma_alloc_start: name=reserved count=${count} align=4`) +
        line(
          600 + (i % 7),
          ts++,
          `cma_alloc_finish: name=reserved pfn=0x${pfn.toString(16)} page=000000000c8a55f7 count=${count} align=4`,
        ) +
        line(600 + (i % 7), ts++, `cma_release: name=reserved pfn=0x${pfn.toString(16)} count=${count}`);
      parts.push(l);
      size += l.length;
    }
    const path = join(dir, name);
    writeFileSync(path, parts.join(''));
    return path;
  }

  it('is taken by the replay of its file, at once or after it filled its batches: the same result', async () => {
    // more events than the early worker may post before it is taken (8 batches of 8192)
    const path = bigTrace('a.trace', 3 * PRESTART_MIN_BYTES);
    const ref = await replayTrace(fileSource(path), { parallel: false, areas });
    assert.ok(ref.events > 8 * 8192, `${ref.events} events`);
    for (const wait of [0, 400]) {
      assert.equal(prestartTextParse(path, workerScript()), true, 'started');
      // a second early start is refused while the first is not taken
      assert.equal(prestartTextParse(path, workerScript()), false, 'one at a time');
      if (wait > 0) await sleep(wait);
      const got = await replayTrace(fileSource(path), { parallel: true, areas });
      assert.deepEqual(got, ref, `wait ${wait}`);
      // taken: another can start
      assert.equal(prestartTextParse(path, workerScript()), true, 'taken');
      const again = await replayTrace(fileSource(path), { parallel: true, areas });
      assert.deepEqual(again, ref);
    }
  });

  it('is taken by the plan of its file (cma events only): the same plan', async () => {
    const path = bigTrace('p.trace', 2 * PRESTART_MIN_BYTES);
    const opts = { areas, threads: 1 as const, orderPerBits: [0, 3] };
    const ref = await planTrace(fileSource(path), opts);
    assert.equal(prestart(['plan', '--order-per-bit', '0,3', path, '--json']), true, 'started');
    assert.equal(prestartTextParse(path, workerScript()), false, 'one at a time');
    assert.deepEqual(await planTrace(fileSource(path), opts), ref);
    // taken: another can start
    assert.equal(prestartTextParse(path, workerScript()), true, 'taken');
    assert.deepEqual(await planTrace(fileSource(path), opts), ref);
  });

  it('started on another file: stopped, and the replay starts its own', async () => {
    const a = bigTrace('b.trace', PRESTART_MIN_BYTES + 10);
    const b = bigTrace('c.trace', PRESTART_MIN_BYTES + 5000);
    const ref = await replayTrace(fileSource(b), { parallel: false, areas });
    assert.equal(prestartTextParse(a, workerScript()), true);
    assert.deepEqual(await replayTrace(fileSource(b), { parallel: true, areas }), ref);
  });

  it('is not started for small, binary or missing files', () => {
    const small = join(dir, 'small.trace');
    writeFileSync(small, 'x\n'.repeat(1000));
    assert.equal(prestartTextParse(small, workerScript()), false);
    const bin = join(dir, 'bin.trace');
    const bytes = Buffer.alloc(PRESTART_MIN_BYTES, 65);
    bytes[100] = 0;
    writeFileSync(bin, bytes);
    assert.equal(prestartTextParse(bin, workerScript()), false);
    assert.equal(prestartTextParse(join(dir, 'none.trace'), workerScript()), false);
    assert.equal(prestartTextParse(dir, workerScript()), false);
    // a named pipe is not opened (that would wait for a writer, then drop it)
    const fifo = join(dir, 'pipe.trace');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      assert.equal(prestartTextParse(fifo, workerScript()), false);
      assert.equal(prestart(['replay', fifo, '--json']), false);
    }
    assert.equal(prestartTextParse(small, null), false);
  });
});
