// `cma-debug mount DIR --serve PORT`: one emulated system behind a FUSE mount and the HTTP API, so
// the dashboard's live events follow a shell writing to the mount.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { busyboxScript, fuseUnavailable, type Server, startMount } from './helpers.ts';

const skip = fuseUnavailable();

describe('mount --serve', { skip: skip ?? false }, () => {
  let server: Server;
  let base = '';
  before(async () => {
    server = await startMount(['--serve', '0']);
    for (let k = 0; k < 100 && !/dashboard (http:\/\/\S+)\//.test(server.stderr); k++)
      await new Promise((r) => setTimeout(r, 50));
    base = /dashboard (http:\/\/[^/\s]+)\//.exec(server.stderr)?.[1] ?? '';
    assert.ok(base, server.stderr);
  });
  after(async () => {
    await server?.stop();
  });

  it('announces a shell write to the mount as a live event, and the API shows the new state', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/api/events`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let seen = '';
    const got = (async () => {
      const dec = new TextDecoder();
      while (!seen.includes('reserved')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += dec.decode(value);
      }
    })();
    const r = await busyboxScript('echo 8 > $SYS/kernel/debug/cma/reserved/alloc', server.dir);
    assert.equal(r.code, 0, r.stderr);
    await Promise.race([
      got,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no event: ${seen}`)), 5000)),
    ]);
    ctl.abort();
    const used = await (await fetch(`${base}/sys/kernel/debug/cma/reserved/used`)).text();
    assert.equal(used, '8\n');
  });
});
