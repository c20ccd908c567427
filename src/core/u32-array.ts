// The text of a debugfs u32 array file (fs/debugfs/file.c u32_format_array, u32_array_open).

/** ASCII of "4294967295", the text of an all-set word (the commonest word of a busy bitmap). */
const ALL_SET = [52, 50, 57, 52, 57, 54, 55, 50, 57, 53];
const utf8 = new TextDecoder();

/**
 * The bytes of formatU32Array's text (ASCII): written digit by digit into one buffer, with no
 * string per word (a 64 GiB area's bitmap has half a million words).
 */
export function formatU32ArrayBytes(words: Uint32Array, elements: number): Uint8Array {
  if (elements === 0) return new Uint8Array(0);
  const out = new Uint8Array(11 * elements);
  let p = 0;
  let allTen = true;
  for (let k = 0; k < elements; k++) {
    let v = words[k]!;
    if (k > 0) out[p++] = 32;
    if (v === 0) {
      allTen = false;
      out[p++] = 48;
    } else if (v === 0xffffffff) {
      for (let i = 0; i < 10; i++) out[p + i] = ALL_SET[i]!;
      p += 10;
    } else {
      if (v < 1000000000) allTen = false;
      let n = 1;
      for (let t = 10; n < 10 && v >= t; t *= 10) n++;
      for (let i = p + n - 1; i >= p; i--) {
        const q = Math.floor(v / 10);
        out[i] = 48 + v - 10 * q;
        v = q;
      }
      p += n;
    }
  }
  if (!allTen) out[p++] = 10;
  return out.subarray(0, p);
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
