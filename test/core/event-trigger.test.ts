// Event triggers on the file API (the oracle transcripts run through the mount in
// test/mount/tracefs-triggers.test.ts): parsing, listing and removal, firing with counts and
// filters, soft mode, and a state file keeping them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { parseTrigger } from '../../src/core/event-trigger.ts';
import { PROFILE_6_1 } from '../../src/core/profile.ts';
import { parseState, stateToJson, systemFromState, systemToState } from '../../src/core/state.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { eventFieldTable } from '../../src/core/trace.ts';

const E = '/sys/kernel/tracing/events/cma';
const D = '/sys/kernel/debug/cma/reserved';

function read(sys: CmaSystem, p: string): string {
  const r = sys.readFile(p);
  assert.ok(r.ok, p);
  return r.text;
}

describe('event triggers', () => {
  const fields = eventFieldTable(PROFILE_6_1, 'cma_alloc_start').all;
  const events = ['cma:cma_release', 'kmem:mm_page_alloc'];

  it('parses what the kernels take and refuses the rest', () => {
    const ok = (t: string) => parseTrigger(t, fields, events).ok;
    for (const t of [
      'traceoff',
      ' traceoff ',
      'traceon:3',
      'traceoff:5:6',
      'stacktrace if count > 4',
      'enable_event:cma:cma_release:1',
      'disable_event:kmem:mm_page_alloc if name == "x"',
      '!traceoff junk',
    ])
      assert.ok(ok(t), t);
    for (const t of [
      '',
      'bogus',
      'traceoff:x',
      'traceoff:unlimited',
      'traceoff if',
      'traceoff if foo > 1',
      'enable_event:cma',
      'enable_event:cma:nosuch',
      'hist:keys=count',
    ])
      assert.ok(!ok(t), t);
  });

  it('lists newest first, refuses a second of a kind, removes by kind', () => {
    const sys = createSystem({ profile: '6.1' });
    const T = `${E}/cma_alloc_start/trigger`;
    assert.ok(sys.writeFile(T, 'stacktrace\n').ok);
    assert.ok(sys.writeFile(T, 'enable_event:cma:cma_release\n').ok);
    assert.equal(read(sys, T), 'enable_event:cma:cma_release:unlimited\nstacktrace:unlimited\n');
    const dup = sys.writeFile(T, 'stacktrace:3 if name == "reserved"\n');
    assert.ok(!dup.ok && dup.errno === 'EEXIST');
    assert.ok(sys.writeFile(T, 'traceoff:0\n').ok);
    const on = sys.writeFile(T, 'traceon\n');
    assert.ok(!on.ok && on.errno === 'EEXIST');
    assert.ok(sys.writeFile(T, '!traceon\n').ok); // removes the traceoff
    assert.ok(sys.writeFile(T, '!stacktrace\n').ok);
    assert.ok(sys.writeFile(T, '!enable_event:cma:cma_release:1\n').ok);
    assert.match(read(sys, T), /^# Available triggers:/);
  });

  it('fires after the event, counts only changes, and holds events in soft mode', () => {
    const sys = createSystem({ profile: '6.1' });
    assert.ok(sys.writeFile(`${E}/enable`, '1\n').ok);
    assert.ok(sys.writeFile(`${E}/cma_release/enable`, '0\n').ok);
    assert.ok(
      sys.writeFile(`${E}/cma_alloc_start/trigger`, 'enable_event:cma:cma_release:1 if count == 3\n').ok,
    );
    assert.equal(read(sys, `${E}/cma_release/enable`), '0*\n');
    assert.equal(read(sys, `${E}/enable`), '1\n');
    assert.ok(sys.writeFile(`${D}/alloc`, '2\n').ok);
    assert.ok(sys.writeFile(`${D}/free`, '2\n').ok);
    assert.ok(sys.writeFile(`${D}/alloc`, '3\n').ok);
    assert.ok(sys.writeFile(`${D}/free`, '3\n').ok);
    assert.equal(read(sys, `${E}/cma_release/enable`), '1*\n');
    assert.equal(
      read(sys, `${E}/cma_alloc_start/trigger`),
      'enable_event:cma:cma_release:count=0 if count == 3\n',
    );
    const lines = read(sys, '/sys/kernel/tracing/trace').split('\n');
    assert.equal(lines.filter((l) => l.includes('cma_release:')).length, 1);
    assert.ok(sys.writeFile(`${E}/cma_alloc_finish/trigger`, 'traceoff if count > 4\n').ok);
    assert.equal(read(sys, `${E}/cma_alloc_finish/enable`), '1*\n');
    assert.ok(sys.writeFile(`${D}/alloc`, '5\n').ok);
    assert.equal(read(sys, '/sys/kernel/tracing/tracing_on'), '0\n');
    const back = systemFromState(parseState(stateToJson(systemToState(sys))));
    for (const f of [
      'cma_alloc_start/trigger',
      'cma_alloc_finish/trigger',
      'cma_release/enable',
      'cma_alloc_finish/enable',
    ])
      assert.equal(read(back, `${E}/${f}`), read(sys, `${E}/${f}`), f);
    assert.ok(back.writeFile(`${E}/cma_alloc_finish/trigger`, '!traceoff\n').ok);
    assert.equal(read(back, `${E}/cma_alloc_finish/enable`), '1\n');
  });
});
