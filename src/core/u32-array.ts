// The text of a debugfs u32 array file (fs/debugfs/file.c u32_format_array, u32_array_open).

import { U32_FORMAT_WASM_BASE64 } from './wasm/u32-format-wasm.ts';
import { lazyWasmModule } from './wasm-module.ts';

const utf8 = new TextDecoder();

/**
 * The bytes of formatU32Array's text (ASCII): formatU32ArrayChunks's pieces in one buffer, with
 * no string per word (a 64 GiB area's bitmap has half a million words).
 */
export function formatU32ArrayBytes(words: Uint32Array, elements: number): Uint8Array {
  // (11 bytes a word hold the text: its spaces and digits, and the "\n" when there is one)
  const out = new Uint8Array(11 * elements);
  let p = 0;
  formatU32ArrayChunks(words, elements, (chunk) => {
    out.set(chunk, p);
    p += chunk.length;
  });
  return out.subarray(0, p);
}

/** Words a chunk of formatU32ArrayChunks holds (assembly/u32-format.ts PIECE). */
const CHUNK_WORDS = 4096;

/** assembly/u32-format.ts's exports. */
interface FormatExports {
  readonly memory: WebAssembly.Memory;
  wordsAt(): number;
  outAt(): number;
  format(n: number, first: number): number;
}
const formatModule = lazyWasmModule(U32_FORMAT_WASM_BASE64);
/** The formatter's instance and its piece's words and text (its memory never grows). */
let formatter: { x: FormatExports; words: Uint32Array; out: Uint8Array } | null = null;

/**
 * formatU32Array's text handed to `sink` in pieces of at most 4096 words, written into one small
 * buffer reused (valid until `sink` returns): for a digest of a large bitmap's text without its
 * megabytes in memory (fresh memory's page faults cost more than the digits). The digits are
 * written by assembly/u32-format.ts, compiled code from the first word: a replay formats its
 * bitmap once, at its end, where a JavaScript loop ran cold (interpreted: ~10 ms for 8192 words,
 * 22 ms for 524288, against 3.3 and 12 ms with the module). The kernel's quirk
 * (formatU32Array): no "\n" when every word printed 10 digits.
 */
export function formatU32ArrayChunks(
  words: Uint32Array,
  elements: number,
  sink: (chunk: Uint8Array) => void,
): void {
  if (elements === 0) return;
  if (formatter === null) {
    const x = new WebAssembly.Instance(formatModule(), {}).exports as unknown as FormatExports;
    const buf = x.memory.buffer;
    formatter = {
      x,
      words: new Uint32Array(buf, x.wordsAt(), CHUNK_WORDS),
      out: new Uint8Array(buf, x.outAt(), 11 * CHUNK_WORDS + 1),
    };
  }
  const { x, words: piece, out } = formatter;
  let total = 0;
  for (let k = 0; k < elements; k += CHUNK_WORDS) {
    const end = Math.min(elements, k + CHUNK_WORDS);
    piece.set(words.subarray(k, end));
    let p = x.format(end - k, k === 0 ? 1 : 0);
    total += p;
    if (end === elements && total !== 11 * elements - 1) out[p++] = 10;
    sink(out.subarray(0, p));
  }
}

/**
 * Formats `elements` u32 words as "%u" joined by spaces plus "\n", built at open() time.
 * Kernel quirk: the buffer holds 11 bytes per element, so when every element prints with 10
 * digits the final "\n" does not fit and the text ends without it. Zero elements → "".
 */
export function formatU32Array(words: Uint32Array, elements: number): string {
  return utf8.decode(formatU32ArrayBytes(words, elements));
}

/** A u32 array file's text read back: its words, or the first word that is not a u32. */
export type U32ArrayScan =
  | {
      readonly words: Uint32Array;
      /**
       * No final "\n" although some word has fewer than 10 digits: the kernel would have printed
       * one (u32_format_array), so the text was cut short.
       */
      readonly truncated: boolean;
    }
  | { readonly badWord: number; readonly field: string };

/** Reads the text of a u32 array file (a bitmap) back into words. */
export function scanU32Array(text: string): U32ArrayScan {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (body === '') return { words: new Uint32Array(0), truncated: false };
  const fields = body.split(' ');
  const words = new Uint32Array(fields.length);
  let allTen = true;
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    if (!/^\d{1,10}$/.test(f) || Number(f) > 0xffffffff) return { badWord: k, field: f };
    if (f.length !== 10) allTen = false;
    words[k] = Number(f);
  }
  return { words, truncated: !allTen && !text.endsWith('\n') };
}

/** Parses the text of a bitmap file back into words; null when it is not a u32 array. */
export function parseU32Array(text: string): Uint32Array | null {
  const r = scanU32Array(text);
  return 'words' in r ? r.words : null;
}
