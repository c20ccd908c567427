// The parse worker's WebAssembly fast path (assembly/trace-scan.ts): the worker reads the file
// into the module's memory, and TraceLineParser hands each run of lines of the kernel's fixed
// 6.1 layout to scan(), which writes them as batch records; the encoder copies them into its
// batch. Lines it does not read take the parser's own paths, as before. Compiled code from the
// first line on: V8's warm-up of the JavaScript fast path (~50–80 ms of every parse) is not paid.

import { TRACE_SCAN_WASM_BASE64 } from '../../core/wasm/trace-scan-wasm.ts';
import { lazyWasmModule } from '../../core/wasm-module.ts';
import type { BatchEncoder } from './parallel-format.ts';
import type { BulkScanner } from './parse.ts';

// parallel-format.ts's F, COMM_BYTES and BATCH_EVENTS (not imported: that module loads
// node:worker_threads, and a parser on the calling thread uses this one too)
const F = 12;
const COMM_BYTES = 16;
const MAX_RECORDS = 8192;

/** The wasm side's exports (assembly/trace-scan.ts). */
interface ScanExports {
  readonly memory: WebAssembly.Memory;
  init(chunkCap: number, maxRecords: number): number;
  chunkAt(): number;
  nameAt(): number;
  recordsAt(): number;
  commsAt(): number;
  startsAt(): number;
  stop(): number;
  scan(s: number, lim: number, max: number, ll: number, line0: number, nameId: number): number;
}

/** Longest area name the scanner compares (longer ones take the JavaScript path). */
const MAX_NAME = 4000;

const scanModule = lazyWasmModule(TRACE_SCAN_WASM_BASE64);

/**
 * A BulkScanner over chunks of up to `chunkCap` bytes written into `chunk` (feed the parser
 * `chunk` or a subarray of it from 0; other chunks are left to the parser), delivering the lines
 * it reads to `enc` — or, without one, leaving them in `records` and `starts` for the parser to
 * hand on as events.
 */
export class WasmScanner implements BulkScanner {
  /** Where the input goes: the parser reads it here, and so does the wasm side. */
  readonly chunk: Uint8Array;
  stop = 0;
  /** The last scan's lines (without an encoder): F numbers each (the batch layout), and starts. */
  readonly records: Float64Array;
  readonly starts: Uint32Array;
  private readonly x: ScanExports;
  private readonly comms: Uint8Array;
  private readonly name: Uint8Array;
  /** The name bytes copied to the wasm side (the parser's array: compared by identity). */
  private nameBytes: Uint8Array | null = null;

  constructor(
    chunkCap: number,
    private readonly enc: BatchEncoder | null,
  ) {
    this.x = new WebAssembly.Instance(scanModule()).exports as unknown as ScanExports;
    if (this.x.init(chunkCap, MAX_RECORDS) !== 0) throw new Error('trace scanner: no memory');
    const buf = this.x.memory.buffer;
    this.chunk = new Uint8Array(buf, this.x.chunkAt(), chunkCap);
    this.name = new Uint8Array(buf, this.x.nameAt(), MAX_NAME);
    this.records = new Float64Array(buf, this.x.recordsAt(), MAX_RECORDS * F);
    this.comms = new Uint8Array(buf, this.x.commsAt(), MAX_RECORDS * COMM_BYTES);
    this.starts = new Uint32Array(buf, this.x.startsAt(), MAX_RECORDS);
  }

  /** Whether the scanner delivers its lines itself (to a batch), not the parser. */
  get delivers(): boolean {
    return this.enc !== null;
  }

  scan(chunk: Uint8Array, pos: number, nameBytes: Uint8Array, name: string, line: number): number {
    if (chunk.buffer !== this.chunk.buffer || chunk.byteOffset !== this.chunk.byteOffset) return 0;
    if (nameBytes !== this.nameBytes) {
      if (nameBytes.length > MAX_NAME) return 0;
      this.name.set(nameBytes);
      this.nameBytes = nameBytes;
    }
    const enc = this.enc;
    if (enc === null) {
      const k = this.x.scan(pos, chunk.length, MAX_RECORDS, nameBytes.length, line, 0);
      if (k > 0) this.stop = this.x.stop();
      return k;
    }
    const k = this.x.scan(pos, chunk.length, enc.room, nameBytes.length, line, enc.nextNameId(name));
    if (k > 0) {
      this.stop = this.x.stop();
      enc.append(this.records, this.comms, k, name);
    }
    return k;
  }
}
