// The HTTP API through fastify's inject() (no port): every file of every area of both profiles,
// the JSON views, metrics and every error path. SSE uses a real socket on 127.0.0.1.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createSystem } from '../../src/core/create.ts';
import { STRERROR } from '../../src/core/errno.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import type { CmaServer } from '../../src/frontends/http/server.ts';
import { createServer, httpStatusForErrno, parseSysUrl } from '../../src/frontends/http/server.ts';
import { bitmapBuckets, escapeLabel } from '../../src/frontends/http/views.ts';
import { DirectoryTree } from '../../src/sources/dir-tree.ts';

const TOKEN = 'test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const PROFILES = {
  '6.1': ['name=reserved,count=4096', 'name=opb9,count=8192,order_per_bit=9'],
  '7.3': [
    'name=reserved,count=4096',
    'name=multi,range=0x80000:1024,range=0x90000:2048',
    'name=opb2,count=8192,order_per_bit=2',
  ],
} as const;

async function serverFor(profile: '6.1' | '7.3'): Promise<{ sys: CmaSystem; srv: CmaServer }> {
  const sys = createSystem({ profile, areas: [...PROFILES[profile]] });
  const srv = await createServer(sys, { token: TOKEN });
  return { sys, srv };
}

/** Every path below `dir` with its lstat type, walking the server's own listings. */
async function walk(srv: CmaServer, dir: string): Promise<{ path: string; type: string; target?: string }[]> {
  const r = await srv.app.inject({ method: 'GET', url: dir });
  assert.equal(r.statusCode, 200, `${dir}: ${r.body}`);
  const listing = r.json() as { type: string; entries: { name: string; type: string; target?: string }[] };
  assert.equal(listing.type, 'dir');
  const out: { path: string; type: string; target?: string }[] = [];
  for (const e of listing.entries) {
    const p = `${dir}/${e.name}`;
    out.push({ path: p, type: e.type, ...(e.target !== undefined ? { target: e.target } : {}) });
    if (e.type === 'dir') out.push(...(await walk(srv, p)));
  }
  return out;
}

const servers: CmaServer[] = [];
after(async () => {
  for (const s of servers) await s.app.close();
});

