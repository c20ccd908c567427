// GET /api/events: the server-sent events stream of changes (src/frontends/http/events.ts).

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';

/** Registers /api/events. */
export function eventRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/events', (req, reply) => {
    if (!ctx.hub) return void ctx.needSystem(reply);
    reply.hijack();
    ctx.hub.attach(req.raw, reply.raw);
  });
}
