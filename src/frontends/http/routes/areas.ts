// GET /api/areas[/<name>[/records | /ranges/<i>/buckets]]: the areas of the modelled system, their
// debugfs records and their bitmaps as buckets of fill for drawing.

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { BucketsQuery, RangeParams, routeInput } from '../inputs.ts';
import type { AreasView, AreaView, RecordsView } from '../views.ts';
import { areaView, bitmapBuckets, MAX_BUCKETS, systemView } from '../views.ts';

/** Registers the /api/areas routes. */
export function areaRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/areas', async (_req, reply): Promise<AreasView | typeof reply> => {
    const sys = ctx.needSystem(reply);
    if (!sys) return reply;
    return { ...systemView(sys), version: ctx.hub?.version ?? 0 };
  });

  app.get<{ Params: { name: string } }>(
    '/api/areas/:name',
    async (req, reply): Promise<AreaView | typeof reply> => {
      const sys = ctx.needSystem(reply);
      if (!sys) return reply;
      const st = sys.area(req.params.name);
      if (!st) return clientError(reply, 404, 'NO_AREA', `no area named '${req.params.name}'`);
      return areaView(st, sys.profile);
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/areas/:name/records',
    async (req, reply): Promise<RecordsView | typeof reply> => {
      const sys = ctx.needSystem(reply);
      if (!sys) return reply;
      const st = sys.area(req.params.name);
      if (!st) return clientError(reply, 404, 'NO_AREA', `no area named '${req.params.name}'`);
      return { records: st.records.map((r) => ({ pfn: r.pfn, count: Number(r.count) })) };
    },
  );

  app.get<{ Params: { name: string; range: string }; Querystring: Record<string, string | undefined> }>(
    '/api/areas/:name/ranges/:range/buckets',
    async (req, reply) => {
      const sys = ctx.needSystem(reply);
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
        .header('x-cma-version', String(ctx.hub?.version ?? 0))
        .send(Buffer.from(buckets.buffer, buckets.byteOffset, buckets.byteLength));
    },
  );
}
