// plan's one replay of a sequence in WebAssembly (assembly/plan-pass.ts): onePass of plan-size.ts
// with the loop over the ops and the index calls in wasm, bound to the area's IndexedBitmap. It
// takes the sequences whose numbers are small integers (every real one); for any other (a count
// of 2^29 pages or more, an alignment past the table, a 0-page request) it answers undefined
// and plan-size.ts runs its TypeScript loop.

import { cmaBitmapAlignedMask, cmaBitmapAlignedOffset } from '../core/cma.ts';
import { IndexedBitmap, MAX_INDEXED_BITS } from '../core/indexed-bitmap.ts';
import { PLAN_PASS_WASM_BASE64 } from '../core/wasm/plan-pass-wasm.ts';
import { lazyWasmModule } from '../core/wasm-module.ts';
import type { WorkloadSequence } from './plan-sequence.ts';

/** The wasm side's exports. */
interface PassExports {
  readonly memory: WebAssembly.Memory;
  setup(n: number, allocs: number): void;
  reset(bits: number, orderPerBit: number): void;
  kindAt(): number;
  transAt(): number;
  alignAt(): number;
  check(): number;
  idAt(): number;
  pagesAt(): number;
  argAt(): number;
  masksAt(): number;
  offsAt(): number;
  run(from: number, copied: number): number;
  copyPending(): number;
  peakUsed(): number;
  peakAt(): number;
  highestEnd(): number;
  demand(orderPerBit: number): number;
}

const module = lazyWasmModule(PLAN_PASS_WASM_BASE64);

/** What one replay on a large enough area learns (plan-size.ts's onePass, here or there). */
export interface OnePass {
  /** The smallest size that never fails: the highest end of a placement. */
  bits: number;
  peakUsedBits: number;
  /** The op at which `used` first reached its peak (the worst moment). */
  peakOp: number;
  /** The bitmap's words at the worst moment (the request of peakOp still set). */
  atPeak: Uint32Array;
}

/** The worst moment's copy of `words`: into `into` when it has their length, else a new array. */
export function copyWords(into: Uint32Array | null, words: Uint32Array): Uint32Array {
  const out = into !== null && into.length === words.length ? into : new Uint32Array(words.length);
  out.set(words);
  return out;
}

let wasmPasses = true;

/** For tests: the TypeScript loop only (false) or the wasm pass where it applies (true). */
export function setWasmPasses(on: boolean): void {
  wasmPasses = on;
}

/**
 * The passes of one sequence (plan sizes it at up to ten order_per_bit values, a pass or more
 * each): the ops are written into the pass's memory and checked once, and every pass runs on the
 * same index instance made anew (IndexedBitmap's `reuse`), so the bindings stay. The sequence
 * must not change while this is in use.
 */
export class SequencePasses {
  private x: PassExports | null = null;
  private bitmap: IndexedBitmap | null = null;
  /** False once the check refused the sequence. */
  private takes = true;

  constructor(private readonly seq: WorkloadSequence) {}

  /**
   * The pass's instance with the ops written and checked, bound to `bitmap` (this.bitmap from
   * then on); null when the check refuses the sequence.
   */
  private instance(bitmap: IndexedBitmap): PassExports | null {
    this.bitmap = bitmap;
    if (this.x !== null) {
      bitmap.wasmIndex(); // (the summary policy up to date)
      return this.x;
    }
    const seq = this.seq;
    const n = seq.length;
    const x = new WebAssembly.Instance(module(), { index: bitmap.wasmIndex() })
      .exports as unknown as PassExports;
    x.setup(n, seq.allocs);
    const buf = x.memory.buffer;
    new Uint8Array(buf, x.kindAt(), n).set(seq.kind.subarray(0, n));
    new Uint8Array(buf, x.transAt(), n).set(seq.transient.subarray(0, n));
    new Int32Array(buf, x.idAt(), n).set(seq.id.subarray(0, n));
    new Float64Array(buf, x.pagesAt(), n).set(seq.pages.subarray(0, n));
    new Float64Array(buf, x.argAt(), n).set(seq.arg.subarray(0, n));
    if (x.check() === 0) {
      this.takes = false;
      return null;
    }
    this.x = x;
    return x;
  }

  /**
   * plan-size.ts's lower bound (peakDemandBits) at `orderPerBit`, computed in wasm over the ops
   * written once; undefined when the pass does not take this sequence.
   */
  demand(orderPerBit: number): number | undefined {
    if (!wasmPasses || !this.takes || orderPerBit > 20) return undefined;
    const x = this.instance(this.bitmap ?? new IndexedBitmap(32));
    return x === null ? undefined : x.demand(orderPerBit);
  }

  /**
   * onePass of plan-size.ts in wasm on an empty area of `capacity` bits: the result, null when
   * a request did not fit, or undefined when the pass does not take this sequence or size.
   */
  run(basePfn: number, orderPerBit: number, capacity: number): OnePass | null | undefined {
    if (!wasmPasses || !this.takes || capacity > MAX_INDEXED_BITS || orderPerBit > 20) return undefined;
    const n = this.seq.length;
    const bitmap = new IndexedBitmap(capacity, this.bitmap ?? undefined);
    const x = this.instance(bitmap);
    if (x === null) return undefined;
    // each alignment's mask and offset, as the index takes them (int32, below 2^30)
    const buf = x.memory.buffer;
    const used = new Uint8Array(buf, x.alignAt(), 64);
    const masks = new Int32Array(buf, x.masksAt(), 64);
    const offs = new Int32Array(buf, x.offsAt(), 64);
    for (let a = 0; a < 64; a++) {
      if (used[a] === 0) continue;
      const m = cmaBitmapAlignedMask(orderPerBit, a);
      const o = cmaBitmapAlignedOffset(basePfn, orderPerBit, a);
      if (!(m < 2 ** 30 && o < 2 ** 30)) return undefined;
      masks[a] = m;
      offs[a] = o;
    }
    x.reset(capacity, orderPerBit);
    let atPeak: Uint32Array | null = null;
    const snapshot = (): void => {
      atPeak = copyWords(atPeak, bitmap.words);
    };
    let at = x.run(0, 0);
    while (at >= 0 && at < n) {
      snapshot();
      at = x.run(at, 1);
    }
    if (at < 0) return null;
    if (x.copyPending() !== 0) snapshot();
    return {
      bits: x.highestEnd(),
      peakUsedBits: x.peakUsed(),
      peakOp: x.peakAt(),
      atPeak: atPeak ?? new Uint32Array(0),
    };
  }
}
