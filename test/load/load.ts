// The load test of `cma-debug serve`: a real server process on 127.0.0.1 (the CLI, as a user
// starts it), many concurrent clients reading and writing for a bounded time, then checks that
// every answer was a success or the kernel's own (ENOMEM), and that the state is consistent:
// the bitmap file is exactly the union of the live debugfs records.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface LoadOptions {
  /** How long the clients run (ms). */
  readonly durationMs: number;
  /** Concurrent request loops. */
  readonly clients: number;
  /** Server-sent-event listeners kept open during the run. */
  readonly listeners?: number;
  /** Progress lines go here. */
  readonly log?: (line: string) => void;
}

export interface LoadReport {
  readonly durationS: number;
  readonly clients: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly byOp: Record<string, { requests: number; meanMs: number; maxMs: number }>;
  /** The kernel's own answers (errno → count). */
  readonly kernelAnswers: Record<string, number>;
  /** Anything else: should be empty. */
  readonly errors: string[];
  readonly sseEvents: number;
  readonly consistency: {
    ok: boolean;
    problems: string[];
    records: number;
    usedPages: Record<string, number>;
  };
}

const TOKEN = 'load-test-token-0123456789';
const AREAS = ['name=reserved,count=4096', 'name=large,count=262144'];
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `cma-debug serve --port 0` and resolves to its base URL. */
function startServer(): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/frontends/cli/main.ts',
      'serve',
      '--port',
      '0',
      '--token',
      TOKEN,
      ...AREAS.flatMap((a) => ['--area', a]),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /dashboard: (http:\/\/[^/\s]+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}): ${err}`));
    });
  });
}

interface Answer {
  status: number;
  body: string;
}

function call(agent: Agent, base: string, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: body === undefined ? {} : { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Parses the debugfs u32 array text (words separated by spaces, maybe no final newline). */
function parseWords(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((w) => w !== '')
    .map(Number);
}

type Op = { name: string; method: 'GET' | 'PUT'; path: () => string; body?: () => string; weight: number };

function ops(): Op[] {
  const area = () => (Math.random() < 0.7 ? 'reserved' : 'large');
  const pages = () => String(1 + Math.floor(Math.random() * (Math.random() < 0.9 ? 64 : 2048)));
  return [
    { name: 'read used', method: 'GET', path: () => `/sys/kernel/debug/cma/${area()}/used`, weight: 20 },
    {
      name: 'read maxchunk',
      method: 'GET',
      path: () => `/sys/kernel/debug/cma/${area()}/maxchunk`,
      weight: 10,
    },
    { name: 'read bitmap', method: 'GET', path: () => '/sys/kernel/debug/cma/reserved/bitmap', weight: 8 },
    {
      name: 'read sysfs',
      method: 'GET',
      path: () => `/sys/kernel/mm/cma/${area()}/alloc_pages_success`,
      weight: 5,
    },
    { name: 'list dir', method: 'GET', path: () => `/sys/kernel/debug/cma/${area()}`, weight: 4 },
    { name: 'api areas', method: 'GET', path: () => '/api/areas', weight: 8 },
    {
      name: 'api buckets',
      method: 'GET',
      path: () => `/api/areas/${area()}/ranges/0/buckets?per=64`,
      weight: 4,
    },
    {
      name: 'api explain',
      method: 'GET',
      path: () => `/api/explain?area=${area()}&pages=${pages()}`,
      weight: 4,
    },
    { name: 'metrics', method: 'GET', path: () => '/metrics', weight: 4 },
    {
      name: 'alloc',
      method: 'PUT',
      path: () => `/sys/kernel/debug/cma/${area()}/alloc`,
      body: () => `${pages()}\n`,
      weight: 20,
    },
    {
      name: 'free',
      method: 'PUT',
      path: () => `/sys/kernel/debug/cma/${area()}/free`,
      body: () => `${pages()}\n`,
      weight: 13,
    },
  ];
}

/** Runs the load against a fresh server process and checks the result. */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const log = opts.log ?? (() => {});
  const { child, base } = await startServer();
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients + 4 });
  const errors: string[] = [];
  const kernelAnswers: Record<string, number> = {};
  const byOp: Record<string, { requests: number; totalMs: number; maxMs: number }> = {};
  let requests = 0;
  let sseEvents = 0;
  const listeners: ReturnType<typeof request>[] = [];
  try {
    for (let i = 0; i < (opts.listeners ?? 4); i++) {
      const req = request(`${base}/api/events`, { agent: false }, (res) => {
        res.on('data', (d: Buffer) => {
          sseEvents += (d.toString().match(/^event: change$/gm) ?? []).length;
        });
        res.on('error', () => {});
      });
      req.on('error', () => {});
      req.end();
      listeners.push(req);
    }
    const table = ops();
    const totalWeight = table.reduce((s, o) => s + o.weight, 0);
    const pick = () => {
      let r = Math.random() * totalWeight;
      for (const o of table) {
        r -= o.weight;
        if (r < 0) return o;
      }
      return table[0]!;
    };
    const start = performance.now();
    const end = start + opts.durationMs;
    let lastReport = start;
    const loop = async () => {
      while (performance.now() < end) {
        const op = pick();
        const path = op.path();
        const t0 = performance.now();
        let a: Answer;
        try {
          a = await call(agent, base, op.method, path, op.body?.());
        } catch (e) {
          errors.push(`${op.method} ${path}: ${(e as Error).message}`);
          continue;
        }
        const ms = performance.now() - t0;
        requests++;
        byOp[op.name] ??= { requests: 0, totalMs: 0, maxMs: 0 };
        const s = byOp[op.name]!;
        s.requests++;
        s.totalMs += ms;
        s.maxMs = Math.max(s.maxMs, ms);
        if (a.status !== 200) {
          let errno: string | undefined;
          try {
            errno = (JSON.parse(a.body) as { errno?: string }).errno;
          } catch {}
          if (op.name === 'alloc' && a.status === 507 && errno === 'ENOMEM')
            kernelAnswers.ENOMEM = (kernelAnswers.ENOMEM ?? 0) + 1;
          else if (errors.length < 50)
            errors.push(`${op.method} ${path}: ${a.status} ${a.body.slice(0, 200)}`);
        }
        const now = performance.now();
        if (now - lastReport > 5000) {
          lastReport = now;
          log(
            `  ${((now - start) / 1000).toFixed(0)} s: ${requests} requests (${Math.round(requests / ((now - start) / 1000))}/s)`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: opts.clients }, loop));
    const durationS = (performance.now() - start) / 1000;

    // consistency: bitmap = union of the live records, used = their pages, records disjoint
    const problems: string[] = [];
    let nrecords = 0;
    const usedPages: Record<string, number> = {};
    for (const name of ['reserved', 'large']) {
      const area = JSON.parse((await call(agent, base, 'GET', `/api/areas/${name}`)).body) as {
        count: number;
        basePfn: number;
        used: number;
      };
      const recs = (
        JSON.parse((await call(agent, base, 'GET', `/api/areas/${name}/records`)).body) as {
          records: { pfn: number; count: number }[];
        }
      ).records;
      nrecords += recs.length;
      const words = parseWords((await call(agent, base, 'GET', `/sys/kernel/debug/cma/${name}/bitmap`)).body);
      const expect = new Uint32Array(Math.ceil(area.count / 32));
      let sum = 0;
      for (const r of recs) {
        sum += r.count;
        for (let p = r.pfn - area.basePfn; p < r.pfn - area.basePfn + r.count; p++) {
          if (expect[p >>> 5]! & (1 << (p & 31))) problems.push(`${name}: page ${p} in two records`);
          expect[p >>> 5]! |= 1 << (p & 31);
        }
      }
      for (let i = 0; i < expect.length; i++) {
        if ((words[i] ?? 0) >>> 0 !== expect[i]! >>> 0) {
          problems.push(`${name}: bitmap word ${i} is ${words[i]}, records say ${expect[i]}`);
          break;
        }
      }
      const used = Number((await call(agent, base, 'GET', `/sys/kernel/debug/cma/${name}/used`)).body);
      if (used !== sum) problems.push(`${name}: used ${used} but the records hold ${sum} pages`);
      if (area.used !== used) problems.push(`${name}: /api says used ${area.used}, the file ${used}`);
      usedPages[name] = used;
    }
    return {
      durationS,
      clients: opts.clients,
      requests,
      requestsPerSecond: Math.round(requests / durationS),
      byOp: Object.fromEntries(
        Object.entries(byOp).map(([k, v]) => [
          k,
          {
            requests: v.requests,
            meanMs: Number((v.totalMs / v.requests).toFixed(2)),
            maxMs: Number(v.maxMs.toFixed(1)),
          },
        ]),
      ),
      kernelAnswers,
      errors,
      sseEvents,
      consistency: {
        ok: problems.length === 0,
        problems: problems.slice(0, 20),
        records: nrecords,
        usedPages,
      },
    };
  } finally {
    for (const l of listeners) l.destroy();
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}
