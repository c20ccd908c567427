// cma-debug/sources: where CMA state comes from — snapshots, live or copied /sys trees, devices
// over adb/ssh, kernel logs, an emulated CmaSystem — and a CmaSystem continuing from a capture.

export { bugreportSource, treeFromBugreportText } from './bugreport.ts';
export type { DeviceLog, LogDump, LogFailure, LogHugetlb, LogReservation } from './device-log.ts';
export { parseDeviceLog } from './device-log.ts';
export type {
  DeviceArea,
  DeviceFailure,
  DeviceField,
  DeviceReport,
  DeviceSystem,
  Provenance,
} from './device-model.ts';
export { deviceReport, hasDeviceData } from './device-model.ts';
export { deviceDirSource, readDeviceDir } from './device-source.ts';
export { emulatorSource, treeFromSystem } from './emulator-source.ts';
export type { FreeAreaDump, KernelLogOptions } from './kernel-log.ts';
export { kernelLogSource, parseFreeAreaDumps, treeFromKernelLog } from './kernel-log.ts';
export type { AreaModel, CmaLayout } from './model.ts';
export { parseBitmapText, pickArea, readAreas } from './model.ts';
export type { SourceSpec } from './open.ts';
export { fileKind, openSource } from './open.ts';
export type { Pagetypeinfo, PagetypeZone, VmstatCma, ZoneInfo } from './proc-files.ts';
export {
  cmaFreeOrders,
  meminfoCma,
  parseMeminfo,
  parsePagetypeinfo,
  parseVmstat,
  parseZoneinfo,
  vmstatCma,
} from './proc-files.ts';
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
export type { DeviceFiles } from './tree.ts';
