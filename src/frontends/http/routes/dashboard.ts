// GET / and /app.js: the bundled dashboard (src/frontends/web).

import type { FastifyInstance } from 'fastify';
import { loadDashboardBundle } from '../../web/bundle.ts';
import { dashboardHtml } from '../../web/page.ts';

/** The paths the page shell needs; open even when reads need the token. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/', '/app.js', '/favicon.ico']);

/** Registers /, /app.js and /favicon.ico. */
export function dashboardRoutes(app: FastifyInstance): void {
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardHtml()));
  app.get('/app.js', async (_req, reply) => {
    const js = await loadDashboardBundle();
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(js);
  });
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
}
