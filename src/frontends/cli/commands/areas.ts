// `cma-debug areas`: the areas an emulated system would have (validates --area/--config).

import type { Command } from 'commander';
import { jsonText } from '../json.ts';
import { systemFromFlags } from '../system-from-flags.ts';
import type { SystemFlags } from '../system-options.ts';
import { addSystemOptions } from '../system-options.ts';

export function registerAreas(program: Command): void {
  addSystemOptions(
    program
      .command('areas')
      .summary('List the areas of the emulated system the options describe.')
      .description(
        'List the areas (name, count, order_per_bit, ranges) of the emulated system that --profile, --area and --config describe.',
      )
      .argument('[areas...]', 'area specs, as --area.')
      .option('--json', 'print JSON instead of text.'),
  ).action((areas: string[], flags: SystemFlags & { json?: boolean }) => {
    const sys = systemFromFlags(flags, areas);
    const list = sys.areaList().map((a) => ({
      name: a.name,
      count: a.count,
      orderPerBit: a.orderPerBit,
      ranges: a.ranges.map((r) => ({ basePfn: r.basePfn, count: r.count })),
    }));
    if (flags.json) {
      process.stdout.write(`${jsonText({ profile: sys.profile.id, areas: list }, 2)}\n`);
      return;
    }
    process.stdout.write(`profile ${sys.profile.id} (${sys.profile.release})\n`);
    for (const a of list) {
      const ranges = a.ranges.map((r) => `${r.basePfn}(0x${r.basePfn.toString(16)})+${r.count}`).join(' ');
      process.stdout.write(
        `${a.name.padEnd(12)} count=${a.count} order_per_bit=${a.orderPerBit} ranges=${ranges}\n`,
      );
    }
  });
}
