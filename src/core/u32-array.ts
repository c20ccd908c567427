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

/** Parses the text of a bitmap file back into words; null when it is not a u32 array. */
export function parseU32Array(text: string): Uint32Array | null {
  const trimmed = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (trimmed === '') return new Uint32Array(0);
  const fields = trimmed.split(' ');
  const words = new Uint32Array(fields.length);
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    if (!/^\d{1,10}$/.test(f)) return null;
    const v = Number(f);
    if (v > 0xffffffff) return null;
    words[k] = v;
  }
  return words;
}
