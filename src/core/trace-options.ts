// The trace options of /sys/kernel/tracing/{trace_options,options/} (kernel/trace/trace.c's
// TRACE_FLAGS), each kernel's list in trace_options order with its default, as the oracles read
// them (test/fixtures/trace-options/).

import type { KernelProfile } from './profile.ts';

/** Options on by default; the others are off. */
const ON = new Set([
  'print-parent',
  'trace_printk',
  'annotate',
  'context-info',
  'record-cmd',
  'overwrite',
  'irq-info',
  'markers',
  'trace_printk_dest',
  'copy_trace_marker',
  'hash-ptr',
]);

const BASE = [
  'print-parent',
  'sym-offset',
  'sym-addr',
  'verbose',
  'raw',
  'hex',
  'bin',
  'block',
  'fields',
  'trace_printk',
  'annotate',
  'userstacktrace',
  'sym-userobj',
  'printk-msg-only',
  'context-info',
  'latency-format',
  'record-cmd',
  'record-tgid',
  'overwrite',
  'disable_on_free',
  'irq-info',
  'markers',
  'event-fork',
  'trace_printk_dest',
  'copy_trace_marker',
  'pause-on-trace',
  'hash-ptr',
  'bitmask-list',
  'stacktrace',
  'test_nop_accept',
  'test_nop_refuse',
];

/** Options each kernel lacks. */
const MISSING: Record<string, readonly string[]> = {
  '6.1': ['fields', 'trace_printk_dest', 'copy_trace_marker', 'bitmask-list'],
  '6.12': ['copy_trace_marker', 'bitmask-list'],
  '7.3': [],
};

/** The profile's options in trace_options order, with their defaults (made once per profile). */
export function traceOptionList(profile: KernelProfile): readonly { name: string; on: boolean }[] {
  let list = lists.get(profile.id);
  if (!list) {
    const missing = new Set(MISSING[profile.id] ?? MISSING['6.1']);
    list = BASE.filter((n) => !missing.has(n)).map((name) => ({ name, on: ON.has(name) }));
    lists.set(profile.id, list);
  }
  return list;
}

const lists = new Map<string, readonly { name: string; on: boolean }[]>();
