// GET /api/analysis (free runs, histogram, fragmentation) and GET /api/explain (would the next
// cma_alloc of N pages fit, and where): src/analysis run on the modelled system.

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { AnalysisQuery, ExplainQuery, routeInput } from '../inputs.ts';
import type { AnalysesView, ExplainView } from '../views.ts';
import { analyzeArea, explainView } from '../views.ts';

/** Registers /api/analysis and /api/explain. */
export function analysisRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/api/analysis',
    async (req, reply): Promise<AnalysesView | typeof reply> => {
      const sys = ctx.needSystem(reply);
      if (!sys) return reply;
      const name = req.query.area;
      const states = name === undefined ? sys.areas : sys.areas.filter((s) => s.area.name === name);
      if (name !== undefined && states.length === 0)
        return clientError(reply, 404, 'NO_AREA', `no area named '${name}'`);
      const q = routeInput(AnalysisQuery, req.query, 'query');
      if (!q.ok) return clientError(reply, 400, 'BAD_PARAM', q.message);
      const top = q.value.top ?? 16;
      return { areas: states.map((st) => analyzeArea(st, sys.profile, top)) };
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/api/explain',
    async (req, reply): Promise<ExplainView | typeof reply> => {
      const sys = ctx.needSystem(reply);
      if (!sys) return reply;
      const name = req.query.area ?? (sys.areas.length === 1 ? sys.areas[0]!.area.name : undefined);
      if (name === undefined) return clientError(reply, 400, 'BAD_PARAM', "missing query parameter 'area'");
      const st = sys.area(name);
      if (!st) return clientError(reply, 404, 'NO_AREA', `no area named '${name}'`);
      const q = routeInput(ExplainQuery, req.query, 'query');
      if (!q.ok) return clientError(reply, 400, 'BAD_PARAM', q.message);
      return explainView(st, sys.profile, q.value.pages, q.value.align ?? 0);
    },
  );
}
