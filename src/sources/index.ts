// cma-debug/sources: where CMA state comes from — snapshots, live or copied /sys trees, devices
// over adb/ssh, kernel logs — and a CmaSystem continuing from a capture.

export type { FreeAreaDump, KernelLogOptions } from './kernel-log.ts';
export { kernelLogSource, parseFreeAreaDumps, treeFromKernelLog } from './kernel-log.ts';
export type { AreaModel, CmaLayout } from './model.ts';
export { parseBitmapText, pickArea, readAreas } from './model.ts';
export type { SourceSpec } from './open.ts';
export { fileKind, openSource } from './open.ts';
export type { FromSnapshotOptions, Snapshot } from './snapshot.ts';
export {
  formatSnapshot,
  parseSnapshot,
  readSnapshotFile,
  snapshotFromTree,
  systemFromSnapshot,
  systemFromSnapshotFile,
  treeFromSnapshot,
} from './snapshot.ts';
export type { CmaSource } from './source.ts';
