// `cma-debug snapshot [SOURCE] -o FILE`: capture every CMA file of a source into one JSON file.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { formatSnapshot, snapshotFromTree } from '../../../sources/snapshot.ts';
import { areasOrDevice, deviceWarning } from '../device-report.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, SOURCE_HELP, sourceFromFlags } from '../source-options.ts';
import { UsageError } from '../system-options.ts';

export function registerSnapshot(program: Command): void {
  addSourceOptions(
    program
      .command('snapshot')
      .summary('Capture every CMA file of a source into one snapshot file.')
      .description(
        `Capture every CMA file (exact text), the sysfs counters, the time and the kernel release into one file; without debugfs, the sysfs counters, /proc/{meminfo,vmstat,zoneinfo,pagetypeinfo} and the kernel log (a "device" section).\n\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .requiredOption('-o, --output <file>', 'snapshot file to write (- for stdout)'),
  ).action(async (source: string | undefined, flags: SourceFlags & { output: string }) => {
    const tree = await sourceFromFlags(source, flags).capture();
    // refuse to save a tree we cannot read back; without debugfs, what the device offers
    const c = areasOrDevice(tree);
    if (c.kind === 'device') process.stderr.write(deviceWarning(c));
    const areas = c.kind === 'debugfs' ? c.areas : c.report.areas;
    const text = formatSnapshot(snapshotFromTree(tree));
    if (flags.output === '-') {
      process.stdout.write(text);
      return;
    }
    const tmp = `${flags.output}.tmp-${process.pid}`;
    try {
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, flags.output);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new UsageError(
        `cannot write ${flags.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    process.stderr.write(
      `wrote ${flags.output}: ${areas.length} area${areas.length === 1 ? '' : 's'} (${areas.map((a) => a.name).join(', ')}), kernel ${tree.kernelRelease ?? 'unknown'}\n`,
    );
  });
}
