// `cma-debug snapshot [SOURCE] -o FILE`: capture every CMA file of a source into one JSON file.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { readAreas } from '../../../sources/model.ts';
import { formatSnapshot, snapshotFromTree } from '../../../sources/snapshot.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, SOURCE_HELP, sourceFromFlags } from '../source-options.ts';
import { UsageError } from '../system-options.ts';

export function registerSnapshot(program: Command): void {
  addSourceOptions(
    program
      .command('snapshot')
      .summary('Capture every CMA file of a source into one snapshot file.')
      .description(
        `Capture every CMA file (exact text), the sysfs counters, the time and the kernel release into one file.\n\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .requiredOption('-o, --output <file>', 'snapshot file to write (- for stdout)'),
  ).action(async (source: string | undefined, flags: SourceFlags & { output: string }) => {
    const tree = await sourceFromFlags(source, flags).capture();
    const areas = readAreas(tree); // refuse to save a tree we cannot read back
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
