// GET /api/log (the kernel log records and dmesg text) and GET /api/trace (the trace buffer lines)
// of the modelled system.

import type { FastifyInstance } from 'fastify';
import { formatTraceLine } from '../../../core/trace.ts';
import type { RouteContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { routeInput, TraceQuery } from '../inputs.ts';
import type { LogView, TraceView } from '../views.ts';

/** Registers /api/log and /api/trace. */
export function traceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/log', async (_req, reply): Promise<LogView | typeof reply> => {
    const sys = ctx.needFeature(reply, 'log');
    if (!sys) return reply;
    return { records: sys.kernelLog.records, dmesg: sys.dmesg() };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/api/trace',
    async (req, reply): Promise<TraceView | typeof reply> => {
      const sys = ctx.needFeature(reply, 'trace');
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
    },
  );
}
