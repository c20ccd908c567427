// GET /api/device: what the source tells without debugfs, as a production kernel offers it —
// sysfs counters, /proc/{meminfo,vmstat,zoneinfo,pagetypeinfo} and the kernel log — with every
// figure known, inferred or unknown and the last failure's verdict (src/sources/device-model.ts).

import type { FastifyInstance } from 'fastify';
import { deviceReport } from '../../../sources/device-model.ts';
import type { RouteContext } from '../context.ts';
import { clientError } from '../errors.ts';
import type { DeviceView } from '../views.ts';
import { deviceView } from '../views.ts';

/** Registers /api/device. */
export function deviceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/device', async (_req, reply): Promise<DeviceView | typeof reply> => {
    const { source } = ctx;
    if (!source.deviceTree)
      return clientError(
        reply,
        501,
        'NOT_AVAILABLE',
        `no device files (sysfs CMA, /proc, kernel log) for this source (${source.kind})`,
      );
    const debugfs = source.system?.debugfsMounted === true;
    return deviceView(deviceReport(source.deviceTree()), debugfs);
  });
}
