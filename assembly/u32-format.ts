// The text of a debugfs u32 array file (fs/debugfs/file.c u32_format_array) compiled to
// WebAssembly, for src/core/u32-array.ts (every u32 array text: the emulated bitmap files, a
// replay's bitmap and its digest). A replay formats its bitmap once, at the end of the run, where
// a JavaScript loop ran cold (interpreted: ~10 ms for a 1 GiB area's 8192 words, against ~0.3 ms
// once compiled); this is compiled code from the first word. The TypeScript side copies a piece
// of at most PIECE words to WORDS, format() writes its text at OUT.

/** Words a piece holds (u32-array.ts CHUNK_WORDS). */
const PIECE: i32 = 4096;
const WORDS: usize = memory.data(PIECE * 4, 16);
/** 11 bytes a word (a space and up to 10 digits), and a final "\n". */
const OUT: usize = memory.data(PIECE * 11 + 1, 16);
/** ASCII of "00" … "99", two bytes each. */
const PAIRS: usize = memory.data(200, 16);

let ready = false;

function pairs(): void {
  for (let i: u32 = 0; i < 100; i++) {
    store<u8>(PAIRS + (<usize>i << 1), <u8>(48 + i / 10));
    store<u8>(PAIRS + (<usize>i << 1) + 1, <u8>(48 + (i % 10)));
  }
  ready = true;
}

export function wordsAt(): usize {
  return WORDS;
}
export function outAt(): usize {
  return OUT;
}

/** Decimal digits of v (v ≥ 1). */
@inline function digits(v: u32): i32 {
  if (v < 100000) return v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : v < 10000 ? 4 : 5;
  return v < 10000000 ? (v < 1000000 ? 6 : 7) : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/**
 * Writes the first n (≤ PIECE) words at WORDS as text at OUT: each "%u", a space before every
 * word but the array's first (`first` ≠ 0: this piece starts the array). Returns the bytes.
 */
export function format(n: i32, first: i32): i32 {
  if (!ready) pairs();
  let p = OUT;
  for (let k = 0; k < n; k++) {
    let v = load<u32>(WORDS + (<usize>k << 2));
    if (k > 0 || first == 0) {
      store<u8>(p, 32);
      p++;
    }
    if (v < 10) {
      store<u8>(p, <u8>(48 + v));
      p++;
      continue;
    }
    const nd = digits(v);
    let i = p + <usize>nd;
    while (v >= 100) {
      const q = v / 100;
      i -= 2;
      store<u16>(i, load<u16>(PAIRS + (<usize>(v - q * 100) << 1)));
      v = q;
    }
    if (v >= 10) {
      i -= 2;
      store<u16>(i, load<u16>(PAIRS + (<usize>v << 1)));
    } else store<u8>(i - 1, <u8>(48 + v));
    p += <usize>nd;
  }
  return <i32>(p - OUT);
}
