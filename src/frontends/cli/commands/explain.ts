// `cma-debug explain SOURCE --area NAME --alloc PAGES [--align ORDER] [--json]`: would the
// kernel's next cma_alloc succeed, and at which pfn (the core's first fit on the captured bitmap).

import type { Command } from 'commander';
import { explainAlloc } from '../../../analysis/explain.ts';
import { pickArea, profileForTree } from '../../../sources/model.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, captureAreas, SOURCE_HELP } from '../source-options.ts';
import { UsageError } from '../system-options.ts';
import { busyPfnsFromFiles } from './blame.ts';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function busyList(text: string): number[] {
  return text.split(',').map((s) => {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(s.trim())) throw new UsageError(`--busy: '${s}' is not a pfn`);
    return Number(s.trim());
  });
}

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
      .option('--busy <pfns>', 'pages known busy (pinned), comma-separated pfns: the kernel slides past them')
      .option(
        '--busy-from <file>',
        'take the busy pages from a trace, kernel log or page_owner file as `blame` reads them (repeatable)',
        collect,
      )
      .option('--json', 'print JSON {"ok", "pfn", …}'),
  ).action(
    async (
      source: string | undefined,
      flags: SourceFlags & {
        area?: string;
        alloc: string;
        align: string;
        json?: boolean;
        busy?: string;
        busyFrom?: string[];
      },
    ) => {
      if (!/^\d+$/.test(flags.alloc) || !Number.isSafeInteger(Number(flags.alloc)))
        throw new UsageError(`--alloc: '${flags.alloc}' is not a number of pages`);
      if (!/^\d+$/.test(flags.align) || Number(flags.align) > 63)
        throw new UsageError(`--align: '${flags.align}' is not an order`);
      const busy = [
        ...(flags.busy !== undefined ? busyList(flags.busy) : []),
        ...(flags.busyFrom ? await busyPfnsFromFiles(flags.busyFrom) : []),
      ];
      const { tree, areas } = await captureAreas(source, flags);
      const m = pickArea(areas, flags.area, tree.source);
      const e = explainAlloc(
        m.area,
        profileForTree(tree, areas),
        Number(flags.alloc),
        Number(flags.align),
        busy,
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ area: m.name, source: tree.source, busy, ...e })}\n`);
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
