// The trace options on the file API (the whole oracle transcript runs through the mount in
// test/mount/trace-options.test.ts): trace_options and options/ as the kernels read them and
// take writes (the transcript's `== writes` section), markers=0, and a state file keeping them.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { STRERROR } from '../../src/core/errno.ts';
import { parseState, stateToJson, systemFromState, systemToState } from '../../src/core/state.ts';

const FIX = join(import.meta.dirname, '../fixtures/trace-options');
const T = '/sys/kernel/tracing';

describe('trace options as on the real kernels', () => {
  for (const profile of ['6.1', '6.12', '7.3']) {
    const want = readFileSync(join(FIX, `${profile}.txt`), 'utf8');

    it(`${profile}: trace_options and options/ at boot`, () => {
      const sys = createSystem({ profile });
      const r = sys.readFile(`${T}/trace_options`);
      assert.ok(r.ok);
      const section = (a: string, b: string) => want.slice(want.indexOf(a) + a.length + 1, want.indexOf(b));
      assert.equal(r.text, section('== trace_options', '== options/'));
      const ls = sys.readdir(`${T}/options`);
      assert.ok(ls.ok);
      const values = [...ls.names]
        .sort()
        .map((n) => {
          const v = sys.readFile(`${T}/options/${n}`);
          assert.ok(v.ok);
          return `${n}=${v.text}`;
        })
        .join('');
      assert.equal(values, section('== options/', '== irq-info=0'));
    });

    it(`${profile}: writes to trace_options and options/raw, and markers=0`, () => {
      const sys = createSystem({ profile });
      const out: string[] = [];
      const opt = (n: string) => {
        const v = sys.readFile(`${T}/options/${n}`);
        assert.ok(v.ok);
        return v.text.trim();
      };
      // the section's irq-info was already off (the combination above it turned it back on)
      for (const w of [
        'noirq-info',
        'irq-info',
        'bogus',
        ' irq-info',
        'irq-info ',
        'noirq-info\n',
        'irq-info raw',
        'nonoraw',
      ]) {
        const r = sys.writeFile(`${T}/trace_options`, w);
        out.push(`[${w}] rc=${r.ok ? 0 : 1} ${opt('irq-info')}`);
      }
      for (const w of ['0', '1', '2', '-1', 'x', '01', '1 ', ' 1', '0x1']) {
        const r = sys.writeFile(`${T}/options/raw`, w);
        out.push(`raw [${w}] rc=${r.ok ? 0 : 1} ${opt('raw')}`);
      }
      const writes = want.slice(want.indexOf('== writes\n') + 10, want.indexOf('== markers=0'));
      assert.equal(`${out.join('\n')}\n`, writes);
      assert.ok(sys.writeFile(`${T}/options/markers`, '0\n').ok);
      const m = sys.writeFile(`${T}/trace_marker`, 'm2\n');
      assert.ok(!m.ok);
      assert.match(want, new RegExp(`== markers=0\\nsh: write error: ${STRERROR[m.errno]}\\nrc=1`));
    });
  }

  it('a state file keeps the options, the saved tgids and the time base', () => {
    const sys = createSystem({ profile: '6.12' });
    for (const [f, v] of [
      ['options/irq-info', '0'],
      ['options/record-tgid', '1'],
      ['trace_clock', 'counter'],
      ['events/cma/enable', '1'],
      ['set_event_pid', '1 7'],
      ['tracing_cpumask', '1'],
      ['buffer_percent', '20'],
    ])
      assert.ok(sys.writeFile(`${T}/${f}`, `${v}\n`).ok, f);
    assert.ok(sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '2\n').ok);
    const back = systemFromState(parseState(stateToJson(systemToState(sys))));
    const a = sys.readFile(`${T}/trace`);
    const b = back.readFile(`${T}/trace`);
    assert.ok(a.ok && b.ok);
    assert.equal(b.text, a.text);
    assert.match(b.text, /TGID {4}CPU# {5}TIMESTAMP/);
    for (const f of ['set_event_pid', 'buffer_percent', 'trace_options']) {
      const x = sys.readFile(`${T}/${f}`);
      const y = back.readFile(`${T}/${f}`);
      assert.ok(x.ok && y.ok && x.text === y.text, f);
    }
    assert.match(b.text, /\(\s+1\) \[000\] {13}2: cma_alloc_start/);
  });
});
