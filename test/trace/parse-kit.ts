// What the parser tests compare: every field of an event, and the batches a parse writes into a
// BatchEncoder by each of the parser's paths (parallel.test.ts, parse-differential.test.ts).

import type { TraceEvent } from '../../src/sources/trace/events.ts';
import { BatchEncoder, COMM_BYTES, F } from '../../src/sources/trace/parallel-format.ts';
import { TraceLineParser } from '../../src/sources/trace/parse.ts';
import { WasmScanner } from '../../src/sources/trace/parse-wasm.ts';

/** Every field of an event, task name included. */
export function snap(ev: TraceEvent): unknown[] {
  return [
    ev.kind,
    ev.line,
    ev.pid,
    ev.cpu,
    ev.ts,
    ev.name,
    ev.count,
    ev.countBig,
    ev.align,
    ev.pfn,
    ev.hasPage,
    ev.errorno,
    ev.availableCount,
    ev.totalCount,
    ev.nrMigrated,
    ev.errIso,
    ev.errMig,
    ev.errTest,
    ev.comm(),
  ];
}

/**
 * The batches (numbers, task names, names, extras) of a parse into a BatchEncoder, fed in chunks
 * of one size or of the sizes listed (the rest in one) through one reused buffer: events handed
 * to BatchEncoder.event() by the general path or the JS fast path ('general', 'event'), the JS
 * fast path written straight into the batch ('target', FastTarget) or the wasm scanner's records
 * appended ('wasm'). A task name is the last `comm length` bytes of its cell (what BatchDecoder
 * reads; the general path leaves the cell's first bytes as they were, the fast paths copy the
 * line's padding spaces there).
 */
export function batchesOf(
  bytes: Uint8Array,
  chunk: number | number[],
  mode: 'general' | 'event' | 'target' | 'wasm',
): unknown[] {
  const out: unknown[] = [];
  const enc = new BatchEncoder(
    (m) => {
      const f = new Float64Array(m.buf, 0, m.n * F);
      const cells = new Uint8Array(m.commBuf);
      const comms: number[][] = [];
      for (let i = 0; i < m.n; i++) {
        const n = f[i * F + 6]!;
        comms.push(n < 0 ? [] : Array.from(cells.subarray((i + 1) * COMM_BYTES - n, (i + 1) * COMM_BYTES)));
      }
      out.push([Array.from(f), comms, m.names, m.extras]);
    },
    () => undefined,
  );
  const p: TraceLineParser = new TraceLineParser(() => enc.event(p), { fastPath: mode !== 'general' });
  if (mode === 'target' || mode === 'wasm') p.setFastTarget(enc);
  const sizes = typeof chunk === 'number' ? [] : chunk;
  const cap = typeof chunk === 'number' ? chunk : bytes.length + 1;
  let buf: Uint8Array = Buffer.alloc(cap);
  if (mode === 'wasm') {
    const sc = new WasmScanner(cap, enc);
    p.setBulkScanner(sc);
    buf = sc.chunk;
  }
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = Math.min(typeof chunk === 'number' ? chunk : (sizes[i] ?? cap), bytes.length - pos);
    buf.set(bytes.subarray(pos, pos + n));
    p.feed(buf.subarray(0, n));
    pos += n;
  }
  out.push(p.end());
  enc.flush();
  return out;
}
