// What `cma-debug mount` needs (root, the FUSE device, mount(8)) and the one line it prints when
// something is missing: no native addon, libfuse or fusermount is asked for.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkFuse, MountError } from '../../src/frontends/fuse/mount.ts';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'cma-fuse-req-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A directory holding an executable `mount` and a readable, writable stand-in device. */
function fakeHost(dir: string): { device: string; path: string } {
  writeFileSync(join(dir, 'fuse'), '');
  const mount = join(dir, 'mount');
  writeFileSync(mount, '#!/bin/sh\n');
  chmodSync(mount, 0o755);
  return { device: join(dir, 'fuse'), path: `/nonexistent:${dir}` };
}

test('a host with root, the device and mount(8) passes', () => {
  withDir((dir) => {
    assert.doesNotThrow(() => checkFuse({ uid: 0, ...fakeHost(dir) }));
  });
});

test('without root it says so and names the alternatives', () => {
  withDir((dir) => {
    assert.throws(
      () => checkFuse({ uid: 1000, ...fakeHost(dir) }),
      (e: unknown) =>
        e instanceof MountError &&
        /needs root \(running as uid 1000\)/.test(e.message) &&
        /cma-debug serve/.test(e.message),
    );
  });
});

test('a missing /dev/fuse names the module and the container flags', () => {
  withDir((dir) => {
    const host = fakeHost(dir);
    assert.throws(
      () => checkFuse({ uid: 0, path: host.path, device: join(dir, 'no-such-device') }),
      (e: unknown) =>
        e instanceof MountError &&
        e.message.startsWith(`${join(dir, 'no-such-device')} does not exist`) &&
        /modprobe fuse/.test(e.message) &&
        /--device \/dev\/fuse/.test(e.message),
    );
  });
});

test('a missing mount(8) names the package that has it', () => {
  withDir((dir) => {
    const host = fakeHost(dir);
    assert.throws(
      () => checkFuse({ uid: 0, device: host.device, path: '/nonexistent' }),
      (e: unknown) =>
        e instanceof MountError &&
        /mount\(8\) command is not on PATH/.test(e.message) &&
        /util-linux/.test(e.message),
    );
  });
});
