// The /sys around the CMA files, as each reference kernel showed it (test/fixtures/sys-skeleton/,
// captured with busybox on the 6.1, 6.12 and 7.3 oracles): every directory, file and link with
// its mode, link count, st_size, readdir order and short text, in all three profiles. Directory
// link counts follow 2 + subdirectories (debugfs root: 10), except eventfs's 1 (6.12, 7.3).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSystem } from '../../src/core/create.ts';

interface Entry {
  readonly kind: 'dir' | 'file' | 'symlink';
  readonly mode: number;
  readonly nlink: number;
  readonly size: number;
  readonly path: string;
  content?: string;
}

const KIND = { d: 'dir', f: 'file', l: 'symlink' } as const;

function fixture(id: string): Entry[] {
  const out: Entry[] = [];
  const seen = new Set<string>();
  for (const line of readFileSync(
    new URL(`../fixtures/sys-skeleton/${id}.txt`, import.meta.url),
    'utf8',
  ).split('\n')) {
    const m = /^([dfl]) (\d+) (\d+) (\d+) (\/sys\/\S+)/.exec(line);
    if (m) {
      if (seen.has(m[5]!)) continue;
      seen.add(m[5]!);
      out.push({
        kind: KIND[m[1] as 'd' | 'f' | 'l'],
        mode: Number.parseInt(m[2]!, 8),
        nlink: Number(m[3]),
        size: Number(m[4]),
        path: m[5]!,
      });
    }
    const x = /^x ([0-9a-f]*)$/.exec(line);
    if (x && out.length > 0) out[out.length - 1]!.content = x[1]!;
  }
  return out;
}

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');

for (const id of ['6.1', '6.12', '7.3']) {
  describe(`/sys around the CMA files on ${id}`, () => {
    const entries = fixture(id);

    it('every entry has the kernel type, mode, link count and size', () => {
      const sys = createSystem({ profile: id });
      const wrong: string[] = [];
      for (const e of entries) {
        const r = sys.stat(e.path, false);
        if (!r.ok) {
          wrong.push(`${e.path}: ${r.errno}`);
          continue;
        }
        const got = `${r.stat.type} ${r.stat.mode.toString(8)} ${r.stat.nlink} ${r.stat.size}`;
        const want = `${e.kind} ${e.mode.toString(8)} ${e.nlink} ${e.size}`;
        if (got !== want) wrong.push(`${e.path}: ${got}, kernel ${want}`);
      }
      assert.deepEqual(wrong, []);
      assert.ok(entries.length > 200, `${entries.length} entries`);
    });

    it('directories list their entries in the kernel readdir order', () => {
      const sys = createSystem({ profile: id });
      const children = new Map<string, string[]>();
      for (const e of entries) {
        const parent = e.path.slice(0, e.path.lastIndexOf('/'));
        children.set(parent, [...(children.get(parent) ?? []), e.path.slice(parent.length + 1)]);
      }
      // directories the capture lists in full (not the emulated ones it only names, nor /sys's
      // top level, whose subtrees are not carried)
      const pruned = /^\/sys\/kernel\/(debug\/cma|debug\/tracing|mm\/cma)$/;
      let checked = 0;
      for (const e of entries) {
        if (e.kind !== 'dir' || pruned.test(e.path) || !e.path.startsWith('/sys/kernel')) continue;
        const r = sys.readdir(e.path);
        assert.ok(r.ok, e.path);
        assert.deepEqual(r.names, children.get(e.path) ?? [], e.path);
        checked++;
      }
      assert.ok(checked > 20);
    });

    it('files read as the kernel printed them at boot', () => {
      const sys = createSystem({ profile: id });
      let checked = 0;
      for (const e of entries) {
        if (e.content === undefined) continue;
        const r = sys.readFile(e.path);
        assert.ok(r.ok, `${e.path}: ${r.ok ? '' : r.errno}`);
        assert.equal(hex(r.data), e.content, e.path);
        checked++;
      }
      assert.ok(checked > 100, `${checked} files`);
    });

    it('debugfs tracing is an automount: the tracefs root once a walk went through it', () => {
      const sys = createSystem({ profile: id });
      const st = (p: string) => {
        const r = sys.stat(p, false);
        assert.ok(r.ok);
        return `${r.stat.mode.toString(8)} ${r.stat.nlink}`;
      };
      assert.equal(st('/sys/kernel/debug/tracing'), '555 3');
      assert.ok(sys.readFile('/sys/kernel/debug/tracing/tracing_on').ok);
      assert.equal(st('/sys/kernel/debug/tracing'), '700 6');
      assert.equal(st('/sys/kernel/debug'), '700 10');
    });

    it('unmounted debugfs leaves the empty sysfs directory', () => {
      const sys = createSystem({ profile: id });
      sys.debugfsMounted = false;
      const r = sys.stat('/sys/kernel/debug', false);
      assert.ok(r.ok);
      assert.deepEqual([r.stat.mode.toString(8), r.stat.nlink], ['755', 2]);
      assert.deepEqual(sys.readdir('/sys/kernel/debug'), { ok: true, names: [] });
      sys.debugfsMounted = true;
      assert.equal(sys.readdir('/sys/kernel/debug').ok && sys.stat('/sys/kernel/debug').ok, true);
    });

    it('skeleton files the emulator does not model refuse writes', () => {
      const sys = createSystem({ profile: id });
      const w = sys.writeFile('/sys/kernel/debug/sched/verbose', 'Y\n');
      assert.deepEqual(w, { ok: false, errno: 'EPERM' });
    });
  });
}
