// The worker half of startBinaryParse() (read-events.ts): decodes a trace.dat (trace-dat-reader.ts)
// or a Perfetto trace (perfetto.ts), plain or gzip, and posts its cma events as the same compact
// batches parse-worker.ts posts for text (parallel-format.ts), in timestamp order, with the same
// back-pressure (at most `maxInflight` unprocessed batches) and recycled buffers. Other events
// asked for (BinaryJob.mmNames: the migrate counts) go out as 'c' messages before the batch that
// follows them, so one decode feeds both the replay and the allocation table's counts.

import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { zlib } from '../lazy-zlib.ts';
import type { MmEvent } from './mm-events.ts';
import {
  type BatchMessage,
  type BinaryJob,
  feedFile,
  type WorkerData,
  workerBatchEncoder,
} from './parallel-format.ts';
import type { ParseStats } from './parse.ts';
import { PerfettoReader } from './perfetto.ts';
import { fileByteSource, gunzippedByteSource } from './trace-dat.ts';
import { type BinaryEvent, readTraceDat } from './trace-dat-reader.ts';

const port = parentPort;
const data = workerData as WorkerData | undefined;
if (port !== null && data !== undefined && data.kind === 'cma-binary-decode') void run(data);

async function run(d: WorkerData & BinaryJob): Promise<void> {
  const p = port!;
  let mm: MmEvent[] = [];
  /** The kernel release the file records (known once its header or system_info is read). */
  let release = (): string | null => null;
  const postMm = (): void => {
    if (mm.length === 0) return;
    p.postMessage({ t: 'c', events: mm, kernelRelease: release() } satisfies BatchMessage);
    mm = [];
  };
  const enc = workerBatchEncoder(d, p, postMm);
  const onEvent = (ev: BinaryEvent): void => enc.event(ev);
  const mmOpt =
    d.mmNames === null ? undefined : { names: new Set(d.mmNames), onEvent: (e: MmEvent) => void mm.push(e) };
  try {
    let stats: ParseStats;
    if (d.format === 'trace.dat') {
      // random access: a gzip'd file is spooled to a temporary file first
      const bs = d.gzip ? await gunzippedByteSource(d.path) : fileByteSource(d.path);
      try {
        stats = readTraceDat(bs, onEvent, {
          onInfo: (info) => {
            release = () => info.kernelRelease;
          },
          onProgress: (b) => {
            enc.bytes = b;
          },
          rows: enc,
          ...(mmOpt ? { mm: mmOpt } : {}),
        });
      } finally {
        bs.close();
      }
    } else {
      const r = new PerfettoReader(onEvent, mmOpt ? { mm: mmOpt, rows: enc } : { rows: enc });
      release = () => r.kernelRelease;
      if (d.gzip) {
        const raw = createReadStream(d.path, { highWaterMark: 1 << 20 });
        for await (const chunk of raw.pipe(zlib().createGunzip()) as AsyncIterable<Buffer>) {
          enc.bytes = raw.bytesRead;
          r.feed(chunk);
        }
      } else {
        // one reused buffer: the reader copies what it keeps across chunks (its fast path's
        // input region when it has one: bundles there are decoded in place)
        feedFile(d.path, 0, r.input ?? Buffer.allocUnsafe(1 << 20), enc, (chunk) => r.feed(chunk));
      }
      stats = r.end();
    }
    enc.flush();
    postMm();
    p.postMessage({ t: 'e', stats } satisfies BatchMessage);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    p.postMessage({ t: 'x', message: err.message ?? String(e), code: err.code } satisfies BatchMessage);
  }
}
