// `cma-debug blame SOURCE…`: who holds the pages that make cma_alloc retry or fail. Files are told
// apart by content (trace, kernel log, page_owner, a CMA tree or snapshot); a device (--adb,
// --ssh, `live`) is read for its areas, trace buffer, log and the areas' page_owner records.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { AreaBlame, BlameArea, BlameInput } from '../../../analysis/blame.ts';
import { blame } from '../../../analysis/blame.ts';
import { topFrames } from '../../../analysis/owner-stack.ts';
import { collectBusyRemote } from '../../../sources/busy-collect.ts';
import {
  busyFileKind,
  keepRanges,
  readBusyLog,
  readMmTrace,
  readPageOwner,
} from '../../../sources/busy-files.ts';
import { readAreas } from '../../../sources/model.ts';
import { openSource } from '../../../sources/open.ts';
import type { BusyLog, PageDump } from '../../../sources/page-dump.ts';
import { parseBusyLog } from '../../../sources/page-dump.ts';
import type { PageOwnerRecord, PfnRanges, SkippedLine } from '../../../sources/page-owner.ts';
import { parsePageOwnerText } from '../../../sources/page-owner.ts';
import type { MmEvent } from '../../../sources/trace/mm-events.ts';
import { parseMmEventLine } from '../../../sources/trace/mm-events.ts';
import { SourceError } from '../../../sources/tree.ts';
import { UsageError } from '../system-options.ts';

interface BlameFlags {
  adb?: string | boolean;
  ssh?: string;
  sshOption?: string[];
  timeout: string;
  area?: string;
  name?: string;
  json?: boolean;
  save?: string;
  pageblockOrder: string;
  root?: string;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** What the sources gave, before the join. */
interface Gathered {
  areas: BlameArea[];
  events: MmEvent[];
  logs: BusyLog[];
  owners: Map<number, PageOwnerRecord>;
  skipped: { file: string; skipped: SkippedLine[] }[];
  read: string[];
}

function areasOfTree(tree: Parameters<typeof readAreas>[0]): BlameArea[] {
  return readAreas(tree).flatMap((m) =>
    m.area.ranges.map((r) => ({ name: m.name, basePfn: r.basePfn, count: r.count })),
  );
}

/** The pfns worth keeping page_owner records of: the areas, else the busy windows seen. */
function wantedRanges(g: Gathered, pageblockPages: number): PfnRanges {
  if (g.areas.length > 0) return g.areas.map((a) => ({ start: a.basePfn, end: a.basePfn + a.count }));
  const out: { start: number; end: number }[] = [];
  for (const e of g.events) {
    const pfn = e.fields.pfn ?? e.fields.fin_pfn;
    if ((e.event === 'cma_alloc_busy_retry' || e.event === 'test_pages_isolated') && pfn) {
      const p = Number(pfn);
      const count = Number(e.fields.count ?? 1);
      out.push({ start: p - (p % pageblockPages), end: p + count });
    }
  }
  for (const l of g.logs) for (const d of l.dumps) out.push({ start: d.pfn, end: d.pfn + 1 });
  return out;
}

async function gatherFiles(files: readonly string[], g: Gathered, pageblockPages: number): Promise<void> {
  const kinds = files.map((f) => ({ f, kind: busyFileKind(f) }));
  for (const { f, kind } of kinds) {
    if (kind === 'unknown')
      throw new UsageError(`${f}: not a trace, kernel log, page_owner text, CMA tree or snapshot`);
  }
  for (const { f, kind } of kinds) {
    if (kind === 'tree' || kind === 'snapshot') {
      const tree = await openSource({ kind: 'path', path: f }).capture();
      g.areas.push(...areasOfTree(tree));
      g.read.push(`${f} (${kind})`);
      if (tree.device) addTexts(g, f, deviceTexts(tree.device));
    }
  }
  for (const { f, kind } of kinds) {
    if (kind === 'trace') {
      g.events.push(...(await readMmTrace(f)));
      g.read.push(`${f} (trace)`);
    } else if (kind === 'log') {
      const log = readBusyLog(f);
      g.logs.push(log);
      if (log.skipped.length) g.skipped.push({ file: f, skipped: log.skipped });
      g.read.push(`${f} (kernel log)`);
    }
  }
  const ranges = wantedRanges(g, pageblockPages);
  for (const { f, kind } of kinds) {
    if (kind !== 'page_owner') continue;
    const po = await readPageOwner(f, keepRanges(ranges));
    for (const r of po.records) g.owners.set(r.pfn, r);
    if (po.skipped.length) g.skipped.push({ file: f, skipped: po.skipped });
    g.read.push(`${f} (page_owner: ${po.seen} records, ${po.records.length} kept)`);
  }
}

/** The busy-page files a capture's dump script took (dump-script.ts), when it took them. */
function deviceTexts(d: { readonly files: Readonly<Record<string, string>> }) {
  return {
    trace: d.files['busy-trace'] ?? null,
    dmesg: d.files.dmesg ?? null,
    pageOwner: d.files.page_owner ?? null,
  };
}

function addTexts(
  g: Gathered,
  label: string,
  texts: { trace: string | null; dmesg: string | null; pageOwner: string | null },
) {
  if (texts.trace !== null)
    texts.trace.split('\n').forEach((l, i) => {
      const e = parseMmEventLine(l, i + 1);
      if (e) g.events.push(e);
    });
  if (texts.dmesg !== null) g.logs.push(parseBusyLog(texts.dmesg));
  if (texts.pageOwner !== null) {
    const po = parsePageOwnerText(texts.pageOwner);
    for (const r of po.records) g.owners.set(r.pfn, r);
    if (po.skipped.length) g.skipped.push({ file: `${label}:page_owner`, skipped: po.skipped });
  }
  g.read.push(
    `${label}: trace ${texts.trace !== null ? 'read' : 'unreadable'}, log ${texts.dmesg !== null ? 'read' : 'unreadable'}, page_owner ${texts.pageOwner !== null ? `${g.owners.size} records` : 'unreadable (CONFIG_PAGE_OWNER and page_owner=on?)'}`,
  );
}

function save(dir: string, texts: { trace: string | null; dmesg: string | null; pageOwner: string | null }) {
  fs.mkdirSync(dir, { recursive: true });
  if (texts.trace !== null) fs.writeFileSync(path.join(dir, 'trace.txt'), texts.trace);
  if (texts.dmesg !== null) fs.writeFileSync(path.join(dir, 'dmesg.txt'), texts.dmesg);
  if (texts.pageOwner !== null) fs.writeFileSync(path.join(dir, 'page_owner.txt'), texts.pageOwner);
}

/** This machine's kernel log (`dmesg`, which needs root on most systems), or null. */
function localDmesg(): string | null {
  const r = spawnSync('dmesg', [], { encoding: 'latin1', maxBuffer: 256 * 1024 * 1024, timeout: 30_000 });
  return r.status === 0 ? r.stdout : null;
}

function readLocal(file: string): string | null {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return null;
  }
}

