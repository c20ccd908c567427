// `cma-debug cat SOURCE PATH`: any file of any source, byte for byte.

import type { Command } from 'commander';
import { childNames, readTreeFile, resolveEntry, SourceError, treePath } from '../../../sources/tree.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, SOURCE_HELP, sourceFromFlags } from '../source-options.ts';

export function registerCat(program: Command): void {
  addSourceOptions(
    program
      .command('cat')
      .summary('Print one CMA file of a source byte for byte.')
      .description(
        `Print one file of a source byte for byte; PATH is /sys/kernel/…, kernel/… or AREA/FILE.\n\n${SOURCE_HELP}`,
      )
      .argument('<source>', 'where to read (`live` for /sys)')
      .argument('<path>', 'e.g. reserved/bitmap or /sys/kernel/mm/cma/reserved/alloc_pages_fail'),
  ).action(async (source: string, path: string, flags: SourceFlags) => {
    const tree = await sourceFromFlags(source, flags).capture();
    const p = treePath(path);
    const e = resolveEntry(tree, p);
    if (e?.entry.type === 'dir')
      throw new SourceError(`${tree.source}: ${p}: is a directory (${childNames(tree, e.path).join(' ')})`);
    process.stdout.write(Buffer.from(readTreeFile(tree, p), 'latin1'));
  });
}
