// The text of a debugfs u32 array file (fs/debugfs/file.c u32_format_array, u32_array_open).

/**
 * Formats `elements` u32 words as "%u" joined by spaces plus "\n", built at open() time.
 * Kernel quirk: the buffer holds 11 bytes per element, so when every element prints with 10
 * digits the final "\n" does not fit and the text ends without it. Zero elements → "".
 */
export function formatU32Array(words: Uint32Array, elements: number): string {
  if (elements === 0) return '';
  const parts = new Array<string>(elements);
  let allTen = true;
  for (let k = 0; k < elements; k++) {
    const v = words[k]!;
    if (v < 1000000000) allTen = false;
    parts[k] = String(v);
  }
  const text = parts.join(' ');
  return allTen ? text : `${text}\n`;
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
