// Building an emulated system from the user's words: a profile id and area options or a config.

import type { SystemOptions } from './system.ts';
import { CmaSystem } from './system.ts';
import type { SystemRequest } from './system-request.ts';
import { placeSystem } from './system-request.ts';

/** Creates an emulated system; throws ConfigError for an invalid configuration. */
export function createSystem(req: SystemRequest = {}): CmaSystem {
  const placed = placeSystem(req);
  const opts: SystemOptions = {
    profile: placed.profile,
    areas: placed.specs,
    ...(placed.refused.length > 0 ? { refused: placed.refused } : {}),
    ...(placed.memPages !== undefined ? { memPages: placed.memPages } : {}),
    ...(placed.memHoles && placed.memHoles.length > 0 ? { memHoles: placed.memHoles } : {}),
    ...(placed.boot ? { boot: placed.boot } : {}),
    ...(req.bitmapFactory ? { bitmapFactory: req.bitmapFactory } : {}),
    ...(req.pointers ? { pointers: req.pointers } : {}),
    ...(req.now ? { now: req.now } : {}),
  };
  return new CmaSystem(opts);
}
