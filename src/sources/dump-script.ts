// The shell script that reads a CMA tree on a device that has only `sh` and `cat` (adb, ssh, the
// oracle), and the parser of what it prints. One round trip reads every file.
//
// Output: `@@<TAG> <path>` lines (paths relative to the root, i.e. /sys); a file's text follows
// `@@FILE` and ends with "\n@@END" (or "\n@@FAIL" when cat failed), so the exact bytes survive.

import type { DeviceFiles, TreeEntry } from './tree.ts';
import { type CmaTree, makeTree, SourceError } from './tree.ts';

/**
 * awk over page_owner read from pfn `lo` on (read_page_owner() takes the file offset as the next
 * pfn, so `dd iflag=skip_bytes skip=lo` seeks there): print the records up to `hi`, then stop.
 */
const PAGE_OWNER_AWK =
  'function num(s,  i, n) { if (substr(s, 1, 2) != "0x") return s + 0; n = 0; for (i = 3; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1; return n } ' +
  'BEGIN { RS = "" } { if (match($0, /PFN [0-9a-fx]+ /)) { p = num(substr($0, RSTART + 4, RLENGTH - 5)); if (p >= hi) exit; if (p >= lo) { print $0; print "" } } }';

/** The POSIX sh function `cma_dump`; `$R` is the /sys root (busybox, toybox/mksh, dash). */
const CMA_DUMP_FUNCTION = `cma_dump() {
echo "@@CMA-DEBUG-DUMP 1"
echo "@@RELEASE $(cat /proc/sys/kernel/osrelease 2>/dev/null)"
for d in "$R/kernel/debug" "$R/kernel/debug/cma" "$R/kernel/mm/cma"; do
  [ -d "$d" ] || continue
  if ls "$d" >/dev/null 2>&1; then echo "@@DIR \${d#$R/}"; else echo "@@NOACCESS \${d#$R/}"; fi
done
for f in "$R"/kernel/debug/cma/* "$R"/kernel/debug/cma/*/* "$R"/kernel/debug/cma/*/ranges/* "$R"/kernel/debug/cma/*/ranges/*/* "$R"/kernel/mm/cma/* "$R"/kernel/mm/cma/*/*; do
  p=\${f#$R/}
  if [ -L "$f" ]; then echo "@@LINK $p"; readlink "$f"
  elif [ -d "$f" ]; then
    if ls "$f" >/dev/null 2>&1; then echo "@@DIR $p"; else echo "@@NOACCESS $p"; fi
  elif [ -f "$f" ]; then
    case "$p" in
      */alloc|*/free) echo "@@WO $p" ;;
      *) echo "@@FILE $p"; if cat "$f" 2>/dev/null; then printf '\\n@@END\\n'; else printf '\\n@@FAIL\\n'; fi ;;
    esac
  fi
done
P=\${R%/sys}/proc
for f in "$P/meminfo" "$P/vmstat" "$P/zoneinfo" "$P/pagetypeinfo"; do
  p=proc/\${f##*/}
  if [ ! -e "$f" ]; then echo "@@XMISSING $p"
  else
    echo "@@XFILE $p"; if cat "$f" 2>/dev/null; then printf '\\n@@END\\n'; else printf '\\n@@FAIL\\n'; fi
  fi
done
echo "@@XFILE dmesg"; if dmesg 2>/dev/null; then printf '\\n@@END\\n'; else printf '\\n@@FAIL\\n'; fi
T=$R/kernel/tracing; [ -r "$T/trace" ] || T=$R/kernel/debug/tracing
if [ -r "$T/trace" ]; then echo "@@XFILE busy-trace"; grep -E 'cma_alloc_|test_pages_isolated|mm_migrate_pages:|mm_alloc_contig_migrate_range_info' "$T/trace" 2>/dev/null; printf '\\n@@END\\n'; fi
if [ -r "$R/kernel/debug/page_owner" ]; then
  echo "@@XFILE page_owner"; ok=1
  for a in "$R"/kernel/debug/cma/*/ranges/* "$R"/kernel/debug/cma/*; do
    [ -r "$a/base_pfn" ] && [ -r "$a/count" ] || continue
    [ -d "$a/ranges" ] && continue
    b=$(cat "$a/base_pfn"); c=$(cat "$a/count")
    dd if="$R/kernel/debug/page_owner" bs=65536 iflag=skip_bytes skip="$b" 2>/dev/null | awk -v lo="$b" -v hi=$((b + c)) '${PAGE_OWNER_AWK}' || ok=0
  done
  if [ $ok = 1 ]; then printf '\\n@@END\\n'; else printf '\\n@@FAIL\\n'; fi
fi
echo "@@DONE"
}`;

