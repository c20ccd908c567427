// `cma-debug serve`: the HTTP API and the live dashboard over an emulated system, a /sys-like
// directory (read-only unless --allow-write) or a snapshot.

import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { deviceReport } from '../../../sources/device-model.ts';
import type { ServeSource } from '../../../sources/file-tree.ts';
import { systemSource } from '../../../sources/file-tree.ts';
import { directorySource, openCapture, SourceSetupError } from '../../../sources/serve-source.ts';
import { systemFromFlags } from '../system-from-flags.ts';
import type { SystemFlags } from '../system-options.ts';
import { addSystemOptions, UsageError } from '../system-options.ts';

interface ServeFlags extends SystemFlags {
  root?: string;
  fromSnapshot?: string;
  host: string;
  port: string;
  token?: string;
  allowWrite?: boolean;
  trace: boolean;
  debugfs?: boolean;
  log?: boolean;
  poll: string;
}

function parsePoll(text: string): number {
  if (!/^\d{1,7}$/.test(text)) throw new UsageError(`--poll: '${text}' is not a number of milliseconds`);
  return Number(text);
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    throw new UsageError(`--port: '${text}' is not a port number`);
  return Number(text);
}

/**
 * One positional argument that names an existing file or directory and is no `key=value` area
 * spec: a capture to serve (as --from-snapshot).
 */
function positionalCapture(flags: ServeFlags, areas: string[]): void {
  const [only] = areas;
  if (areas.length !== 1 || only === undefined || only.includes('=') || !existsSync(only)) return;
  if (flags.fromSnapshot !== undefined)
    throw new UsageError(`give the capture once: '${only}' or --from-snapshot ${flags.fromSnapshot}`);
  flags.fromSnapshot = only;
  areas.length = 0;
}

async function sourceFromFlags(flags: ServeFlags, areas: string[]): Promise<ServeSource> {
  positionalCapture(flags, areas);
  const chosen = [
    flags.root !== undefined,
    flags.fromSnapshot !== undefined,
    areas.length > 0 || !!flags.area || !!flags.config,
  ];
  if (chosen.filter(Boolean).length > 1)
    throw new UsageError('give one of: area specs/--area/--config, --root DIR, --from-snapshot FILE');
  if (flags.root !== undefined) {
    if (!existsSync(flags.root) || !statSync(flags.root).isDirectory())
      throw new UsageError(`--root ${flags.root}: not a directory`);
    return directorySource(flags.root, { allowWrite: !!flags.allowWrite, pollMs: parsePoll(flags.poll) });
  }
  if (flags.allowWrite)
    throw new UsageError('--allow-write only applies to --root (the emulator is always writable)');
  if (flags.fromSnapshot !== undefined) {
    const opened = await openCapture(flags.fromSnapshot);
    if (opened.kind === 'capture') {
      if (flags.debugfs === false)
        process.stderr.write(
          `cma-debug: note: ${flags.fromSnapshot} has no debugfs anyway (--no-debugfs changes nothing)\n`,
        );
      return opened.source;
    }
    const sys = opened.system;
    sys.debugfsMounted = flags.debugfs !== false;
    if (flags.trace) sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
    return systemSource(sys, 'snapshot', `emulator from ${flags.fromSnapshot} (profile ${sys.profile.id})`);
  }
  const sys = systemFromFlags(flags, areas);
  sys.debugfsMounted = flags.debugfs !== false;
  if (flags.trace) sys.writeFile('/sys/kernel/tracing/events/cma/enable', '1\n');
  return systemSource(sys);
}

export function registerServe(program: Command): void {
  addSystemOptions(
    program
      .command('serve')
      .summary('Serve the HTTP API and the live dashboard.')
      .description(
        'Serve the HTTP API and the live dashboard (by default of the emulated 6.1 system, on http://127.0.0.1:8080/).',
      )
      .argument(
        '[areas...]',
        'area specs, as --area; or one capture to serve as --from-snapshot does (a path: snapshot, bug report, copied device directory, kernel log).',
      )
      .option('--root <dir>', 'serve a /sys-like directory (a live /sys or a copy) instead of the emulator')
      .option(
        '--from-snapshot <path>',
        'start the emulator from a snapshot or a copied /sys tree; a capture without debugfs (a device snapshot, a bug report, a copied device directory DIR/{sys,proc,dmesg}, a kernel log) is served read-only as its device report',
      )
      .option('--host <addr>', 'address to bind', '127.0.0.1')
      .option('--port <n>', 'port (0 picks a free one)', '8080')
      .option('--token <token>', 'the bearer token state changes need (default: a random one)')
      .option('--allow-write', 'allow writes to a --root directory (a live kernel!)')
      .option('--poll <ms>', 'how often a --root model re-reads the tree (0: never)', '1000')
      .option(
        '--no-debugfs',
        'hide /sys/kernel/debug/cma as a production kernel does (debugfs not mounted); sysfs counters, /proc/{meminfo,vmstat,zoneinfo,pagetypeinfo} and the kernel log stay',
      )
      .option('--no-trace', 'do not enable the cma trace events at start (emulator)')
      .option('--log', 'log every request'),
  ).action(async (areas: string[], flags: ServeFlags) => {
    const port = parsePort(flags.port);
    if (flags.token !== undefined && !/^[\x21-\x7e]{8,256}$/.test(flags.token))
      throw new UsageError('--token: 8 to 256 printable characters without spaces');
    let source: ServeSource;
    try {
      source = await sourceFromFlags(flags, areas);
    } catch (e) {
      if (e instanceof SourceSetupError) throw new UsageError(e.message);
      throw e;
    }
    const loopback = flags.host === '127.0.0.1' || flags.host === 'localhost' || flags.host === '::1';
    // loaded here: fastify takes ~90 ms to load, which every other command would pay
    const { createServer } = await import('../../http/server.ts');
    const { app, token } = await createServer(source, {
      ...(flags.token !== undefined ? { token: flags.token } : {}),
      loopbackHostsOnly: loopback,
      readsNeedToken: !loopback,
      logRequests: !!flags.log,
    });
    let address: string;
    try {
      address = await app.listen({ host: flags.host, port });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new UsageError(
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${flags.host} is in use (try --port 0 or another port)`
          : `cannot listen on ${flags.host}:${port}: ${err.code ?? err.message}`,
      );
    }
    const url = address.replace('://[::1]', '://localhost');
    if (!loopback)
      process.stderr.write(
        `cma-debug: warning: listening on ${flags.host}, beyond loopback: anyone who can reach it may try; every request, reads too, needs the token\n`,
      );
    // a capture is never written: on loopback nothing needs the token
    const tokenless = source.readOnlyReason !== undefined && loopback;
    // a device report (no model): say once what it could not read; the rest is served
    if (!source.system && source.deviceTree) {
      const unreadable = Object.entries(deviceReport(source.deviceTree()).unreadable);
      if (unreadable.length > 0)
        process.stderr.write(
          `cma-debug: warning: not readable ${source.kind === 'capture' ? 'in this capture' : 'now'} (shown as unknown): ${unreadable.map(([f, why]) => `${f} (${why})`).join(', ')}\n`,
        );
    }
    process.stdout.write(
      `cma-debug: serving ${source.label}\n` +
        `  dashboard: ${url}/${tokenless ? '' : `#token=${encodeURIComponent(token)}`}\n` +
        `  API:       ${url}/api  (metrics: ${url}/metrics)\n` +
        (tokenless
          ? '  read-only: nothing to write, no token needed\n'
          : `  token:     ${token}  (send as: Authorization: Bearer ${token})\n`) +
        '  Ctrl-C stops.\n',
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void app.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  });
}