const hex = (n: number | null) => (n === null ? '-' : `0x${n.toString(16)}`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => `    ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`)
    .join('\n');
}

function printArea(a: AreaBlame): string {
  const out = [
    `area ${a.name}: ${a.retries} busy retr${a.retries === 1 ? 'y' : 'ies'}, ${a.busy.length} blocking page${a.busy.length === 1 ? '' : 's'}, ${a.allocs.length} allocation${a.allocs.length === 1 ? '' : 's'} seen`,
  ];
  out.push(`  verdict: ${a.verdict}`);
  if (a.holders.length > 0) {
    out.push('  holders (by busy retries):');
    out.push(
      table([
        ['RETRIES', 'SHARE', 'PAGES', 'PID', 'TGID', 'COMM', 'KIND', 'PINNED', 'ALLOCATED VIA'],
        ...a.holders.map((h) => [
          String(h.retries),
          `${(h.share * 100).toFixed(1)}%`,
          String(h.pages),
          String(h.pid ?? '-'),
          String(h.tgid ?? '-'),
          h.comm ?? '-',
          h.kind,
          h.pinned === null ? '?' : h.pinned ? 'yes' : 'no',
          topFrames(h.stack, 4).join(' < '),
        ]),
      ]),
    );
  }
  if (a.busy.length > 0) {
    out.push('  busy pages:');
    out.push(
      table([
        ['PFN', 'RETRIES', 'KIND', 'REFCOUNT', 'MAPCOUNT', 'PINNED', 'HOLDER', 'ALLOCS', 'SEEN'],
        ...a.busy.map((b) => [
          hex(b.pfn),
          String(b.retries),
          b.kind,
          String(b.refcount ?? '-'),
          String(b.mapcount ?? '-'),
          b.pinned === null ? '?' : b.pinned ? 'yes' : 'no',
          b.holder === null ? '-' : `#${b.holder} ${a.holders[b.holder]?.comm ?? ''}`,
          b.allocs.map((i) => `#${i}`).join(',') || '-',
          b.firstTime === null ? '-' : `${b.firstTime.toFixed(6)}..${b.lastTime!.toFixed(6)}`,
        ]),
      ]),
    );
  }
  if (a.allocs.length > 0) {
    out.push('  allocations:');
    out.push(
      table([
        ['#', 'TIME', 'PAGES', 'ALIGN', 'RETRIES', 'RESULT', 'PFN', 'SECONDS'],
        ...a.allocs.map((x, i) => [
          `#${i}`,
          x.time === null ? '-' : x.time.toFixed(6),
          String(x.count),
          String(x.align),
          String(x.retries),
          x.result === null
            ? '?'
            : x.result === 'ok'
              ? 'ok'
              : `failed${x.errorno !== null ? ` (${x.errorno})` : ''}`,
          hex(x.pfn),
          x.seconds === null ? '-' : x.seconds.toFixed(3),
        ]),
      ]),
    );
  }
  return `${out.join('\n')}\n`;
}

