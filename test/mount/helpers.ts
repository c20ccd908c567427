// Test helpers: run `cma-debug mount` as a child process (never serve and read a mount in the
// same process), run busybox scripts against it, and always unmount in teardown.

import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? 'busybox';

/** Why the FUSE tests cannot run here, or null when they can. */
export function fuseUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  if (!existsSync(BUSYBOX)) return 'no busybox';
  return null;
}

/** Unmounts whatever is at `dir` (lazily), ignoring errors. */
function forceUnmount(dir: string): void {
  spawnSync('fusermount', ['-uz', dir], { stdio: 'ignore' });
  spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
}

/**
 * Mount points of servers this process started, and whether it made the directory: whatever a
 * test leaves there (a server killed on purpose, one that never became ready) is unmounted and
 * removed when the process exits, so no run leaves dead fuse.cma-debug mounts behind.
 */
const ours = new Map<string, { made: boolean; proc: ChildProcess }>();
process.on('exit', () => {
  for (const [dir, { made, proc }] of ours) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    if (isMounted(dir)) forceUnmount(dir);
    if (made && !isMounted(dir)) rmSync(dir, { recursive: true, force: true });
  }
});

export function isMounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);
}

/** A running `cma-debug mount`. */
export interface Server {
  readonly dir: string;
  readonly proc: ChildProcess;
  stdout: string;
  stderr: string;
  /** SIGTERM, wait for exit, and clear the mount whatever happened. */
  stop(): Promise<void>;
  /**
   * SIGKILL (a crash): the mount is left stale for the test to look at (or to restart on); it is
   * cleared when the test process exits if nothing else did.
   */
  kill(): Promise<void>;
}

/** The output of a finished process. */
export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function waitExit(proc: ChildProcess, ms: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    proc.once('exit', () => {
      clearTimeout(t);
      res(true);
    });
  });
}

/** Runs the CLI to completion (for error paths). */
export function cli(args: string[], timeoutMs = 30_000): Promise<Run> {
  return run(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/frontends/cli/main.ts'), ...args],
    {},
    timeoutMs,
  );
}

