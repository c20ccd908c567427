// The options every command that builds an emulated system shares: --profile, --area, --config,
// and what they describe without the emulator (system-from-flags.ts builds it): `replay` and
// `plan` only need the areas.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CmaBitmapFactory } from '../../core/cma-bitmap.ts';
import type { RefusedArea } from '../../core/config.ts';
import type { SystemRequest } from '../../core/system-request.ts';
import { placeSystem } from '../../core/system-request.ts';
import type { PointerMode } from '../../core/trace.ts';

const POINTER_MODES: readonly PointerMode[] = ['ptrval', 'hashed', 'raw'];

/** Parsed system options. */
export interface SystemFlags {
  profile?: string;
  area?: string[];
  config?: string;
  pointers?: string;
  mem?: string;
  cmdline?: string;
}

/** Adds --profile, --area (repeatable) and --config to a command. */
export function addSystemOptions(cmd: Command): Command {
  return cmd
    .option('--profile <id>', 'the kernel profile to emulate: 6.1 (the default), 6.12 or 7.3.')
    .option(
      '--area <spec>',
      "an area's geometry, e.g. name=reserved,size=16M or name=N,count=PAGES[,base_pfn=PFN][,order_per_bit=K][,range=BASE:COUNT…][,busy=PFN+COUNT[:ERRNO][@PID:COMM[:anon|shmem|file]]…] (repeatable; an owner makes the page show in /sys/kernel/debug/page_owner and in dump_page blocks).",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      '--config <file>',
      'a JSON file {"profile"?, "mem"?, "cmdline"?, "areas": [...]}; an empty list is a kernel without CMA.',
    )
    .option(
      '--mem <size>',
      "the emulated machine's RAM (qemu -m, e.g. 6G): areas without a base_pfn are placed, or refused with the kernel's log lines and no area, as on an x86_64 qemu -machine pc guest of that size (RAM below 4 GiB up to 3 GiB once it reaches 3.5 GiB, the rest from 4 GiB; see docs/profiles.md). Default: 512M, with an area too large for it put above 4 GiB.",
    )
    .option(
      '--cmdline <line>',
      "the kernel command line to boot with: cma=SIZE[@BASE[-LIMIT]] makes 'reserved', hugetlb_cma=SIZE|0:SIZE|N% (N% on 7.3) 'hugetlb0' (on 7.3 in several ranges when one does not fit), memmap=SIZE$ADDR takes RAM out; each placed, or refused with the kernel's lines, as that boot does; words that move memory otherwise (numa=, mem=, hugepages=, crashkernel=…) are refused, others kept for dmesg and /proc/cmdline. Its areas come before --area's. Without --mem: the oracles' RAM, 512M, or 3G (6.1) / 6G (6.12, 7.3) with hugetlb_cma.",
    )
    .option(
      '--pointers <mode>',
      'how trace lines print page=%p: ptrval (as a kernel does before its pointer-hash key is ready; the default), hashed, or raw (as with no_hash_pointers).',
    );
}

/** The request the flags describe (positional area specs count as --area). */
export function requestFromFlags(
  flags: SystemFlags,
  extraAreas: string[] = [],
  bitmapFactory?: CmaBitmapFactory,
): SystemRequest {
  const areas = [...(flags.area ?? []), ...extraAreas];
  const pointers = flags.pointers;
  if (pointers !== undefined && !POINTER_MODES.includes(pointers as PointerMode))
    throw new UsageError(`--pointers: '${pointers}' is not one of ${POINTER_MODES.join(', ')}`);
  return {
    ...(pointers !== undefined ? { pointers: { mode: pointers as PointerMode } } : {}),
    ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
    ...(flags.mem !== undefined ? { mem: flags.mem } : {}),
    ...(flags.cmdline !== undefined ? { cmdline: flags.cmdline } : {}),
    ...(areas.length > 0 ? { areas } : {}),
    ...(flags.config !== undefined ? { configText: readConfig(flags.config), configName: flags.config } : {}),
    ...(bitmapFactory ? { bitmapFactory } : {}),
  };
}

const REFUSED_WHY = {
  [-22]: 'larger than its RAM',
  [-12]: 'no aligned free range',
  [-16]: 'its fixed base is reserved memory',
} as const;

/** Tells on stderr of each area the kernel would not have reserved (the system is built without it). */
export function reportRefused(refused: readonly RefusedArea[]): void {
  for (const r of refused)
    process.stderr.write(
      `cma-debug: area '${r.name}' not created: the kernel cannot reserve ${(r.count * 4096) / 2 ** 20} MiB on this machine (${r.why ?? REFUSED_WHY[r.error]}; see dmesg)\n`,
    );
}

/** The areas the flags describe, placed as the emulated system would have them (its profile too). */
export function placedFromFlags(
  flags: SystemFlags,
  extraAreas: string[] = [],
): ReturnType<typeof placeSystem> {
  const placed = placeSystem(requestFromFlags(flags, extraAreas));
  reportRefused(placed.refused);
  return placed;
}

function readConfig(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** A user error: printed as one line, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
