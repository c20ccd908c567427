// The HTTP server of `cma-debug serve` (fastify): the /sys tree byte for byte, JSON views,
// Prometheus metrics, a server-sent-events stream of changes and the bundled dashboard.
//
// It takes an existing CmaSystem (or a ServeSource), so a FUSE mount of the same system and the
// server see and announce the same changes. This file builds the app and its guards (host check,
// token, errors); the routes live in ./routes/, one module per concern, each given the shared
// RouteContext (./context.ts).

import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import Fastify from 'fastify';
import type { CmaSystem } from '../../core/system.ts';
import type { ServeSource } from '../../sources/file-tree.ts';
import { isSystem, systemSource } from '../../sources/file-tree.ts';
import { routeContext } from './context.ts';
import { clientError } from './errors.ts';
import { EventHub } from './events.ts';
import { analysisRoutes } from './routes/analysis.ts';
import { areaRoutes } from './routes/areas.ts';
import { dashboardRoutes, OPEN_PATHS } from './routes/dashboard.ts';
import { deviceRoutes } from './routes/device.ts';
import { eventRoutes } from './routes/events.ts';
import { fileRoutes } from './routes/files.ts';
import { infoRoutes } from './routes/info.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { traceRoutes } from './routes/trace.ts';

export { httpStatusForErrno } from './errors.ts';
export { parseSysUrl } from './routes/files.ts';

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

function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  let h = host.toLowerCase();
  if (h.startsWith('[')) h = h.slice(0, h.indexOf(']') + 1);
  else if (h.includes(':')) h = h.slice(0, h.lastIndexOf(':'));
  return h === 'localhost' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Builds the server over a system (or a source); call `app.listen` or `app.inject`. */
export async function createServer(
  target: CmaSystem | ServeSource,
  opts: ServerOptions = {},
): Promise<CmaServer> {
  const source = isSystem(target) ? systemSource(target) : target;
  const token = opts.token ?? randomBytes(18).toString('base64url');
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
  const ctx = routeContext(source, hub, token);

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
  if (opts.readsNeedToken) {
    app.addHook('onRequest', async (req, reply) => {
      if (OPEN_PATHS.has(req.url.split('?')[0]!) || ctx.authorized(req) || ctx.cookieToken(req)) return;
      return reply.code(401).header('www-authenticate', 'Bearer realm="cma-debug"').send({
        ok: false,
        error: 'UNAUTHORIZED',
        message:
          'this server listens beyond loopback: reads need the token too (Authorization: Bearer <token>, printed at start)',
      });
    });
  }

  fileRoutes(app, ctx);
  infoRoutes(app, ctx);
  areaRoutes(app, ctx);
  analysisRoutes(app, ctx);
  deviceRoutes(app, ctx);
  traceRoutes(app, ctx);
  eventRoutes(app, ctx);
  metricsRoutes(app, ctx);
  dashboardRoutes(app);

  app.addHook('preClose', async () => {
    hub?.close();
  });
  app.addHook('onClose', async () => {
    source.close?.();
  });
  return { app, token, source };
}
