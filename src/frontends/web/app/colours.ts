// The bitmap's colours: free is a clear green, used a dark navy (alternate debugfs records a
// lighter navy so neighbours stay apart), partly used pixels from yellow to red, and cells
// outside the range a neutral grey that cannot be taken for free.

export type Rgb = readonly [number, number, number];

export const FREE: Rgb = [0x7c, 0xcf, 0x8e];
export const FULL: Rgb = [0x2b, 0x3a, 0x55];
/** Used by every other debugfs record (in pfn order), so two neighbouring allocations differ. */
export const FULL_ALT: Rgb = [0x5a, 0x74, 0x9c];
export const LOW: Rgb = [0xff, 0xd1, 0x66];
export const HIGH: Rgb = [0xd1, 0x49, 0x5b];
export const OUTSIDE: Rgb = [0xf3, 0xf4, 0xf6];
export const RECORD_EDGE = '#0ea5e9';
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
