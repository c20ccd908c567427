// `mount --state` (short form of `npm run reliability`): SIGKILL during 8 concurrent writers,
// restart on the same file: no temporary file is left (a dead process's one is removed at
// start) and every acknowledged write is in the restored state. The writes/s of the group
// commit are printed as a diagnostic, never asserted (speed belongs to `npm run reliability`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crashes, throughput } from '../../scripts/reliability/state-writes.ts';
import { fuseUnavailable } from '../mount/helpers.ts';

const skip = fuseUnavailable();

describe('mount --state under SIGKILL', { skip: skip ?? false }, () => {
  test('no temporary file left, no acknowledged write lost', { timeout: 120_000 }, async (t) => {
    const dead = 2 ** 22 + 12345; // above pid_max's default: no such process
    const c = await crashes(2, dead);
    t.diagnostic(`${c.kills} kills, ${c.acknowledged} acknowledged writes, ${c.lost} lost`);
    assert.ok(c.acknowledged > 0, 'the writers got some writes acknowledged before the kill');
    assert.equal(c.lost, 0);
    assert.equal(c.tmpLeft, 0);
  });
  test('8 concurrent writers share fsyncs (writes/s reported)', { timeout: 60_000 }, async (t) => {
    const wps = await throughput(2);
    t.diagnostic(`8 writers: ${wps.toFixed(0)} acknowledged writes/s`);
    assert.ok(wps > 0);
  });
});
