// serve beyond loopback: a warning on stderr, and every read needs the token (header or the
// dashboard's cookie); the page shell stays open so the dashboard can ask for the token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import { createServer } from '../../src/frontends/http/server.ts';

const ROOT = path.join(import.meta.dirname, '../..');

describe('serve beyond loopback', () => {
  it('reads need the token; the page shell does not', async () => {
    const s = await createServer(createSystem(), {
      token: 'secret-token',
      readsNeedToken: true,
      loopbackHostsOnly: false,
    });
    try {
      const get = (url: string, headers: Record<string, string> = {}) => s.app.inject({ url, headers });
      const no = await get('/api/areas');
      assert.equal(no.statusCode, 401);
      assert.match(no.json().message, /reads need the token too/);
      assert.equal((await get('/sys/kernel/debug/cma/reserved/count')).statusCode, 401);
      assert.equal((await get('/api/areas', { authorization: 'Bearer wrong-token' })).statusCode, 401);
      assert.equal((await get('/api/areas', { authorization: 'Bearer secret-token' })).statusCode, 200);
      assert.equal(
        (await get('/api/areas', { cookie: 'x=1; cma-debug-token=secret-token' })).statusCode,
        200,
      );
      assert.equal((await get('/')).statusCode, 200);
    } finally {
      await s.app.close();
    }
    const local = await createServer(createSystem());
    try {
      assert.equal(
        (await local.app.inject({ url: '/api/areas' })).statusCode,
        200,
        'loopback reads stay open',
      );
    } finally {
      await local.app.close();
    }
  });
  it('serve --host 0.0.0.0 prints a warning on stderr', async () => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin/cma-debug.js'), 'serve', '--host', '0.0.0.0', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    try {
      const t0 = Date.now();
      while (!out.includes('Ctrl-C') && Date.now() - t0 < 20_000 && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 50));
      assert.match(
        err,
        /^cma-debug: warning: listening on 0\.0\.0\.0, beyond loopback: .*every request, reads too, needs the token/,
      );
      const port = /:(\d+)\//.exec(out)?.[1];
      const r = await fetch(`http://127.0.0.1:${port}/api/areas`);
      assert.equal(r.status, 401);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
