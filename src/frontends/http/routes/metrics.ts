// GET /metrics: the Prometheus text exposition format (views.ts prometheusMetrics).

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { prometheusMetrics } from '../views.ts';

/** Registers /metrics. */
export function metricsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/metrics', async (_req, reply) => {
    const sys = ctx.needSystem(reply);
    if (!sys) return reply;
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(prometheusMetrics(sys));
  });
}
