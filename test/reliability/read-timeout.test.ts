// The 504 path of `serve --root`: a source that does not answer in time. Every worker thread
// of libuv's pool is held by a blocking open (a FIFO opened without O_NONBLOCK, the way a hung
// mount holds a reader), so the server's read of an ordinary file cannot start; the request is
// answered 504 with the reason once READ_TIMEOUT_MS has passed, the event loop stays free for
// other routes meanwhile, and reads work again once the source answers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { createServer } from '../../src/frontends/http/server.ts';
import { READ_TIMEOUT_MS, readRegularFile } from '../../src/sources/safe-read.ts';
import { directorySource } from '../../src/sources/serve-source.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-504-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const dir = path.join(tmp, 'sys');
fs.cpSync(path.join(ROOT, 'test/fixtures/kernels/6.1-frag20'), dir, {
  recursive: true,
  verbatimSymlinks: true,
});

/** Occupies every thread of libuv's pool with an open() that waits for a writer; returns the release. */
function holdThreadPool(): () => Promise<void> {
  const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos: string[] = [];
  const where = fs.mkdtempSync(path.join(tmp, 'hold-'));
  const opens: Promise<fs.promises.FileHandle>[] = [];
  for (let i = 0; i < size; i++) {
    const f = path.join(where, `fifo${i}`);
    assert.equal(spawnSync('mkfifo', [f]).status, 0, 'mkfifo');
    fifos.push(f);
    opens.push(fs.promises.open(f, fs.constants.O_RDONLY)); // blocks a pool thread until a writer opens
  }
  return async () => {
    // a writer opened without blocking (O_RDWR on a FIFO never waits) lets each reader's open return
    const writers = fifos.map((f) => fs.openSync(f, fs.constants.O_RDWR | fs.constants.O_NONBLOCK));
    for (const h of await Promise.all(opens)) await h.close();
    for (const w of writers) fs.closeSync(w);
  };
}

describe('serve --root: a source that does not answer in time', () => {
  it('readRegularFile gives up with 504 and the reason after its time limit', async () => {
    const release = holdThreadPool();
    try {
      const t0 = performance.now();
      const r = await readRegularFile(path.join(dir, 'kernel/debug/cma/reserved/count'), 300);
      const ms = performance.now() - t0;
      assert.deepEqual(r, { refused: 'no answer within 0.3 s (a blocking file?)', status: 504 });
      assert.ok(ms >= 290 && ms < 2000, `gave up after ${ms.toFixed(0)} ms`);
    } finally {
      await release();
    }
    const ok = await readRegularFile(path.join(dir, 'kernel/debug/cma/reserved/count'), 300);
    assert.ok(Buffer.isBuffer(ok) && ok.toString() === '4096\n');
  });

  it('GET /sys/… answers 504 after READ_TIMEOUT_MS while other routes stay answered', async () => {
    const src = directorySource(dir, { allowWrite: false, pollMs: 0 });
    const s = await createServer(src, {});
    let release: (() => Promise<void>) | null = holdThreadPool();
    try {
      const t0 = performance.now();
      const slow = s.app.inject({ url: '/sys/kernel/debug/cma/reserved/count' });
      const api = await s.app.inject({ url: '/api' });
      const apiMs = performance.now() - t0;
      assert.equal(api.statusCode, 200);
      assert.ok(apiMs < 1000, `/api answered in ${apiMs.toFixed(0)} ms during the hang`);
      const r = await slow;
      const ms = performance.now() - t0;
      assert.equal(r.statusCode, 504);
      assert.equal(r.json().error, 'REFUSED');
      assert.match(
        r.json().message,
        new RegExp(
          `kernel/debug/cma/reserved/count: no answer within ${READ_TIMEOUT_MS / 1000} s \\(a blocking file\\?\\)`,
        ),
      );
      assert.ok(ms >= READ_TIMEOUT_MS - 10 && ms < READ_TIMEOUT_MS + 3000, `504 after ${ms.toFixed(0)} ms`);
      await release();
      release = null;
      const again = await s.app.inject({ url: '/sys/kernel/debug/cma/reserved/count' });
      assert.equal(again.statusCode, 200);
      assert.equal(again.body, '4096\n');
    } finally {
      if (release) await release();
      await s.app.close();
      src.close?.();
    }
  });
});
