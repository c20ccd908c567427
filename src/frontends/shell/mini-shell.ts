// A few shell commands (echo/printf with `>`, cat, ls, dmesg) run against an emulated system
// with busybox sh's messages, for quick experiments without a FUSE mount.

import type { ErrnoName } from '../../core/errno.ts';
import { STRERROR } from '../../core/errno.ts';
import type { CmaSystem } from '../../core/system.ts';
import type { TaskContext } from '../../core/trace.ts';
import { bytes } from '../../core/vfs.ts';

/** What one command printed (stdout and stderr interleaved) and its exit status. */
export interface ShellResult {
  readonly output: string;
  readonly status: number;
}

/** Splits a command line into words, honouring '…', "…" and backslashes; keeps `>` separate. */
function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated quote');
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\' || line[j + 1] === '$')) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new Error('unterminated quote');
      i = j;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '>') {
      if (inWord) words.push(cur);
      const append = line[i + 1] === '>';
      if (append) i++;
      words.push(append ? '>>' : '>');
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** printf's escapes and %s/%d/%% in FORMAT with ARGS (enough for CMA scripts). */
function printfFormat(format: string, args: string[]): string {
  let out = '';
  let a = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '\\' && i + 1 < format.length) {
      const n = format[++i]!;
      out +=
        ({ n: '\n', t: '\t', r: '\r', '\\': '\\', a: '\x07', '0': '\0' } as Record<string, string>)[n] ??
        `\\${n}`;
    } else if (c === '%' && i + 1 < format.length) {
      const n = format[++i]!;
      if (n === '%') out += '%';
      else if (n === 's' || n === 'd' || n === 'u') out += args[a++] ?? '';
      else if (n === 'x') out += Number(args[a++] ?? 0).toString(16);
      else out += `%${n}`;
    } else {
      out += c;
    }
  }
  return out;
}

/** Runs one command line as busybox `sh -c` would, against the system. */
export function runCommand(
  sys: CmaSystem,
  line: string,
  task: TaskContext = { comm: 'sh', pid: 1 },
): ShellResult {
  let words: string[];
  try {
    words = splitWords(line.trim());
  } catch (e) {
    return { output: `sh: syntax error: ${(e as Error).message}\n`, status: 2 };
  }
  const redirect = words.findIndex((w) => w === '>' || w === '>>');
  // `>` truncates (O_WRONLY|O_CREAT|O_TRUNC), `>>` appends (O_WRONLY|O_CREAT|O_APPEND)
  const openFlags = words[redirect] === '>>' ? 0o2101 : 0o1101;
  const target = redirect >= 0 ? words[redirect + 1] : undefined;
  const argv = redirect >= 0 ? words.slice(0, redirect) : words;
  const [cmd, ...args] = argv;
  if (redirect >= 0) {
    if (target === undefined) return { output: 'sh: syntax error: unexpected newline\n', status: 2 };
    let data: string;
    if (cmd === undefined || cmd === ':') data = '';
    else if (cmd === 'echo') data = `${args.join(' ')}\n`;
    else if (cmd === 'printf') data = printfFormat(args[0] ?? '', args.slice(1));
    else return { output: `sh: ${cmd}: not supported here (echo, printf, cat, ls, dmesg)\n`, status: 127 };
    const o = sys.open(target, openFlags, task);
    if (!o.ok) return { output: `sh: can't create ${target}: ${STRERROR[o.errno]}\n`, status: 1 };
    // busybox's full_write: a short write (trace_marker takes at most 1 or 4 KiB) goes on with the rest
    const all = bytes(data);
    let r: { ok: true; written: number } | { ok: false; errno: ErrnoName } = { ok: true, written: 0 };
    for (let off = 0; off < all.length; ) {
      r = sys.write(o.fh, all.subarray(off));
      if (!r.ok || r.written === 0) break;
      off += r.written;
    }
    sys.close(o.fh);
    if (!r.ok) return { output: cmd === 'echo' ? `sh: write error: ${STRERROR[r.errno]}\n` : '', status: 1 };
    return { output: '', status: 0 };
  }
  switch (cmd) {
    case 'cat': {
      let output = '';
      let status = 0;
      for (const path of args) {
        const cmdline = path === '/proc/cmdline' ? sys.procCmdline() : null;
        if (cmdline !== null) {
          output += cmdline;
          continue;
        }
        const proc = /^\/proc\/(meminfo|vmstat|zoneinfo|pagetypeinfo)$/.exec(path);
        if (proc) {
          output += sys.procFile(proc[1] as 'meminfo' | 'vmstat' | 'zoneinfo' | 'pagetypeinfo');
          continue;
        }
        const o = sys.open(path, 0, task);
        if (!o.ok) {
          output += `cat: can't open '${path}': ${STRERROR[o.errno]}\n`;
          status = 1;
          continue;
        }
        const r = sys.readAll(o.fh);
        sys.close(o.fh);
        if (!r.ok) {
          output += `cat: read error: ${STRERROR[r.errno]}\n`;
          status = 1;
        } else output += r.text;
      }
      return { output, status };
    }
    case 'ls': {
      const r = sys.readdir(args[0] ?? '/sys');
      if (!r.ok) return { output: `ls: ${args[0]}: ${STRERROR[r.errno]}\n`, status: 1 };
      // busybox ls sorts; readdir order is the kernel's (newest first in debugfs)
      return {
        output: [...r.names]
          .sort()
          .map((n) => `${n}\n`)
          .join(''),
        status: 0,
      };
    }
    case 'dmesg':
      return { output: sys.dmesg(), status: 0 };
    case 'echo':
      return { output: `${args.join(' ')}\n`, status: 0 };
    case undefined:
      return { output: '', status: 0 };
    default:
      return { output: `sh: ${cmd}: not supported here (echo, printf, cat, ls, dmesg)\n`, status: 127 };
  }
}
