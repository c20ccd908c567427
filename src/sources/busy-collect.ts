// What `blame` needs from a device, in one round trip over adb or ssh: the trace buffer, the
// kernel log and the page_owner records of the areas' pfns only. page_owner is filtered on the
// device by awk in paragraph mode (a record is one paragraph), so a 12 GB phone's dump never
// crosses the cable; the script needs only sh, cat, dmesg and awk (busybox, toybox, one-true-awk).

import type { PfnRanges } from './page-owner.ts';
import { runRemote } from './remote.ts';
import { SourceError } from './tree.ts';

/** The texts collected; null when the device had no such file or refused it. */
export interface BusyTexts {
  readonly trace: string | null;
  readonly dmesg: string | null;
  readonly pageOwner: string | null;
}

/** The sh script; ranges are [start, end) pfns. */
function busyCollectScript(ranges: PfnRanges, root = '/sys'): string {
  const spec = ranges.map((r) => `${r.start}:${r.end}`).join(',');
  return [
    `R=${root}`,
    'echo "@@BUSY-COLLECT 1"',
    'T=$R/kernel/tracing; [ -r $T/trace ] || T=$R/kernel/debug/tracing',
    'echo "@@XFILE trace"; if cat $T/trace 2>/dev/null; then printf "\\n@@END\\n"; else printf "\\n@@FAIL\\n"; fi',
    'echo "@@XFILE dmesg"; if dmesg 2>/dev/null; then printf "\\n@@END\\n"; else printf "\\n@@FAIL\\n"; fi',
    'echo "@@XFILE page_owner"',
    `if [ -r $R/kernel/debug/page_owner ] && awk -v spec=${spec} '${AWK_FILTER}' $R/kernel/debug/page_owner 2>/dev/null; then printf "\\n@@END\\n"; else printf "\\n@@FAIL\\n"; fi`,
    'echo "@@DONE"',
    '',
  ].join('\n');
}

/** awk: keep page_owner paragraphs whose "PFN x" lies in one of spec's lo:hi ranges. */
const AWK_FILTER = [
  'function num(s,  i, n) { if (substr(s, 1, 2) != "0x") return s + 0; n = 0;',
  ' for (i = 3; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1; return n }',
  'BEGIN { RS = ""; nr = split(spec, parts, ","); for (i = 1; i <= nr; i++) { split(parts[i], b, ":"); lo[i] = b[1] + 0; hi[i] = b[2] + 0 } }',
  '{ if (match($0, /PFN [0-9a-fx]+ /)) { p = num(substr($0, RSTART + 4, RLENGTH - 5));',
  ' for (i = 1; i <= nr; i++) if (p >= lo[i] && p < hi[i]) { print $0; print ""; break } } }',
].join(' ');

/** Splits the script's output into its files. */
function parseBusyCollect(out: string, label: string): BusyTexts {
  if (!out.includes('@@BUSY-COLLECT 1')) throw new SourceError(`${label}: the collect script did not run`);
  const files: Record<string, string | null> = {};
  const re = /^@@XFILE (\S+)\n([\s\S]*?)\n@@(END|FAIL)$/gm;
  for (const m of out.matchAll(re)) files[m[1]!] = m[3] === 'END' ? m[2]! : null;
  return { trace: files.trace ?? null, dmesg: files.dmesg ?? null, pageOwner: files.page_owner ?? null };
}

/** Runs the script over adb (one command line) or ssh (script on stdin). */
export async function collectBusyRemote(
  target: { kind: 'adb'; serial?: string } | { kind: 'ssh'; host: string; sshArgs?: readonly string[] },
  ranges: PfnRanges,
  timeoutMs: number,
): Promise<BusyTexts> {
  const script = busyCollectScript(ranges);
  if (target.kind === 'adb') {
    const label = target.serial ? `adb -s ${target.serial}` : 'adb';
    const args = [...(target.serial ? ['-s', target.serial] : []), 'shell', script];
    return parseBusyCollect(await runRemote(label, 'adb', args, null, timeoutMs), label);
  }
  const label = `ssh ${target.host}`;
  const args = [
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    ...(target.sshArgs ?? []),
    target.host,
    'sh',
    '-s',
  ];
  return parseBusyCollect(await runRemote(label, 'ssh', args, script, timeoutMs), label);
}
