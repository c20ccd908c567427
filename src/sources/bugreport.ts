// Android bug reports (`adb bugreport`: a zip holding bugreport-*.txt, or that text alone):
// dumpstate prints each file as a section `------ TITLE (PATH) ------` and each command as
// `------ TITLE (COMMAND) ------`; a file it could not open is one line `*** PATH: strerror`.
// The sections a CMA report uses are MEMORY INFO (/proc/meminfo), VIRTUAL MEMORY STATS
// (/proc/vmstat), ZONEINFO (/proc/zoneinfo), PAGETYPEINFO (/proc/pagetypeinfo) and KERNEL LOG
// (dmesg). Bug reports carry no /sys/kernel/mm/cma: areas are named by the kernel log.

import { unzipSync } from 'fflate';
import { readNamedFile } from './safe-read.ts';
import type { CmaSource } from './source.ts';
import type { CmaTree } from './tree.ts';
import { makeTree, SourceError } from './tree.ts';

/** dumpstate's section source → the device file it is. */
const SECTION_FILES: Readonly<Record<string, string>> = {
  '/proc/meminfo': 'proc/meminfo',
  '/proc/vmstat': 'proc/vmstat',
  '/proc/zoneinfo': 'proc/zoneinfo',
  '/proc/pagetypeinfo': 'proc/pagetypeinfo',
  dmesg: 'dmesg',
};

/** True when text looks like a dumpstate bug report. */
export function isBugreportText(head: string): boolean {
  return /^== dumpstate: /m.test(head) || /^------ [A-Z][A-Z0-9 ()/_.-]* \([^)]*\) ------$/m.test(head);
}

/** The device files of a bug report's text, and the sections that said they could not be read. */
export function treeFromBugreportText(text: string, label: string): CmaTree {
  const files: Record<string, string> = {};
  const unreadable: Record<string, string> = {};
  let current: string | null = null;
  let body: string[] = [];
  const flush = () => {
    if (current === null) return;
    const first = body.find((l) => l.trim() !== '') ?? '';
    const m = /^\*\*\* (?:Error dumping )?(\S+)(?: \([^)]*\))?: (.+)$/.exec(first);
    if (m && body.filter((l) => l.trim() !== '').length === 1) unreadable[current] = m[2]!.toLowerCase();
    else {
      // dumpstate ends a section with a blank line
      while (body.length > 0 && body[body.length - 1] === '') body.pop();
      files[current] = `${body.join('\n')}\n`;
    }
    current = null;
    body = [];
  };
  let release: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const h = /^------ (.*) \(([^)]*)\) ------$/.exec(line);
    if (h || /^------ .* was the duration of '.*' ------$/.test(line)) {
      flush();
      if (h) {
        const src = h[2]!.split(' ')[0]!;
        current = SECTION_FILES[src] ?? null;
      }
      continue;
    }
    if (release === null) {
      const k = /^(?:Kernel: )?Linux version (\S+)/.exec(line);
      if (k) release = k[1]!;
    }
    if (current !== null) body.push(line);
  }
  flush();
  if (Object.keys(files).length === 0 && Object.keys(unreadable).length === 0)
    throw new SourceError(
      `${label}: no MEMORY INFO, VMSTAT, ZONEINFO, PAGETYPEINFO or KERNEL LOG section (is it a dumpstate bug report?)`,
    );
  for (const f of Object.values(SECTION_FILES))
    if (!(f in files) && !(f in unreadable)) unreadable[f] = 'missing';
  return makeTree(label, [], release, undefined, { files, unreadable });
}

/** The main text of a bug report zip (`main_entry.txt` names it; else the one bugreport-*.txt). */
function bugreportTextFromZip(zip: Uint8Array, label: string): string {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip, {
      filter: (f) => f.name === 'main_entry.txt' || /(^|\/)bugreport[^/]*\.txt$/.test(f.name),
    });
  } catch (e) {
    throw new SourceError(`${label}: not a readable zip (${(e as Error).message})`);
  }
  const dec = new TextDecoder('latin1');
  const main = entries['main_entry.txt'] ? dec.decode(entries['main_entry.txt']).trim() : undefined;
  const name =
    main !== undefined && entries[main] ? main : Object.keys(entries).find((n) => n !== 'main_entry.txt');
  if (name === undefined) throw new SourceError(`${label}: no bugreport-*.txt in the zip`);
  return dec.decode(entries[name]!);
}

/** A bug report file (.zip or .txt) as a source. */
export function bugreportSource(file: string): CmaSource {
  const label = `bugreport ${file}`;
  return {
    label,
    capture: async () => {
      const data = readNamedFile(file);
      const isZip = data[0] === 0x50 && data[1] === 0x4b;
      const text = isZip ? bugreportTextFromZip(data, label) : data.toString('latin1');
      return treeFromBugreportText(text, label);
    },
  };
}
