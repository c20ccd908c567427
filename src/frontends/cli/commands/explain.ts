// `cma-debug explain SOURCE --area NAME --alloc PAGES [--align ORDER] [--json]`: would the
// kernel's next cma_alloc succeed, and at which pfn (the core's first fit on the captured bitmap).

import type { Command } from 'commander';
import { explainAlloc } from '../../../analysis/explain.ts';
import { pickArea, profileForTree } from '../../../sources/model.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, captureAreas, SOURCE_HELP } from '../source-options.ts';
import { UsageError } from '../system-options.ts';

export function registerExplain(program: Command): void {
  addSourceOptions(
    program
      .command('explain')
      .description(
        `whether cma_alloc(PAGES, ALIGN) succeeds on the captured state, at which pfn, or why not\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .option('--area <name>', 'the area (needed when there are several)')
      .requiredOption('--alloc <pages>', 'pages requested')
      .option(
        '--align <order>',
        'alignment order in pages (debugfs alloc: 0; 1 GiB hugetlb pages on x86: 18)',
        '0',
      )
      .option('--json', 'print JSON {"ok", "pfn", …}'),
  ).action(
    async (
      source: string | undefined,
      flags: SourceFlags & { area?: string; alloc: string; align: string; json?: boolean },
    ) => {
      if (!/^\d+$/.test(flags.alloc) || !Number.isSafeInteger(Number(flags.alloc)))
        throw new UsageError(`--alloc: '${flags.alloc}' is not a number of pages`);
      if (!/^\d+$/.test(flags.align) || Number(flags.align) > 63)
        throw new UsageError(`--align: '${flags.align}' is not an order`);
      const { tree, areas } = await captureAreas(source, flags);
      const m = pickArea(areas, flags.area, tree.source);
      const e = explainAlloc(m.area, profileForTree(tree, areas), Number(flags.alloc), Number(flags.align));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ area: m.name, source: tree.source, ...e })}\n`);
        return;
      }
      const head = `cma_alloc(${m.name}, ${e.pages} pages, align ${e.align})`;
      process.stdout.write(
        e.ok
          ? `${head} succeeds at pfn 0x${e.pfn!.toString(16)} (${e.pfn}): ${e.reason}\n`
          : `${head} fails (${e.verdict}): ${e.reason}\n`,
      );
    },
  );
}
