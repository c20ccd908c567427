// The text of a debugfs u32 array file (fs/debugfs/file.c u32_format_array, u32_array_open).

import { U32_FORMAT_WASM_BASE64 } from './wasm/u32-format-wasm.ts';
import { lazyWasmModule } from './wasm-module.ts';

/** ASCII of "4294967295", the text of an all-set word (the commonest word of a busy bitmap). */
const ALL_SET = [52, 50, 57, 52, 57, 54, 55, 50, 57, 53];
/** ASCII of "00" … "99", two bytes each. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[2 * i] = 48 + Math.floor(i / 10);
  PAIRS[2 * i + 1] = 48 + (i % 10);
}
const utf8 = new TextDecoder();

/**
 * Writes words[from..to) of formatU32Array's text into `out` at `p` (each word "%u", a space
 * before every word but the array's first), two digits a step; returns the end. Needs
 * 11 × (to − from) bytes of room.
 */
function writeWords(words: Uint32Array, from: number, to: number, out: Uint8Array, p: number): number {
  for (let k = from; k < to; k++) {
    let v = words[k]!;
    if (k > 0) out[p++] = 32;
    if (v === 0) out[p++] = 48;
    else if (v === 0xffffffff) {
      for (let i = 0; i < 10; i++) out[p + i] = ALL_SET[i]!;
      p += 10;
    } else {
      const n =
        v < 100000
          ? v < 100
            ? v < 10
              ? 1
              : 2
            : v < 1000
              ? 3
              : v < 10000
                ? 4
                : 5
          : v < 10000000
            ? v < 1000000
              ? 6
              : 7
            : v < 100000000
              ? 8
              : v < 1000000000
                ? 9
                : 10;
      let i = p + n;
      while (v >= 100) {
        const q = (v / 100) >>> 0;
        const r = (v - q * 100) << 1;
        out[--i] = PAIRS[r + 1]!;
        out[--i] = PAIRS[r]!;
        v = q;
      }
      if (v >= 10) {
        out[--i] = PAIRS[(v << 1) + 1]!;
        out[--i] = PAIRS[v << 1]!;
      } else out[--i] = 48 + v;
      p += n;
    }
  }
  return p;
}

/**
 * The bytes of formatU32Array's text (ASCII): written digit by digit into one buffer, with no
 * string per word (a 64 GiB area's bitmap has half a million words).
 */
export function formatU32ArrayBytes(words: Uint32Array, elements: number): Uint8Array {
  if (elements === 0) return new Uint8Array(0);
  const out = new Uint8Array(11 * elements);
  let p = writeWords(words, 0, elements, out, 0);
  // the kernel's quirk (formatU32Array): no "\n" when every word printed 10 digits
  if (p !== 11 * elements - 1) out[p++] = 10;
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
 * formatU32ArrayBytes's text handed to `sink` in pieces of at most 4096 words, written into one
 * small buffer reused (valid until `sink` returns): for a digest of a large bitmap's text
 * without its megabytes in memory (fresh memory's page faults cost more than the digits). The
 * digits are written by assembly/u32-format.ts: this runs once per replay, at its end, where
 * writeWords() would run cold (interpreted: ~10 ms for 8192 words, 22 ms for 524288).
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
