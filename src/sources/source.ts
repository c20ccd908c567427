// The one interface every CMA state source implements.

import type { CmaTree } from './tree.ts';

/**
 * Where CMA state comes from: a live /sys, a copied directory, a device over adb or ssh, a
 * snapshot file, the emulator, or a kernel log. `capture()` reads every CMA file at once (one
 * round trip for remote sources) and throws SourceError with a one-line message on failure.
 */
export interface CmaSource {
  /** For messages and snapshots: `/sys`, `adb -s SERIAL`, `ssh HOST`, a file name. */
  readonly label: string;
  capture(): Promise<CmaTree>;
}
