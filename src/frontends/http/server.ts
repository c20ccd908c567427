// The HTTP server of `cma-debug serve` (fastify): the /sys tree byte for byte, JSON views,
// Prometheus metrics, a server-sent-events stream of changes and the bundled dashboard.
//
// It takes an existing CmaSystem (or a ServeSource), so a FUSE mount of the same system and the
// server see and announce the same changes.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Fastify from 'fastify';
import type { ErrnoName } from '../../core/errno.ts';
import { ERRNO, STRERROR } from '../../core/errno.ts';
import type { CmaSystem } from '../../core/system.ts';
import { formatTraceLine } from '../../core/trace.ts';
import type { ServeSource } from '../../sources/file-tree.ts';
import { isSystem, systemSource } from '../../sources/file-tree.ts';
import { VERSION } from '../version.ts';
import { loadDashboardBundle } from '../web/bundle.ts';
import { dashboardHtml } from '../web/page.ts';
import { EventHub } from './events.ts';
import { AnalysisQuery, BucketsQuery, ExplainQuery, RangeParams, routeInput, TraceQuery } from './inputs.ts';
import {
  analyzeArea,
  areaView,
  bitmapBuckets,
  explainView,
  MAX_BUCKETS,
  prometheusMetrics,
  systemView,
} from './views.ts';

/** Options of the server. */
export interface ServerOptions {
  /** The bearer token state changes need; a random one when absent. */
  readonly token?: string;
  /** Largest accepted request body in bytes (default 64 KiB). */
  readonly bodyLimit?: number;
  /**
   * Accept only Host headers naming a loopback address (against DNS rebinding); on by default,
   * turn off when binding to a public address.
   */
  readonly loopbackHostsOnly?: boolean;
  /**
   * Reads need the token too (Authorization: Bearer, or the dashboard's `cma-debug-token` cookie);
   * `serve` turns it on when bound beyond loopback. The page shell itself (/, /app.js) stays open.
   */
  readonly readsNeedToken?: boolean;
  /** Minimum milliseconds between two change events (default 50). */
  readonly eventIntervalMs?: number;
  /** Log requests (fastify's logger) */
  readonly logRequests?: boolean;
}

/** A built server: the fastify app plus what a caller needs to tell the user. */
export interface CmaServer {
  readonly app: FastifyInstance;
  readonly token: string;
  readonly source: ServeSource;
}

/** HTTP status for a kernel errno. */
export function httpStatusForErrno(errno: ErrnoName): number {
  switch (errno) {
    case 'EINVAL':
    case 'ERANGE':
    case 'EBADF':
    case 'EFAULT':
    case 'ESPIPE':
    case 'ENOTDIR':
      return 400;
    case 'EACCES':
    case 'EPERM':
      return 403;
    case 'ENOENT':
      return 404;
    case 'EISDIR':
      return 405;
    case 'EBUSY':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return 409;
    case 'ENOMEM':
      return 507;
    case 'EINTR':
      return 503;
    case 'EIO':
      return 500;
  }
}

/** The JSON body of a kernel error. */
export function errnoBody(errno: ErrnoName, op: 'read' | 'write' | 'open' | 'list', path: string) {
  return {
    ok: false,
    path,
    errno,
    code: ERRNO[errno],
    message: STRERROR[errno],
    error: `${op} error: ${STRERROR[errno]}`,
  };
}

/** A client error that is not the kernel's: status, short code, message. */
function clientError(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).send({ ok: false, error, message });
}

const PATH_COMPONENT_MAX = 255;
const PATH_MAX = 4096;

/**
 * Splits the path of a request URL below /sys into components: percent-decoded, no empty, `.`
 * or `..` components, no NUL or `/` inside one. A string is the reason it is refused.
 */
