// One stream of cma events from any trace a user has: ftrace text (parse.ts), trace-cmd's
// trace.dat (trace-dat-reader.ts) or a Perfetto trace (perfetto.ts), plain or gzip, chosen by
// the content (detect.ts). Every reader calls onEvent with the same reused-event contract.
// The binary readers are loaded only for a file of their format: a text trace (and every
// `cma-debug replay` whose binary file is decoded on a worker) does not load their ~80 KB.

import { takePrestartedBinary } from './binary-prestart.ts';
import { detectFileFormat, detectFormat, notATraceError, type TraceFormat } from './detect.ts';
import type { TraceEvent } from './events.ts';
import type { TraceSource } from './input.ts';
import type { MmEventsOption } from './mm-events.ts';
import { BatchDecoder, type ParallelParse, startWorker, workerScript } from './parallel.ts';
import { type ParseOptions, type ParseStats, TraceLineParser } from './parse.ts';
import type { PerfettoReader } from './perfetto.ts';
import type { ByteSource } from './trace-dat.ts';

/** The format of a source, without consuming it when it is a file (null: look at the stream). */
export function sourceFormat(src: TraceSource): { format: TraceFormat; what: string } | null {
  if (src.path === undefined) return null;
  return detectFileFormat(src.path, src.gzip);
}

/** Options of readTraceEvents: the parser's, plus the kernel release to assume. */
export interface ReadOptions extends ParseOptions {
  /** The kernel release when the file does not record one (binary formats report theirs). */
  kernelRelease?: string;
  /** Other events to decode in the same pass (text: ParseOptions.otherEvents), e.g. the migrate counts. */
  mm?: MmEventsOption;
}

/**
 * Reads every cma event of a trace (any format, detected by content), calling onEvent in
 * timestamp/file order. Resolves to the statistics (binary formats also set `format`,
 * `kernelRelease` and the lost-event counts). Binary data of another kind is an Error.
 */
export async function readTraceEvents(
  src: TraceSource,
  onEvent: (ev: TraceEvent) => void,
  opts: ReadOptions = {},
): Promise<ParseStats> {
  const known = sourceFormat(src);
  if (known !== null && known.format === 'trace.dat' && src.path !== undefined && !src.gzip) {
    const { fileByteSource } = await import('./trace-dat.ts');
    const bs = fileByteSource(src.path);
    try {
      return withRelease(await datRead(bs, onEvent, opts), opts);
    } finally {
      bs.close();
    }
  }
  if (known !== null && known.format === 'binary') throw notATraceError(src.label, known.what);
  const it = src.open()[Symbol.asyncIterator]();
  let first = await it.next();
  // the first bytes (at least DETECT_BYTES when there are that many)
  const head: Uint8Array[] = [];
  let headLen = 0;
  while (!first.done && headLen < 4096) {
    head.push(first.value);
    headLen += first.value.length;
    if (headLen >= 4096) break;
    first = await it.next();
  }
  const headBytes = concatAll(head);
  const fmt = known ?? detectFormat(headBytes.subarray(0, 4096));
  const rest = async function* (): AsyncGenerator<Uint8Array> {
    if (headBytes.length > 0) yield headBytes;
    if (first.done) return;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  };
  switch (fmt.format) {
    case 'text': {
      const { mm, ...po } = opts;
      const parser = new TraceLineParser(onEvent, {
        ...po,
        ...(mm ? { otherEvents: { names: mm.names, onEvent: (e) => mm.onEvents([e], null) } } : {}),
        // the fast path in wasm: no JIT warm-up (most of a small trace's parse)
        wasm: true,
      });
      for await (const chunk of rest()) parser.feed(chunk);
      return parser.end();
    }
    case 'trace.dat': {
      // random access: the (decompressed) stream spooled to a temporary file
      const { spooledByteSource } = await import('./trace-dat.ts');
      const bs = await spooledByteSource(rest());
      try {
        return withRelease(await datRead(bs, onEvent, opts), opts);
      } finally {
        bs.close();
      }
    }
    case 'perfetto': {
      const { mm, ...po } = opts;
      const { PerfettoReader } = await import('./perfetto.ts');
      const r: PerfettoReader = new PerfettoReader(onEvent, {
        ...po,
        ...(mm ? { mm: { names: mm.names, onEvent: (e) => mm.onEvents([e], r.kernelRelease) } } : {}),
      });
      for await (const chunk of rest()) r.feed(chunk);
      return withRelease(r.end(), opts);
    }
    default:
      await it.return?.();
      throw notATraceError(src.label, fmt.what);
  }
}

async function datRead(
  bs: ByteSource,
  onEvent: (ev: TraceEvent) => void,
  opts: ReadOptions,
): Promise<ParseStats> {
  const [{ TraceDatError }, { readTraceDat }] = await Promise.all([
    import('./trace-dat.ts'),
    import('./trace-dat-reader.ts'),
  ]);
  try {
    let release: string | null = null;
    const mm = opts.mm;
    return readTraceDat(bs, onEvent, {
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      onInfo: (info) => {
        release = info.kernelRelease;
      },
      ...(mm ? { mm: { names: mm.names, onEvent: (e) => mm.onEvents([e], release) } } : {}),
    });
  } catch (e) {
    if (e instanceof TraceDatError) throw new Error(e.message);
    throw e;
  }
}

function withRelease(stats: ParseStats, opts: ReadOptions): ParseStats {
  if ((stats.kernelRelease ?? null) === null && opts.kernelRelease !== undefined)
    stats.kernelRelease = opts.kernelRelease;
  return stats;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Unprocessed batches a taken early worker may have (startWorker's own workers: the same 4). */
const BINARY_INFLIGHT = 4;

/**
 * Starts decoding a trace.dat or Perfetto file (plain or gzip) on a worker thread
 * (binary-worker.ts), as startParallelParse() does for text: `run` delivers the cma events on
 * this thread in timestamp order, through the same batches; `opts.mm`'s events arrive in the
 * same pass. Throws when there is no worker script (the caller reads on this thread instead).
 */
export function startBinaryParse(
  path: string,
  format: 'trace.dat' | 'perfetto',
  gzip: boolean,
  opts: ReadOptions = {},
): ParallelParse {
  const script = workerScript('binary-worker');
  if (script === null) throw new Error('no binary trace worker script next to parallel.ts');
  const { mm, ...rest } = opts;
  const mmNames = mm ? [...mm.names] : null;
  // the worker bin/cma-debug.js started before the program was loaded, when it decodes this
  // file as this call would
  const early = takePrestartedBinary(path, format, gzip, BINARY_INFLIGHT, mmNames);
  const w = startWorker(
    script,
    { kind: 'cma-binary-decode', path, format, gzip, mmNames },
    { ...rest, ...(mm ? { onMmEvents: mm.onEvents } : {}) },
    early,
  );
  let live = true;
  const cancel = (): void => {
    if (live) void w.worker.terminate();
    live = false;
  };
  return {
    run: async (onEvent, rows) => {
      try {
        return withRelease(await w.run(onEvent, new BatchDecoder(), rows), opts);
      } finally {
        cancel();
      }
    },
    cancel,
  };
}
