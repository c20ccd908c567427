// Trace inputs that are streams, not files: a named pipe (what `cma-debug replay <(zcat t.gz)`
// passes) or a device can be read neither at an offset nor twice. They used to fail with
// ESPIPE (the format check reads the first bytes at offset 0); they are now read as a stream
// once, or spooled to a temporary file when the areas must be inferred first.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  createWriteStream,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fileSource, openTraceSource } from '../../src/sources/trace/input.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';

const GZ = new URL('../fixtures/pinned-pages/6.12/trace.txt.gz', import.meta.url).pathname;
const AREA = { name: 'reserved', basePfn: 0x1c800, count: 4096, orderPerBit: 0 };
const dir = mkdtempSync(join(tmpdir(), 'cma-fifo-'));
const pipes: string[] = [];
after(() => {
  // a pipe nobody read (a failed test) still has its writer waiting to open it: let it go
  for (const p of pipes) closeSync(openSync(p, constants.O_RDONLY | constants.O_NONBLOCK));
  rmSync(dir, { recursive: true, force: true });
});

/** A named pipe that a writer fills with `bytes` once a reader opens it. */
function pipeOf(bytes: Uint8Array): string {
  const p = join(dir, `p${pipes.length}`);
  execFileSync('mkfifo', [p]);
  pipes.push(p);
  createWriteStream(p)
    .on('error', () => {}) // EPIPE when the reader went away early (a failed test)
    .end(bytes);
  return p;
}

describe('named pipes as traces', () => {
  const gz = readFileSync(GZ);
  const text = gunzipSync(gz);

  it('with the areas given: read once as a stream, plain or gzip, as the file replays', async () => {
    const want = await replayTrace(fileSource(GZ), { areas: [AREA] });
    assert.ok(want.events > 100);
    for (const bytes of [text, gz]) {
      const src = fileSource(pipeOf(bytes));
      assert.equal(src.size, null);
      assert.equal(src.path, undefined);
      const got = await replayTrace(src, { areas: [AREA] });
      assert.deepEqual(got, want);
      assert.throws(() => src.open(), /can only be read once/);
    }
  });

  it('areas to infer: spooled to a temporary file first, then as the file', async () => {
    const want = await replayTrace(fileSource(GZ), { areas: 'infer' });
    const src = await openTraceSource(pipeOf(gz), true);
    try {
      assert.equal(src.size, gz.length);
      const got = await replayTrace(src, { areas: 'infer' });
      assert.deepEqual(got, want);
    } finally {
      src.dispose();
    }
  });
});