/** JSON as the issue asks: pfns as numbers, holders sorted by retries, stacks as frame lists. */
function jsonOf(areas: readonly AreaBlame[], g: Gathered) {
  return {
    areas: areas.map((a) => ({
      name: a.name,
      retries: a.retries,
      unattributed: a.unattributed,
      busy: a.busy.map(({ owner: _o, ...b }) => b),
      holders: a.holders,
      allocs: a.allocs,
      verdict: a.verdict,
    })),
    sources: g.read,
    skipped: g.skipped.map((s) => ({ file: s.file, count: s.skipped.length, lines: s.skipped.slice(0, 20) })),
  };
}

/** The busy pfns the files name (trace, log, page_owner), for `explain --busy-from`. */
export async function busyPfnsFromFiles(files: readonly string[]): Promise<number[]> {
  const g: Gathered = { areas: [], events: [], logs: [], owners: new Map(), skipped: [], read: [] };
  await gatherFiles(files, g, 512);
  const result = blame({
    events: g.events,
    logAllocs: g.logs.flatMap((l) => l.allocs),
    dumps: g.logs.flatMap((l) => l.dumps),
    busyRanges: g.logs.flatMap((l) => l.busyRanges),
    owners: g.owners,
  });
  return [...new Set(result.flatMap((a) => a.busy.map((b) => b.pfn)))].sort((a, b) => a - b);
}

