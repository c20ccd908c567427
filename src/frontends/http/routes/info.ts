// GET /api (the endpoint list) and GET /api/info (source, profile, whether writable).

import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../version.ts';
import type { RouteContext } from '../context.ts';
import type { EndpointsView, InfoView } from '../views.ts';

/** Every endpoint with one line on what it answers. */
const ENDPOINTS: Readonly<Record<string, string>> = {
  'GET /sys/<path>': 'a file: its exact bytes; a directory: JSON listing',
  'PUT|POST /sys/<path>': 'write the body to the file (needs the token)',
  'GET /api/info': 'source, profile, whether writable',
  'GET /api/areas': 'every area: name, basePfn, count, orderPerBit, used, free, maxchunk, ranges, counters',
  'GET /api/areas/<name>': 'one area',
  'GET /api/areas/<name>/records': 'the debugfs allocation records (what `free` releases, newest last)',
  'GET /api/areas/<name>/ranges/<i>/buckets?from=&to=&per=':
    'bitmap fill per bucket of `per` bits, one byte each (0 clear … 255 set)',
  'GET /api/analysis[?area=NAME]': 'free runs, histogram, fragmentation, largest run per alignment',
  'GET /api/explain?area=NAME&pages=N[&align=ORDER]': 'would the next cma_alloc of N pages fit, and where',
  'GET /api/device':
    'what the source tells without debugfs (sysfs, /proc, the kernel log): each figure known, inferred or unknown; the last failure and its verdict',
  'GET /api/log': 'the kernel log (dmesg) records',
  'GET /api/trace[?limit=N]': 'the trace buffer lines',
  'GET /api/events': 'server-sent events: change (areas, trace lines, log lines)',
  'GET /metrics': 'Prometheus text exposition format',
};

/** Registers /api and /api/info. */
export function infoRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { source } = ctx;
  app.get('/api', async (): Promise<EndpointsView> => ({ endpoints: ENDPOINTS }));
  app.get(
    '/api/info',
    async (): Promise<InfoView> => ({
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
      device: source.deviceTree !== undefined,
      debugfs: source.system?.debugfsMounted ?? false,
    }),
  );
}
