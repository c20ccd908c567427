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

// Vector constants, loaded (V8 rebuilds a v128 constant from immediates at every use).
const VK: usize = memory.data<u8>([
  70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70,
  117, 117, 117, 117, 117, 117, 117, 117, 117, 117, 117, 117, 117, 117, 117, 117,
  32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
  10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
  93, 93, 93, 93, 93, 93, 93, 93, 93, 93, 93, 93, 93, 93, 93, 93,
  25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25,
  121, 121, 121, 121, 121, 121, 121, 121, 121, 121, 121, 121, 121, 121, 121, 121,
  15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
  9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0,
]);
@inline function K_70(): v128 {
  return v128.load(VK, 0);
}
@inline function K_117(): v128 {
  return v128.load(VK, 16);
}
@inline function K_SP(): v128 {
  return v128.load(VK, 32);
}
@inline function K_NL(): v128 {
  return v128.load(VK, 48);
}
@inline function K_93(): v128 {
  return v128.load(VK, 64);
}
@inline function K_25(): v128 {
  return v128.load(VK, 80);
}
@inline function K_121(): v128 {
  return v128.load(VK, 96);
}
@inline function K_15(): v128 {
  return v128.load(VK, 112);
}
@inline function K_9(): v128 {
  return v128.load(VK, 128);
}
@inline function K_48(): v128 {
  return v128.load(VK, 144);
}
@inline function K_IOTA(): v128 {
  return v128.load(VK, 160);
}
@inline function K_FF16(): v128 {
  return v128.load(VK, 176);
}
/** The value of the (up to 8) decimal digits in x's bytes, most significant first, as `& 0x0f` keeps them. */
@inline function digits8(x: u64): u32 {
  x = (x * 2561) >> 8;
  x = ((x & 0x00ff00ff00ff00ff) * 6553601) >> 16;
  return <u32>(((x & 0x0000ffff0000ffff) * 42949672960001) >> 32);
}
/** The value of the `n` (1..8) decimal digits at p. */
@inline function dec(p: usize, n: u32): u32 {
  return digits8((load<u64>(p) & 0x0f0f0f0f0f0f0f0f) << (<u64>(8 - n) << 3));
}
/** Bitmask of the lanes of v that are ASCII digits. */
@inline function digitMask(v: v128): i32 {
  return i8x16.bitmask(isDigitV(v));
}
/** The lanes of v that are ASCII digits ('0' + 70 is 118 and '9' + 70 the largest i8, 127). */
@inline function isDigitV(v: v128): v128 {
  return i8x16.gt_s(i8x16.add(v, K_70()), K_117());
}

