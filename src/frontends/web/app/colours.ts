// The bitmap's colours: free is a clear green, used a dark navy, pages of a debugfs record
// (what `alloc` made) two alternating blues so neighbouring records stay apart, partly used
// pixels from yellow to red, and cells outside the range a neutral grey that cannot be taken
// for free.

export type Rgb = readonly [number, number, number];

export const FREE: Rgb = [0x7c, 0xcf, 0x8e];
export const FULL: Rgb = [0x2b, 0x3a, 0x55];
/** Pages of debugfs records, alternating in pfn order so two neighbouring records differ. */
export const RECORD_A: Rgb = [0x3d, 0x6f, 0xc4];
export const RECORD_B: Rgb = [0x8a, 0xb0, 0xe8];
export const LOW: Rgb = [0xff, 0xd1, 0x66];
export const HIGH: Rgb = [0xd1, 0x49, 0x5b];
export const OUTSIDE: Rgb = [0xf3, 0xf4, 0xf6];
export const RECORD_EDGE = '#0b1220';
export const MARK = 'rgba(192, 38, 211, 0.8)';
export const MARK_SOLID = '#c026d3';
/** Pageblock boundaries. */
export const GRID = '#52607a';

/** The colour of a bucket's fill (0 clear … 255 set). */
export function bucketColour(v: number): Rgb {
  if (v === 0) return FREE;
  if (v === 255) return FULL;
  const t = (v - 1) / 253;
  return [
    Math.round(LOW[0] + (HIGH[0] - LOW[0]) * t),
    Math.round(LOW[1] + (HIGH[1] - LOW[1]) * t),
    Math.round(LOW[2] + (HIGH[2] - LOW[2]) * t),
  ];
}

export const css = (c: Rgb): string => `rgb(${c[0]},${c[1]},${c[2]})`;