/** Runs a program to completion, collecting its output. */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<Run> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      rej(new Error(`${cmd} ${args.join(' ')}: timed out after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

/** Starts `cma-debug mount DIR ARGS…` on a new directory (or `dir`); resolves when it printed DIR. */
export async function startMount(args: string[] = [], dir?: string): Promise<Server> {
  const mnt = dir ?? mkdtempSync(join(tmpdir(), 'cma-mnt-'));
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/frontends/cli/main.ts'), 'mount', mnt, ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  ours.set(mnt, { made: !dir, proc });
  const server: Server = {
    dir: mnt,
    proc,
    stdout: '',
    stderr: '',
    async stop() {
      proc.kill('SIGTERM');
      if (!(await waitExit(proc, 10_000))) proc.kill('SIGKILL');
      await waitExit(proc, 5000);
      if (isMounted(mnt)) forceUnmount(mnt);
      if (!dir) rmSync(mnt, { recursive: true, force: true });
      if (ours.get(mnt)?.proc === proc) ours.delete(mnt);
    },
    async kill() {
      proc.kill('SIGKILL');
      await waitExit(proc, 5000);
    },
  };
  proc.stderr?.on('data', (d: Buffer) => {
    server.stderr += d.toString();
  });
  const ready = new Promise<void>((res, rej) => {
    // generous: a loaded CI machine compiles the CLI slowly
    const t = setTimeout(() => rej(new Error(`mount did not become ready: ${server.stderr}`)), 90_000);
    proc.stdout?.on('data', (d: Buffer) => {
      server.stdout += d.toString();
      if (server.stdout.includes('\n')) {
        clearTimeout(t);
        res();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`mount exited (${code}): ${server.stderr}`));
    });
  });
  try {
    await ready;
  } catch (e) {
    // no Server reaches the caller: stop this one here rather than leave it (or its mount) behind
    await server.stop();
    throw e;
  }
  return server;
}

let bbDir: string | null = null;

/** A directory whose every busybox applet (sh, cat, ls, awk…) is a link to busybox: the PATH for scripts. */
export function busyboxPath(): string {
  if (!bbDir) {
    bbDir = mkdtempSync(join(tmpdir(), 'cma-bb-'));
    spawnSync(BUSYBOX, ['--install', '-s', bbDir], { stdio: 'ignore' });
  }
  return bbDir;
}

/** Runs a script text with busybox sh, SYS=dir, PATH=busybox applets only. */
export async function busyboxScript(text: string, sys: string, timeoutMs = 120_000): Promise<Run> {
  const file = join(mkdtempSync(join(tmpdir(), 'cma-sh-')), 'script.sh');
  writeFileSync(file, text);
  try {
    return await run(join(busyboxPath(), 'sh'), [file], { PATH: busyboxPath(), SYS: sys }, timeoutMs);
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Makes a golden script run against a mount (SYS=DIR) instead of the kernel:
 * - `D=/sys/…`, `S=/sys/…`, `T=/sys/…` become `$SYS/…`;
 * - `uname -r` and `cat /proc/cmdline` are dropped (`:`): they print the host's kernel, not the
 *   CMA interface (their lines are removed from the golden too);
 * - `grep … /proc/meminfo` and `grep … /proc/vmstat` read `$SYS/.cma-debug/meminfo` and
 *   `$SYS/.cma-debug/vmstat` (the emulator's CmaTotal/CmaFree, nr_free_cma and cma_alloc_* lines);
 * - `dmesg` reads `$SYS/.cma-debug/dmesg` (the emulated kernel log);
 * - stderr is merged into stdout in order (`exec 2>&1`), as the oracle's console captured both.
 */
export function adaptScript(text: string): string {
  return `exec 2>&1\n${text
    .replace(/^(\s*[A-Z]+)=\/sys\//gm, '$1=$SYS/')
    .replace(/^uname -r$/gm, ':')
    .replace(/^cat \/proc\/cmdline$/gm, ':')
    .replace(/^(\s*grep .*) \/proc\/(meminfo|vmstat)$/gm, '$1 $SYS/.cma-debug/$2')
    .replace(/^dmesg /gm, 'cat $SYS/.cma-debug/dmesg ')}`;
}

/**
 * The golden lines an emulator cannot print (see adaptScript): `uname -r` (the line after
 * `== kernel`), /proc/cmdline (`console=…`), and the dmesg boot lines `Command line:`, `Kernel
 * command line:` and `Memory: …K/…K available` (they match `grep cma` only through the command
 * line). The goldens' /proc/meminfo and /proc/vmstat CMA lines are boot-time values (every CMA
 * page free), which the emulator prints too.
 */
export function dropHostLines(golden: string): string {
  const out: string[] = [];
  const lines = golden.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (i > 0 && lines[i - 1] === '== kernel') continue;
    if (/^console=/.test(l)) continue;
    // boot lines of dmesg that match `grep cma` only because they echo the command line or the
    // memory map (the same information as /proc/cmdline and /proc/meminfo)
    if (/^(Kernel )?[Cc]ommand line: /.test(l) || /^Memory: \d+K\/\d+K available /.test(l)) continue;
    out.push(l);
  }
  return out.join('\n');
}

/** The oracle README's normalisation of trace lines: PID, flags and timestamp vary per run. */
export function normaliseTrace(text: string): string {
  return text.replace(/^( *sh)-[0-9]+ +(\[[0-9]+\]) [^ ]+ +[0-9.]+:/gm, '$1-PID $2 FLAGS TS:');
}

/** PIDs only (for the counter clock, whose timestamps are deterministic). */
export function normalisePids(text: string): string {
  return text.replace(/^( *[^ #][^ ]*)-[0-9]+ +\[/gm, '$1-PID [');
}

/** Replaces the mount directory by /sys in a transcript (commands echo their paths). */
export function asSys(text: string, dir: string): string {
  return text.replaceAll(dir, '/sys');
}

/**
 * `ls -l` owner columns as the oracle's initramfs printed them: it has no /etc/passwd, so
 * busybox shows uid/gid 0 as `0 0`; on a host with a passwd file the same inode shows `root root`.
 */
export function numericOwners(text: string): string {
  return text.replace(/^([-dlcbps][-rwxsStT]{9}\s+\d+) root\s+root /gm, '$1 0 0 ');
}