// What columns 16..47 must hold (the kernel's "%16s-%-7d [%03d] %5s %5lu.%06lu: " layout): the
// fixed bytes of each 16-byte row, and which bytes are fixed.
const FIXED: usize = memory.data<u8>([
  // 16..31: '-', pid, " [", cpu, "] ", first flag
  45, 0, 0, 0, 0, 0, 0, 0, 32, 91, 0, 0, 0, 93, 32, 0,
  // 32..47: flags, ' ', seconds, '.', fraction
  0, 0, 0, 0, 32, 0, 0, 0, 0, 0, 46, 0, 0, 0, 0, 0,
]);
const FIXED_MASK: usize = memory.data<u8>([
  255, 0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 255, 255, 0,
  0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0,
]);
// Columns 48..79 by event (the byte at column 61 tells them apart: alloc_[s]tart, alloc_[f]inish,
// alloc_[b]usy_retry, releas[e]): the fraction's last digit (not compared), ": ", the event,
// ": name="; and which of those bytes are compared. Then where the area name starts.
const EVENTS: usize = memory.data<u8>([
  // 1 cma_alloc_start
  0, 58, 32, 99, 109, 97, 95, 97, 108, 108, 111, 99, 95, 115, 116, 97,
  114, 116, 58, 32, 110, 97, 109, 101, 61, 0, 0, 0, 0, 0, 0, 0,
  // 2 cma_alloc_finish
  0, 58, 32, 99, 109, 97, 95, 97, 108, 108, 111, 99, 95, 102, 105, 110,
  105, 115, 104, 58, 32, 110, 97, 109, 101, 61, 0, 0, 0, 0, 0, 0,
  // 3 cma_alloc_busy_retry
  0, 58, 32, 99, 109, 97, 95, 97, 108, 108, 111, 99, 95, 98, 117, 115,
  121, 95, 114, 101, 116, 114, 121, 58, 32, 110, 97, 109, 101, 61, 0, 0,
  // 4 cma_release
  0, 58, 32, 99, 109, 97, 95, 114, 101, 108, 101, 97, 115, 101, 58, 32,
  110, 97, 109, 101, 61, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** Which bytes of EVENTS' rows are compared: columns 49 up to the area name's start. */
const EVENT_MASKS: usize = memory.data<u8>([
  0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0,
  0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0,
  0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0,
  0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** The area name and the space after it, when it is at most 15 bytes (set by scan()). */
const NAME_V: usize = memory.data(16, 16);
const NAME_M: usize = memory.data(16, 16);

/**
 * One line at chunk offset `s` (chunk length `lim`, area name of `ll` bytes) into record `r`:
 * the offset after its '\n', or 0 (a line fastLine does not accept; nothing else changed but the
 * record).
 */
@inline function line(s0: u32, lim: u32, ll: u32, r: usize, c16: usize, lineNo: f64, nameId: f64): u32 {
  // Unlike fastLine, a line near the chunk's end is read too: the bytes past `lim` (up to ~250,
  // inside this memory: the chunk region has room after it) are stale, but every byte a decision
  // is taken on lies before the line's '\n', which must come before `lim`.
  const s = CHUNK + <usize>s0;
  const v0 = v128.load(s);
  const v1 = v128.load(s, 16);
  const v2 = v128.load(s, 32);
  const v3 = v128.load(s, 48);
  const v4 = v128.load(s, 64);
  // the event, by column 61
  const d = b(s + 61);
  const kind: u32 = d == 115 ? 1 : d == 102 ? 2 : d == 98 ? 3 : d == 101 ? 4 : 0;
  if (kind == 0) return 0;
  const ev = EVENTS + (<usize>(kind - 1) << 5);
  const em = EVENT_MASKS + (<usize>(kind - 1) << 5);
  const nameAt: u32 = kind == 1 ? 73 : kind == 2 ? 74 : kind == 3 ? 78 : 69;
  const sp = K_SP();
  const nl = K_NL();
  // the fixed columns 16..79 (up to the name), in one test
  const bad = v128.or(
    v128.or(
      v128.and(v128.xor(v1, v128.load(FIXED)), v128.load(FIXED_MASK)),
      v128.and(v128.xor(v2, v128.load(FIXED, 16)), v128.load(FIXED_MASK, 16)),
    ),
    v128.or(
      v128.and(v128.xor(v3, v128.load(ev)), v128.load(em)),
      v128.and(v128.xor(v4, v128.load(ev, 16)), v128.load(em, 16)),
    ),
  );
  if (v128.any_true(bad) || b(s) == 35) return 0;
  const dm1 = digitMask(v1);
  const dm2 = digitMask(v2);
  const sm1 = i8x16.bitmask(i8x16.eq(v1, sp));
  const sm2 = i8x16.bitmask(i8x16.eq(v2, sp));
  // pid: digits from column 17, then spaces to column 23
  const pd = (dm1 >> 1) & 0x7f;
  const ps = (sm1 >> 1) & 0x7f;
  // seconds: spaces, then digits to column 41
  const sd = (dm2 >> 5) & 0x1f;
  const ss = (sm2 >> 5) & 0x1f;
  // flags (columns 31..35): no space, ']' or '\n'
  const fb =
    (sm1 >> 15) |
    (sm2 & 0xf) |
    (i8x16.bitmask(v128.or(i8x16.eq(v1, K_93()), i8x16.eq(v1, nl))) >> 15) |
    (i8x16.bitmask(v128.or(i8x16.eq(v2, K_93()), i8x16.eq(v2, nl))) & 0xf);
  if (
    (pd & 1) == 0 ||
    (pd & (pd + 1)) != 0 ||
    (pd | ps) != 0x7f ||
    (dm1 & 0x1c00) != 0x1c00 ||
    fb != 0 ||
    (sd & 0x10) == 0 ||
    (sd | ss) != 0x1f ||
    (ss & (ss + 1)) != 0 ||
    (dm2 >> 11) != 0x1f ||
    !isDigit(b(s + 48))
  )
    return 0;
  const pid = dec(s + 17, <u32>popcnt(pd));
  const c0 = b(s + 26) - 48;
  const c1 = b(s + 27) - 48;
  const c2 = b(s + 28) - 48;
  const sec = digits8(load<u64>(s + 34) & 0x0f0f0f0f0f000000);
  const frac = digits8(load<u64>(s + 41) & 0x0f0f0f0f0f0f0000);
  // the area name (the previous event's) and a space
  let p = s + <usize>nameAt;
  if (ll == 0 || <u32>(p - CHUNK) + ll >= lim) return 0;
  if (ll < 16) {
    if (v128.any_true(v128.and(v128.xor(v128.load(p), v128.load(NAME_V)), v128.load(NAME_M)))) return 0;
    p += <usize>ll;
  } else {
    let k: usize = 0;
    for (; k + 4 <= <usize>ll; k += 4) if (w32(p + k) != w32(NAME + k)) return 0;
    for (; k < <usize>ll; k++) if (b(p + k) != b(NAME + k)) return 0;
    p += <usize>ll;
    if (b(p) != SP) return 0;
  }
  p++;
  let c: u32;
  let pfn: f64 = NaN;
  let hasPage = false;
  if (kind != 1) {
    if (w32(p) != le32(112, 102, 110, 61) || w16(p + 4) != (48 | (120 << 8))) return 0;
    p += 6;
    const hs = p;
    const hv = v128.load(hs);
    const isDig = isDigitV(hv);
    // 'a'..'f' + 25: 122..127, the largest i8s
    const isAf = i8x16.gt_s(i8x16.add(hv, K_25()), K_121());
    const n = <u32>ctz(~i8x16.bitmask(v128.or(isDig, isAf)));
    if (n - 1 < 13 && b(hs + n) == SP) {
      // the n digits' nibbles, least significant first, paired into bytes
      const nib = i8x16.add(v128.and(hv, K_15()), v128.and(isAf, K_9()));
      const rev = i8x16.swizzle(
        nib,
        i8x16.sub(i8x16.splat(<i8>(n - 1)), K_IOTA()),
      );
      const pair = v128.or(v128.and(rev, K_FF16()), i16x8.shl(i16x8.shr_u(rev, 8), 4));
      pfn = <f64>i64x2.extract_lane(i8x16.narrow_i16x8_u(pair, pair), 0);
      p = hs + n;
    } else {
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
    }
    p++;
    // "page=<pointer>"
    if (w32(p) != le32(112, 97, 103, 101) || b(p + 4) != 61) return 0;
    p += 5;
    const vs = p;
    const y = v128.load(vs);
    let nonZero: bool;
    if (b(vs + 16) == SP && !v128.any_true(v128.or(i8x16.eq(y, sp), i8x16.eq(y, nl)))) {
      nonZero = v128.any_true(v128.xor(y, K_48()));
      p = vs + 16;
      c = SP;
    } else {
      let nz: u32 = 0;
      for (c = b(p); c != SP && c != NL && p < vs + 40; c = b(++p)) nz |= c ^ 48;
      nonZero = nz != 0;
    }
    if (c != SP || p == vs) return 0;
    hasPage = b(vs) == 40 || b(vs + 1) == 120 ? !isNullPointer(vs, p) : nonZero;
    p++;
  }
  // "count=<1..15 digits>"
  if (w32(p) != le32(99, 111, 117, 110) || w16(p + 4) != (116 | (61 << 8))) return 0;
  p += 6;
  const cn = <u32>ctz(~digitMask(v128.load(p)));
  if (cn - 1 >= 15) return 0;
  const count: f64 =
    cn <= 8 ? <f64>dec(p, cn) : <f64>dec(p, cn - 8) * 1e8 + <f64>digits8(load<u64>(p + cn - 8) & 0x0f0f0f0f0f0f0f0f);
  p += cn;
  let align: i32 = -1;
  if (kind != 4) {
    if (w32(p) != le32(32, 97, 108, 105) || w32(p + 3) != le32(105, 103, 110, 61)) return 0;
    p += 7;
    const a0 = b(p) - 48;
    const a1 = b(p + 1) - 48;
    if (a0 > 9) return 0;
    if (a1 < 10) {
      align = <i32>(a0 * 10 + a1);
      p += 2;
      if (align > 63) return 0;
    } else {
      align = <i32>a0;
      p++;
    }
  }
  if (b(p) != NL || <u32>(p - CHUNK) >= lim) return 0;
  // no '\n' in the task name's 16 bytes (else two lines would be read as one)
  if (v128.any_true(i8x16.eq(v0, nl))) return 0;
  // the task name's first byte
  const cs = <u32>ctz(i8x16.bitmask(v128.not(i8x16.eq(v0, sp))) | 0x10000);
  store<f64>(r, <f64>kind);
  store<f64>(r, lineNo, 8);
  store<f64>(r, <f64>pid, 16);
  store<f64>(r, <f64>(c0 * 100 + c1 * 10 + c2), 24);
  store<f64>(r, <f64>sec * 1e6 + <f64>frac, 32);
  store<f64>(r, nameId, 40);
  store<f64>(r, <f64>(16 - cs), 48);
  store<f64>(r, count, 56);
  store<f64>(r, <f64>align, 64);
  store<f64>(r, pfn, 72);
  store<f64>(r, hasPage ? 1 : 0, 80);
  store<f64>(r, -1, 88);
  v128.store(c16, v0);
  return <u32>(p + 1 - CHUNK);
}

/**
 * Reads lines from chunk offset `s` (chunk length `lim`) into records 0, 1, … until one is not
 * of the layout or `max` are read; the area name (`ll` bytes at nameAt()) must be the previous
 * event's. Records get line numbers `line0 + 1`, … and name id `nameId`. Returns how many were
 * read; stop() is where the next line starts.
 */
export function scan(s: u32, lim: u32, max: i32, ll: u32, line0: f64, nameId: f64): i32 {
  if (ll < 16) {
    // the name, a space after it, and which bytes those are
    for (let i: u32 = 0; i < 16; i++) {
      store<u8>(NAME_V + i, i < ll ? load<u8>(NAME + i) : i == ll ? 32 : 0);
      store<u8>(NAME_M + i, i <= ll ? 255 : 0);
    }
  }
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
