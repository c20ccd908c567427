// What a user says about the system to emulate (a profile id, area options or a config, the
// machine's RAM), resolved to the profile and the placed areas without building the system:
// createSystem (create.ts) builds it from them, `cma-debug replay --area` only needs the areas
// (and so does not load the emulator).

import type { AreaSpec } from './cma.ts';
import type { CmaBitmapFactory } from './cma-bitmap.ts';
import type { BootLogInfo } from './cmdline.ts';
import { defaultMemPages, parseCmdline, planBoot } from './cmdline.ts';
import type { AreaRequest, RefusedArea } from './config.ts';
import {
  ConfigError,
  DEFAULT_AREAS,
  parseAreaOption,
  parseConfigJson,
  parseMem,
  placeAreas,
} from './config.ts';
import type { Span } from './machine.ts';
import { pcMachine } from './machine.ts';
import type { KernelProfile } from './profile.ts';
import { findProfile, PROFILE_6_1, PROFILES } from './profile.ts';
import type { SystemOptions } from './system.ts';

/** What a user says about the system to emulate. */
export interface SystemRequest {
  /** Profile id ('6.1', '6.12', '7.3') or a profile; 6.1 by default. */
  readonly profile?: string | KernelProfile;
  /** `--area` option strings or parsed requests; the default system when neither this nor config. */
  readonly areas?: readonly (string | AreaRequest)[];
  /** The text of a JSON config file (`{"areas": [...]}`), and its name for messages. */
  readonly configText?: string;
  readonly configName?: string;
  /**
   * Guest RAM of the emulated x86_64 machine (`6G`, or bytes), as qemu -m: areas without a base
   * are placed, or refused, as the kernel does on it (machine.ts). Without it (nor `mem` in the
   * config): 512 MiB, with areas too large for it put above 4 GiB.
   */
  readonly mem?: string | number;
  /**
   * A kernel command line: `cma=`, `hugetlb_cma=` and `memmap=` make the areas and the machine's
   * holes as that boot would (cmdline.ts); its areas come before the others. Without a `mem`, the
   * RAM the oracles' run.sh gives such a boot.
   */
  readonly cmdline?: string;
  readonly bitmapFactory?: CmaBitmapFactory;
  readonly pointers?: SystemOptions['pointers'];
  readonly now?: () => number;
}

/** Resolves a profile id; throws ConfigError listing the known ones. */
export function profileById(id: string | KernelProfile | undefined): KernelProfile {
  if (id === undefined) return PROFILE_6_1;
  if (typeof id !== 'string') return id;
  const p = findProfile(id);
  if (!p) throw new ConfigError(`unknown profile '${id}' (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}

/** The profile and the placed areas of a request; throws ConfigError for an invalid one. */
export function placeSystem(req: SystemRequest = {}): {
  profile: KernelProfile;
  specs: AreaSpec[];
  refused: RefusedArea[];
  /** The machine's RAM in pages, when one was given (`--mem`, config `mem`, or a command line). */
  memPages?: number;
  /** The command line's `memmap=` holes. */
  memHoles?: Span[];
  /** The command line's boot lines. */
  boot?: BootLogInfo;
} {
  let profileId = req.profile;
  let mem = req.mem;
  let cmdline = req.cmdline;
  let requests: AreaRequest[] | null = null;
  if (req.configText !== undefined) {
    const cfg = parseConfigJson(req.configText, req.configName);
    requests = cfg.areas;
    profileId ??= cfg.profile;
    mem ??= cfg.mem;
    cmdline ??= cfg.cmdline;
  }
  if (req.areas && req.areas.length > 0) {
    requests = [
      ...(requests ?? []),
      ...req.areas.map((a) => (typeof a === 'string' ? parseAreaOption(a) : a)),
    ];
  }
  const profile = profileById(profileId);
  const memOf = () =>
    mem === undefined ? undefined : parseMem(mem, req.mem !== undefined ? '--mem' : 'mem');
  if (cmdline !== undefined) {
    const params = parseCmdline(cmdline, profile);
    const memPages = memOf() ?? defaultMemPages(params, profile);
    const machine = pcMachine(memPages, params.holes);
    const boot = planBoot(params, profile, machine);
    const placed = placeAreas([...boot.requests, ...(requests ?? [])], profile, machine);
    return {
      profile,
      specs: placed.specs,
      // the command line's own refusals come first in creation order (only `reserved` has them)
      refused: [
        ...boot.refused,
        ...placed.refused.map((r) => ({ ...r, position: r.position + boot.refused.length })),
      ],
      memPages,
      memHoles: params.holes.slice(),
      boot: boot.log,
    };
  }
  const memPages = memOf();
  // the default system is `cma=16M` on the 512 MiB machine; on another machine it is placed there
  const placed =
    requests === null && memPages === undefined
      ? { specs: [...DEFAULT_AREAS], refused: [] }
      : placeAreas(
          requests ?? [{ name: 'reserved', orderPerBit: 0, ranges: [{ count: 4096 }] }],
          profile,
          memPages === undefined ? null : pcMachine(memPages),
        );
  return { profile, ...placed, ...(memPages !== undefined ? { memPages } : {}) };
}
