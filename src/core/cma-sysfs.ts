// /sys/kernel/mm/cma/<name>/ (mm/cma_sysfs.c): per-area counters, files chosen by the profile.

import type { CmaArea } from './cma.ts';
import type { KernelProfile, SysfsFile } from './profile.ts';
import type { DirNode, VfsNode } from './vfs.ts';
import { dir, sysfsFile } from './vfs.ts';

/** The value of one sysfs file of an area. */
function cmaSysfsValue(area: CmaArea, file: SysfsFile): bigint {
  switch (file) {
    case 'alloc_pages_success':
      return area.sysfs.allocPagesSuccess;
    case 'alloc_pages_fail':
      return area.sysfs.allocPagesFail;
    case 'release_pages_success':
      return area.sysfs.releasePagesSuccess;
    case 'total_pages':
      return BigInt(area.count);
    case 'available_pages':
      return BigInt(area.availableCount);
  }
}

/** Every sysfs file of an area with its value, in `ls` order. */
export function cmaSysfsCounters(area: CmaArea, profile: KernelProfile): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const f of profile.sysfsFiles) out[f] = cmaSysfsValue(area, f);
  return out;
}

/** /sys/kernel/mm/cma: a directory per area with the profile's files ("%llu\n" / "%lu\n"). */
export function cmaSysfsRoot(profile: KernelProfile, areas: () => readonly CmaArea[]): DirNode {
  return dir(
    () =>
      areas().map((area): [string, VfsNode] => [
        area.name.replaceAll('/', '!'),
        dir(
          () =>
            profile.sysfsFiles.map((f): [string, VfsNode] => [
              f,
              sysfsFile(() => `${cmaSysfsValue(area, f)}\n`),
            ]),
          0o755,
          'EACCES',
          'EPERM',
        ),
      ]),
    0o755,
  );
}
