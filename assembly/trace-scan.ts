// The text parser's fast path (src/sources/trace/parse-fast.ts, fastLine) compiled to
// WebAssembly, for the parse worker: it reads runs of lines of the kernel's fixed 6.1 layout
// straight into batch records (parallel-format.ts's layout: 12 f64 per event, a 16-byte task-name
// cell per event). It accepts exactly the lines fastLine accepts and yields the same numbers
// (test/trace/parallel.test.ts compares the batches). Compiled code from the first line: the JIT's
// warm-up of fastLine (tens of ms at the start of every parse) is not paid.
// src/sources/trace/parse-wasm.ts is its TypeScript face.
//
// Memory (byte offsets, set by init): the chunk (its bytes are written by the TypeScript side),
// the area name's bytes, the records (f64 × 12 each), the task-name cells (16 bytes each) and
// the records' line starts (u32 each).

let CHUNK: usize = 0;
let NAME: usize = 0;
let REC: usize = 0;
let COMM: usize = 0;
let STARTS: usize = 0;
let stopAt: u32 = 0;

const SP: u32 = 32;
const NL: u32 = 10;

/** Lays out memory for chunks of `chunkCap` bytes and `maxRecords` records; returns 0 (or -1: no memory). */
export function init(chunkCap: u32, maxRecords: u32): i32 {
  const base = (<usize>__heap_base + 63) & ~(<usize>63);
  CHUNK = base;
  // room after the chunk for the reads past its end (line() reads at most ~256 bytes past a line start)
  NAME = (CHUNK + chunkCap + 512) & ~(<usize>63);
  REC = NAME + 4096;
  COMM = REC + <usize>maxRecords * 96;
  STARTS = COMM + <usize>maxRecords * 16;
  const end = STARTS + <usize>maxRecords * 4;
  const pages = <i32>((end + 0xffff) >> 16) - memory.size();
  if (pages > 0 && memory.grow(pages) < 0) return -1;
  return 0;
}
export function chunkAt(): usize {
  return CHUNK;
}
export function nameAt(): usize {
  return NAME;
}
export function recordsAt(): usize {
  return REC;
}
export function commsAt(): usize {
  return COMM;
}
/** Where each record's line starts in the chunk (u32 each). */
export function startsAt(): usize {
  return STARTS;
}
/** Where the last scan stopped (the first line it did not read). */
export function stop(): u32 {
  return stopAt;
}

@inline function b(p: usize): u32 {
  return <u32>load<u8>(p);
}
@inline function w32(p: usize): u32 {
  return load<u32>(p);
}
@inline function w16(p: usize): u32 {
  return <u32>load<u16>(p);
}
@inline function isDigit(c: u32): bool {
  return c - 48 < 10;
}
/** Whether any byte of x is a space or a '\n'. */
@inline function hasSpOrNl(x: u32): bool {
  const a = x ^ 0x20202020;
  const c = x ^ 0x0a0a0a0a;
  return (((a - 0x01010101) & ~a) | ((c - 0x01010101) & ~c)) & 0x80808080 ? true : false;
}
@inline function hasByte(x: u32, b4: u32): bool {
  const a = x ^ b4;
  return (a - 0x01010101) & ~a & 0x80808080 ? true : false;
}
@inline function le32(a: u32, b1: u32, c: u32, d: u32): u32 {
  return a | (b1 << 8) | (c << 16) | (d << 24);
}

/** parse-bytes.ts isNullPointer over [s, e). */
function isNullPointer(s: usize, e: usize): bool {
  if ((e - s == 6 || e - s == 5) && b(s) == 40 && b(s + 1) == 110) return true;
  let q = s;
  if (e - s > 2 && b(s) == 48 && b(s + 1) == 120) q += 2;
  if (q >= e) return false;
  for (; q < e; q++) if (b(q) != 48) return false;
  return true;
}

/**
 * One line at chunk offset `s` (chunk length `lim`, area name of `ll` bytes) into record `r`:
 * the offset after its '\n', or 0 (a line fastLine does not accept; nothing else changed but the
 * record).
 */
