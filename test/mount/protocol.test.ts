// The FUSE wire format (include/uapi/linux/fuse.h) as protocol.ts reads and writes it: header
// fields at their offsets, replies sized by their header, attributes where the kernel reads them,
// directory records 8-byte aligned with the next index as offset, INIT negotiation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attrOut,
  direntsOut,
  entryOut,
  initOut,
  names,
  Op,
  openOut,
  parseRequest,
  replyBytes,
  S_IFREG,
} from '../../src/frontends/fuse/protocol.ts';

function request(opcode: number, body: Buffer, pid = 4242): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32LE(40 + body.length, 0);
  h.writeUInt32LE(opcode, 4);
  h.writeBigUInt64LE(77n, 8);
  h.writeBigUInt64LE(5n, 16);
  h.writeUInt32LE(1000, 24);
  h.writeUInt32LE(100, 28);
  h.writeUInt32LE(pid, 32);
  // trailing bytes past `len` (a reused read buffer) are not part of the request
  return Buffer.concat([h, body, Buffer.from('garbage')]);
}

describe('FUSE protocol', () => {
  it('reads the header (the caller pid included) and only `len` bytes of arguments', () => {
    const r = parseRequest(request(Op.LOOKUP, Buffer.from('used\0')));
    assert.deepEqual(
      { op: r.opcode, unique: r.unique, node: r.nodeid, uid: r.uid, gid: r.gid, pid: r.pid },
      { op: Op.LOOKUP, unique: 77n, node: 5n, uid: 1000, gid: 100, pid: 4242 },
    );
    assert.deepEqual(names(r.body), ['used']);
    assert.deepEqual(names(Buffer.from('\0\0\0\0\0\0\0\0old\0new\0'), 8), ['old', 'new']);
  });

  it('replies: an error is a bare header, a success carries its body', () => {
    const e = replyBytes(9n, -13);
    assert.equal(e.length, 16);
    assert.deepEqual([e.readUInt32LE(0), e.readInt32LE(4), e.readBigUInt64LE(8)], [16, -13, 9n]);
    const ok = replyBytes(9n, 0, openOut(3n, 5));
    assert.equal(ok.readUInt32LE(0), 32);
    assert.deepEqual([ok.readBigUInt64LE(16), ok.readUInt32LE(24)], [3n, 5]);
  });

  it('attributes at fuse_attr offsets (entry: after 40 bytes; attr_out: after 16)', () => {
    const a = { ino: 12n, size: 257, mode: S_IFREG | 0o444, nlink: 1, uid: 0, gid: 0, time: 1_700_000_000 };
    const e = entryOut(12n, a, 60);
    assert.equal(e.length, 128);
    assert.deepEqual(
      [e.readBigUInt64LE(0), e.readBigUInt64LE(16), e.readBigUInt64LE(24), e.readBigUInt64LE(40)],
      [12n, 60n, 0n, 12n],
    );
    assert.equal(e.readBigUInt64LE(48), 257n);
    assert.equal(e.readUInt32LE(40 + 60), S_IFREG | 0o444);
    assert.equal(e.readUInt32LE(40 + 64), 1);
    const o = attrOut(a);
    assert.equal(o.length, 104);
    assert.equal(o.readBigUInt64LE(0), 0n, 'attr_valid 0: sizes never go stale');
    assert.equal(o.readBigUInt64LE(16 + 8), 257n);
  });

  it('directory records: 8-byte aligned, offset = next index, stop when full', () => {
    const list = ['.', '..', 'alloc', 'bitmap'].map((name, i) => ({ ino: BigInt(i + 1), name, type: 8 }));
    const all = direntsOut(list, 0, 4096);
    assert.equal(all.length, 24 + 8 + (24 + 8) + (24 + 8) + (24 + 8));
    const third = 64;
    assert.deepEqual(
      [
        all.readBigUInt64LE(third + 8),
        all.readUInt32LE(third + 16),
        all.toString('utf8', third + 24, third + 29),
      ],
      [3n, 5, 'alloc'],
    );
    const part = direntsOut(list, 2, 40);
    assert.equal(part.length, 32, 'only what fits');
    assert.equal(direntsOut(list, 4, 4096).length, 0, 'past the end: empty (end of directory)');
  });

  it('INIT: protocol 7.min(kernel, 31), only the flags asked for and offered', () => {
    const body = Buffer.alloc(64);
    body.writeUInt32LE(7, 0);
    body.writeUInt32LE(44, 4);
    body.writeUInt32LE(131072, 8);
    body.writeUInt32LE((0xffffffff & ~(1 << 5)) >>> 0, 12);
    const out = initOut(body);
    assert.deepEqual([out.readUInt32LE(0), out.readUInt32LE(4), out.readUInt32LE(8)], [7, 31, 131072]);
    assert.equal(out.readUInt32LE(12), 1 << 3, 'atomic O_TRUNC; big writes not offered');
    assert.equal(out.readUInt32LE(20), 128 * 1024);
    body.writeUInt32LE(26, 4);
    assert.equal(initOut(body).readUInt32LE(4), 26);
  });
});
