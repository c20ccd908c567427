// What `cma-debug serve` serves: a file tree (the /sys paths, byte for byte) and, when the state
// is modelled, the CmaSystem behind it (areas, analysis, explain, log, trace, live changes).

import type { Result } from '../core/errno.ts';
import type { Stat } from '../core/system.ts';
import { CmaSystem } from '../core/system.ts';
import { deviceTreeOfSystem } from './emulator-source.ts';
import type { CmaTree } from './tree.ts';

/** The path operations the file routes need; CmaSystem has them all. */
export interface FileTree {
  readFile(path: string): Result<{ data: Uint8Array }> | RefusedResult;
  /** The same off the event loop, with a time limit (trees over real files). */
  readFileAsync?(path: string): Promise<Result<{ data: Uint8Array }> | RefusedResult>;
  writeFile(path: string, data: Uint8Array): Result<{ written: number }> | RefusedResult;
  stat(path: string, follow?: boolean): Result<{ stat: Stat }>;
  readdir(path: string): Result<{ names: string[] }>;
  readlink(path: string): Result<{ target: string }>;
}

/** A read or write a tree refuses (a FIFO, a device, too large, too slow), with the reason. */
export interface RefusedResult {
  readonly ok: false;
  readonly refused: string;
  readonly status: 403 | 413 | 504;
}

/** A source the server can serve. */
export interface ServeSource {
  /**
   * 'emulator' (createSystem), 'snapshot' (an emulator started from a snapshot), 'tree' (a
   * directory) or 'capture' (what a device showed once: a snapshot, bug report or copied files
   * without debugfs, served read-only).
   */
  readonly kind: 'emulator' | 'snapshot' | 'tree' | 'capture';
  /** Human description: the profile, the directory or the snapshot file. */
  readonly label: string;
  readonly tree: FileTree;
  /** The modelled system, or null when only files are available (a live tree without a model). */
  readonly system: CmaSystem | null;
  /** Whether state-changing requests are allowed at all (a live tree only with --allow-write). */
  readonly writable: boolean;
  /** Why a source that is never writable refuses writes (a capture); the answer is then 405. */
  readonly readOnlyReason?: string;
  /** What the model can show beyond the areas (default: all); a live tree has no emulated log. */
  readonly features?: { readonly log: boolean; readonly trace: boolean };
  /**
   * What the source offers without debugfs, read now: sysfs CMA, /proc files, the kernel log
   * (the device report); absent when the source has none of it.
   */
  deviceTree?(): CmaTree;
  /** Called after a successful write through the server (a polled model re-reads at once). */
  afterWrite?(): void;
  /** Stops whatever the source runs (polling), if anything. */
  close?(): void;
}

/** Serves an existing emulated system (shared with other front ends, e.g. a FUSE mount). */
export function systemSource(
  system: CmaSystem,
  kind: 'emulator' | 'snapshot' = 'emulator',
  label?: string,
): ServeSource {
  return {
    kind,
    label: label ?? `emulated Linux ${system.profile.release} (profile ${system.profile.id})`,
    tree: system,
    system,
    writable: true,
    deviceTree: () => deviceTreeOfSystem(system),
  };
}

/** Whether `x` is a CmaSystem rather than a ServeSource. */
export function isSystem(x: CmaSystem | ServeSource): x is CmaSystem {
  return x instanceof CmaSystem;
}
