// The rest of /sys around the emulated CMA files: the directories and files a reference kernel
// shows next to them (/sys's top level, /sys/kernel, the debugfs root with sched/, x86/…, the
// tracefs root and the names under events/), so that `ls -la`, `stat` and `find` see the
// kernel's names, modes, link counts and readdir order. The emulated nodes (debug/cma,
// mm/cma, tracing's trace files, events/cma…) are merged into this skeleton.
//
// A skeleton file reads as the text the reference kernel showed at boot (when it was short) and
// refuses writes with EPERM: the emulator does not model it. The contents of /sys/{bus,class,
// devices,…} are not carried: those directories are empty here, with the kernel's link count.

import { fail } from './errno.ts';
import type { DirNode, FileNode, LinkNode, VfsNode } from './vfs.ts';
import { dir } from './vfs.ts';

interface SkelDir {
  readonly kind: 'dir';
  readonly mode: number;
  readonly children: Map<string, SkelNode>;
  /** The kernel's link count of a directory carried without its contents. */
  readonly nlink?: number;
}
interface SkelFile {
  readonly kind: 'file';
  readonly mode: number;
  readonly size: number;
  /** The file's bytes, or null when not recorded (long, or not readable). */
  readonly content: Uint8Array | null;
}
interface SkelLink {
  readonly kind: 'symlink';
  readonly target: string;
}
type SkelNode = SkelDir | SkelFile | SkelLink;

const parsed = new Map<string, SkelDir>();

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Parses a skeleton text (see sys-skeleton.ts) into a tree rooted at /sys (mode 0555). */
function parseSkeleton(text: string): SkelDir {
  const hit = parsed.get(text);
  if (hit) return hit;
  const root: SkelDir = { kind: 'dir', mode: 0o555, children: new Map() };
  for (const line of text.split('\n')) {
    const m = /^([dfl])(\d+) (\d+) (\S+)(?: (.*))?$/.exec(line);
    if (!m) continue;
    const [, kind, mode, size, path, rest] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string?,
    ];
    const parts = path.split('/');
    let parent = root;
    for (const p of parts.slice(0, -1)) {
      let next = parent.children.get(p);
      if (!next) {
        next = { kind: 'dir', mode: 0o755, children: new Map() };
        parent.children.set(p, next);
      }
      if (next.kind !== 'dir') break;
      parent = next;
    }
    const name = parts[parts.length - 1]!;
    const m8 = Number.parseInt(mode, 8);
    if (kind === 'd') {
      const old = parent.children.get(name);
      const bare = /^nlink=(\d+)$/.exec(rest ?? '');
      parent.children.set(name, {
        kind: 'dir',
        mode: m8,
        children: old?.kind === 'dir' ? old.children : new Map(),
        ...(bare ? { nlink: Number(bare[1]) } : {}),
      });
    } else if (kind === 'f') {
      const content = rest === undefined ? null : rest === '-' ? new Uint8Array(0) : hexBytes(rest);
      parent.children.set(name, { kind: 'file', mode: m8, size: Number(size), content });
    } else {
      parent.children.set(name, { kind: 'symlink', target: (rest ?? '').replace(/^-> /, '') });
    }
  }
  parsed.set(text, root);
  return root;
}

const NO_BYTES = new Uint8Array(0);

/** A file the emulator shows but does not model: its boot-time text, writes refused (EPERM). */
function skeletonFile(f: SkelFile): FileNode {
  const data = f.content ?? NO_BYTES;
  return {
    kind: 'file',
    mode: f.mode,
    size: f.size,
    seekable: true,
    open() {
      return {
        ok: true,
        file: {
          read(pos, length) {
            // a file without read permission bits has no read method (debugfs answers EACCES)
            if ((f.mode & 0o444) === 0) return fail('EACCES');
            return {
              ok: true,
              data: data.subarray(Math.min(pos, data.length), Math.min(data.length, pos + length)),
            };
          },
          textLength: () => ((f.mode & 0o444) === 0 ? 0 : data.length),
          write: () => fail((f.mode & 0o222) === 0 ? 'EACCES' : 'EPERM'),
        },
      };
    },
  };
}

/** Per-path rules of the merged tree (paths relative to /sys, e.g. `kernel/debug`). */
export interface SysTreeRules {
  /** A directory's st_nlink where it does not follow the 2 + subdirectories rule (eventfs: 1). */
  readonly nlink?: (path: string) => number | undefined;
  /**
   * A mount point: while this answers false the directory is the empty 0755 directory
   * underneath (debugfs unmounted from /sys/kernel/debug).
   */
  readonly mounted?: (path: string) => (() => boolean) | undefined;
}

const EMPTY: ReadonlyMap<string, VfsNode> = new Map();

/**
 * A directory of the skeleton with the emulated `over` merged in: the skeleton gives the names,
 * their readdir order and the directory's mode; an emulated entry replaces the skeleton's entry of
 * the same name (a skeleton directory without children is only a placeholder for it; one with
 * children is merged again, one level down); emulated entries the skeleton lacks come last.
 */
function merged(skel: SkelDir, over: DirNode | undefined, path: string, rules: SysTreeRules): DirNode {
  const base = dir(
    () => {
      const mine = over?.entries() ?? new Map<string, VfsNode>();
      const out: [string, VfsNode][] = [];
      for (const [name, s] of skel.children) {
        const e = mine.get(name);
        const p = path === '' ? name : `${path}/${name}`;
        if (e && !(e.kind === 'dir' && s.kind === 'dir' && s.children.size > 0)) out.push([name, e]);
        else out.push([name, fromSkeleton(s, e?.kind === 'dir' ? e : undefined, p, rules)]);
      }
      for (const [name, e] of mine) if (!skel.children.has(name)) out.push([name, e]);
      return out;
    },
    skel.mode,
    over?.createErrno ?? 'EACCES',
    over?.changeErrno ?? 'EPERM',
    'given',
  );
  const n = rules.nlink?.(path) ?? skel.nlink;
  const node: DirNode = n === undefined ? base : { ...base, nlink: n };
  const mounted = rules.mounted?.(path);
  if (!mounted) return node;
  return {
    kind: 'dir',
    get mode() {
      return mounted() ? node.mode : 0o755;
    },
    createErrno: node.createErrno,
    changeErrno: node.changeErrno,
    entries: () => (mounted() ? node.entries() : EMPTY),
  };
}

function fromSkeleton(s: SkelNode, over: DirNode | undefined, path: string, rules: SysTreeRules): VfsNode {
  if (s.kind === 'dir') return merged(s, over, path, rules);
  if (s.kind === 'file') return skeletonFile(s);
  return { kind: 'symlink', mode: 0o777, target: s.target } satisfies LinkNode;
}

/** /sys as the profile's skeleton shows it, with `emulated` (the emulator's own /sys tree) merged in. */
export function sysTree(skeleton: string, emulated: DirNode, rules: SysTreeRules = {}): DirNode {
  return merged(parseSkeleton(skeleton), emulated, '', rules);
}
