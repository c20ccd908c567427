// GET /metrics: the Prometheus text exposition format. With debugfs, the modelled system's
// figures (views.ts prometheusMetrics); without it (a production kernel's files, the emulator with
// debugfs unmounted), the device report's, each labelled with how it is known (deviceMetrics).

import type { FastifyInstance } from 'fastify';
import { deviceReport } from '../../../sources/device-model.ts';
import type { RouteContext } from '../context.ts';
import { deviceMetrics, prometheusMetrics } from '../views.ts';

const TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Registers /metrics. */
export function metricsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/metrics', async (_req, reply) => {
    const { source } = ctx;
    const sys = source.system;
    if (source.deviceTree && !sys?.debugfsMounted)
      return reply.type(TYPE).send(deviceMetrics(deviceReport(source.deviceTree())));
    if (!ctx.needSystem(reply) || !sys) return reply;
    return reply.type(TYPE).send(prometheusMetrics(sys));
  });
}
