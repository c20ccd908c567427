// The open file description owns its state (text made at the first read, the bitmap's text made
// at open), whoever reads or writes through it; writes name their own task; lseek, text lengths
// and the filter files' positioned reads as the kernels answered them
// (test/fixtures/mount-semantics/, recorded from real 6.1, 6.12 and 7.3 kernels).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { SEEK_CUR, SEEK_END, SEEK_SET } from '../../src/core/system.ts';
import { O_RDONLY, O_WRONLY } from '../../src/core/vfs.ts';

const D = '/sys/kernel/debug/cma/reserved';
const T = '/sys/kernel/tracing';
const dec = (d: Uint8Array) => new TextDecoder().decode(d);
const enc = (s: string) => new TextEncoder().encode(s);

function openOk(
  sys: CmaSystem,
  path: string,
  flags = O_RDONLY,
  task?: { comm: string; pid: number },
): number {
  const o = sys.open(path, flags, task);
  assert.ok(o.ok, `open ${path}`);
  return o.fh;
}

function readAt(sys: CmaSystem, fh: number, len: number, pos?: number): string {
  const r = sys.read(fh, len, pos);
  assert.ok(r.ok);
  return dec(r.data);
}

describe('open file descriptions', () => {
  for (const profile of ['6.1', '7.3']) {
    it(`${profile}: a description read by two readers around a write continues the first text`, () => {
      const sys = createSystem({ profile });
      sys.writeFile(`${D}/alloc`, '24\n');
      const fh = openOk(sys, `${D}/used`);
      // the first reader (a child given the shell's descriptor) takes one byte
      assert.equal(readAt(sys, fh, 1), '2');
      sys.writeFile(`${D}/alloc`, '200\n');
      // the second reader continues at the shared position: the rest of "24\n", never "224\n"
      assert.equal(readAt(sys, fh, 5), '4\n');
      assert.equal(readAt(sys, fh, 5), '');
      // a read from the start makes the text again (simple_attr_read)
      assert.equal(readAt(sys, fh, 16, 0), '224\n');
      sys.close(fh);
    });

    it(`${profile}: the bitmap's text is fixed when the file is opened`, () => {
      const sys = createSystem({ profile });
      const bitmap = profile === '6.1' ? `${D}/bitmap` : `${D}/ranges/0/bitmap`;
      const before = sys.readFile(bitmap);
      assert.ok(before.ok);
      const fh = openOk(sys, bitmap);
      sys.writeFile(`${D}/alloc`, '8\n');
      const after = sys.readFile(bitmap);
      assert.ok(after.ok && after.text !== before.text, 'the allocation changed the bitmap');
      assert.equal(readAt(sys, fh, 1), before.text[0]);
      assert.equal(readAt(sys, fh, 1 << 20), before.text.slice(1));
      // even a read from 0 shows the text of the open
      assert.equal(readAt(sys, fh, 1 << 20, 0), before.text);
      assert.deepEqual(sys.textLength(fh), { ok: true, length: before.text.length });
      assert.deepEqual(sys.fileLength(bitmap), { ok: true, length: after.text.length });
      sys.close(fh);
    });
  }

  it('each write through a shared description is traced as its own writer', () => {
    const sys = createSystem();
    sys.writeFile(`${T}/events/cma/enable`, '1\n');
    const fh = openOk(sys, `${D}/alloc`, O_WRONLY, { comm: 'sh', pid: 10 });
    assert.ok(sys.write(fh, enc('1\n'), undefined, { comm: 'dd', pid: 11 }).ok);
    assert.ok(sys.write(fh, enc('2\n'), undefined, { comm: 'busybox', pid: 12 }).ok);
    assert.ok(sys.write(fh, enc('3\n')).ok);
    sys.close(fh);
    const starts = sys.tracing.entries
      .filter((e) => e.event?.event === 'cma_alloc_start')
      .map((e) => `${e.task.comm}-${e.task.pid}`);
    assert.deepEqual(starts, ['dd-11', 'busybox-12', 'sh-10']);
  });

  it('lseek: ESPIPE on debugfs attributes and the bitmap, st_size-based on sysfs and tracefs', () => {
    const sys = createSystem();
    for (const f of ['used', 'count', 'bitmap', 'alloc']) {
      const fh = openOk(sys, `${D}/${f}`, f === 'alloc' ? O_WRONLY : O_RDONLY);
      assert.deepEqual(sys.lseek(fh, 0, SEEK_END), { ok: false, errno: 'ESPIPE' }, f);
      sys.close(fh);
    }
    const sysfs = openOk(sys, '/sys/kernel/mm/cma/reserved/alloc_pages_success');
    assert.deepEqual(sys.lseek(sysfs, -5, SEEK_END), { ok: true, pos: 4091 });
    // tail -c 5 on a sysfs file prints nothing on the kernel: the text is shorter than 4096
    assert.equal(readAt(sys, sysfs, 5), '');
    sys.close(sysfs);
    const trace = openOk(sys, `${T}/trace`);
    assert.deepEqual(sys.lseek(trace, 0, SEEK_END), { ok: true, pos: 0 });
    assert.deepEqual(sys.lseek(trace, 2, SEEK_SET), { ok: true, pos: 2 });
    assert.deepEqual(sys.lseek(trace, 3, SEEK_CUR), { ok: true, pos: 5 });
    assert.deepEqual(sys.lseek(trace, -6, SEEK_CUR), { ok: false, errno: 'EINVAL' });
    // the header starts "# tracer: nop"
    assert.equal(readAt(sys, trace, 3), 'cer');
    sys.close(trace);
  });

  it('filter files answer only a read from the start; the subsystem filter shows its help', () => {
    const sys = createSystem();
    const sub = sys.readFile(`${T}/events/cma/filter`);
    assert.ok(sub.ok);
    assert.equal(sub.text.length, 192);
    assert.match(sub.text, /^### global filter ###\n[\s\S]*displayed here\n$/);
    const fh = openOk(sys, `${T}/events/cma/cma_alloc_start/filter`);
    assert.equal(readAt(sys, fh, 2, 2), '');
    assert.equal(readAt(sys, fh, 3, 0), 'non');
    assert.equal(readAt(sys, fh, 3), '');
    sys.close(fh);
    assert.deepEqual(sys.seekable(`${T}/events/cma/filter`), {
      ok: true,
      seekable: true,
      emptyPastStart: true,
    });
    assert.deepEqual(sys.seekable(`${D}/used`), { ok: true, seekable: false, emptyPastStart: false });
  });

  it("text lengths: the next open's text, 0 for write-only files, the kept text of an open", () => {
    const sys = createSystem();
    assert.deepEqual(sys.fileLength(`${D}/count`), { ok: true, length: 5 });
    assert.deepEqual(sys.fileLength(`${D}/alloc`), { ok: true, length: 0 });
    assert.deepEqual(sys.fileLength(`${D}/nope`), { ok: false, errno: 'ENOENT' });
    const fh = openOk(sys, `${D}/used`);
    assert.deepEqual(sys.textLength(fh), { ok: true, length: 2 });
    assert.equal(readAt(sys, fh, 1), '0');
    sys.writeFile(`${D}/alloc`, '100\n');
    // the open keeps "0\n"; a new open would read "100\n"
    assert.deepEqual(sys.textLength(fh), { ok: true, length: 2 });
    assert.deepEqual(sys.fileLength(`${D}/used`), { ok: true, length: 4 });
    sys.close(fh);
  });
});
