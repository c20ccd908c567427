// cma-debug as a library: emulated CMA systems and the kernel's CMA formulas.

export * from './core/bitmap.ts';
export * from './core/cma.ts';
export * from './core/cma-bitmap.ts';
export * from './core/cma-debugfs.ts';
export * from './core/cma-sysfs.ts';
export * from './core/config.ts';
export * from './core/create.ts';
export * from './core/errno.ts';
export * from './core/kstrtox.ts';
export * from './core/printk.ts';
export * from './core/profile.ts';
export * from './core/system.ts';
export * from './core/trace.ts';
export * from './core/trace-events.ts';
export * from './core/tracefs.ts';
export * from './core/u32-array.ts';
export * from './core/vfs.ts';