export function parseSysUrl(url: string): string[] | string {
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  if (raw.length > PATH_MAX) return 'path too long';
  if (!(raw === '/sys' || raw.startsWith('/sys/'))) return 'not below /sys';
  const parts: string[] = [];
  for (const enc of raw.slice(5).split('/')) {
    if (enc === '') continue;
    let c: string;
    try {
      c = decodeURIComponent(enc);
    } catch {
      return `bad percent-encoding in '${enc.slice(0, 40)}'`;
    }
    if (c === '.' || c === '..') return 'a path may not contain . or .. (it would leave the tree)';
    if (c.includes('/') || c.includes('\0')) return 'a path component may not contain / or NUL';
    if (c.length > PATH_COMPONENT_MAX) return 'path component too long';
    parts.push(c);
  }
  return parts;
}

function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  let h = host.toLowerCase();
  if (h.startsWith('[')) h = h.slice(0, h.indexOf(']') + 1);
  else if (h.includes(':')) h = h.slice(0, h.lastIndexOf(':'));
  return h === 'localhost' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Builds the server over a system (or a source); call `app.listen` or `app.inject`. */
export async function createServer(
  target: CmaSystem | ServeSource,
  opts: ServerOptions = {},
): Promise<CmaServer> {
  const source = isSystem(target) ? systemSource(target) : target;
  const token = opts.token ?? randomBytes(18).toString('base64url');
  const tokenDigest = digest(token);
  const bodyLimit = opts.bodyLimit ?? 64 * 1024;
  const app = Fastify({
    logger: opts.logRequests ? { level: 'info' } : false,
    bodyLimit,
    routerOptions: { maxParamLength: 512 },
    return503OnClosing: true,
    forceCloseConnections: true,
    frameworkErrors: (err, _req, res) => {
      const reply = res as unknown as FastifyReply;
      const bad = err.code === 'FST_ERR_BAD_URL';
      void reply.code(400).send({
        ok: false,
        error: bad ? 'BAD_PATH' : (err.code ?? 'BAD_REQUEST'),
        message: bad ? 'malformed URL (bad percent-encoding)' : err.message,
      });
    },
  });
  const hub = source.system ? new EventHub(source.system, opts.eventIntervalMs ?? 50) : null;

  // Bodies are raw bytes, whatever the content type says (files take exactly what was sent).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error(err);
    const message =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `request body larger than ${bodyLimit} bytes`
        : status >= 500
          ? 'internal error'
          : err.message;
    void reply.code(status).send({ ok: false, error: err.code ?? 'ERROR', message });
  });
  app.setNotFoundHandler((req, reply) =>
    clientError(reply, 404, 'NOT_FOUND', `no such endpoint: ${req.method} ${req.url.slice(0, 200)}`),
  );

  if (opts.loopbackHostsOnly !== false) {
    app.addHook('onRequest', async (req, reply) => {
      if (!isLoopbackHost(req.headers.host)) {
        return clientError(
          reply,
          421,
          'BAD_HOST',
          'this server answers only to localhost / 127.0.0.1 host names (serve --host to change)',
        );
      }
    });
  }

  const authorized = (req: FastifyRequest): boolean => {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return false;
    return timingSafeEqual(digest(m[1]!), tokenDigest);
  };
  const cookieToken = (req: FastifyRequest): boolean => {
    const m = /(?:^|;\s*)cma-debug-token=([^;]*)/.exec(req.headers.cookie ?? '');
    if (!m?.[1]) return false;
    let t: string;
    try {
      t = decodeURIComponent(m[1]);
    } catch {
      return false;
    }
    return timingSafeEqual(digest(t), tokenDigest);
  };
  if (opts.readsNeedToken) {
    const open = new Set(['/', '/app.js', '/favicon.ico']);
    app.addHook('onRequest', async (req, reply) => {
      if (open.has(req.url.split('?')[0]!) || authorized(req) || cookieToken(req)) return;
      return reply.code(401).header('www-authenticate', 'Bearer realm="cma-debug"').send({
        ok: false,
        error: 'UNAUTHORIZED',
        message:
          'this server listens beyond loopback: reads need the token too (Authorization: Bearer <token>, printed at start)',
      });
    });
  }
  /** Checks that a state change is allowed; sends the refusal and returns false otherwise. */
  const mayChange = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (!authorized(req)) {
      void reply.code(401).header('www-authenticate', 'Bearer realm="cma-debug"').send({
        ok: false,
        error: 'UNAUTHORIZED',
        message: 'changing state needs the header Authorization: Bearer <token> (printed at start)',
      });
      return false;
    }
    if (!source.writable) {
      void clientError(reply, 403, 'READ_ONLY', 'this source is read-only (serve --allow-write to change)');
      return false;
    }
    return true;
  };
  const needSystem = (reply: FastifyReply): CmaSystem | null => {
    if (source.system) return source.system;
    void clientError(
      reply,
      501,
      'NOT_AVAILABLE',
      `not available for this source (${source.kind}) in this build: only the /sys files are served`,
    );
    return null;
  };

  // ---- the /sys tree ----

  const sysHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const parts = parseSysUrl(req.url);
    if (typeof parts === 'string') return clientError(reply, 400, 'BAD_PATH', parts);
    const path = `/sys/${parts.join('/')}`;
    reply.header('cache-control', 'no-store');
    if (req.method === 'GET' || req.method === 'HEAD') {
      const st = source.tree.stat(path, true);
      if (!st.ok) return reply.code(httpStatusForErrno(st.errno)).send(errnoBody(st.errno, 'read', path));
      if (st.stat.type === 'dir') {
        const ls = source.tree.readdir(path);
        if (!ls.ok) return reply.code(httpStatusForErrno(ls.errno)).send(errnoBody(ls.errno, 'list', path));
        const entries = ls.names.map((name) => {
          const p = `${path}/${name}`;
          const s = source.tree.stat(p, false);
          if (!s.ok) return { name, type: 'unknown' };
          const e: Record<string, unknown> = {
            name,
            type: s.stat.type,
            mode: `0${s.stat.mode.toString(8)}`,
            size: s.stat.size,
          };
          if (s.stat.type === 'symlink') {
            const l = source.tree.readlink(p);
            if (l.ok) e.target = l.target;
          }
          return e;
        });
        return reply.send({ path, type: 'dir', entries });
      }
      const r = source.tree.readFileAsync
        ? await source.tree.readFileAsync(path)
        : source.tree.readFile(path);
      if (!r.ok && 'refused' in r) return clientError(reply, r.status, 'REFUSED', `${path}: ${r.refused}`);
      if (!r.ok) return reply.code(httpStatusForErrno(r.errno)).send(errnoBody(r.errno, 'read', path));
      return reply
        .type('text/plain; charset=utf-8')
        .send(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength));
    }
    // PUT / POST: one write of the body, as `echo TEXT > FILE` does
    if (!mayChange(req, reply)) return reply;
    const body = req.body;
    const data = Buffer.isBuffer(body) ? new Uint8Array(body) : new Uint8Array(0);
    const sys = source.system;
    const allocArea =
      sys && parts.length === 5 && parts.slice(0, 3).join('/') === 'kernel/debug/cma' && parts[4] === 'alloc'
        ? sys.area(parts[3]!)
        : undefined;
    const before = allocArea?.records.length ?? 0;
    const r = source.tree.writeFile(path, data);
    source.afterWrite?.();
    if (!r.ok && 'refused' in r) return clientError(reply, r.status, 'REFUSED', `${path}: ${r.refused}`);
    if (!r.ok) return reply.code(httpStatusForErrno(r.errno)).send(errnoBody(r.errno, 'write', path));
    const out: Record<string, unknown> = { ok: true, path, written: r.written };
    if (allocArea && allocArea.records.length > before) {
      const rec = allocArea.records[allocArea.records.length - 1]!;
      out.allocated = { pfn: rec.pfn, count: Number(rec.count) };
    }
    return reply.send(out);
  };
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST'], url: '/sys', handler: sysHandler });
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST'], url: '/sys/*', handler: sysHandler });

  // ---- JSON views ----

  app.get('/api', async () => ({
    endpoints: {
      'GET /sys/<path>': 'a file: its exact bytes; a directory: JSON listing',
      'PUT|POST /sys/<path>': 'write the body to the file (needs the token)',
      'GET /api/info': 'source, profile, whether writable',
      'GET /api/areas':
        'every area: name, basePfn, count, orderPerBit, used, free, maxchunk, ranges, counters',
      'GET /api/areas/<name>': 'one area',
      'GET /api/areas/<name>/records': 'the debugfs allocation records (what `free` releases, newest last)',
      'GET /api/areas/<name>/ranges/<i>/buckets?from=&to=&per=':
        'bitmap fill per bucket of `per` bits, one byte each (0 clear … 255 set)',
      'GET /api/analysis[?area=NAME]': 'free runs, histogram, fragmentation, largest run per alignment',
      'GET /api/explain?area=NAME&pages=N[&align=ORDER]':
        'would the next cma_alloc of N pages fit, and where',
      'GET /api/log': 'the kernel log (dmesg) records',
      'GET /api/trace[?limit=N]': 'the trace buffer lines',
      'GET /api/events': 'server-sent events: change (areas, trace lines, log lines)',
      'GET /metrics': 'Prometheus text exposition format',
    },
  }));

  app.get('/api/info', async () => ({
    name: 'cma-debug',
    version: VERSION,
    source: { kind: source.kind, label: source.label },
    profile: source.system
      ? {
          id: source.system.profile.id,
          release: source.system.profile.release,
          layout: source.system.profile.layout,
        }
      : null,
    writable: source.writable,
    modelled: source.system !== null,
    features: source.features ?? { log: true, trace: true },
  }));

  app.get('/api/areas', async (_req, reply) => {
    const sys = needSystem(reply);
    if (!sys) return reply;
    return { ...systemView(sys), version: hub?.version ?? 0 };
  });

  app.get<{ Params: { name: string } }>('/api/areas/:name', async (req, reply) => {
    const sys = needSystem(reply);
    if (!sys) return reply;
    const st = sys.area(req.params.name);
    if (!st) return clientError(reply, 404, 'NO_AREA', `no area named '${req.params.name}'`);
    return areaView(st, sys.profile);
  });

  app.get<{ Params: { name: string } }>('/api/areas/:name/records', async (req, reply) => {
    const sys = needSystem(reply);
    if (!sys) return reply;
    const st = sys.area(req.params.name);
    if (!st) return clientError(reply, 404, 'NO_AREA', `no area named '${req.params.name}'`);
    return { records: st.records.map((r) => ({ pfn: r.pfn, count: Number(r.count) })) };
  });

  app.get<{ Params: { name: string; range: string }; Querystring: Record<string, string | undefined> }>(
    '/api/areas/:name/ranges/:range/buckets',
    async (req, reply) => {
      const sys = needSystem(reply);
      if (!sys) return reply;
      const st = sys.area(req.params.name);
      if (!st) return clientError(reply, 404, 'NO_AREA', `no area named '${req.params.name}'`);
      const params = routeInput(RangeParams, req.params, 'path');
      if (!params.ok) return clientError(reply, 400, 'BAD_PARAM', params.message);
      const ri = params.value.range;
      const range = st.area.ranges[ri];
      if (!range) return clientError(reply, 404, 'NO_RANGE', `area '${st.area.name}' has no range ${ri}`);
      const bits = range.bitmap.maxno;
      const q = routeInput(BucketsQuery, req.query, 'query');
      if (!q.ok) return clientError(reply, 400, 'BAD_PARAM', q.message);
      const f = q.value.from ?? 0;
      const t = q.value.to ?? bits;
      const p = q.value.per ?? 1;
      for (const [k, x, max] of [
        ['from', f, bits],
        ['to', t, bits],
        ['per', p, bits || 1],
      ] as const)
        if (x > max)
          return clientError(
            reply,
            400,
            'BAD_PARAM',
            `query parameter '${k}' is too large (at most ${max}, got ${x})`,
          );
      if (t < f) return clientError(reply, 400, 'BAD_PARAM', `'to' (${t}) is below 'from' (${f})`);
      if (p < 1) return clientError(reply, 400, 'BAD_PARAM', `'per' must be at least 1`);
      if (Math.ceil((t - f) / p) > MAX_BUCKETS)
        return clientError(reply, 400, 'BAD_PARAM', `too many buckets (at most ${MAX_BUCKETS}): raise 'per'`);
      const buckets = bitmapBuckets(range.bitmap.words, f, t, p);
      return reply
        .type('application/octet-stream')
        .header('cache-control', 'no-store')
        .header('x-cma-bits', String(bits))
        .header('x-cma-version', String(hub?.version ?? 0))
        .send(Buffer.from(buckets.buffer, buckets.byteOffset, buckets.byteLength));
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/analysis', async (req, reply) => {
    const sys = needSystem(reply);
    if (!sys) return reply;
    const name = req.query.area;
    const states = name === undefined ? sys.areas : sys.areas.filter((s) => s.area.name === name);
    if (name !== undefined && states.length === 0)
      return clientError(reply, 404, 'NO_AREA', `no area named '${name}'`);
    const q = routeInput(AnalysisQuery, req.query, 'query');
    if (!q.ok) return clientError(reply, 400, 'BAD_PARAM', q.message);
    const top = q.value.top ?? 16;
    return { areas: states.map((st) => analyzeArea(st, sys.profile, top)) };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/explain', async (req, reply) => {
    const sys = needSystem(reply);
    if (!sys) return reply;
    const name = req.query.area ?? (sys.areas.length === 1 ? sys.areas[0]!.area.name : undefined);
    if (name === undefined) return clientError(reply, 400, 'BAD_PARAM', "missing query parameter 'area'");
    const st = sys.area(name);
    if (!st) return clientError(reply, 404, 'NO_AREA', `no area named '${name}'`);
    const q = routeInput(ExplainQuery, req.query, 'query');
    if (!q.ok) return clientError(reply, 400, 'BAD_PARAM', q.message);
    return explainView(st, sys.profile, q.value.pages, q.value.align ?? 0);
  });

  const needFeature = (reply: FastifyReply, f: 'log' | 'trace'): CmaSystem | null => {
    if (source.features && !source.features[f]) {
      void clientError(
        reply,
        501,
        'NOT_AVAILABLE',
        `no ${f === 'log' ? 'kernel log' : 'trace buffer'} for this source (${source.kind}); read the files under /sys instead`,
      );
      return null;
    }
    return needSystem(reply);
  };

  app.get('/api/log', async (_req, reply) => {
    const sys = needFeature(reply, 'log');
    if (!sys) return reply;
    return { records: sys.kernelLog.records, dmesg: sys.dmesg() };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/trace', async (req, reply) => {
    const sys = needFeature(reply, 'trace');
    if (!sys) return reply;
    const q = routeInput(TraceQuery, req.query, 'query');
    if (!q.ok) return clientError(reply, 400, 'BAD_PARAM', q.message);
    const limit = q.value.limit ?? 500;
    const t = sys.tracing;
    const entries = limit === 0 ? [] : t.entries.slice(-limit);
    return {
      tracingOn: t.tracingOn,
      enabled: [...t.enabled].sort(),
      written: t.written,
      inBuffer: t.entries.length,
      lines: entries.map(formatTraceLine),
    };
  });

  app.get('/api/events', (req, reply) => {
    if (!hub) return void needSystem(reply);
    reply.hijack();
    hub.attach(req.raw, reply.raw);
  });

  app.get('/metrics', async (_req, reply) => {
    const sys = needSystem(reply);
    if (!sys) return reply;
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(prometheusMetrics(sys));
  });

  // ---- the dashboard ----

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardHtml()));
  app.get('/app.js', async (_req, reply) => {
    const js = await loadDashboardBundle();
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(js);
  });
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  app.addHook('preClose', async () => {
    hub?.close();
  });
  app.addHook('onClose', async () => {
    source.close?.();
  });
  return { app, token, source };
}
