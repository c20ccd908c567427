// serve over real-kernel material: a /sys-like tree captured from the real 6.1 and 7.3 kernels
// (test/fixtures/kernels, see its NOTE.md) served read-only with a polled model, and an emulator
// continuing from a snapshot.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CmaSystem } from '../../src/core/system.ts';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import { createServer } from '../../src/frontends/http/server.ts';
import { readDirTree } from '../../src/sources/dir-source.ts';
import { systemSource } from '../../src/sources/file-tree.ts';
import {
  directorySource,
  openCapture,
  refreshModel,
  SourceSetupError,
} from '../../src/sources/serve-source.ts';
import { formatSnapshot, snapshotFromTree } from '../../src/sources/snapshot.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'kernels');
const TOKEN = 'sources-token-0123456789';
const servers: CmaServer[] = [];
const dirs: string[] = [];
after(async () => {
  for (const s of servers) await s.app.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Areas {
  areas: { name: string; used: number; maxchunk: number; ranges: unknown[] }[];
}

for (const fixture of ['6.1-frag20', '7.3-2ranges-back']) {
  describe(`--root over the real kernel tree ${fixture}`, () => {
    it('serves the files as captured, read-only, with areas equal to the kernel files', async () => {
      const dir = join(FIXTURES, fixture);
      const source = directorySource(dir, { allowWrite: false, pollMs: 0 });
      const srv = await createServer(source, { token: TOKEN });
      servers.push(srv);
      const areas = (await srv.app.inject({ method: 'GET', url: '/api/areas' })).json() as Areas;
      assert.ok(areas.areas.length >= 1);
      for (const a of areas.areas) {
        const base = `kernel/debug/cma/${a.name}`;
        for (const f of ['used', 'maxchunk', 'count', 'bitmap', 'base_pfn', 'order_per_bit']) {
          const r = await srv.app.inject({ method: 'GET', url: `/sys/${base}/${f}` });
          assert.equal(r.statusCode, 200, `${base}/${f}`);
          assert.deepEqual(r.rawPayload, readFileSync(join(dir, base, f)), `${base}/${f}`);
        }
        assert.equal(a.used, Number(readFileSync(join(dir, base, 'used'), 'latin1')), `${a.name} used`);
        assert.equal(
          a.maxchunk,
          Number(readFileSync(join(dir, base, 'maxchunk'), 'latin1')),
          `${a.name} maxchunk`,
        );
        const w = await srv.app.inject({
          method: 'PUT',
          url: `/sys/${base}/used`,
          headers: { authorization: `Bearer ${TOKEN}` },
          payload: '1',
        });
        assert.equal(w.statusCode, 403);
        const ex = await srv.app.inject({ method: 'GET', url: `/api/explain?area=${a.name}&pages=1` });
        assert.equal(ex.statusCode, 200);
      }
      if (fixture.startsWith('7.3')) {
        const ls = (
          await srv.app.inject({ method: 'GET', url: '/sys/kernel/debug/cma/reserved' })
        ).json() as {
          entries: { name: string; type: string; target?: string }[];
        };
        const link = ls.entries.find((e) => e.name === 'bitmap');
        assert.equal(link?.type, 'symlink');
        assert.equal(link?.target, 'ranges/0/bitmap');
      }
      for (const u of ['/api/log', '/api/trace']) {
        const r = await srv.app.inject({ method: 'GET', url: u });
        assert.equal(r.statusCode, 501, u);
      }
      const m = await srv.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(m.body, /^cma_area_used_pages\{area="reserved"\} \d+$/m);
    });
  });
}

describe('--root model follows the tree', () => {
  it('re-reads a changed bitmap and announces the change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cma-root-'));
    dirs.push(dir);
    cpSync(join(FIXTURES, '6.1-frag20'), dir, { recursive: true });
    const source = directorySource(dir, { allowWrite: true, pollMs: 0 });
    const srv = await createServer(source, { token: TOKEN });
    servers.push(srv);
    const before = (await srv.app.inject({ method: 'GET', url: '/api/areas/reserved' })).json() as {
      used: number;
    };
    assert.ok(before.used > 0);
    // the "kernel" frees everything: an all-zero bitmap of the same length
    const bm = join(dir, 'kernel/debug/cma/reserved/bitmap');
    const words = readFileSync(bm, 'latin1').trim().split(/\s+/);
    writeFileSync(bm, `${words.map(() => '0').join(' ')}\n`);
    writeFileSync(join(dir, 'kernel/debug/cma/reserved/used'), '0\n');
    const seen: string[] = [];
    source.system!.subscribe((c) => {
      if (c.area) seen.push(c.area);
    });
    assert.deepEqual(refreshModel(source.system!, dir), ['reserved']);
    assert.deepEqual(seen, ['reserved']);
    const afterV = (await srv.app.inject({ method: 'GET', url: '/api/areas/reserved' })).json() as {
      used: number;
      count: number;
      maxchunk: number;
    };
    assert.equal(afterV.used, 0);
    assert.equal(afterV.maxchunk, afterV.count);
    assert.deepEqual(refreshModel(source.system!, dir), [], 'nothing changed since');
    source.close?.();
  });

  it('refuses a directory that is not /sys-like, in one line', () => {
    assert.throws(
      () =>
        directorySource(join(FIXTURES, '6.1-frag20', 'kernel', 'debug', 'cma'), {
          allowWrite: false,
          pollMs: 0,
        }),
      (e: unknown) => e instanceof SourceSetupError && /--from-snapshot/.test((e as Error).message),
    );
  });

  it('--from-snapshot of a path that is not there: one line', async () => {
    await assert.rejects(openCapture('/nonexistent/snap.json'), (e: unknown) => {
      assert.ok(e instanceof SourceSetupError);
      assert.equal((e as Error).message.split('\n').length, 1);
      assert.match((e as Error).message, /\/nonexistent\/snap\.json: no such file/);
      return true;
    });
  });
});

describe('--from-snapshot', () => {
  it('continues from a snapshot file: same state, and alloc works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cma-snap-'));
    dirs.push(dir);
    const file = join(dir, 'snap.json');
    writeFileSync(file, formatSnapshot(snapshotFromTree(readDirTree(join(FIXTURES, '7.3-2ranges-back')))));
    const opened = await openCapture(file);
    assert.equal(opened.kind, 'emulator');
    const sys = (opened as { system: CmaSystem }).system;
    assert.equal(sys.profile.id, '7.3');
    const srv = await createServer(systemSource(sys, 'snapshot', file), { token: TOKEN });
    servers.push(srv);
    const reported = Number(
      readFileSync(join(FIXTURES, '7.3-2ranges-back/kernel/debug/cma/reserved/used'), 'latin1'),
    );
    const v = (await srv.app.inject({ method: 'GET', url: '/api/areas/reserved' })).json() as {
      used: number;
    };
    assert.equal(v.used, reported);
    const a = await srv.app.inject({
      method: 'PUT',
      url: '/sys/kernel/debug/cma/reserved/alloc',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: '1\n',
    });
    assert.equal(a.statusCode, 200, a.body);
    const v2 = (await srv.app.inject({ method: 'GET', url: '/api/areas/reserved' })).json() as {
      used: number;
    };
    assert.equal(v2.used, reported + 1);
  });
});