for (const profile of ['6.1', '7.3'] as const) {
  describe(`profile ${profile}: the /sys tree`, () => {
    it('serves every file of every area byte for byte, and lists every directory as the system does', async () => {
      const { sys, srv } = await serverFor(profile);
      servers.push(srv);
      // give the files something to show
      for (const st of sys.areas) {
        assert.ok(sys.writeFile(`/sys/kernel/debug/cma/${st.area.name}/alloc`, '8\n').ok);
        assert.ok(sys.writeFile(`/sys/kernel/debug/cma/${st.area.name}/alloc`, '1\n').ok);
      }
      let files = 0;
      let links = 0;
      for (const top of ['/sys/kernel/debug/cma', '/sys/kernel/mm/cma', '/sys/kernel/tracing']) {
        for (const e of await walk(srv, top)) {
          if (e.type === 'dir') {
            const ls = sys.readdir(e.path);
            assert.ok(ls.ok);
            const r = await srv.app.inject({ method: 'GET', url: e.path });
            assert.deepEqual(
              (r.json() as { entries: { name: string }[] }).entries.map((x) => x.name),
              ls.names,
              e.path,
            );
            continue;
          }
          if (e.type === 'symlink') {
            links++;
            const l = sys.readlink(e.path);
            assert.ok(l.ok);
            assert.equal(e.target, l.target);
          }
          files++;
          const want = sys.readFile(e.path);
          const r = await srv.app.inject({ method: 'GET', url: e.path });
          if (want.ok) {
            assert.equal(r.statusCode, 200, e.path);
            assert.deepEqual(new Uint8Array(r.rawPayload), want.data, e.path);
          } else {
            assert.equal(r.statusCode, httpStatusForErrno(want.errno), e.path);
            const body = r.json() as { errno: string; message: string };
            assert.equal(body.errno, want.errno);
            assert.equal(body.message, STRERROR[want.errno]);
          }
        }
      }
      // every debugfs file of every area was reached
      for (const st of sys.areas) {
        for (const f of [
          'alloc',
          'free',
          'base_pfn',
          'count',
          'order_per_bit',
          'used',
          'maxchunk',
          'bitmap',
        ]) {
          const r = await srv.app.inject({
            method: 'GET',
            url: `/sys/kernel/debug/cma/${st.area.name}/${f}`,
          });
          assert.ok([200, 403].includes(r.statusCode), `${st.area.name}/${f}: ${r.statusCode}`);
        }
      }
      assert.ok(files > 40, `${files} files`);
      if (profile === '7.3') {
        assert.ok(links >= 6, 'base_pfn and bitmap symlinks of every area');
        const r = await srv.app.inject({
          method: 'GET',
          url: '/sys/kernel/debug/cma/multi/ranges/1/base_pfn',
        });
        assert.equal(r.body, `${0x90000}\n`);
      } else {
        assert.equal(links, 0);
      }
    });

    it('alloc and free take the same text as the files and answer with the kernel result', async () => {
      const { sys, srv } = await serverFor(profile);
      servers.push(srv);
      for (const st of sys.areas) {
        const base = `/sys/kernel/debug/cma/${st.area.name}`;
        const unit = 2 ** st.area.orderPerBit;
        for (const method of ['PUT', 'POST'] as const) {
          const r = await srv.app.inject({
            method,
            url: `${base}/alloc`,
            headers: AUTH,
            payload: `${unit}\n`,
          });
          assert.equal(r.statusCode, 200, r.body);
          const body = r.json() as {
            ok: boolean;
            written: number;
            allocated: { pfn: number; count: number };
          };
          assert.equal(body.ok, true);
          assert.equal(body.written, String(unit).length + 1);
          assert.equal(body.allocated.count, unit);
          assert.equal(st.records.at(-1)?.pfn, body.allocated.pfn);
        }
        const used = await srv.app.inject({ method: 'GET', url: `${base}/used` });
        assert.equal(
          used.body,
          sys.readFile(`${base}/used`).ok ? (sys.readFile(`${base}/used`) as { text: string }).text : '',
        );
        assert.equal(Number(used.body), 2 * unit);
        const f = await srv.app.inject({
          method: 'PUT',
          url: `${base}/free`,
          headers: AUTH,
          payload: `${2 * unit}`,
        });
        assert.equal(f.statusCode, 200);
        assert.equal((await srv.app.inject({ method: 'GET', url: `${base}/used` })).body, '0\n');
        // the kernel's own answers
        const cases: [string, string, string, number][] = [
          ['alloc', 'abc\n', 'EINVAL', 400],
          ['alloc', '99999999999999999999999\n', 'ERANGE', 400], // cut to 23 bytes, still too large
          ['alloc', '99999999999999999999\n', 'ERANGE', 400],
          ['alloc', `${st.area.count * 4}\n`, 'ENOMEM', 507],
          ['used', '1\n', 'EACCES', 403],
          ['bitmap', '1\n', 'EINVAL', 400],
        ];
        for (const [file, text, errno, status] of cases) {
          const want = createSystem({ profile, areas: [...PROFILES[profile]] }).writeFile(
            `${base}/${file}`,
            text,
          );
          assert.ok(!want.ok);
          assert.equal(want.errno, errno, `${file} ${JSON.stringify(text)} (the core says ${want.errno})`);
          const r = await srv.app.inject({
            method: 'PUT',
            url: `${base}/${file}`,
            headers: AUTH,
            payload: text,
          });
          assert.equal(r.statusCode, status, `${file} ${JSON.stringify(text)}: ${r.body}`);
          const body = r.json() as { ok: boolean; errno: string; message: string; error: string };
          assert.equal(body.ok, false);
          assert.equal(body.errno, errno);
          assert.equal(body.message, STRERROR[errno as keyof typeof STRERROR]);
          assert.equal(body.error, `write error: ${STRERROR[errno as keyof typeof STRERROR]}`);
        }
      }
      // sysfs, directories, missing files
      const name = sys.areas[0]!.area.name;
      const sysfs = await srv.app.inject({
        method: 'PUT',
        url: `/sys/kernel/mm/cma/${name}/alloc_pages_success`,
        headers: AUTH,
        payload: '1',
      });
      assert.equal(sysfs.statusCode, 403);
      assert.equal((sysfs.json() as { errno: string }).errno, 'EACCES');
      const d = await srv.app.inject({
        method: 'PUT',
        url: `/sys/kernel/debug/cma/${name}`,
        headers: AUTH,
        payload: '1',
      });
      assert.equal((d.json() as { errno: string }).errno, 'EISDIR');
      const missing = await srv.app.inject({ method: 'GET', url: '/sys/kernel/debug/cma/nosuch/used' });
      assert.equal(missing.statusCode, 404);
      assert.equal((missing.json() as { errno: string }).errno, 'ENOENT');
      const missingW = await srv.app.inject({
        method: 'PUT',
        url: '/sys/kernel/debug/cma/nosuch/alloc',
        headers: AUTH,
        payload: '1',
      });
      assert.equal(missingW.statusCode, 404);
    });

    it('the trace buffer and tracing controls work through the API', async () => {
      const { sys, srv } = await serverFor(profile);
      servers.push(srv);
      const put = (url: string, payload: string) =>
        srv.app.inject({ method: 'PUT', url, headers: AUTH, payload });
      assert.equal((await put('/sys/kernel/tracing/events/cma/enable', '1\n')).statusCode, 200);
      assert.equal(
        (await srv.app.inject({ method: 'GET', url: '/sys/kernel/tracing/events/cma/enable' })).body,
        '1\n',
      );
      const name = sys.areas[0]!.area.name;
      await put(`/sys/kernel/debug/cma/${name}/alloc`, '4\n');
      const trace = await srv.app.inject({ method: 'GET', url: '/sys/kernel/tracing/trace' });
      assert.match(trace.body, /cma_alloc_start: name=reserved (request_)?count=4 /);
      assert.equal(trace.body, (sys.readFile('/sys/kernel/tracing/trace') as { text: string }).text);
      const api = (await srv.app.inject({ method: 'GET', url: '/api/trace' })).json() as {
        lines: string[];
        enabled: string[];
      };
      assert.equal(api.enabled.length, 4);
      assert.ok(api.lines.some((l) => l.includes('cma_alloc_finish')));
      // an empty write truncates, as `echo > trace` does
      assert.equal((await put('/sys/kernel/tracing/trace', '')).statusCode, 200);
      assert.doesNotMatch(
        (await srv.app.inject({ method: 'GET', url: '/sys/kernel/tracing/trace' })).body,
        /cma_alloc/,
      );
      const bad = await put('/sys/kernel/tracing/trace_clock', 'nonsense\n');
      assert.equal(bad.statusCode, 400);
      assert.equal((bad.json() as { errno: string }).errno, 'EINVAL');
    });

    it('JSON views: areas, one area, buckets, analysis, explain, log, metrics', async () => {
      const { sys, srv } = await serverFor(profile);
      servers.push(srv);
      const st = sys.areas[0]!;
      const base = `/sys/kernel/debug/cma/${st.area.name}`;
      for (const n of [10, 20, 30]) sys.writeFile(`${base}/alloc`, `${n}\n`);
      sys.writeFile(`${base}/free`, '30\n'); // frees the newest record (30 pages)
      const areas = (await srv.app.inject({ method: 'GET', url: '/api/areas' })).json() as {
        profile: { id: string };
        areas: {
          name: string;
          basePfn: number;
          count: number;
          orderPerBit: number;
          used: number;
          maxchunk: number;
          ranges: { basePfn: number; count: number; bits: number }[];
          counters: Record<string, number>;
        }[];
      };
      assert.equal(areas.profile.id, profile);
      assert.deepEqual(
        areas.areas.map((a) => a.name),
        sys.areas.map((s) => s.area.name),
      );
      const a0 = areas.areas[0]!;
      assert.equal(a0.used, Number((sys.readFile(`${base}/used`) as { text: string }).text));
      assert.equal(a0.maxchunk, Number((sys.readFile(`${base}/maxchunk`) as { text: string }).text));
      assert.equal(a0.basePfn, Number((sys.readFile(`${base}/base_pfn`) as { text: string }).text));
      assert.equal(a0.counters.alloc_pages_success, 60);
      if (profile === '7.3') {
        assert.equal(a0.counters.release_pages_success, 30);
        assert.equal(areas.areas[1]!.ranges.length, 2);
      }
      const one = await srv.app.inject({ method: 'GET', url: `/api/areas/${st.area.name}` });
      assert.equal((one.json() as { used: number }).used, 30);
      assert.equal((await srv.app.inject({ method: 'GET', url: '/api/areas/nosuch' })).statusCode, 404);
      const recs = (
        await srv.app.inject({ method: 'GET', url: `/api/areas/${st.area.name}/records` })
      ).json() as {
        records: { pfn: number; count: number }[];
      };
      assert.deepEqual(recs.records, [
        { pfn: st.area.ranges[0]!.basePfn, count: 10 },
        { pfn: st.area.ranges[0]!.basePfn + 10, count: 20 },
      ]);

      // buckets: the fill of each group of bits
      const bk = await srv.app.inject({
        method: 'GET',
        url: `/api/areas/${st.area.name}/ranges/0/buckets?from=0&to=64&per=8`,
      });
      assert.equal(bk.statusCode, 200);
      assert.deepEqual(
        [...new Uint8Array(bk.rawPayload)],
        [255, 255, 255, 1 + Math.floor((6 / 8) * 253), 0, 0, 0, 0],
      );
      const whole = await srv.app.inject({
        method: 'GET',
        url: `/api/areas/${st.area.name}/ranges/0/buckets`,
      });
      assert.equal(whole.rawPayload.length, st.area.ranges[0]!.bitmap.maxno);
      for (const q of ['from=10&to=5', 'per=0', 'from=abc', 'to=99999999', 'from=-1', 'per=1&to=1e3']) {
        const r = await srv.app.inject({
          method: 'GET',
          url: `/api/areas/${st.area.name}/ranges/0/buckets?${q}`,
        });
        assert.equal(r.statusCode, 400, q);
      }
      assert.equal(
        (await srv.app.inject({ method: 'GET', url: `/api/areas/${st.area.name}/ranges/9/buckets` }))
          .statusCode,
        404,
      );

      const an = (
        await srv.app.inject({ method: 'GET', url: `/api/analysis?area=${st.area.name}` })
      ).json() as {
        areas: {
          freeRuns: number;
          maxchunk: number;
          histogram: { runs: number }[];
          largest: { pages: number }[];
        }[];
      };
      assert.equal(an.areas[0]!.freeRuns, 1);
      assert.equal(an.areas[0]!.largest[0]!.pages, st.area.count - 30);
      assert.equal((await srv.app.inject({ method: 'GET', url: '/api/analysis?area=zz' })).statusCode, 404);

      // explain predicts exactly what the next alloc does
      const ex = (
        await srv.app.inject({ method: 'GET', url: `/api/explain?area=${st.area.name}&pages=5` })
      ).json() as {
        ok: boolean;
        pfn: number;
      };
      assert.equal(ex.ok, true);
      const usedBefore = sys.areas[0]!.records.length;
      assert.ok(sys.writeFile(`${base}/alloc`, '5\n').ok);
      assert.equal(sys.areas[0]!.records.length, usedBefore + 1);
      assert.equal(sys.areas[0]!.records.at(-1)!.pfn, ex.pfn);
      const no = (
        await srv.app.inject({
          method: 'GET',
          url: `/api/explain?area=${st.area.name}&pages=${st.area.count}`,
        })
      ).json() as {
        ok: boolean;
        verdict: string;
      };
      assert.equal(no.ok, false);
      assert.equal(no.verdict, 'exhaustion');
      for (const q of [
        'pages=x',
        'area=nosuch&pages=1',
        `area=${st.area.name}`,
        `area=${st.area.name}&pages=1&align=99`,
      ]) {
        const r = await srv.app.inject({ method: 'GET', url: `/api/explain?${q}` });
        assert.ok([400, 404].includes(r.statusCode), `${q}: ${r.statusCode}`);
      }

      const log = (await srv.app.inject({ method: 'GET', url: '/api/log' })).json() as {
        records: { text: string }[];
        dmesg: string;
      };
      assert.equal(log.dmesg, sys.dmesg());
      assert.match(log.records[0]!.text, /cma: Reserved/);

      const m = await srv.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(m.statusCode, 200);
      assert.match(m.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
      checkExposition(m.body);
      assert.match(m.body, new RegExp(`^cma_area_used_pages\\{area="${st.area.name}"\\} 35$`, 'm'));
      assert.match(
        m.body,
        new RegExp(`^cma_area_total_pages\\{area="${st.area.name}"\\} ${st.area.count}$`, 'm'),
      );
      assert.match(
        m.body,
        new RegExp(`^cma_area_alloc_pages_success_total\\{area="${st.area.name}"\\} 65$`, 'm'),
      );
      assert.equal(/release_pages_success/.test(m.body), profile === '7.3');
    });
  });
}

/** Checks the Prometheus text format: HELP/TYPE before samples, sample syntax, one TYPE per family. */
function checkExposition(text: string): void {
  assert.ok(text.endsWith('\n'));
  const typed = new Set<string>();
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ')) continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter)$/.exec(line);
    if (t) {
      assert.ok(!typed.has(t[1]!), `TYPE twice: ${t[1]}`);
      typed.add(t[1]!);
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"\})? (\d+)$/.exec(
      line,
    );
    assert.ok(s, `bad sample line: ${line}`);
    assert.ok(typed.has(s[1]!), `sample before TYPE: ${line}`);
  }
}

