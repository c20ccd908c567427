// cma-debug/trace: read ftrace traces of the cma events, replay them with the kernel's exact
// placement, and size areas for a recorded workload.

export type { MalformedLine, TraceEvent, TraceEventKind } from './events.ts';
export type { TraceSource } from './input.ts';
export { fileSource, memorySource, openTraceSource } from './input.ts';
export type { ParseOptions, ParseStats } from './parse.ts';
export { parseTraceStream, parseTraceText } from './parse.ts';
export { inferAreas, replayTrace } from './replay.ts';
// the replay's vocabulary (every type of replay-types.ts)
export type * from './replay-types.ts';
