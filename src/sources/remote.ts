// Remote devices read over `adb shell` or `ssh`, with nothing on the device but a shell and `cat`:
// one round trip runs the dump script (dump-script.ts) and the output is parsed locally.

import { spawn } from 'node:child_process';
import { cmaDumpOneLine, cmaDumpScript, treeFromDump } from './dump-script.ts';
import type { CmaSource } from './source.ts';
import { SourceError } from './tree.ts';

/** Options of a remote source. */
export interface RemoteOptions {
  /** Give up after this many milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Extra arguments for ssh (`-p 2222`, `-i KEY`, `-o …`). */
  readonly sshArgs?: readonly string[];
}

/** Runs a command, feeding `input`; resolves to stdout, or throws a one-line SourceError. */
export function runRemote(
  label: string,
  command: string,
  args: readonly string[],
  input: string | null,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      finish(() => {
        child.kill('SIGKILL');
        reject(
          new SourceError(`${label}: no answer within ${timeoutMs / 1000} s (device hung or unreachable?)`),
        );
      });
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          new SourceError(
            e.code === 'ENOENT'
              ? `${label}: '${command}' not found on PATH`
              : `${label}: cannot run ${command}: ${e.message}`,
          ),
        ),
      ),
    );
    child.on('close', (code, signal) =>
      finish(() => {
        const stdout = Buffer.concat(out).toString('latin1');
        if (code === 0 || stdout.includes('\n@@DONE')) resolve(stdout);
        else {
          const msg = Buffer.concat(err).toString('utf8').trim().split('\n').filter(Boolean).pop();
          const status = signal ? `killed by ${signal}` : `exit ${code}`;
          reject(new SourceError(`${label}: ${command} failed (${status})${msg ? `: ${msg}` : ''}`));
        }
      }),
    );
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(input ?? '');
  });
}

/** A device over adb: `adb [-s SERIAL] shell '<script>'`. */
export function adbSource(serial?: string, opts: RemoteOptions = {}): CmaSource {
  const label = serial ? `adb -s ${serial}` : 'adb';
  return {
    label,
    capture: async () => {
      const args = [...(serial ? ['-s', serial] : []), 'shell', cmaDumpOneLine()];
      const text = await runRemote(label, 'adb', args, null, opts.timeoutMs ?? 30_000);
      return treeFromDump(text, label);
    },
  };
}

/** A host over ssh: `ssh -o BatchMode=yes HOST sh -s` with the script on stdin. */
export function sshSource(host: string, opts: RemoteOptions = {}): CmaSource {
  const label = `ssh ${host}`;
  return {
    label,
    capture: async () => {
      const args = [
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=10',
        ...(opts.sshArgs ?? []),
        host,
        'sh',
        '-s',
      ];
      const text = await runRemote(label, 'ssh', args, cmaDumpScript(), opts.timeoutMs ?? 30_000);
      return treeFromDump(text, label);
    },
  };
}
