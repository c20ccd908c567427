// A captured CMA file tree: every file of /sys/kernel/debug/cma and /sys/kernel/mm/cma, read at
// once, whatever the source (live tree, copy, remote device, snapshot, emulator, kernel log).

/** debugfs CMA directory, relative to /sys. */
export const DEBUGFS_CMA = 'kernel/debug/cma';
/** sysfs CMA directory, relative to /sys. */
export const SYSFS_CMA = 'kernel/mm/cma';

/** One node of a captured tree. */
export type TreeEntry =
  | { readonly type: 'file'; readonly text: string }
  | { readonly type: 'symlink'; readonly target: string }
  | { readonly type: 'dir' }
  /** alloc/free: present, never read (reading them fails with EACCES on every kernel). */
  | { readonly type: 'writeonly' }
  | { readonly type: 'unreadable'; readonly error: string };

/**
 * What a device offers outside /sys: `proc/meminfo`, `proc/vmstat`, `proc/zoneinfo`,
 * `proc/pagetypeinfo`, the kernel log as `dmesg` (paths relative to `/`); and the files that could
 * not be read, with why (`missing`, `permission denied`).
 */
export interface DeviceFiles {
  readonly files: Readonly<Record<string, string>>;
  readonly unreadable: Readonly<Record<string, string>>;
}

/** A capture: paths are relative to /sys (`kernel/debug/cma/reserved/bitmap`). */
export interface CmaTree {
  /** Where it came from, for messages (`/sys`, `adb -s X`, `snapshot.json`). */
  readonly source: string;
  /** ISO 8601 time of the capture. */
  readonly capturedAt: string;
  /** `uname -r` of the captured kernel, when known. */
  readonly kernelRelease: string | null;
  readonly entries: ReadonlyMap<string, TreeEntry>;
  /** /proc files and the kernel log, when the source could read them. */
  readonly device?: DeviceFiles;
}

/** A source problem: one line naming the file or command and what is wrong. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}

/** Joins path components and normalises `.`/`..` (no leading slash). */
function joinPath(...parts: string[]): string {
  const out: string[] = [];
  for (const c of parts.join('/').split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out.join('/');
}

/** Normalises a user path: `/sys/kernel/...`, `kernel/...` or `<area>/<file>` (below debugfs cma). */
export function treePath(userPath: string): string {
  const p = joinPath(userPath);
  if (p === 'sys' || p.startsWith('sys/')) return joinPath(p.slice(3));
  if (p.startsWith('kernel/') || p === 'kernel') return p;
  return joinPath(DEBUGFS_CMA, p);
}

/** The entry at `path`, following symlinks (relative to the link's directory). */
export function resolveEntry(tree: CmaTree, path: string): { path: string; entry: TreeEntry } | undefined {
  let p = joinPath(path);
  for (let hops = 0; hops < 16; hops++) {
    const e = tree.entries.get(p);
    if (!e) return undefined;
    if (e.type !== 'symlink') return { path: p, entry: e };
    const parent = p.split('/').slice(0, -1).join('/');
    p = e.target.startsWith('/') ? treePath(e.target) : joinPath(parent, e.target);
  }
  return undefined;
}

/** The text of a file, following symlinks; throws SourceError naming the file. */
export function readTreeFile(tree: CmaTree, path: string): string {
  const r = resolveEntry(tree, path);
  if (!r) throw new SourceError(`${tree.source}: ${path}: missing`);
  const e = r.entry;
  if (e.type === 'file') return e.text;
  if (e.type === 'unreadable') throw new SourceError(`${tree.source}: ${path}: cannot read (${e.error})`);
  if (e.type === 'writeonly') throw new SourceError(`${tree.source}: ${path}: write-only file`);
  throw new SourceError(`${tree.source}: ${path}: is a directory`);
}

/** The text of a file, or undefined when it is absent. */
export function optionalTreeFile(tree: CmaTree, path: string): string | undefined {
  return resolveEntry(tree, path) ? readTreeFile(tree, path) : undefined;
}

/** Names directly inside `dir` (symlinked directories are not followed), sorted. */
export function childNames(tree: CmaTree, dir: string): string[] {
  const names = childIndex(tree).get(joinPath(dir));
  return names ? [...names].sort() : [];
}

/** Directory → child names of a tree's entries, built once per tree (no scan per directory). */
const CHILDREN = new WeakMap<
  ReadonlyMap<string, TreeEntry>,
  { size: number; index: Map<string, Set<string>> }
>();

function childIndex(tree: CmaTree): Map<string, Set<string>> {
  const cached = CHILDREN.get(tree.entries);
  if (cached && cached.size === tree.entries.size) return cached.index;
  const index = new Map<string, Set<string>>();
  for (const p of tree.entries.keys()) {
    const slash = p.lastIndexOf('/');
    if (slash <= 0 || slash === p.length - 1) continue;
    const parent = p.slice(0, slash);
    const set = index.get(parent) ?? new Set<string>();
    if (set.size === 0) index.set(parent, set);
    set.add(p.slice(slash + 1));
  }
  CHILDREN.set(tree.entries, { size: tree.entries.size, index });
  return index;
}

/** True when `path` is (or links to) a directory. */
export function isTreeDir(tree: CmaTree, path: string): boolean {
  return resolveEntry(tree, path)?.entry.type === 'dir';
}

/** Builds a tree from a list of entries. */
export function makeTree(
  source: string,
  entries: Iterable<[string, TreeEntry]>,
  kernelRelease: string | null = null,
  capturedAt: string = new Date().toISOString(),
  device?: DeviceFiles,
): CmaTree {
  const map = new Map<string, TreeEntry>();
  for (const [p, e] of entries) map.set(joinPath(p), e);
  // every parent of an entry is a directory
  for (const p of [...map.keys()]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!map.has(d)) map.set(d, { type: 'dir' });
    }
  }
  return device
    ? { source, capturedAt, kernelRelease, entries: map, device }
    : { source, capturedAt, kernelRelease, entries: map };
}
