// The worker half of parseFileParallel() (parallel.ts): reads a trace file, parses it with
// TraceLineParser and posts the events as compact batches (a Float64Array of F numbers per
// event and COMM_BYTES bytes of task name per event, transferred, not copied), in order. At most
// `maxInflight` batches are unprocessed at any time: the worker blocks on a shared counter that
// the main thread decrements (bounded memory). The main thread hands processed buffers back on
// `recycle`; they are reused.

import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { TraceEvent } from './events.ts';
import {
  BATCH_EVENTS,
  type BatchExtra,
  type BatchMessage,
  COMM_BYTES,
  F,
  type RecycledBuffers,
  type WorkerData,
} from './parallel-format.ts';
import { TraceLineParser } from './parse.ts';

const port = parentPort;
const data = workerData as WorkerData | undefined;
if (port !== null && data !== undefined && data.kind === 'cma-trace-parse') run(data);

function run(d: WorkerData): void {
  const p = port!;
  const flag = new Int32Array(d.inflight);
  const fresh = (): void => {
    const r = receiveMessageOnPort(d.recycle)?.message as RecycledBuffers | undefined;
    f64 = r ? new Float64Array(r.buf) : new Float64Array(BATCH_EVENTS * F);
    comm = r ? new Uint8Array(r.commBuf) : new Uint8Array(BATCH_EVENTS * COMM_BYTES);
  };
  let f64 = new Float64Array(0);
  let comm = new Uint8Array(0);
  fresh();
  let n = 0;
  let cap = 256;
  let names: string[] = [];
  let nameIds = new Map<string, number>();
  let lastName: string | null = null;
  let lastNameId = 0;
  let extras: BatchExtra[] = [];
  let bytes = 0;

  const flush = (): void => {
    if (n === 0) return;
    // back-pressure: only this thread increments, so the count can only fall after the check
    for (;;) {
      const v = Atomics.load(flag, 0);
      if (v < d.maxInflight) break;
      Atomics.wait(flag, 0, v);
    }
    Atomics.add(flag, 0, 1);
    const buf = f64.buffer as ArrayBuffer;
    const commBuf = comm.buffer as ArrayBuffer;
    const msg: BatchMessage = { t: 'b', buf, commBuf, n, names, extras, bytes };
    p.postMessage(msg, [buf, commBuf]);
    fresh();
    // the first batches are small: the main thread starts replaying sooner
    cap = Math.min(2 * cap, BATCH_EVENTS);
    n = 0;
    names = [];
    nameIds = new Map();
    lastName = null;
    extras = [];
  };

  let parser: TraceLineParser;
  const onEvent = (ev: TraceEvent): void => {
    const o = n * F;
    f64[o] = ev.kind;
    f64[o + 1] = ev.line;
    f64[o + 2] = ev.pid;
    f64[o + 3] = ev.cpu;
    f64[o + 4] = ev.ts;
    const name = ev.name;
    if (name !== lastName) {
      let ni = nameIds.get(name);
      if (ni === undefined) {
        ni = names.length;
        names.push(name);
        nameIds.set(name, ni);
      }
      lastName = name;
      lastNameId = ni;
    }
    f64[o + 5] = lastNameId;
    const cl = parser.copyComm(comm, n * COMM_BYTES, COMM_BYTES);
    f64[o + 6] = cl;
    f64[o + 7] = ev.count;
    f64[o + 8] = ev.align;
    f64[o + 9] = ev.pfn;
    f64[o + 10] = ev.hasPage ? 1 : 0;
    if (parser.fastEvent) f64[o + 11] = -1;
    else if (
      cl < 0 ||
      ev.countBig !== null ||
      ev.errorno !== null ||
      ev.availableCount !== -1 ||
      ev.totalCount !== -1 ||
      ev.nrMigrated !== 0 ||
      ev.errIso !== 0 ||
      ev.errMig !== 0 ||
      ev.errTest !== 0
    ) {
      f64[o + 11] = extras.length;
      extras.push({
        countBig: ev.countBig,
        errorno: ev.errorno,
        availableCount: ev.availableCount,
        totalCount: ev.totalCount,
        nrMigrated: ev.nrMigrated,
        errIso: ev.errIso,
        errMig: ev.errMig,
        errTest: ev.errTest,
        comm: cl < 0 ? ev.comm() : null,
      });
    } else f64[o + 11] = -1;
    if (++n === cap) flush();
  };

  try {
    parser = new TraceLineParser(onEvent, {
      // in order with the events around them
      onAnnotation: (a) => {
        flush();
        p.postMessage({ t: 'a', a } satisfies BatchMessage);
      },
      ...(d.wantMalformed
        ? {
            onMalformed: (m) => {
              flush();
              p.postMessage({ t: 'm', m } satisfies BatchMessage);
            },
          }
        : {}),
      maxMalformedKept: d.maxMalformedKept,
      firstLine: d.firstLine,
    });
    const fd = openSync(d.path, 'r');
    try {
      // one reused buffer: the parser copies what it keeps across chunks
      const buf = Buffer.allocUnsafe(1 << 20);
      let pos = d.start;
      for (;;) {
        const got = readSync(fd, buf, 0, buf.length, pos);
        if (got <= 0) break;
        pos += got;
        bytes = pos;
        parser.feed(got === buf.length ? buf : buf.subarray(0, got));
      }
    } finally {
      closeSync(fd);
    }
    const stats = parser.end();
    flush();
    p.postMessage({ t: 'e', stats } satisfies BatchMessage);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    p.postMessage({ t: 'x', message: err.message ?? String(e), code: err.code } satisfies BatchMessage);
  }
}
