// Number parsing of debugfs attribute writes: libfs simple_attr_write + lib/kstrtox.c kstrtoull.

import type { Result } from './errno.ts';
import { fail } from './errno.ts';

/** simple_attr_write copies at most this many bytes of a write (set_buf[24] minus the NUL). */
const ATTR_WRITE_MAX = 23;

const U64_MAX = (1n << 64n) - 1n;

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return 99;
}

/**
 * kstrtoull(s, 0): one optional '+', base from the prefix (0x → 16 when a hex digit follows,
 * 0 → 8, else 10), digits, one optional '\n', end. Overflow is ERANGE before any other check.
 * `bytes` ends at the first NUL, as the kernel's C string does. With `radix` 10 (kstrtoul(s, 10),
 * sysfs stores such as nr_hugepages) there is no prefix: every digit is decimal.
 */
export function kstrtoull(bytes: Uint8Array, radix: 0 | 10 = 0): Result<{ value: bigint }> {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  let i = 0;
  if (bytes[i] === 0x2b /* + */) i++;
  let base = 10n;
  if (radix === 0 && bytes[i] === 0x30 /* 0 */) {
    const x = bytes[i + 1]! | 0x20;
    if (i + 2 < end && x === 0x78 /* x */ && digitValue(bytes[i + 2]!) < 16) {
      base = 16n;
      i += 2;
    } else {
      base = 8n;
    }
  }
  let value = 0n;
  let digits = 0;
  let overflow = false;
  for (; i < end; i++) {
    const d = digitValue(bytes[i]!);
    if (d >= Number(base)) break;
    value = value * base + BigInt(d);
    if (value > U64_MAX) {
      overflow = true;
      value &= U64_MAX;
    }
    digits++;
  }
  if (overflow) return fail('ERANGE');
  if (digits === 0) return fail('EINVAL');
  if (i < end && bytes[i] === 0x0a) i++;
  if (i < end) return fail('EINVAL');
  return { ok: true, value };
}

/** What debugfs_attr_write hands the setter: the first 23 bytes of one write(), parsed. */
export function parseAttrWrite(data: Uint8Array): Result<{ value: bigint }> {
  return kstrtoull(data.subarray(0, Math.min(data.length, ATTR_WRITE_MAX)));
}

/** `int pages = val;` with GCC semantics: the low 32 bits read as two's complement. */
export function toCInt(value: bigint): number {
  return Number(BigInt.asIntN(32, value));
}

/** An int passed as `unsigned long`: sign-extended to 64 bits. */
export function intToULong(pages: number): bigint {
  return BigInt.asUintN(64, BigInt(pages));
}
