// `cma-debug mount --from-snapshot`: continue experiments on a copy of a real 6.1 device's state.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxScript, cli, fuseUnavailable, ROOT, type Server, startMount } from './helpers.ts';

const skip = fuseUnavailable();
const TREE = join(ROOT, 'test/fixtures/kernels/6.1-frag90');
const kernelFile = (area: string, f: string) => readFileSync(join(TREE, 'kernel/debug/cma', area, f), 'utf8');

describe('mount --from-snapshot', { skip: skip ?? false }, () => {
  let server: Server;
  before(async () => {
    const snap = join(mkdtempSync(join(tmpdir(), 'cma-snap-')), 'device.json');
    const r = await cli(['snapshot', TREE, '-o', snap]);
    assert.equal(r.code, 0, r.stderr);
    server = await startMount(['--from-snapshot', snap]);
  });
  after(async () => {
    await server?.stop();
  });

  it('shows the captured bitmaps, used and maxchunk, and allocates into the captured holes', async () => {
    const r = await busyboxScript(
      'D=$SYS/kernel/debug/cma/reserved; cat $D/used $D/maxchunk $D/bitmap; echo 1 > $D/alloc; cat $D/used',
      server.dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const used = Number(kernelFile('reserved', 'used'));
    assert.equal(
      r.stdout,
      kernelFile('reserved', 'used') +
        kernelFile('reserved', 'maxchunk') +
        kernelFile('reserved', 'bitmap') +
        `${used + 1}\n`,
    );
  });

  it('continues from a copied /sys tree as from its snapshot', async () => {
    const copy = await startMount(['--from-snapshot', TREE]);
    try {
      const r = await busyboxScript('D=$SYS/kernel/debug/cma/reserved; cat $D/used $D/bitmap', copy.dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, kernelFile('reserved', 'used') + kernelFile('reserved', 'bitmap'));
    } finally {
      await copy.stop();
    }
  });

  it('refuses a capture without debugfs in one line that names serve and analyze', async () => {
    const capture = join(ROOT, 'test/fixtures/shipping/6.12/device');
    const r = await cli(['mount', mkdtempSync(join(tmpdir(), 'cma-mnt-')), '--from-snapshot', capture]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no bitmaps to continue from.*cma-debug serve .*cma-debug analyze /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('refuses area options together with a snapshot', async () => {
    const r = await cli(['mount', '/tmp', '--from-snapshot', 'x.json', '--area', 'name=a,count=8']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--from-snapshot takes its areas/);
  });
});