/** The whole script for a device: `R=<root>`, the function, the call. */
export function cmaDumpScript(root = '/sys'): string {
  return `R=${root}\n${CMA_DUMP_FUNCTION}\ncma_dump\n`;
}

/** The same script on one line (for `adb shell CMD`, which passes one command string). */
export function cmaDumpOneLine(root = '/sys'): string {
  return cmaDumpScript(root)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => (/(\bdo|\bthen|\belse|\{|;;|\bin)$/.test(l) ? `${l} ` : `${l}; `))
    .join('')
    .replace(/; $/, '');
}

/** Parsed dump: the entries plus what the script said about access. */
interface ParsedDump {
  readonly release: string | null;
  readonly entries: [string, TreeEntry][];
  /** Directories `ls` could not read (not root, SELinux…). */
  readonly noAccess: string[];
  /** Whether the final `@@DONE` was seen (false: the output was cut). */
  readonly complete: boolean;
  /** Files outside /sys (`proc/meminfo`, …, `dmesg`), relative to `/`, and those that could not be read. */
  readonly device: DeviceFiles;
}

/** Parses the script's output (starting at its `@@CMA-DEBUG-DUMP` line). */
function parseDump(text: string, where: string): ParsedDump {
  const start = text.indexOf('@@CMA-DEBUG-DUMP 1\n');
  if (start < 0)
    throw new SourceError(`${where}: no CMA dump in the output (the device shell did not run the script)`);
  const lines = text.slice(start).split('\n');
  const entries: [string, TreeEntry][] = [];
  const noAccess: string[] = [];
  const devFiles: Record<string, string> = {};
  const devUnreadable: Record<string, string> = {};
  let release: string | null = null;
  let complete = false;
  let i = 1;
  while (i < lines.length) {
    const line = lines[i++]!.replace(/\r$/, '');
    if (line === '@@DONE') {
      complete = true;
      break;
    }
    const m = /^@@([A-Z]+) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, tag, arg = ''] = m;
    if (tag === 'RELEASE') release = arg.trim() === '' ? null : arg.trim();
    else if (tag === 'DIR') entries.push([arg, { type: 'dir' }]);
    else if (tag === 'NOACCESS') {
      noAccess.push(arg);
      entries.push([arg, { type: 'unreadable', error: 'permission denied' }]);
    } else if (tag === 'WO') entries.push([arg, { type: 'writeonly' }]);
    else if (tag === 'LINK') entries.push([arg, { type: 'symlink', target: (lines[i++] ?? '').trim() }]);
    else if (tag === 'FILE' || tag === 'XFILE') {
      const body: string[] = [];
      let end: string | undefined;
      while (i < lines.length) {
        const l = lines[i++]!;
        if (l === '@@END' || l === '@@FAIL') {
          end = l;
          break;
        }
        body.push(l);
      }
      if (end === undefined) break; // cut: incomplete
      // the script added one "\n" before the marker
      const content = body.join('\n');
      if (tag === 'XFILE') {
        if (end === '@@END') devFiles[arg] = content;
        else devUnreadable[arg] = 'permission denied';
        continue;
      }
      entries.push([
        arg,
        end === '@@END' ? { type: 'file', text: content } : { type: 'unreadable', error: 'cat failed' },
      ]);
    }
  }
  return { release, entries, noAccess, complete, device: { files: devFiles, unreadable: devUnreadable } };
}

/** Turns a dump into a tree; throws when the output was cut or access was refused. */
export function treeFromDump(text: string, where: string, capturedAt?: string): CmaTree {
  const d = parseDump(text, where);
  if (!d.complete) throw new SourceError(`${where}: the output ended before the dump was complete`);
  const hasDevice = Object.keys(d.device.files).length + Object.keys(d.device.unreadable).length > 0;
  return makeTree(where, d.entries, d.release, capturedAt, hasDevice ? d.device : undefined);
}
