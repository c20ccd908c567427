// The emulated system the system options describe (system-options.ts), for the commands that run
// one: areas, exec, mount, serve.

import type { CmaBitmapFactory } from '../../core/cma-bitmap.ts';
import { createSystem } from '../../core/create.ts';
import type { CmaSystem } from '../../core/system.ts';
import type { SystemFlags } from './system-options.ts';
import { reportRefused, requestFromFlags } from './system-options.ts';

/** Builds the emulated system the flags describe (positional area specs count as --area). */
export function systemFromFlags(
  flags: SystemFlags,
  extraAreas: string[] = [],
  bitmapFactory?: CmaBitmapFactory,
): CmaSystem {
  const sys = createSystem(requestFromFlags(flags, extraAreas, bitmapFactory));
  reportRefused(sys.refused);
  return sys;
}