export function registerBlame(program: Command): void {
  program
    .command('blame')
    .summary('Find who holds the pages that make cma_alloc() retry or fail.')
    .description(
      'Find who holds the pages that make cma_alloc retry or fail: busy pfns, their state, owner (pid, comm, stack), and a verdict. ' +
        'SOURCE: any mix of files told apart by content (a text trace, a kernel log with dump_page blocks, ' +
        '/sys/kernel/debug/page_owner text or a pfn-filtered copy, a CMA tree or snapshot; gzip is fine), ' +
        '`live` (this machine), or --adb [SERIAL] / --ssh HOST (page_owner filtered to the areas on the device). ' +
        'Exit status: 0 answered (busy pages or not), 1 a source could not be read, 2 usage error.',
    )
    .argument('[sources...]', 'files, directories or `live`')
    .option(
      '--adb [serial]',
      'read a device over `adb shell` (root): areas, trace buffer, dmesg, page_owner of the areas',
    )
    .option('--ssh <host>', 'read a host over ssh the same way')
    .option('--ssh-option <arg>', 'extra ssh argument (repeatable)', collect)
    .option('--timeout <seconds>', 'give up on a remote device after this long', '120')
    .option('--name <area>', 'only this area.')
    .addOption(new Option('--area <name>', 'the old spelling of --name.').hideHelp())
    .option(
      '--json',
      'print JSON {"areas":[{"name","busy":[{"pfn","retries","holder"}],"holders":[…],"verdict"}]}',
    )
    .option(
      '--save <dir>',
      'with --adb/--ssh/live: keep what was collected (trace.txt, dmesg.txt, page_owner.txt) in DIR',
    )
    .option('--root <dir>', 'with `live`: the /sys tree to read (default /sys)')
    .option('--pageblock-order <k>', 'pageblock order of the kernel (isolation covers whole pageblocks)', '9')
    .action(async (sources: string[], flags: BlameFlags) => {
      const device = [flags.adb !== undefined, flags.ssh !== undefined, sources.includes('live')].filter(
        Boolean,
      ).length;
      if (device > 1) throw new UsageError('choose one device: --adb, --ssh or live');
      if (device === 0 && sources.length === 0)
        throw new UsageError('give files to read, `live`, --adb or --ssh');
      if (flags.root !== undefined && !sources.includes('live'))
        throw new UsageError('--root names the /sys tree of `live`: give `live` with it');
      if (flags.save !== undefined && device === 0)
        throw new UsageError('--save keeps what a device gave: use it with --adb, --ssh or live');
      if (!/^\d+$/.test(flags.pageblockOrder) || Number(flags.pageblockOrder) > 20)
        throw new UsageError(`--pageblock-order: '${flags.pageblockOrder}' is not an order`);
      const seconds = Number(flags.timeout);
      if (!(seconds > 0)) throw new UsageError(`--timeout: '${flags.timeout}' is not a positive number`);
      const pageblockPages = 2 ** Number(flags.pageblockOrder);
      const g: Gathered = { areas: [], events: [], logs: [], owners: new Map(), skipped: [], read: [] };
      const remote = { timeoutMs: seconds * 1000, sshArgs: flags.sshOption ?? [] };
      try {
        if (flags.adb !== undefined || flags.ssh !== undefined) {
          const spec =
            flags.adb !== undefined
              ? typeof flags.adb === 'string'
                ? ({ kind: 'adb', serial: flags.adb, remote } as const)
                : ({ kind: 'adb', remote } as const)
              : ({ kind: 'ssh', host: flags.ssh!, remote } as const);
          const tree = await openSource(spec).capture();
          g.areas.push(...areasOfTree(tree));
          const got = tree.device ? deviceTexts(tree.device) : null;
          if (got && got.pageOwner !== null) {
            // the dump script already read page_owner of the areas (dd seeks to each base pfn)
            addTexts(g, spec.kind === 'adb' ? 'adb' : `ssh ${flags.ssh}`, got);
            if (flags.save !== undefined) save(flags.save, got);
          } else {
            const ranges = g.areas.map((a) => ({ start: a.basePfn, end: a.basePfn + a.count }));
            const target =
              spec.kind === 'adb'
                ? { kind: 'adb' as const, ...(typeof flags.adb === 'string' ? { serial: flags.adb } : {}) }
                : { kind: 'ssh' as const, host: flags.ssh!, sshArgs: remote.sshArgs };
            const texts = await collectBusyRemote(target, ranges, remote.timeoutMs);
            addTexts(g, spec.kind === 'adb' ? 'adb' : `ssh ${flags.ssh}`, texts);
            if (flags.save !== undefined) save(flags.save, texts);
          }
        } else if (sources.includes('live')) {
          const root = flags.root ?? '/sys';
          const tree = await openSource({ kind: 'live', root }).capture();
          g.areas.push(...areasOfTree(tree));
          const trace =
            readLocal(path.join(root, 'kernel/tracing/trace')) ??
            readLocal(path.join(root, 'kernel/debug/tracing/trace'));
          const texts = { trace, dmesg: localDmesg(), pageOwner: null as string | null };
          addTexts(g, 'live', texts);
          // page_owner of the whole machine: streamed and filtered to the areas
          const po = path.join(root, 'kernel/debug/page_owner');
          if (fs.existsSync(po)) {
            const got = await readPageOwner(
              po,
              keepRanges(g.areas.map((a) => ({ start: a.basePfn, end: a.basePfn + a.count }))),
            );
            for (const r of got.records) g.owners.set(r.pfn, r);
            g.read.push(`${po}: ${got.records.length} page_owner records of the areas`);
            if (got.skipped.length) g.skipped.push({ file: po, skipped: got.skipped });
          } else g.read.push(`${po}: missing (CONFIG_PAGE_OWNER and page_owner=on?)`);
          if (flags.save !== undefined) save(flags.save, texts);
        }
        const files = sources.filter((s) => s !== 'live');
        if (files.length > 0) await gatherFiles(files, g, pageblockPages);
      } catch (e) {
        if (e instanceof SourceError && e.message.includes('ENOENT')) throw new SourceError(e.message);
        throw e;
      }
      const dumps: PageDump[] = g.logs.flatMap((l) => l.dumps);
      const input: BlameInput = {
        areas: g.areas,
        events: g.events,
        logAllocs: g.logs.flatMap((l) => l.allocs),
        dumps,
        busyRanges: g.logs.flatMap((l) => l.busyRanges),
        owners: g.owners,
        pageblockOrder: Number(flags.pageblockOrder),
      };
      let result = blame(input);
      const only = flags.name ?? flags.area;
      if (only !== undefined) {
        result = result.filter((a) => a.name === only);
        if (result.length === 0) throw new UsageError(`no area '${only}' in what was read`);
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(jsonOf(result, g))}\n`);
        return;
      }
      if (result.length === 0) process.stdout.write('no CMA area and no busy retries in what was read\n');
      for (const a of result) process.stdout.write(printArea(a));
      for (const s of g.skipped)
        process.stderr.write(
          `cma-debug: ${s.file}: ${s.skipped.length} line(s) skipped, first at line ${s.skipped[0]!.line}: ${s.skipped[0]!.reason}\n`,
        );
    });
}
