// serve --root over hostile files: a FIFO, a blocking tracefs name, a character device and a
// huge file are refused with a reason and a 4xx, and a request beside them is answered at once
// (the server never waits on them). The same rules hold for a copied tree read by `status`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { createServer } from '../../src/frontends/http/server.ts';
import { readDirTree } from '../../src/sources/dir-source.ts';
import { directorySource } from '../../src/sources/serve-source.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-root-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const dir = path.join(tmp, 'sys');
fs.cpSync(path.join(ROOT, 'test/fixtures/kernels/6.1-frag20'), dir, {
  recursive: true,
  verbatimSymlinks: true,
});
const tracing = path.join(dir, 'kernel/debug/tracing');
fs.mkdirSync(path.join(tracing, 'per_cpu/cpu0'), { recursive: true });
assert.equal(spawnSync('mkfifo', [path.join(tracing, 'fifo')]).status, 0, 'mkfifo');
fs.writeFileSync(path.join(tracing, 'per_cpu/cpu0/trace_pipe'), 'x'); // stands for tracefs's blocking file
fs.writeFileSync(path.join(tracing, 'trace'), '# tracer: nop\n');
const big = path.join(dir, 'kernel/big');
fs.writeFileSync(big, '');
fs.truncateSync(big, 100 * 1024 * 1024); // sparse: 100 MiB of nothing
const isRoot = process.getuid?.() === 0;
const dev = path.join(dir, 'kernel/zero');
const haveDev = isRoot && spawnSync('mknod', [dev, 'c', '1', '5']).status === 0;

describe('serve --root refuses special files without stalling', () => {
  it('FIFO, trace_pipe, device and huge file: 4xx with a reason, a concurrent request answered within a second', async () => {
    const src = directorySource(dir, { allowWrite: true, pollMs: 0 });
    const s = await createServer(src, { token: 't' });
    try {
      const get = (p: string) => s.app.inject({ url: `/sys/${p}` });
      const t0 = performance.now();
      const [fifo, pipe, huge, ok] = await Promise.all([
        get('kernel/debug/tracing/fifo'),
        get('kernel/debug/tracing/per_cpu/cpu0/trace_pipe'),
        get('kernel/big'),
        get('kernel/debug/cma/reserved/count'),
      ]);
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `answered in ${ms.toFixed(0)} ms`);
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.body, '4096\n');
      assert.equal(fifo.statusCode, 403);
      assert.match(fifo.json().message, /fifo: a FIFO: only regular files and directories are served/);
      assert.equal(pipe.statusCode, 403);
      assert.match(
        pipe.json().message,
        /trace_pipe blocks until new trace events arrive: read 'trace' instead/,
      );
      assert.equal(huge.statusCode, 413);
      assert.match(huge.json().message, /104857600 bytes, larger than the 67108864-byte limit/);
      const put = await s.app.inject({
        method: 'PUT',
        url: '/sys/kernel/debug/tracing/fifo',
        headers: { authorization: 'Bearer t' },
        payload: '1\n',
      });
      assert.equal(put.statusCode, 403);
      assert.match(put.json().message, /a FIFO/);
      if (haveDev) {
        const z = await get('kernel/zero');
        assert.equal(z.statusCode, 403);
        assert.match(z.json().message, /a character device/);
      }
      assert.equal((await get('kernel/debug/tracing/trace')).body, '# tracer: nop\n');
    } finally {
      await s.app.close();
      src.close?.();
    }
  });
  it('a copied tree read for status marks them unreadable instead of reading them', () => {
    const tree = readDirTree(dir);
    const e = tree.entries.get('kernel/debug/tracing/fifo');
    // the walk may not descend into tracing; when it does, the FIFO is never opened
    if (e)
      assert.deepEqual(e, {
        type: 'unreadable',
        error: 'a FIFO: only regular files and directories are served',
      });
    assert.equal(tree.entries.get('kernel/debug/cma/reserved/count')?.type, 'file');
  });
});
