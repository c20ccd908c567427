// kstrtoull / simple_attr_write parsing and the C int truncation (kstrtoull's base detection, overflow and trailing-newline rules).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intToULong, kstrtoull, parseAttrWrite, toCInt } from '../../src/core/kstrtox.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const parse = (s: string) => {
  const r = parseAttrWrite(enc(s));
  return r.ok ? r.value : r.errno;
};

describe('kstrtoull(s, 0) behind a debugfs attribute write', () => {
  it('accepts decimal, 0x/0X hex, leading-0 octal, one +, one trailing newline', () => {
    for (const s of ['8\n', '8', '+8', '0x8', '0X8', '010']) assert.equal(parse(s), 8n, s);
    assert.equal(parse('0X1f'), 31n);
    assert.equal(parse('0x1F\n'), 31n);
    assert.equal(parse('0\n'), 0n);
    assert.equal(parse('00'), 0n);
  });

  it('rejects everything else with EINVAL', () => {
    for (const s of [
      'abc',
      '-1',
      '++1',
      '+',
      '\n',
      '',
      '  12',
      '\t3',
      '12 ',
      '3\r\n',
      '2\n\n',
      '12abc',
      '5 6',
      '08',
      '09',
      '1a',
      '0x',
      '0x\n',
      '0xg',
    ])
      assert.equal(parse(s), 'EINVAL', JSON.stringify(s));
  });

  it('reports overflow as ERANGE before looking at what follows', () => {
    assert.equal(parse('18446744073709551616'), 'ERANGE');
    assert.equal(parse('12345678901234567890123456'), 'ERANGE');
    assert.equal(parse('18446744073709551616abc'), 'ERANGE');
    assert.equal(parse('18446744073709551615'), (1n << 64n) - 1n);
    assert.equal(parse('0xffffffffffffffff'), (1n << 64n) - 1n);
  });

  it('reads only the first 23 bytes of a write', () => {
    assert.equal(parse('00000000000000000000005'), 5n); // octal
    assert.equal(parse('00000000000000000000005junkjunk'), 5n);
    assert.equal(parse('00000000000000000000008'), 'EINVAL');
    assert.equal(parse('000000000000000000000008\n'), 0n);
  });

  it('stops at an embedded NUL, as the C string does', () => {
    const r = kstrtoull(new Uint8Array([0x35, 0, 0x7a, 0x7a]));
    assert.ok(r.ok && r.value === 5n);
  });

  it('kstrtoul(s, 10) (sysfs nr_hugepages): no prefix, overflow before trailing bytes', () => {
    const k = (t: string) => kstrtoull(new TextEncoder().encode(t), 10);
    assert.deepEqual(k('010\n'), { ok: true, value: 10n });
    assert.deepEqual(k('0x2\n'), { ok: false, errno: 'EINVAL' });
    assert.deepEqual(k('+3'), { ok: true, value: 3n });
    // as 7.3 answered `4097000000000000000000000000001\t\n` (hostile-writes/runs/1G-hp-seed43-7.3)
    assert.deepEqual(k('4097000000000000000000000000001\t\n'), { ok: false, errno: 'ERANGE' });
    assert.deepEqual(k('18446744073709551615\t'), { ok: false, errno: 'EINVAL' });
    assert.deepEqual(k('2147483647\u0000 0x10'), { ok: true, value: 2147483647n });
  });
});

describe('int pages = val', () => {
  it('keeps the low 32 bits as two’s complement, and sign-extends into unsigned long', () => {
    assert.equal(toCInt(4294967296n), 0);
    assert.equal(toCInt(4294967304n), 8);
    assert.equal(toCInt(2147483647n), 2147483647);
    assert.equal(toCInt(2147483648n), -2147483648);
    assert.equal(toCInt(4294967295n), -1);
    assert.equal(toCInt((1n << 64n) - 1n), -1);
    assert.equal(intToULong(-1), (1n << 64n) - 1n);
    assert.equal(intToULong(-2147483648), 0xffffffff80000000n);
    assert.equal(intToULong(8), 8n);
  });
});