function line(s0: u32, lim: u32, ll: u32, r: usize, c16: usize, lineNo: f64, nameId: f64): u32 {
  // Unlike fastLine, a line near the chunk's end is read too: the bytes past `lim` (up to ~250,
  // inside this memory: the chunk region has room after it) are stale, but every byte a decision
  // is taken on lies before the line's '\n', which must come before `lim`.
  const s = CHUNK + <usize>s0;
  const w24 = w32(s + 24);
  const w27 = w32(s + 27);
  if (
    w32(s + 49) != le32(58, 32, 99, 109) ||
    w32(s + 51) != le32(99, 109, 97, 95) ||
    b(s + 16) != 45 ||
    (w24 & 0xffff) != (32 | (91 << 8)) ||
    w27 >> 16 != (93 | (32 << 8)) ||
    b(s + 36) != SP ||
    b(s + 42) != 46 ||
    b(s) == 35
  )
    return 0;
  // pid
  let q = s + 17;
  let c = b(q);
  if (!isDigit(c)) return 0;
  let pid: u32 = 0;
  do {
    pid = pid * 10 + c - 48;
    c = b(++q);
  } while (isDigit(c));
  while (q < s + 24) if (b(q++) != SP) return 0;
  // cpu
  const c0 = ((w24 >> 16) & 0xff) - 48;
  const c1 = (w27 & 0xff) - 48;
  const c2 = ((w27 >> 8) & 0xff) - 48;
  if (c0 > 9 || c1 > 9 || c2 > 9) return 0;
  // flags
  const fl = w32(s + 31);
  const f5 = b(s + 35);
  if (hasSpOrNl(fl) || hasByte(fl, 0x5d5d5d5d) || f5 == SP || f5 == 93 || f5 == NL) return 0;
  // seconds
  q = s + 37;
  while (q < s + 41 && b(q) == SP) q++;
  let sec: u32 = 0;
  for (; q < s + 42; q++) {
    c = b(q);
    if (!isDigit(c)) return 0;
    sec = sec * 10 + c - 48;
  }
  let frac: u32 = 0;
  for (q = s + 43; q < s + 49; q++) {
    c = b(q);
    if (!isDigit(c)) return 0;
    frac = frac * 10 + c - 48;
  }
  // the event
  let kind: f64;
  let p: usize;
  if (b(s + 55) == 114) {
    if (w32(s + 55) != le32(114, 101, 108, 101) || w32(s + 58) != le32(101, 97, 115, 101) || b(s + 62) != 58)
      return 0;
    kind = 4;
    p = s + 63;
  } else {
    if (w32(s + 55) != le32(97, 108, 108, 111)) return 0;
    const d = b(s + 61);
    if (d == 115) {
      if (w32(s + 59) != le32(99, 95, 115, 116) || w32(s + 62) != le32(116, 97, 114, 116) || b(s + 66) != 58)
        return 0;
      kind = 1;
      p = s + 67;
    } else if (d == 102) {
      if (w32(s + 59) != le32(99, 95, 102, 105) || w32(s + 63) != le32(110, 105, 115, 104) || b(s + 67) != 58)
        return 0;
      kind = 2;
      p = s + 68;
    } else if (d == 98) {
      if (
        w32(s + 59) != le32(99, 95, 98, 117) ||
        w32(s + 63) != le32(115, 121, 95, 114) ||
        w32(s + 67) != le32(101, 116, 114, 121) ||
        b(s + 71) != 58
      )
        return 0;
      kind = 3;
      p = s + 72;
    } else return 0;
  }
  // " name=" and the previous event's name
  if (w32(p) != le32(32, 110, 97, 109) || w16(p + 4) != (101 | (61 << 8))) return 0;
  p += 6;
  if (ll == 0 || <u32>(p - CHUNK) + ll >= lim) return 0;
  let k: usize = 0;
  for (; k + 4 <= <usize>ll; k += 4) if (w32(p + k) != w32(NAME + k)) return 0;
  for (; k < <usize>ll; k++) if (b(p + k) != b(NAME + k)) return 0;
  p += <usize>ll;
  if (b(p) != SP) return 0;
  p++;
  let pfn: f64 = NaN;
  let hasPage = false;
  if (kind != 1) {
    if (w32(p) != le32(112, 102, 110, 61) || w16(p + 4) != (48 | (120 << 8))) return 0;
    p += 6;
    const hs = p;
    let v: u64 = 0;
    for (c = b(p); p - hs < 13; c = b(++p)) {
      if (isDigit(c)) v = (v << 4) | <u64>(c - 48);
      else if (c - 97 < 6) v = (v << 4) | <u64>(c - 87);
      else break;
    }
    if (p == hs) return 0;
    pfn = <f64>v;
    if (c != SP) {
      if (v != 0xfffffffffffff) return 0;
      for (; p - hs < 16; c = b(++p)) if (c != 102) return 0;
      if (c != SP) return 0;
      pfn = -1;
    }
    p++;
    // "page=<pointer>"
    if (w32(p) != le32(112, 97, 103, 101) || b(p + 4) != 61) return 0;
    p += 5;
    const vs = p;
    let nonZero: u32 = 0;
    const y0 = w32(vs);
    const y1 = w32(vs + 4);
    const y2 = w32(vs + 8);
    const y3 = w32(vs + 12);
    if (b(vs + 16) == SP && !(hasSpOrNl(y0) || hasSpOrNl(y1) || hasSpOrNl(y2) || hasSpOrNl(y3))) {
      nonZero = (y0 ^ 0x30303030) | (y1 ^ 0x30303030) | (y2 ^ 0x30303030) | (y3 ^ 0x30303030);
      p = vs + 16;
      c = SP;
    } else for (c = b(p); c != SP && c != NL && p < vs + 40; c = b(++p)) nonZero |= c ^ 48;
    if (c != SP || p == vs) return 0;
    hasPage = b(vs) == 40 || b(vs + 1) == 120 ? !isNullPointer(vs, p) : nonZero != 0;
    p++;
  }
  // "count=<1..15 digits>"
  if (w32(p) != le32(99, 111, 117, 110) || w16(p + 4) != (116 | (61 << 8))) return 0;
  p += 6;
  let ds = p;
  let count: u64 = 0;
  c = b(p);
  while (isDigit(c) && p - ds < 16) {
    count = count * 10 + <u64>(c - 48);
    c = b(++p);
  }
  if (p == ds || p - ds > 15) return 0;
  let align: i32 = -1;
  if (kind != 4) {
    if (w32(p) != le32(32, 97, 108, 105) || w32(p + 3) != le32(105, 103, 110, 61)) return 0;
    p += 7;
    ds = p;
    align = 0;
    c = b(p);
    while (isDigit(c) && p - ds < 3) {
      align = align * 10 + <i32>(c - 48);
      c = b(++p);
    }
    if (p == ds || p - ds > 2 || align > 63) return 0;
  }
  if (c != NL || <u32>(p - CHUNK) >= lim) return 0;
  // no '\n' in the task name's 16 bytes (else two lines would be read as one)
  const n0 = w32(s) ^ 0x0a0a0a0a;
  const n1 = w32(s + 4) ^ 0x0a0a0a0a;
  const n2 = w32(s + 8) ^ 0x0a0a0a0a;
  const n3 = w32(s + 12) ^ 0x0a0a0a0a;
  if (
    (((n0 - 0x01010101) & ~n0) | ((n1 - 0x01010101) & ~n1) | ((n2 - 0x01010101) & ~n2) | ((n3 - 0x01010101) & ~n3)) &
    0x80808080
  )
    return 0;
  // the task name's first byte
  let cs = s;
  let w = w32(cs) ^ 0x20202020;
  while (w == 0 && cs < s + 12) {
    cs += 4;
    w = w32(cs) ^ 0x20202020;
  }
  if (w == 0) cs += 4;
  else cs += <usize>(ctz(w) >> 3);
  store<f64>(r, kind);
  store<f64>(r, lineNo, 8);
  store<f64>(r, <f64>pid, 16);
  store<f64>(r, <f64>(c0 * 100 + c1 * 10 + c2), 24);
  store<f64>(r, <f64>sec * 1e6 + <f64>frac, 32);
  store<f64>(r, nameId, 40);
  store<f64>(r, <f64>(s + 16 - cs), 48);
  store<f64>(r, <f64>count, 56);
  store<f64>(r, <f64>align, 64);
  store<f64>(r, pfn, 72);
  store<f64>(r, hasPage ? 1 : 0, 80);
  store<f64>(r, -1, 88);
  store<u64>(c16, load<u64>(s));
  store<u64>(c16, load<u64>(s + 8), 8);
  return <u32>(p + 1 - CHUNK);
}

/**
 * Reads lines from chunk offset `s` (chunk length `lim`) into records 0, 1, … until one is not
 * of the layout or `max` are read; the area name (`ll` bytes at nameAt()) must be the previous
 * event's. Records get line numbers `line0 + 1`, … and name id `nameId`. Returns how many were
 * read; stop() is where the next line starts.
 */
export function scan(s: u32, lim: u32, max: i32, ll: u32, line0: f64, nameId: f64): i32 {
  let k = 0;
  let r = REC;
  let c16 = COMM;
  while (k < max) {
    const nx = line(s, lim, ll, r, c16, line0 + <f64>(k + 1), nameId);
    if (nx == 0) break;
    store<u32>(STARTS + (<usize>k << 2), s);
    s = nx;
    k++;
    r += 96;
    c16 += 16;
  }
  stopAt = s;
  return k;
}
