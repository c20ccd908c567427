// The options every command that reads CMA state shares: SOURCE (a path, `live`, `emu`), --root,
// --adb [SERIAL], --ssh HOST, --dmesg FILE, and the emulator's --profile/--emu-area/--config.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { createSystem } from '../../core/create.ts';
import type { AreaModel } from '../../sources/model.ts';
import { readAreas } from '../../sources/model.ts';
import type { SourceSpec } from '../../sources/open.ts';
import { openSource } from '../../sources/open.ts';
import type { CmaSource } from '../../sources/source.ts';
import type { CmaTree } from '../../sources/tree.ts';
import { UsageError } from './system-options.ts';

/** Parsed source options. */
export interface SourceFlags {
  root?: string;
  adb?: string | boolean;
  ssh?: string;
  sshOption?: string[];
  dmesg?: string;
  timeout?: string;
  orderPerBit?: string;
  basePfn?: string;
  profile?: string;
  emuArea?: string[];
  /** --area: area specs (name=…,size=…) for `emu`; a bare word is the old form of --name. */
  area?: string[];
  /** --name: the area a command looks at. */
  name?: string;
  config?: string;
}

/** The area name --name (or the old `--area NAME`) selects, or undefined. */
export function areaName(flags: SourceFlags): string | undefined {
  const old = (flags.area ?? []).filter((v) => !v.includes('='));
  if (old.length > 1) throw new UsageError(`--area: give one area name (${old.join(', ')}); use --name AREA`);
  if (flags.name !== undefined && old.length > 0) throw new UsageError('give the area with --name only');
  return flags.name ?? old[0];
}

export const SOURCE_HELP =
  'SOURCE is a directory (a /sys-like tree, or a copy of /sys/kernel/debug/cma or of one area), a snapshot ' +
  "file, a kernel log, `live` (this machine's /sys, the default) or `emu` (the emulator, shaped by --profile, " +
  '--area and --config); --root DIR, --adb [SERIAL], --ssh HOST and --dmesg FILE name the other sources.';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** Adds the source options to a command. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--root <dir>', 'a directory mirroring /sys (e.g. a FUSE mount of the emulator)')
    .option('--adb [serial]', 'read a device over `adb shell` (needs root on the device)')
    .option('--ssh <host>', 'read a host over ssh (sh and cat are enough there)')
    .option('--ssh-option <arg>', 'extra ssh argument (repeatable), e.g. --ssh-option=-p2222', collect)
    .option('--dmesg <file>', 'rebuild the free runs from a kernel log holding the CMA free-area dump')
    .option('--order-per-bit <k>', 'with --dmesg: order_per_bit (default: 9 for hugetlb*, else 0)')
    .option('--base-pfn <pfn>', 'with --dmesg: base pfn (default: from the "Reserved" boot line, else 0)')
    .option('--timeout <seconds>', 'give up on a remote device after this long', '30')
    .option('--profile <id>', 'with `emu`: the kernel profile to emulate, 6.1, 6.12 or 7.3.')
    .option(
      '--area <spec>',
      'with `emu`: an emulated area, e.g. name=reserved,size=16M or name=N,count=PAGES,order_per_bit=K (repeatable).',
      collect,
    )
    .addOption(
      new Option('--emu-area <spec>', 'the old spelling of --area <spec>.').hideHelp().argParser(collect),
    )
    .option('--config <file>', 'with `emu`: a JSON file {"areas": [...]} describing the emulated areas.');
}

function intOption(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new UsageError(`${what}: '${v}' is not a number`);
  return Number(v);
}

/** The spec the positional SOURCE and the flags describe. */
function sourceSpec(positional: string | undefined, flags: SourceFlags): SourceSpec {
  const chosen = [
    positional !== undefined && positional !== 'live' ? `SOURCE ${positional}` : null,
    flags.root !== undefined ? '--root' : null,
    flags.adb !== undefined ? '--adb' : null,
    flags.ssh !== undefined ? '--ssh' : null,
    flags.dmesg !== undefined ? '--dmesg' : null,
  ].filter((x) => x !== null);
  if (chosen.length > 1) throw new UsageError(`choose one source, not ${chosen.join(' and ')}`);
  const seconds = Number(flags.timeout ?? '30');
  if (!(seconds > 0)) throw new UsageError(`--timeout: '${flags.timeout}' is not a positive number`);
  const remote = { timeoutMs: seconds * 1000, sshArgs: flags.sshOption ?? [] };
  if (flags.adb !== undefined)
    return typeof flags.adb === 'string'
      ? { kind: 'adb', serial: flags.adb, remote }
      : { kind: 'adb', remote };
  if (flags.ssh !== undefined) return { kind: 'ssh', host: flags.ssh, remote };
  if (flags.dmesg !== undefined) {
    const opb = intOption(flags.orderPerBit, '--order-per-bit');
    const base = intOption(flags.basePfn, '--base-pfn');
    return {
      kind: 'dmesg',
      file: flags.dmesg,
      log: {
        ...(opb !== undefined ? { orderPerBit: opb } : {}),
        ...(base !== undefined ? { basePfn: base } : {}),
      },
    };
  }
  if (flags.root !== undefined) return { kind: 'live', root: flags.root };
  if (positional === undefined || positional === 'live') return { kind: 'live' };
  const emuAreas = [...(flags.area ?? []).filter((v) => v.includes('=')), ...(flags.emuArea ?? [])];
  if (positional === 'emu') {
    const system = createSystem({
      ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
      ...(emuAreas.length > 0 ? { areas: emuAreas } : {}),
      ...(flags.config !== undefined ? { configText: readText(flags.config), configName: flags.config } : {}),
    });
    return { kind: 'emulator', system };
  }
  return { kind: 'path', path: positional };
}

/** The source the command line names. */
export function sourceFromFlags(positional: string | undefined, flags: SourceFlags): CmaSource {
  return openSource(sourceSpec(positional, flags));
}

/** Captures and reads the areas (throws SourceError / UsageError with one line). */
export async function captureAreas(
  positional: string | undefined,
  flags: SourceFlags,
): Promise<{ tree: CmaTree; areas: AreaModel[] }> {
  const tree = await sourceFromFlags(positional, flags).capture();
  return { tree, areas: readAreas(tree) };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
