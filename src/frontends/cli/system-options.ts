// The options every command that builds an emulated system shares: --profile, --area, --config.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CmaBitmapFactory } from '../../core/cma-bitmap.ts';
import { createSystem } from '../../core/create.ts';
import type { CmaSystem } from '../../core/system.ts';
import type { PointerMode } from '../../core/trace.ts';

const POINTER_MODES: readonly PointerMode[] = ['ptrval', 'hashed', 'raw'];

/** Parsed system options. */
export interface SystemFlags {
  profile?: string;
  area?: string[];
  config?: string;
  pointers?: string;
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
      'a JSON file {"profile"?, "areas": [...]}; an empty list is a kernel without CMA.',
    )
    .option(
      '--pointers <mode>',
      'how trace lines print page=%p: ptrval (as a kernel does before its pointer-hash key is ready; the default), hashed, or raw (as with no_hash_pointers).',
    );
}

/** Builds the emulated system the flags describe (positional area specs count as --area). */
export function systemFromFlags(
  flags: SystemFlags,
  extraAreas: string[] = [],
  bitmapFactory?: CmaBitmapFactory,
): CmaSystem {
  const areas = [...(flags.area ?? []), ...extraAreas];
  const pointers = flags.pointers;
  if (pointers !== undefined && !POINTER_MODES.includes(pointers as PointerMode))
    throw new UsageError(`--pointers: '${pointers}' is not one of ${POINTER_MODES.join(', ')}`);
  return createSystem({
    ...(pointers !== undefined ? { pointers: { mode: pointers as PointerMode } } : {}),
    ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
    ...(areas.length > 0 ? { areas } : {}),
    ...(flags.config !== undefined ? { configText: readConfig(flags.config), configName: flags.config } : {}),
    ...(bitmapFactory ? { bitmapFactory } : {}),
  });
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
