// Which process is writing? fuse-native does not expose fuse_get_context(), so the writer is
// found in /proc: the task blocked in write(2) on a descriptor that links to the file. Its pid
// and comm go into trace lines (`sh-123`), as the kernel's `current` would.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** write, pwrite64, writev, pwritev, pwritev2 by architecture. */
const WRITE_SYSCALLS: Record<string, readonly number[]> = {
  x64: [1, 18, 20, 296, 328],
  arm64: [64, 68, 66, 70, 287],
};

/** A writer: pid and comm of the task. */
export interface Writer {
  pid: number;
  comm: string;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Finds the writers of mounted files; falls back to `<...>` and a counter (the kernel's unknown comm). */
export class WriterLookup {
  private readonly syscalls: ReadonlySet<number>;
  private fallbackPid = 100000;
  private last: string | null = null;

  constructor(arch: string = process.arch) {
    this.syscalls = new Set(WRITE_SYSCALLS[arch] ?? []);
  }

  /** The task blocked in a write to `absPath` (a path as /proc/PID/fd links show it). */
  find(absPath: string): Writer {
    if (this.syscalls.size > 0) {
      if (this.last) {
        const w = this.check(this.last, absPath);
        if (w) return w;
      }
      const pids = this.list('/proc');
      for (const pid of pids) {
        const w = this.check(`/proc/${pid}`, absPath);
        if (w) return this.remember(`/proc/${pid}`, w);
      }
      // a thread of a multi-threaded writer (e.g. a libuv worker)
      for (const pid of pids) {
        for (const tid of this.list(`/proc/${pid}/task`)) {
          if (tid === pid) continue;
          const w = this.check(`/proc/${pid}/task/${tid}`, absPath);
          if (w) return this.remember(`/proc/${pid}/task/${tid}`, w);
        }
      }
    }
    return { pid: this.fallbackPid++, comm: '<...>' };
  }

  private remember(dir: string, w: Writer): Writer {
    this.last = dir;
    return w;
  }

  private list(dir: string): number[] {
    try {
      return readdirSync(dir)
        .filter((n) => /^\d+$/.test(n))
        .map(Number)
        .filter((p) => p !== process.pid);
    } catch {
      return [];
    }
  }

  private check(dir: string, absPath: string): Writer | null {
    const sc = readText(`${dir}/syscall`);
    if (!sc) return null;
    const [nr, arg0] = sc.split(' ');
    if (!this.syscalls.has(Number(nr)) || arg0 === undefined) return null;
    const fd = Number.parseInt(arg0, 16);
    let link: string;
    try {
      // /proc/PID/fd links are resolved from the dcache: no request reaches the mount
      link = readlinkSync(`${dir}/fd/${fd}`);
    } catch {
      return null;
    }
    if (link !== absPath) return null;
    const comm = readText(`${dir}/comm`)?.replace(/\n$/, '') ?? '<...>';
    const pid = Number(dir.slice(dir.lastIndexOf('/') + 1));
    return { pid, comm };
  }
}
