// The text parser's fast path: one line of the kernel's fixed 6.1 layout read in one pass over
// its bytes, without looking for its end first. TraceLineParser tries it on every line and falls
// back to its general path for anything it does not accept.

import type { TraceEventKind } from './events.ts';
import { EV_BUSY, EV_FINISH, EV_RELEASE, EV_START } from './events.ts';
import { isNullPointer } from './parse-bytes.ts';

// byte values, defined in this file (an imported binding costs a load and a check per
// comparison on this path: measured ~10% of the parse); parse.ts imports them from here
export const COLON = 58;
export const DASH = 45;
export const DOT = 46;
export const EQ = 61;
export const HASH = 35;
export const LBRACKET = 91;
export const LPAREN = 40;
export const NL = 10;
export const RBRACKET = 93;
export const SP = 32;

/**
 * Where fastLine() puts an accepted line's numbers in `out` from `o` (the slots of an event in
 * parallel-format.ts's batch layout; a parser without a batch reads them from a scratch array).
 * FL_COMM holds where the task name starts in the chunk (its bytes end at the line's column 16).
 */
export const FL_KIND = 0;
export const FL_PID = 2;
export const FL_CPU = 3;
export const FL_TS = 4;
export const FL_COMM = 6;
export const FL_COUNT = 7;
export const FL_ALIGN = 8;
export const FL_PFN = 9;
export const FL_PAGE = 10;

function enc(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Four bytes as DataView#getInt32(…, true) reads them. */
function le32(text: string): number {
  const b = enc(text);
  return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24) | 0;
}
/** Two bytes as DataView#getUint16(…, true) reads them. */
function le16(text: string): number {
  const b = enc(text);
  return b[0]! | (b[1]! << 8);
}
// the event names after "cma_" (column 55), four bytes at a time (overlapping at the end)
const W_RELE = le32('rele');
const W_EASE = le32('ease');
const W_ALLO = le32('allo');
const W_C_ST = le32('c_st');
const W_TART = le32('tart');
const W_C_FI = le32('c_fi');
const W_NISH = le32('nish');
const W_C_BU = le32('c_bu');
const W_SY_R = le32('sy_r');
const W_ETRY = le32('etry');

// the fixed columns and the keys, as DataView#getInt32/getUint16(…, true) read them
const W_COLON_CM = le32(': cm');
const W_CMA_ = le32('cma_');
const W_SP_NAM = le32(' nam');
const W_PFN_EQ = le32('pfn=');
const W_PAGE = le32('page');
const W_COUN = le32('coun');
const W_SP_ALI = le32(' ali');
const W_IGN_EQ = le32('ign=');
const W_SP_LBRACKET = le16(' [');
const W_RBRACKET_SP = le16('] ');
const W_E_EQ = le16('e=');
const W_0X = le16('0x');
const W_T_EQ = le16('t=');

/** '0000' as a little-endian int32. */
const ZEROS4 = 0x30303030;

/** Whether any of the four bytes of x is a space or a '\n' (SWAR zero-byte test; exact). */
function hasSpOrNl(x: number): boolean {
  const a = x ^ 0x20202020;
  const b = x ^ 0x0a0a0a0a;
  // (| 0: int32 arithmetic throughout; a subtraction that leaves int32 would deoptimize the caller)
  return (((((a - 0x01010101) | 0) & ~a) | (((b - 0x01010101) | 0) & ~b)) & 0x80808080) !== 0;
}

/** Whether any of the four bytes of x is the byte repeated in `b4` (SWAR zero-byte test; exact). */
function hasByte(x: number, b4: number): boolean {
  const a = x ^ b4;
  return (((a - 0x01010101) | 0) & ~a & 0x80808080) !== 0;
}

/** Whether all four bytes of x are ASCII digits. */
function isDigits4(x: number): boolean {
  // each byte 0x30..0x39: high nibble 3, and adding 6 leaves it 3
  return (x & 0xf0f0f0f0) === 0x30303030 && ((x + 0x06060606) & 0xf0f0f0f0) === 0x30303030;
}

