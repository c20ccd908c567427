// Byte values and small byte tests shared by the text parser's general and fast paths.

export const SP = 32;
export const COLON = 58;
export const EQ = 61;
export const DOT = 46;
export const DASH = 45;
export const RBRACKET = 93;
export const LBRACKET = 91;
export const RPAREN = 41;
export const LPAREN = 40;
export const NL = 10;
export const CR = 13;
export const HASH = 35;

/** A %p of NULL: "(null)" (the kernel's), "(nil)" (trace-cmd report's), "0", "0x0", "0000…". */
export function isNullPointer(buf: Uint8Array, s: number, e: number): boolean {
  // "(null)" (the kernel's %p of NULL), "(nil)" (trace-cmd report's)
  if ((e - s === 6 || e - s === 5) && buf[s] === LPAREN && buf[s + 1] === 110) return true;
  let q = s;
  if (e - s > 2 && buf[s] === 48 && buf[s + 1] === 120) q += 2;
  if (q >= e) return false;
  for (; q < e; q++) if (buf[q] !== 48) return false;
  return true;
}
