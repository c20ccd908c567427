// cma-debug as a library: emulated CMA systems and the kernel's CMA formulas. Subpaths:
// `cma-debug/sources` (snapshots, trees, devices, kernel logs), `cma-debug/analysis` (free
// runs, summaries, explain), `cma-debug/trace` (parse, replay and plan ftrace traces).

export {
  bitmapClear,
  bitmapFindNextZeroAreaOff,
  bitmapSet,
  bitmapWeight,
  findNextBit,
  findNextZeroBit,
  forEachZeroRun,
  longestZeroRun,
} from './core/bitmap.ts';
export type { AllocResult, AreaSpec, BusyRange, CmaArea, CmaRange, CmaSysfsCounters } from './core/cma.ts';
export {
  AlignmentTable,
  cmaAlloc,
  cmaBitmapAlignedMask,
  cmaBitmapAlignedOffset,
  cmaBitmapPagesToBits,
  cmaMaxchunkPages,
  cmaRelease,
  cmaUsedPages,
  createArea,
  findRange,
} from './core/cma.ts';
export type { CmaBitmap, CmaBitmapFactory } from './core/cma-bitmap.ts';
export { PlainBitmap, plainBitmapFactory } from './core/cma-bitmap.ts';
export { bitmapText, CMA_DEBUGFS_FILES, type DebugfsFileSpec } from './core/cma-debugfs.ts';
export type { AreaRequest } from './core/config.ts';
export {
  CMA_MAX_NAME_LEN,
  ConfigError,
  DEFAULT_AREAS,
  PAGE_SIZE,
  PAGEBLOCK_PAGES,
  parseAreaOption,
  parseConfigJson,
  parseNumber,
  parseSizeToPages,
  resolveAreas,
} from './core/config.ts';
export { createSystem } from './core/create.ts';
export type { ErrnoName, Failure, Result } from './core/errno.ts';
export { ERRNO, fail, STRERROR } from './core/errno.ts';
export type { IndexPolicy } from './core/indexed-bitmap.ts';
export { IndexedBitmap, indexedBitmapFactory, MAX_INDEXED_BITS } from './core/indexed-bitmap.ts';
export { kstrtoull, parseAttrWrite, toCInt } from './core/kstrtox.ts';
export type {
  AllocStartFields,
  KernelProfile,
  ReservedLogStyle,
  SysfsFile,
  TraceEventName,
} from './core/profile.ts';
export { findProfile, PROFILE_6_1, PROFILE_6_12, PROFILE_7_3, PROFILES } from './core/profile.ts';
export type { Stat, SystemChange, SystemOptions } from './core/system.ts';
export { bootLog, bootLogLines, CmaSystem } from './core/system.ts';
export type { SystemRequest } from './core/system-request.ts';
export { profileById } from './core/system-request.ts';
export { CMA_TRACE_EVENTS, formatTraceLine, traceFormatFile } from './core/trace.ts';
export type { U32ArrayScan } from './core/u32-array.ts';
export { formatU32Array, parseU32Array, scanU32Array } from './core/u32-array.ts';