/** The value of four ASCII digits read as a little-endian int32 (the first digit lowest). */
function digits4(x: number): number {
  const d = x - 0x30303030;
  // pairs: byte 0 × 10 + byte 1, byte 2 × 10 + byte 3
  const t = (Math.imul(d, 10) + (d >>> 8)) & 0x00ff00ff;
  return (t & 0xff) * 100 + (t >>> 16);
}

/**
 * The fast path: one line of the kernel's fixed 6.1 layout
 * (`%16s-%-7d [%03d] <5 flags> %5lu.%06lu: cma_<event>: name=<same name as the previous
 * event> <the event's keys in their TP_printk order>\n`), read with one pass over its bytes.
 * Returns the position after its '\n' with the fields in `out` (from `o`: the FL_* slots), or -1
 * (nothing written) for anything else, which then takes the general path. For every line it
 * accepts it yields exactly the event the general path yields.
 */
export function fastLine(
  buf: Uint8Array,
  s: number,
  dv: DataView,
  ln: Uint8Array,
  lw: Int32Array,
  out: Float64Array,
  o: number,
): number {
  // never read past the chunk (an out-of-bounds read deoptimizes this function): the last
  // lines of a chunk take the general path
  const lim = buf.length;
  if (s + 256 > lim) return -1;
  // ": cma_" at column 49, "-" at 16, " [ddd] " at 24..30, "<flags> " at 31..36, "." at 42
  // (a word compare where four bytes are fixed: fewer loads and branches than bytes)
  const w24 = dv.getInt32(s + 24, true);
  const w27 = dv.getInt32(s + 27, true);
  if (
    dv.getInt32(s + 49, true) !== W_COLON_CM ||
    dv.getInt32(s + 51, true) !== W_CMA_ ||
    buf[s + 16] !== DASH ||
    (w24 & 0xffff) !== W_SP_LBRACKET ||
    w27 >>> 16 !== W_RBRACKET_SP ||
    buf[s + 36] !== SP ||
    buf[s + 42] !== DOT ||
    buf[s] === HASH
  )
    return -1;
  // pid: digits from 17, then spaces up to 24
  let q = s + 17;
  let pid = 0;
  let c = buf[q]!;
  if (!(c >= 48 && c <= 57)) return -1;
  do {
    pid = pid * 10 + c - 48;
    c = buf[++q]!;
  } while (c >= 48 && c <= 57);
  while (q < s + 24) if (buf[q++] !== SP) return -1;
  // cpu: three digits (bytes 26..28, in the words already read)
  const c0 = ((w24 >>> 16) & 0xff) - 48;
  const c1 = (w27 & 0xff) - 48;
  const c2 = ((w27 >>> 8) & 0xff) - 48;
  if (c0 < 0 || c0 > 9 || c1 < 0 || c1 > 9 || c2 < 0 || c2 > 9) return -1;
  // flags: five non-space bytes (none a ']'), the first four at once
  const fl = dv.getInt32(s + 31, true);
  const f5 = buf[s + 35];
  if (hasSpOrNl(fl) || hasByte(fl, 0x5d5d5d5d) || f5 === SP || f5 === RBRACKET || f5 === NL) return -1;
  // seconds: spaces, then at least one digit up to 41
  q = s + 37;
  while (q < s + 41 && buf[q] === SP) q++;
  let sec = 0;
  for (; q < s + 42; q++) {
    c = buf[q]!;
    if (!(c >= 48 && c <= 57)) return -1;
    sec = sec * 10 + c - 48;
  }
  // microseconds: six digits, the first four as one word
  const fw = dv.getInt32(s + 43, true);
  const m4 = buf[s + 47]! - 48;
  const m5 = buf[s + 48]! - 48;
  if (!isDigits4(fw) || m4 < 0 || m4 > 9 || m5 < 0 || m5 > 9) return -1;
  const frac = digits4(fw) * 100 + m4 * 10 + m5;
  // the event name
  let kind: TraceEventKind;
  let p: number;
  const at = s + 55;
  if (buf[s + 55] === 114 /* r */) {
    if (dv.getInt32(at, true) !== W_RELE || dv.getInt32(at + 3, true) !== W_EASE || buf[s + 62] !== COLON)
      return -1;
    kind = EV_RELEASE;
    p = s + 63;
  } else {
    if (dv.getInt32(at, true) !== W_ALLO) return -1;
    const d = buf[s + 61];
    if (d === 115 /* s */) {
      if (
        dv.getInt32(at + 4, true) !== W_C_ST ||
        dv.getInt32(at + 7, true) !== W_TART ||
        buf[s + 66] !== COLON
      )
        return -1;
      kind = EV_START;
      p = s + 67;
    } else if (d === 102 /* f */) {
      if (
        dv.getInt32(at + 4, true) !== W_C_FI ||
        dv.getInt32(at + 8, true) !== W_NISH ||
        buf[s + 67] !== COLON
      )
        return -1;
      kind = EV_FINISH;
      p = s + 68;
    } else if (d === 98 /* b */) {
      if (
        dv.getInt32(at + 4, true) !== W_C_BU ||
        dv.getInt32(at + 8, true) !== W_SY_R ||
        dv.getInt32(at + 12, true) !== W_ETRY ||
        buf[s + 71] !== COLON
      )
        return -1;
      kind = EV_BUSY;
      p = s + 72;
    } else return -1;
  }
  // " name=" + the previous event's name + " "
  if (dv.getInt32(p, true) !== W_SP_NAM || dv.getUint16(p + 4, true) !== W_E_EQ) return -1;
  p += 6;
  const ll = ln.length;
  // after the name at most ~100 bytes are read; every loop below is bounded
  if (ll === 0 || p + ll + 128 > lim) return -1;
  // four bytes at a time (lw: ln's whole words, as getInt32 reads them), then the rest
  let k = 0;
  for (let j = 0; k + 4 <= ll; k += 4, j++) if (dv.getInt32(p + k, true) !== lw[j]) return -1;
  for (; k < ll; k++) if (buf[p + k] !== ln[k]) return -1;
  p += ll;
  if (buf[p] !== SP) return -1;
  p++;
  let pfn = Number.NaN;
  let hasPage = false;
  if (kind !== EV_START) {
    // "pfn=0x<1..13 hex digits, or 16 f>"
    if (dv.getInt32(p, true) !== W_PFN_EQ || dv.getUint16(p + 4, true) !== W_0X) return -1;
    p += 6;
    const hs = p;
    // the value as the digits are read: up to 7 in int32 arithmetic, then in a double (exact up
    // to 13 digits, 2^52); a 14th digit takes the loop for 0xffffffffffffffff, the only longer
    // value accepted
    let v = 0;
    for (c = buf[p]!; p - hs < 7; c = buf[++p]!) {
      if (c >= 48 && c <= 57) v = (v << 4) | (c - 48);
      else if (c >= 97 && c <= 102) v = (v << 4) | (c - 87);
      else break;
    }
    pfn = v;
    if (p - hs === 7)
      for (; p - hs < 13; c = buf[++p]!) {
        if (c >= 48 && c <= 57) pfn = pfn * 16 + (c - 48);
        else if (c >= 97 && c <= 102) pfn = pfn * 16 + (c - 87);
        else break;
      }
    if (p === hs) return -1;
    if (c !== SP) {
      // 13 digits read: accepted only as sixteen 'f'
      if (pfn !== 0xfffffffffffff) return -1;
      for (; p - hs < 16; c = buf[++p]!) if (c !== 102) return -1;
      if (c !== SP) return -1;
      pfn = -1;
    }
    p++;
    // "page=<pointer>"
    if (dv.getInt32(p, true) !== W_PAGE || buf[p + 4] !== EQ) return -1;
    p += 5;
    const vs = p;
    // %p: hex digits; NULL is all '0' (a "0x" or "(null)" form goes through isNullPointer)
    let nonZero = 0;
    const y0 = dv.getInt32(vs, true);
    const y1 = dv.getInt32(vs + 4, true);
    const y2 = dv.getInt32(vs + 8, true);
    const y3 = dv.getInt32(vs + 12, true);
    if (buf[vs + 16] === SP && !(hasSpOrNl(y0) || hasSpOrNl(y1) || hasSpOrNl(y2) || hasSpOrNl(y3))) {
      // the usual 16 characters and a space, four bytes at a time
      nonZero = (y0 ^ ZEROS4) | (y1 ^ ZEROS4) | (y2 ^ ZEROS4) | (y3 ^ ZEROS4);
      p = vs + 16;
      c = SP;
    } else for (c = buf[p]!; c !== SP && c !== NL && p < vs + 40; c = buf[++p]!) nonZero |= c ^ 48;
    if (c !== SP || p === vs) return -1;
    hasPage = buf[vs] === LPAREN || buf[vs + 1] === 120 ? !isNullPointer(buf, vs, p) : nonZero !== 0;
    p++;
  }
  // "count=<1..15 digits>"
  if (dv.getInt32(p, true) !== W_COUN || dv.getUint16(p + 4, true) !== W_T_EQ) return -1;
  p += 6;
  let ds = p;
  let count = 0;
  c = buf[p]!;
  while (c >= 48 && c <= 57 && p - ds < 16) {
    count = count * 10 + c - 48;
    c = buf[++p]!;
  }
  if (p === ds || p - ds > 15) return -1;
  let align = -1;
  if (kind !== EV_RELEASE) {
    // " align=<1..2 digits, ≤ 63>"
    if (dv.getInt32(p, true) !== W_SP_ALI || dv.getInt32(p + 3, true) !== W_IGN_EQ) return -1;
    p += 7;
    ds = p;
    align = 0;
    c = buf[p]!;
    while (c >= 48 && c <= 57 && p - ds < 3) {
      align = align * 10 + c - 48;
      c = buf[++p]!;
    }
    if (p === ds || p - ds > 2 || align > 63) return -1;
  }
  if (c !== NL) return -1;
  // the task name's 16 bytes hold no '\n' (a name with one, or a short line before a line whose
  // name is padded to fewer than 16 columns, would otherwise be read as one line)
  // (SWAR zero-byte test of the four words at once: one branch)
  const n0 = dv.getInt32(s, true) ^ 0x0a0a0a0a;
  const n1 = dv.getInt32(s + 4, true) ^ 0x0a0a0a0a;
  const n2 = dv.getInt32(s + 8, true) ^ 0x0a0a0a0a;
  const n3 = dv.getInt32(s + 12, true) ^ 0x0a0a0a0a;
  if (
    ((((n0 - 0x01010101) | 0) & ~n0) |
      (((n1 - 0x01010101) | 0) & ~n1) |
      (((n2 - 0x01010101) | 0) & ~n2) |
      (((n3 - 0x01010101) | 0) & ~n3)) &
    0x80808080
  )
    return -1;
  // accepted
  // the task name's first byte: the spaces before it, four bytes at a time (little-endian: the
  // first byte is the lowest)
  let cs = s;
  let w = dv.getInt32(cs, true) ^ 0x20202020;
  while (w === 0 && cs < s + 12) {
    cs += 4;
    w = dv.getInt32(cs, true) ^ 0x20202020;
  }
  if (w === 0) cs += 4;
  else cs += (31 - Math.clz32(w & -w)) >> 3;
  out[o + FL_KIND] = kind;
  out[o + FL_PID] = pid;
  out[o + FL_CPU] = c0 * 100 + c1 * 10 + c2;
  out[o + FL_TS] = sec * 1e6 + frac;
  out[o + FL_COMM] = cs;
  out[o + FL_COUNT] = count;
  out[o + FL_ALIGN] = align;
  out[o + FL_PFN] = pfn;
  out[o + FL_PAGE] = hasPage ? 1 : 0;
  return p + 1;
}