describe('security and bad input', () => {
  it('state changes need the bearer token', async () => {
    const { sys, srv } = await serverFor('6.1');
    servers.push(srv);
    const url = '/sys/kernel/debug/cma/reserved/alloc';
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: 'Bearer' },
    ]) {
      const r = await srv.app.inject({ method: 'PUT', url, headers, payload: '8\n' });
      assert.equal(r.statusCode, 401, JSON.stringify(headers));
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="cma-debug"');
    }
    assert.equal(sys.areas[0]!.records.length, 0, 'nothing was allocated');
    const ok = await srv.app.inject({
      method: 'PUT',
      url,
      headers: { authorization: `bearer  ${TOKEN}` },
      payload: '8\n',
    });
    assert.equal(ok.statusCode, 200);
  });

  it('a random token when none is given', async () => {
    const sys = createSystem();
    const a = await createServer(sys);
    const b = await createServer(sys);
    servers.push(a, b);
    assert.ok(a.token.length >= 20);
    assert.notEqual(a.token, b.token);
  });

  it('refuses paths leaving the tree, bad encodings, other hosts and oversized bodies', async () => {
    const { srv } = await serverFor('6.1');
    servers.push(srv);
    for (const url of [
      '/sys/kernel/debug/cma/reserved/..%2f..%2f..%2fetc/passwd',
      '/sys/kernel/debug/cma/reserved/%2fetc%2fpasswd',
      '/sys/kernel/debug/cma/reserved/used%00',
      '/sys/kernel/debug/cma/reserved/%zz',
    ]) {
      const r = await srv.app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 400, `${url}: ${r.statusCode} ${r.body}`);
      assert.equal((r.json() as { error: string }).error, 'BAD_PATH');
    }
    assert.equal((await srv.app.inject({ method: 'GET', url: '/etc/passwd' })).statusCode, 404);
    // a client that resolves %2e%2e itself never gets above /sys either
    const dots = await srv.app.inject({ method: 'GET', url: '/sys/kernel/%2e%2e/%2e%2e/etc/passwd' });
    assert.ok([400, 404].includes(dots.statusCode));
    assert.doesNotMatch(dots.body, /root:/);
    const host = await srv.app.inject({
      method: 'GET',
      url: '/api/info',
      headers: { host: 'attacker.example:8080' },
    });
    assert.equal(host.statusCode, 421);
    for (const h of ['127.0.0.1:8080', 'localhost', '[::1]:80', 'LOCALHOST:1']) {
      assert.equal(
        (await srv.app.inject({ method: 'GET', url: '/api/info', headers: { host: h } })).statusCode,
        200,
        h,
      );
    }
    const big = await srv.app.inject({
      method: 'PUT',
      url: '/sys/kernel/debug/cma/reserved/alloc',
      headers: AUTH,
      payload: 'x'.repeat(200 * 1024),
    });
    assert.equal(big.statusCode, 413);
    assert.match((big.json() as { message: string }).message, /larger than/);
    assert.equal(
      (await srv.app.inject({ method: 'DELETE', url: '/sys/kernel/debug/cma/reserved/alloc' })).statusCode,
      404,
    );
  });

  it('a read-only source refuses writes; a directory tree cannot be escaped through symlinks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cma-serve-'));
    try {
      const area = join(dir, 'kernel/debug/cma/reserved');
      mkdirSync(area, { recursive: true });
      writeFileSync(join(area, 'used'), '12\n');
      writeFileSync(join(area, 'alloc'), '');
      writeFileSync(join(dir, '..', `${dir.split('/').pop()}-secret`), 'secret\n');
      symlinkSync(`../../../../../${dir.split('/').pop()}-secret`, join(area, 'escape'));
      symlinkSync('used', join(area, 'inside'));
      const tree = new DirectoryTree(dir);
      for (const writable of [false, true]) {
        const srv = await createServer(
          { kind: 'tree', label: dir, tree, system: null, writable },
          { token: TOKEN },
        );
        servers.push(srv);
        const get = (u: string) => srv.app.inject({ method: 'GET', url: u });
        assert.equal((await get('/sys/kernel/debug/cma/reserved/used')).body, '12\n');
        assert.equal((await get('/sys/kernel/debug/cma/reserved/inside')).body, '12\n');
        const esc = await get('/sys/kernel/debug/cma/reserved/escape');
        assert.equal(esc.statusCode, 403);
        assert.doesNotMatch(esc.body, /secret/);
        const ls = (await get('/sys/kernel/debug/cma/reserved')).json() as { entries: { name: string }[] };
        assert.deepEqual(
          ls.entries.map((e) => e.name),
          ['alloc', 'escape', 'inside', 'used'],
        );
        assert.equal((await get('/api/areas')).statusCode, 501);
        assert.match((await get('/api/areas')).body, /not available/);
        const w = await srv.app.inject({
          method: 'PUT',
          url: '/sys/kernel/debug/cma/reserved/alloc',
          headers: AUTH,
          payload: '8\n',
        });
        if (writable) assert.equal(w.statusCode, 200);
        else {
          assert.equal(w.statusCode, 403);
          assert.equal((w.json() as { error: string }).error, 'READ_ONLY');
        }
        const create = await srv.app.inject({
          method: 'PUT',
          url: '/sys/kernel/debug/cma/reserved/newfile',
          headers: AUTH,
          payload: '8\n',
        });
        assert.equal(create.statusCode, writable ? 404 : 403, 'never creates files');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}-secret`, { force: true });
    }
  });

  it('never crashes on garbage: random methods, paths, headers and bodies get 4xx or a kernel answer', async () => {
    const { sys, srv } = await serverFor('7.3');
    servers.push(srv);
    const seg = fc.oneof(
      fc.constantFrom(
        'sys',
        'kernel',
        'debug',
        'cma',
        'reserved',
        'multi',
        'alloc',
        'free',
        'bitmap',
        'ranges',
        '0',
        '..',
        '.',
        '%2e%2e',
        '%00',
        '%zz',
        '%2F',
        'tracing',
        'trace',
        'mm',
        'api',
        'areas',
        'buckets',
        'explain',
        'metrics',
      ),
      fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
    );
    const url = fc
      .tuple(fc.array(seg, { maxLength: 8 }), fc.option(fc.string({ maxLength: 30 }), { nil: undefined }))
      .map(
        ([p, q]) =>
          `/${p.join('/')}${q === undefined ? '' : `?${encodeURIComponent(q).replace(/%3D/g, '=').replace(/%26/g, '&')}`}`,
      );
    const method = fc.constantFrom('GET', 'PUT', 'POST', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH');
    const body = fc.oneof(
      fc.string({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    );
    const ctype = fc.constantFrom(
      undefined,
      'text/plain',
      'application/json',
      'application/x-www-form-urlencoded',
      'garbage/;;;',
      'multipart/form-data',
    );
    await fc.assert(
      fc.asyncProperty(method, url, body, ctype, fc.boolean(), async (m, u, b, ct, auth) => {
        const headers: Record<string, string> = {};
        if (ct) headers['content-type'] = ct;
        if (auth) headers.authorization = `Bearer ${TOKEN}`;
        const withBody = m === 'PUT' || m === 'POST' || m === 'PATCH';
        const r = await srv.app.inject({
          method: m as 'GET',
          url: u,
          headers,
          ...(withBody ? { payload: b } : {}),
        });
        if (r.statusCode >= 500) {
          // only the kernel's own EIO (a corrupted emulated kernel) may be a 5xx
          assert.equal((r.json() as { errno?: string }).errno, 'EIO', `${m} ${u}: ${r.statusCode} ${r.body}`);
        }
      }),
      { numRuns: 600, seed: 7 },
    );
    // still serving, state consistent
    const r = await srv.app.inject({ method: 'GET', url: '/api/areas' });
    assert.equal(r.statusCode, 200);
    assert.ok(sys.readFile('/sys/kernel/debug/cma/reserved/used').ok);
  });

  it('parseSysUrl and escapeLabel', () => {
    assert.deepEqual(parseSysUrl('/sys/kernel/debug/cma/a%20b/used?x=1'), [
      'kernel',
      'debug',
      'cma',
      'a b',
      'used',
    ]);
    assert.deepEqual(parseSysUrl('/sys'), []);
    assert.equal(typeof parseSysUrl('/sysx'), 'string');
    assert.equal(typeof parseSysUrl('/sys/./kernel'), 'string');
    assert.equal(typeof parseSysUrl('/sys/kernel/../..'), 'string');
    assert.equal(typeof parseSysUrl(`/sys/${'a'.repeat(300)}`), 'string');
    assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  });

  it('metrics escape area names in labels', async () => {
    const sys = createSystem({ areas: ['name=we"ird\\name,count=1024'] });
    const srv = await createServer(sys, { token: TOKEN });
    servers.push(srv);
    const m = (await srv.app.inject({ method: 'GET', url: '/metrics' })).body;
    checkExposition(m);
    assert.match(m, /^cma_area_total_pages\{area="we\\"ird\\\\name"\} 1024$/m);
  });

  it('bitmapBuckets counts set bits across word boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 70 }),
        (bits, per) => {
          const words = new Uint32Array(Math.ceil(bits.length / 32));
          bits.forEach((b, i) => {
            if (b) words[i >>> 5]! |= 1 << (i & 31);
          });
          const out = bitmapBuckets(words, 0, bits.length, per);
          assert.equal(out.length, Math.ceil(bits.length / per));
          out.forEach((v, i) => {
            const slice = bits.slice(i * per, (i + 1) * per);
            const set = slice.filter(Boolean).length;
            if (set === 0) assert.equal(v, 0);
            else if (set === slice.length) assert.equal(v, 255);
            else assert.ok(v > 0 && v < 255);
          });
        },
      ),
    );
  });
});

describe('server-sent events', () => {
  it('announces changes made outside the server (as a FUSE mount of the same system would)', async () => {
    const sys = createSystem({ profile: '6.1' });
    sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
    const srv = await createServer(sys, { token: TOKEN, eventIntervalMs: 10 });
    servers.push(srv);
    const address = await srv.app.listen({ host: '127.0.0.1', port: 0 });
    const ac = new AbortController();
    const res = await fetch(`${address}/api/events`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    const next = async (event: string): Promise<unknown> => {
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev === event && data) return JSON.parse(data);
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += dec.decode(value, { stream: true });
      }
    };
    await next('hello');
    // a write through the core, not through HTTP
    assert.ok(sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '16\n').ok);
    const ev = (await next('change')) as { areas: string[]; trace: string[]; log: string[]; version: number };
    assert.deepEqual(ev.areas, ['reserved']);
    assert.ok(ev.trace.some((l) => l.includes('cma_alloc_finish: name=reserved')));
    assert.ok(ev.version >= 1);
    // a failure reaches the log stream
    sys.writeFile('/sys/kernel/debug/cma/reserved/alloc', '4095\n');
    const ev2 = (await next('change')) as { log: string[] };
    assert.ok(
      ev2.log.some((l) => l.includes('alloc failed, req-size: 4095 pages')),
      JSON.stringify(ev2),
    );
    ac.abort();
    await reader.cancel().catch(() => {});
  });
});
