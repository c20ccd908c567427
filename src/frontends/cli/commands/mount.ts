// `cma-debug mount DIR`: the emulated /sys tree (debugfs cma, sysfs cma, tracefs) as a FUSE
// filesystem, so shell scripts run unchanged with SYS=DIR.

import type { Command } from 'commander';
import { ConfigError } from '../../../core/config.ts';
import { stateAreaSpecs } from '../../../core/state.ts';
import type { CmaSystem } from '../../../core/system.ts';
import { openCapture } from '../../../sources/serve-source.ts';
import { CmaFuseMount, checkFuse, prepareMountPoint } from '../../fuse/mount.ts';
import { StateFile } from '../../fuse/state.ts';
import { systemFromFlags } from '../system-from-flags.ts';
import type { SystemFlags } from '../system-options.ts';
import { addSystemOptions, UsageError } from '../system-options.ts';

interface MountFlags extends SystemFlags {
  debugfs?: boolean;
  state?: string;
  exactSizes?: boolean;
  fromSnapshot?: string;
  serve?: string;
}

/**
 * The system the flags describe: a snapshot or copied /sys tree to continue from (what serve
 * --from-snapshot takes), or areas/config/profile. A capture without debugfs (a device snapshot,
 * bug report, device directory, kernel log) has no bitmaps to continue from: refused, naming
 * the commands that do show it.
 */
async function freshSystem(flags: MountFlags, areas: string[]): Promise<CmaSystem> {
  if (flags.fromSnapshot === undefined) return systemFromFlags(flags, areas);
  if (
    flags.area !== undefined ||
    flags.config !== undefined ||
    areas.length > 0 ||
    flags.profile !== undefined ||
    flags.mem !== undefined
  )
    throw new UsageError(
      '--from-snapshot takes its areas and profile from the snapshot: drop --area/--config/--profile/--mem',
    );
  const path = flags.fromSnapshot;
  let opened: Awaited<ReturnType<typeof openCapture>>;
  try {
    opened = await openCapture(path);
  } catch (e) {
    const msg = (e as Error).message;
    throw new UsageError(msg.startsWith('--from-snapshot ') ? msg : `--from-snapshot ${path}: ${msg}`);
  }
  if (opened.kind === 'capture')
    throw new UsageError(
      `--from-snapshot ${path}: a capture of a device without debugfs has no bitmaps to continue from, so there is nothing to mount; show it with \`cma-debug serve ${path}\` or \`cma-debug analyze ${path}\``,
    );
  return opened.system;
}

function describe(sys: CmaSystem): string {
  return sys
    .areaList()
    .map((a) => a.name)
    .join(', ');
}

/** The system to serve: the saved one when --state FILE exists, else the one the flags describe. */
async function buildSystem(flags: MountFlags, areas: string[], state: StateFile | null): Promise<CmaSystem> {
  const saved = state?.load() ?? null;
  const asked =
    flags.area !== undefined ||
    flags.config !== undefined ||
    areas.length > 0 ||
    flags.profile !== undefined ||
    flags.mem !== undefined;
  if (!saved || !state) return await freshSystem(flags, areas);
  if (asked) {
    const want = await freshSystem(flags, areas);
    const same =
      want.profile.id === saved.profile &&
      JSON.stringify(
        want.areaList().map((a) => ({
          name: a.name,
          orderPerBit: a.orderPerBit,
          ranges: a.ranges.map((r) => ({ basePfn: r.basePfn, count: r.count })),
        })),
      ) === JSON.stringify(stateAreaSpecs(saved));
    if (!same)
      throw new ConfigError(
        `state ${state.path} holds a different system (profile ${saved.profile}, areas ${saved.areas.map((a) => a.name).join(', ')}); drop the area/profile options or use another state file`,
      );
  }
  return state.loadSystem() as CmaSystem;
}

export function registerMount(program: Command): void {
  addSystemOptions(
    program
      .command('mount')
      .summary('Mount the emulated /sys at a directory with FUSE, so scripts run unchanged.')
      .description(
        'Mount the emulated /sys (kernel/debug/cma, kernel/mm/cma, kernel/tracing) at DIR with FUSE; ' +
          'scripts run unchanged with SYS=DIR. Prints DIR when ready; Ctrl-C or SIGTERM unmounts.',
      )
      .argument('<dir>', 'an empty directory to mount on')
      .argument('[areas...]', 'area specs, as --area.')
      .option(
        '--serve <port>',
        'also serve the HTTP API and dashboard of the same system on 127.0.0.1:PORT (0: a free port), so the dashboard follows shells writing to the mount',
      )
      .option(
        '--from-snapshot <path>',
        'continue from a snapshot of a real device (cma-debug snapshot -o FILE) or a copied /sys tree with debugfs (a capture without debugfs has no bitmaps: serve or analyze it)',
      )
      .option(
        '--no-debugfs',
        'hide /sys/kernel/debug/cma as a production kernel does (debugfs not mounted); sysfs counters, /proc/{meminfo,vmstat,zoneinfo,pagetypeinfo} and the kernel log stay',
      )
      .option('--state <file>', 'keep the system in FILE across restarts (saved before each write returns)')
      .option(
        '--exact-sizes',
        'report st_size 0 for debugfs/tracefs files as the kernel does (tools reading with sendfile, like busybox cat, then see them empty)',
      ),
  ).action(async (dir: string, areas: string[], flags: MountFlags) => {
    const log = (line: string) => process.stderr.write(`cma-debug: ${line}\n`);
    const servePort = flags.serve === undefined ? 0 : Number(flags.serve);
    if (!Number.isInteger(servePort) || servePort < 0 || servePort > 65535)
      throw new UsageError(`--serve: '${flags.serve}' is not a port`);
    checkFuse();
    const state = flags.state !== undefined ? new StateFile(flags.state) : null;
    const sys = await buildSystem(flags, areas, state);
    sys.debugfsMounted = flags.debugfs !== false;
    if (state) {
      const stale = state.removeStaleTemps();
      if (stale > 0) log(`removed ${stale} temporary state file(s) left by an earlier crash`);
      state.checkWritable();
      state.save(sys);
    }
    const abs = prepareMountPoint(dir, log);
    const mount = new CmaFuseMount(sys, abs, {
      log,
      exactSizes: flags.exactSizes === true,
      ...(state ? { state } : {}),
    });
    await mount.mount();
    // the pending read of /dev/fuse runs on the thread pool, which does not keep the loop alive
    const keepAlive = setInterval(() => {}, 1 << 30);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      mount.unmount().then(
        () => {
          clearInterval(keepAlive);
          log(`unmounted ${abs} (${signal})`);
          process.exit(0);
        },
        () => process.exit(1),
      );
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => stop(s));
    log(
      `profile ${sys.profile.id}, areas ${describe(sys) || '(none)'}${state ? `, state ${state.path}` : ''}`,
    );
    if (flags.serve !== undefined) {
      const { createServer } = await import('../../http/server.ts');
      const { app, token } = await createServer(sys, { loopbackHostsOnly: true });
      const address = await app.listen({ host: '127.0.0.1', port: servePort });
      log(`dashboard ${address}/#token=${encodeURIComponent(token)} (token ${token})`);
    }
    process.stdout.write(`${abs}\n`);
  });
}
