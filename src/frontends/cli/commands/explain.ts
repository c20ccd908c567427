// `cma-debug explain SOURCE --area NAME --alloc PAGES [--align ORDER] [--json]`: would the
// kernel's next cma_alloc succeed, and at which pfn (the core's first fit on the captured bitmap).

import type { Command } from 'commander';
import { explainAlloc } from '../../../analysis/explain.ts';
import { freeRuns, usedPagesFromBitmap } from '../../../analysis/free-runs.ts';
import { pickArea, profileForTree } from '../../../sources/model.ts';
import { jsonText } from '../json.ts';
import type { SourceFlags } from '../source-options.ts';
import { addSourceOptions, areaName, captureAreas, SOURCE_HELP } from '../source-options.ts';
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
      .summary('Tell whether a cma_alloc() would succeed, where, and why not.')
      .description(
        `Tell whether cma_alloc(PAGES, ALIGN) succeeds on the captured state, at which pfn and with what used/maxchunk after it, or why not (exit 1).\n\n${SOURCE_HELP}`,
      )
      .argument('[source]', 'where to read (default: live /sys)')
      .option('--name <area>', 'the area to look at (needed when there are several).')
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
      const m = pickArea(areas, areaName(flags), tree.source);
      const e = explainAlloc(
        m.area,
        profileForTree(tree, areas),
        Number(flags.alloc),
        Number(flags.align),
        busy,
      );
      // "does not fit" is the finding this command looks for: exit 1, as a script's test expects
      if (!e.ok) process.exitCode = 1;
      if (flags.json) {
        process.stdout.write(`${jsonText({ area: m.name, source: tree.source, busy, ...e })}\n`);
        return;
      }
      const opb = m.area.orderPerBit;
      const head = `cma_alloc(${m.name}, ${e.pages} pages, align ${e.align})`;
      const o: string[] = [
        e.ok
          ? `${head} succeeds at pfn 0x${e.pfn!.toString(16)} (${e.pfn}): ${e.reason}`
          : `${head} fails (${e.verdict}): ${e.reason}`,
      ];
      if (opb > 0 && e.pages > 0)
        o.push(
          e.bitmapPages === e.pages
            ? `  ${e.pages} pages are ${e.bits} bit${e.bits === 1 ? '' : 's'} of ${2 ** opb} pages (order_per_bit ${opb})`
            : `  ${e.pages} pages round up to ${e.bits} bit${e.bits === 1 ? '' : 's'} (${e.bitmapPages} pages) at order_per_bit ${opb}: the area's bitmap holds granules of ${2 ** opb} pages`,
        );
      const usedBefore = usedPagesFromBitmap(m.area);
      const maxchunkBefore = freeRuns(m.area).reduce((x, r) => Math.max(x, r.pages), 0);
      if (e.ok)
        o.push(
          `  after it: used ${usedBefore} → ${e.usedAfter} pages, maxchunk ${maxchunkBefore} → ${e.maxchunkAfter} pages (of ${m.area.count})`,
        );
      else
        o.push(
          `  now: used ${usedBefore} pages, free ${e.freePages}, maxchunk ${maxchunkBefore}; the largest request that fits with align ${e.align} is ${e.largestUsablePages} pages`,
        );
      process.stdout.write(`${o.join('\n')}\n`);
    },
  );
}
