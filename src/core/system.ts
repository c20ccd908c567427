// An emulated kernel: CMA areas with their debugfs, sysfs and tracefs views, the kernel log and
// vmstat, reached through path-based file operations exactly as user space sees /sys.

import type { AreaSpec, CmaArea, KernelHooks } from './cma.ts';
import { cmaAlloc, cmaBitmapPagesToBits, cmaRelease, createArea } from './cma.ts';
import type { CmaBitmapFactory } from './cma-bitmap.ts';
import type { AreaState } from './cma-debugfs.ts';
import { cmaDebugfsRoot } from './cma-debugfs.ts';
import { cmaSysfsRoot } from './cma-sysfs.ts';
import type { BootLogInfo } from './cmdline.ts';
import type { RefusedArea } from './config.ts';
import type { ErrnoName, Result } from './errno.ts';
import { fail } from './errno.ts';
import { GiganticPool, hugepagesSysfsRoot, hugetlbNode } from './hugetlb.ts';
import { indexedBitmapFactory } from './indexed-bitmap.ts';
import type { Span } from './machine.ts';
import { DEFAULT_MEM_PAGES, giganticFallback, pcMachine } from './machine.ts';
import type { BusyOwner } from './page-owner.ts';
import { pageOwnerText } from './page-owner.ts';
import { KernelLog } from './printk.ts';
import { procMeminfo, procPagetypeinfo, procVmstat as procVmstatLines, procZoneinfo } from './procfs.ts';
import type { KernelProfile } from './profile.ts';
import { PROFILE_6_1 } from './profile.ts';
import { sysTree } from './sys-tree.ts';
import type { PointerOptions, TaskContext } from './trace.ts';
import type { CmaTraceEvent } from './trace-events.ts';
import { TraceBuffer, tracefsRoot } from './tracefs.ts';
import type { DirNode, FileNode, OpenFile, VfsNode } from './vfs.ts';
import { bytes, dir, mayOpen, O_ACCMODE, O_RDONLY, snapshotFile, text } from './vfs.ts';

/** Options of an emulated system. */
export interface SystemOptions {
  readonly profile?: KernelProfile;
  readonly areas: readonly AreaSpec[];
  /** The bitmap implementation: the index by default; plainBitmapFactory is the kernel's scan. */
  readonly bitmapFactory?: CmaBitmapFactory;
  readonly pointers?: Partial<PointerOptions>;
  /** Milliseconds since the emulated boot (defaults to a monotonic clock). */
  readonly now?: () => number;
  /** The task trace lines are attributed to when a caller gives none. */
  readonly defaultTask?: TaskContext;
  /** Areas the kernel refused at boot (placeAreas): only their log lines remain. */
  readonly refused?: readonly RefusedArea[];
  /**
   * The machine's RAM in pages (`--mem`): hugetlb then takes 1 GiB pages from its ordinary
   * memory once the areas fail (machine.ts giganticFallback); without it, none.
   */
  readonly memPages?: number;
  /** RAM the machine lacks (`memmap=` holes, pfns): they are not RAM for the fallback either. */
  readonly memHoles?: readonly Span[];
  /** The command line the system was booted with (`--cmdline`): its own boot lines. */
  readonly boot?: BootLogInfo;
}

/** A change notification for live views. */
export interface SystemChange {
  readonly kind: 'area' | 'trace' | 'log';
  readonly area?: string;
}

/** stat(2) fields a front end needs. */
export interface Stat {
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly nlink: number;
  /** A pipe whose reads wait for more (`trace_pipe`). */
  readonly pipe?: boolean;
}

interface Handle {
  readonly file: OpenFile;
  readonly node: FileNode;
  pos: number;
  readonly flags: number;
  /** The task that opened the file: the writer when a write names none. */
  readonly task: TaskContext;
}

/** lseek(2) whence values. */
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;

/** A whole file's bytes; `text` decodes them on demand. */
class FileContents {
  readonly ok = true as const;
  constructor(readonly data: Uint8Array) {}
  get text(): string {
    return text(this.data);
  }
}

/** Normalises `/sys/kernel/...` or `kernel/...` into path components below /sys. */
export function sysPathComponents(path: string): string[] {
  let p = path.replace(/^\/+/, '');
  if (p === 'sys' || p.startsWith('sys/')) p = p.slice(3);
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** One emulated kernel. */
export class CmaSystem implements KernelHooks {
  readonly profile: KernelProfile;
  readonly areas: AreaState[];
  readonly kernelLog: KernelLog;
  readonly tracing: TraceBuffer;
  readonly vmstat = { cma_alloc_success: 0, cma_alloc_fail: 0 };
  corruption: string | null = null;
  /** Areas asked for that the kernel would not have reserved on this machine (SystemOptions.refused). */
  readonly refused: readonly RefusedArea[];
  private debugfs = true;
  /** Whether a path walk went through /sys/kernel/debug/tracing (its automount is triggered). */
  private tracingTriggered = false;
  private readonly now: () => number;
  private currentTask: TaskContext;
  private readonly defaultTask: TaskContext;
  private readonly root: DirNode;
  private readonly handles = new Map<number, Handle>();
  private readonly resolved = new Map<string, { ok: true; node: VfsNode }>();
  private nextHandle = 1;
  private listeners: ((c: SystemChange) => void)[] = [];
  /** 1 GiB hugetlb pages taken from the hugetlbN areas. */
  readonly gigantic: GiganticPool;
  /** The machine's RAM in pages (SystemOptions.memPages). */
  readonly memPages: number | undefined;
  /** Its `memmap=` holes (SystemOptions.memHoles). */
  readonly memHoles: readonly Span[];
  /** The command line it was booted with (SystemOptions.boot). */
  readonly boot: BootLogInfo | undefined;

  constructor(opts: SystemOptions) {
    this.profile = opts.profile ?? PROFILE_6_1;
    const start = performance.now();
    this.now = opts.now ?? (() => performance.now() - start);
    this.kernelLog = new KernelLog(this.now);
    // the index gives the kernel's exact placements (differential tests against PlainBitmap) and
    // O(1) used/maxchunk, so large areas stay fast
    const factory = opts.bitmapFactory ?? indexedBitmapFactory;
    this.areas = opts.areas.map((spec) => ({ area: createArea(spec, factory), records: [] }));
    const mem = opts.memPages;
    this.memPages = mem;
    this.memHoles = opts.memHoles ?? [];
    this.boot = opts.boot;
    const ordinary =
      mem === undefined
        ? []
        : giganticFallback(
            pcMachine(mem, opts.memHoles),
            this.areas.flatMap((s) =>
              s.area.ranges.map((r) => ({ start: r.basePfn, end: r.basePfn + r.count })),
            ),
          );
    this.gigantic = new GiganticPool(this, () => this.areaList(), ordinary, this.profile.hugetlbPoolEnqueue);
    this.tracing = new TraceBuffer(this.profile, () => BigInt(Math.round(this.now() * 1e6)), {
      mode: 'ptrval',
      structPageSize: this.profile.structPageSize,
      hashKey: 0x5eed1234,
      ...opts.pointers,
    });
    this.defaultTask = opts.defaultTask ?? { comm: 'sh', pid: 1 };
    this.currentTask = this.defaultTask;
    this.refused = opts.refused ?? [];
    for (const line of bootLog(this.areaList(), this.profile, this.refused, opts.boot))
      this.kernelLog.print(line);
    this.kernelLog.subscribe(() => this.emit({ kind: 'log' }));
    this.tracing.subscribe(() => this.emit({ kind: 'trace' }));
    const mounted = dir(
      () => [
        ['cma', cmaDebugfsRoot(this, () => this.areas)],
        ['tracing', this.tracingAutomount()],
        // page_owner=on: the owners of the busy pages the emulator knows of
        ...(this.areas.some((s) => s.area.busy.some((b) => b.owner))
          ? [
              ['page_owner', snapshotFile(0o400, () => pageOwnerText(this.areaList(), this.profile))] as [
                string,
                VfsNode,
              ],
            ]
          : []),
      ],
      0o700,
    );
    const emulated = dir(() => [
      [
        'kernel',
        dir(() => [
          ['debug', mounted],
          [
            'mm',
            dir(() => [
              ['cma', cmaSysfsRoot(this.profile, () => this.areas.map((s) => s.area))],
              ...this.hugepagesEntry(),
            ]),
          ],
          ['tracing', tracefsRoot(this.profile, this.tracing, (this.memPages ?? DEFAULT_MEM_PAGES) * 4096)],
        ]),
      ],
    ]);
    // the rest of the reference kernel's /sys around them (sys-tree.ts); mounting or unmounting
    // debugfs changes what /sys/kernel/debug holds
    this.root = sysTree(this.profile.sysSkeleton, emulated, {
      nlink: (p) => (this.profile.eventfs && /^kernel\/tracing\/events(\/|$)/.test(p) ? 1 : undefined),
      mounted: (p) => (p === 'kernel/debug' ? () => this.debugfs : undefined),
    });
  }

  /**
   * /sys/kernel/debug/tracing, debugfs's automount of tracefs: until a path walk goes through it
   * (a lookup below it, a readdir) stat shows the automount point (dr-xr-xr-x, 3 links); from
   * then on the tracefs root, as the mount stays (tracing_init_dentry's automount).
   */
  private tracingAutomount(): DirNode {
    const tracefs = (): DirNode => {
      const k = this.root.entries().get('kernel');
      const t = k?.kind === 'dir' ? k.entries().get('tracing') : undefined;
      if (t?.kind !== 'dir') throw new Error('no /sys/kernel/tracing');
      return t;
    };
    const sys = this;
    return {
      kind: 'dir',
      get mode() {
        return sys.tracingTriggered ? tracefs().mode : 0o555;
      },
      get nlink() {
        return sys.tracingTriggered ? tracefs().nlink : 3;
      },
      createErrno: 'EPERM',
      changeErrno: 'EPERM',
      entries: () => {
        sys.tracingTriggered = true;
        return tracefs().entries();
      },
    };
  }

  /**
   * /sys/kernel/mm/hugepages when there are hugetlbN areas or the machine is known: 1 GiB pages
   * taken from the areas with cma_alloc(262144 pages, align 18), then from ordinary memory, as
   * the 6.1, 6.12 and 7.3 oracles showed (with no hugetlb area too:
   * test/fixtures/ram-placement/cmdline/).
   */
  private hugepagesEntry(): [string, VfsNode][] {
    if (this.memPages === undefined && !this.areas.some((s) => hugetlbNode(s.area) !== undefined)) return [];
    return [
      [
        'hugepages',
        hugepagesSysfsRoot(
          this.gigantic,
          (task, fn) => this.asTask(task, fn),
          () => this.emit({ kind: 'area' }),
        ),
      ],
    ];
  }

  /**
   * false: /sys/kernel/debug is an empty directory, as on a production kernel that mounts no
   * debugfs (`umount /sys/kernel/debug`); sysfs, tracefs, /proc and the kernel log stay.
   */
  get debugfsMounted(): boolean {
    return this.debugfs;
  }
  set debugfsMounted(on: boolean) {
    this.debugfs = on;
    this.resolved.clear();
  }

  /** Milliseconds since the emulated boot. */
  uptimeMs(): number {
    return this.now();
  }

  // ---- KernelHooks / DebugfsHost ----

  trace(event: CmaTraceEvent): void {
    this.tracing.record(event, this.currentTask);
  }
  log(line: string): void {
    this.kernelLog.print(line);
  }
  warn(message: string, at: string): void {
    // __warn(): the register dump and call trace are not emulated
    const t = this.currentTask;
    for (const l of [
      '------------[ cut here ]------------',
      message,
      `WARNING: CPU: 0 PID: ${t.pid} at ${at}`,
    ])
      this.kernelLog.print(l);
    this.kernelLog.print('---[ end trace 0000000000000000 ]---');
  }
  logAllocFailure(line: string): void {
    this.kernelLog.printRatelimited(this.profile.allocFuncName, line);
  }
  countVmstat(which: 'cma_alloc_success' | 'cma_alloc_fail'): void {
    this.vmstat[which]++;
  }
  pageHeld(area: CmaArea, pfn: number): boolean {
    // a debugfs record's last bit holds only the pages up to its count (a zero-bit record holds
    // none); gigantic pages fill their bits
    const st = this.areas.find((s) => s.area === area);
    for (const r of st?.records ?? []) {
      const span = Number(cmaBitmapPagesToBits(r.count, area.orderPerBit)) * 2 ** area.orderPerBit;
      if (pfn >= r.pfn && pfn < r.pfn + span) return BigInt(pfn - r.pfn) < r.count;
    }
    return true;
  }
  asTask<T>(task: TaskContext, fn: () => T): T {
    const saved = this.currentTask;
    this.currentTask = task;
    try {
      return fn();
    } finally {
      this.currentTask = saved;
    }
  }
  changed(area: string): void {
    this.emit({ kind: 'area', area });
  }

  // ---- areas ----

  /** The area named `name`, or undefined. */
  area(name: string): AreaState | undefined {
    return this.areas.find((s) => s.area.name === name);
  }

  /**
   * cma_alloc(area, count, align) as a driver would call it (not tracked by debugfs `free`).
   * @param count pages
   * @param align alignment order in pages
   */
  cmaAlloc(
    name: string,
    count: number | bigint,
    align = 0,
    task: TaskContext = this.defaultTask,
  ): Result<{ pfn: number }> {
    const st = this.area(name);
    if (!st) return fail('ENOENT');
    if (this.corruption) return fail('EIO');
    const r = this.asTask(task, () => cmaAlloc(this, st.area, BigInt(count), align));
    this.changed(name);
    return r ? { ok: true, pfn: r.pfn } : fail('ENOMEM');
  }

  /** cma_release(area, pfn, count); EINVAL when the pages are not in the area. */
  cmaRelease(
    name: string,
    pfn: number,
    count: number | bigint,
    task: TaskContext = this.defaultTask,
  ): Result<object> {
    const st = this.area(name);
    if (!st) return fail('ENOENT');
    if (this.corruption) return fail('EIO');
    const ok = this.asTask(task, () => cmaRelease(this, st.area, pfn, BigInt(count)));
    this.changed(name);
    return ok ? { ok: true } : fail('EINVAL');
  }

  /**
   * Marks pages whose migration fails: an allocation covering any of them gets `error` from
   * alloc_contig_range (-16 EBUSY: cma_alloc_busy_retry and a retry one step further).
   */
  markBusy(name: string, pfn: number, count: number, error = -16, owner?: BusyOwner): Result<object> {
    const st = this.area(name);
    if (!st) return fail('ENOENT');
    if (!Number.isSafeInteger(pfn) || !Number.isSafeInteger(count) || count <= 0) return fail('EINVAL');
    if (!Number.isInteger(error) || error >= 0) return fail('EINVAL');
    st.area.busy = [...st.area.busy, { pfn, count, error, ...(owner ? { owner } : {}) }].sort(
      (a, b) => a.pfn - b.pfn,
    );
    this.changed(name);
    return { ok: true };
  }

  /** Forgets the busy pages overlapping [pfn, pfn + count) (all of them without arguments). */
  clearBusy(name: string, pfn = 0, count = Number.MAX_SAFE_INTEGER): Result<object> {
    const st = this.area(name);
    if (!st) return fail('ENOENT');
    st.area.busy = st.area.busy.filter((b) => !(b.pfn < pfn + count && pfn < b.pfn + b.count));
    this.changed(name);
    return { ok: true };
  }

  // ---- files ----

  private resolve(path: string, followLast: boolean, uid = 0): Result<{ node: VfsNode }> {
    // the tree's shape is fixed after boot, so root's successful lookups can be remembered
    if (uid !== 0) return this.walk(path, followLast, uid);
    const key = followLast ? path : `\0${path}`;
    const hit = this.resolved.get(key);
    if (hit) return hit;
    const r = this.walk(path, followLast, 0);
    if (r.ok && this.resolved.size < 4096) this.resolved.set(key, r);
    return r;
  }

  private walk(path: string, followLast: boolean, uid: number): Result<{ node: VfsNode }> {
    const parts = sysPathComponents(path);
    let node: VfsNode = this.root;
    const stack: VfsNode[] = [];
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      if (node.kind !== 'dir') return fail('ENOTDIR');
      if (uid !== 0 && (node.mode & 0o001) === 0) return fail('EACCES');
      if (name === '..') {
        node = stack.pop() ?? this.root;
        continue;
      }
      const next: VfsNode | undefined = node.entries().get(name);
      if (!next) return fail('ENOENT');
      if (next.kind === 'symlink' && (followLast || i < parts.length - 1)) {
        // debugfs links are relative to their directory
        const rest = parts.slice(i + 1).join('/');
        const base = parts.slice(0, i).join('/');
        return this.walk(`${base}/${next.target}${rest ? `/${rest}` : ''}`, followLast, uid);
      }
      stack.push(node);
      node = next;
    }
    return { ok: true, node };
  }

  /** stat (follows symlinks) or lstat. */
  stat(path: string, follow = true): Result<{ stat: Stat }> {
    const r = this.resolve(path, follow);
    if (!r.ok) return r;
    const n = r.node;
    if (n.kind === 'dir') {
      // the kernel's rule (simple_mkdir's inc_nlink, kernfs): 2 + the subdirectories
      const nlink = n.nlink ?? 2 + [...n.entries().values()].filter((c) => c.kind === 'dir').length;
      return { ok: true, stat: { type: 'dir', mode: n.mode, size: 0, nlink } };
    }
    if (n.kind === 'symlink') return { ok: true, stat: { type: 'symlink', mode: n.mode, size: 0, nlink: 1 } };
    return {
      ok: true,
      stat: { type: 'file', mode: n.mode, size: n.size, nlink: 1, ...(n.blocking ? { pipe: true } : {}) },
    };
  }

  /** Names in a directory, sorted. */
  readdir(path: string, uid = 0): Result<{ names: string[] }> {
    const r = this.resolve(path, true, uid);
    if (!r.ok) return r;
    if (r.node.kind !== 'dir') return fail('ENOTDIR');
    if (uid !== 0 && (r.node.mode & 0o004) === 0) return fail('EACCES');
    return { ok: true, names: [...r.node.entries().keys()] };
  }

  /** readlink(2). */
  readlink(path: string): Result<{ target: string }> {
    const r = this.resolve(path, false);
    if (!r.ok) return r;
    if (r.node.kind !== 'symlink') return fail('EINVAL');
    return { ok: true, target: r.node.target };
  }

  /** The errno for creating (`create`) or changing (`change`: mkdir, unlink, rename…) at `path`. */
  modifyErrno(path: string, op: 'create' | 'change'): ErrnoName {
    const parts = sysPathComponents(path);
    const parent = this.resolve(parts.slice(0, -1).join('/'), true);
    if (!parent.ok) return parent.errno;
    if (parent.node.kind !== 'dir') return 'ENOTDIR';
    return op === 'create' ? parent.node.createErrno : parent.node.changeErrno;
  }

  /** open(2): a handle for read/write/close. */
  open(
    path: string,
    flags = O_RDONLY,
    task: TaskContext = this.defaultTask,
    uid = 0,
  ): Result<{ fh: number }> {
    const r = this.resolve(path, true, uid);
    if (!r.ok) return r;
    if (r.node.kind === 'dir') return fail('EISDIR');
    const node = r.node as FileNode;
    if (!mayOpen(node, { flags, task, uid })) return fail('EACCES');
    const o = node.open({ flags, task, uid });
    if (!o.ok) return o;
    const fh = this.nextHandle++;
    this.handles.set(fh, { file: o.file, node, pos: 0, flags, task });
    return { ok: true, fh };
  }

  /**
   * lseek(2): ESPIPE where the kernel's file is not seekable (debugfs attributes and u32
   * arrays); SEEK_END counts from st_size (0 for debugfs and tracefs, as on the kernel).
   */
  lseek(fh: number, offset: number, whence: number): Result<{ pos: number }> {
    const h = this.handles.get(fh);
    if (!h) return fail('EBADF');
    if (!h.node.seekable) return fail('ESPIPE');
    const base =
      whence === SEEK_SET ? 0 : whence === SEEK_CUR ? h.pos : whence === SEEK_END ? h.node.size : -1;
    if (base < 0 || !Number.isSafeInteger(offset) || base + offset < 0) return fail('EINVAL');
    h.pos = base + offset;
    return { ok: true, pos: h.pos };
  }

  /** The length of the text a read from position 0 would now return through the open file `fh`. */
  textLength(fh: number): Result<{ length: number }> {
    const h = this.handles.get(fh);
    if (!h) return fail('EBADF');
    if ((h.flags & O_ACCMODE) === 1) return { ok: true, length: 0 };
    return { ok: true, length: h.file.textLength() };
  }

  /**
   * The length of the text the next open of `path` would read (0 for a file that cannot be
   * read, such as `alloc`): a stand-in for the kernel's st_size 0 where a front end needs one.
   */
  fileLength(path: string): Result<{ length: number }> {
    const o = this.open(path, O_RDONLY);
    if (!o.ok) return o;
    const r = this.textLength(o.fh);
    this.close(o.fh);
    return r;
  }

  /**
   * How a file answers positioned reads: `seekable` (lseek works) and `emptyPastStart` (a read
   * at a non-zero position returns nothing, as tracefs filter files do).
   */
  seekable(path: string): Result<{ seekable: boolean; emptyPastStart: boolean }> {
    const r = this.resolve(path, true);
    if (!r.ok) return r;
    if (r.node.kind !== 'file') return fail('EISDIR');
    return { ok: true, seekable: r.node.seekable, emptyPastStart: r.node.emptyPastStart === true };
  }

  /** read(2) at the handle's position, or pread-like at `pos` (FUSE passes offsets). */
  read(fh: number, length: number, pos?: number): Result<{ data: Uint8Array }> {
    const h = this.handles.get(fh);
    if (!h) return fail('EBADF');
    if ((h.flags & O_ACCMODE) === 1) return fail('EBADF');
    const at = pos ?? h.pos;
    const r = h.file.read(at, length);
    if (r.ok) h.pos = at + r.data.length;
    return r;
  }

  /**
   * write(2): each call is handed to the file on its own, as the kernel does. `task` is the
   * writing task (an open file shared by several processes has a writer per call); it defaults
   * to the task that opened the file.
   */
  write(fh: number, data: Uint8Array, pos?: number, task?: TaskContext): Result<{ written: number }> {
    const h = this.handles.get(fh);
    if (!h) return fail('EBADF');
    if ((h.flags & O_ACCMODE) === O_RDONLY) return fail('EBADF');
    if (data.length === 0) return { ok: true, written: 0 };
    const r = h.file.write(data, pos ?? h.pos, task ?? h.task);
    if (r.ok) h.pos = (pos ?? h.pos) + r.written;
    return r;
  }

  /** Whether an open file is a pipe whose reads take what they return (`trace_pipe`). */
  isPipe(fh: number): boolean {
    return this.handles.get(fh)?.node.blocking === true;
  }

  /** close(2). */
  close(fh: number): Result<object> {
    const h = this.handles.get(fh);
    if (!h) return fail('EBADF');
    h.file.release?.();
    this.handles.delete(fh);
    return { ok: true };
  }

  /** Reads a whole file as `cat` does (open, read until EOF, close). */
  readFile(path: string, task?: TaskContext): Result<{ data: Uint8Array; text: string }> {
    const o = this.open(path, O_RDONLY, task);
    if (!o.ok) return o;
    const r = this.readAll(o.fh);
    this.close(o.fh);
    return r;
  }

  /**
   * Reads an open file from its position to EOF, as `cat` does after open; a pipe (`trace_pipe`)
   * until it has nothing more to give, where `cat` would wait.
   */
  readAll(fh: number): Result<{ data: Uint8Array; text: string }> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const r = this.read(fh, 1 << 20);
      // a pipe with nothing more to give (trace_pipe): what it gave is the text
      if (!r.ok && r.errno === 'EAGAIN') break;
      if (!r.ok) return r;
      if (r.data.length === 0) break;
      chunks.push(r.data);
      total += r.data.length;
    }
    let data: Uint8Array;
    // the bytes are the open file's private buffer, which only this handle's reads ever see
    if (chunks.length === 1) data = chunks[0]!;
    else {
      data = new Uint8Array(total);
      let off = 0;
      for (const c of chunks) {
        data.set(c, off);
        off += c.length;
      }
    }
    return new FileContents(data);
  }

  /** Writes as `echo TEXT > path` does: open O_WRONLY|O_CREAT|O_TRUNC, one write(), close. */
  writeFile(path: string, data: string | Uint8Array, task?: TaskContext): Result<{ written: number }> {
    const o = this.open(path, 0o1101, task);
    if (!o.ok) return o;
    const r = this.write(o.fh, typeof data === 'string' ? bytes(data) : data);
    this.close(o.fh);
    return r;
  }

  // ---- other kernel views ----

  /** The cma lines of /proc/vmstat. */
  procVmstat(): string {
    return `cma_alloc_success ${this.vmstat.cma_alloc_success}\ncma_alloc_fail ${this.vmstat.cma_alloc_fail}\n`;
  }

  /** /proc/cmdline: the command line the system was booted with (`--cmdline`), or null. */
  procCmdline(): string | null {
    return this.boot ? `${this.boot.cmdline}\n` : null;
  }

  /** The CMA lines of /proc/meminfo, vmstat, zoneinfo or pagetypeinfo (core/procfs.ts). */
  procFile(name: 'meminfo' | 'vmstat' | 'zoneinfo' | 'pagetypeinfo'): string {
    if (name === 'meminfo') return procMeminfo(this.areas);
    if (name === 'vmstat') return procVmstatLines(this.areas, this.vmstat);
    if (name === 'zoneinfo') return procZoneinfo(this.areas);
    return procPagetypeinfo(this.areas);
  }

  /** `dmesg`. */
  dmesg(timestamps = false): string {
    return this.kernelLog.dmesg(timestamps);
  }

  /** Subscribes to changes; returns an unsubscribe function. */
  subscribe(fn: (c: SystemChange) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  private emit(c: SystemChange): void {
    for (const l of this.listeners) l(c);
  }

  /** The areas as plain data. */
  areaList(): readonly CmaArea[] {
    return this.areas.map((s) => s.area);
  }
}

/** The boot lines announcing an area (cma_declare_contiguous*, cma_init_reserved_mem), its size printed as `sizeMiB`. */
export function bootLogLines(area: CmaArea, profile: KernelProfile, sizeMiB = mib(area.count)): string[] {
  const r0 = area.ranges[0];
  if (isHugetlbArea(area) && profile.reservedLogStyle === 'in-ranges') {
    const n = area.ranges.length;
    return [`cma: Reserved ${sizeMiB} MiB in ${n} range${n === 1 ? '' : 's'}`];
  }
  if (!r0) return [];
  const at = `cma: Reserved ${sizeMiB} MiB at 0x${(r0.basePfn * 4096).toString(16).padStart(16, '0')}`;
  return [profile.reservedLogStyle === 'at-address-on-node' ? `${at} on node ${areaNode(area)}` : at];
}

/**
 * The node cma_declare_contiguous_nid was given: N for the per-node areas (`hugetlbN`,
 * `pernumaN`, `numaN`), -1 (NUMA_NO_NODE) for the others (`cma=`, device tree regions).
 */
function areaNode(area: CmaArea): number {
  const m = /^(?:hugetlb|pernuma|numa)(\d+)$/.exec(area.name);
  return m ? Number(m[1]) : -1;
}

function mib(pages: number): number {
  return (pages * 4096) / (1024 * 1024);
}

function isHugetlbArea(area: CmaArea): boolean {
  return isHugetlbName(area.name);
}

function isHugetlbName(name: string): boolean {
  return /^hugetlb\d+$/.test(name);
}

/**
 * The boot log of all areas in creation order; hugetlb areas (hugetlb_cma_reserve) are
 * announced by "hugetlb_cma: reserve …" before the first one and "reserved … on node N" after each.
 * `refused` areas (placeAreas) print why they were not reserved, at their place in that order.
 */
export function bootLog(
  areas: readonly CmaArea[],
  profile: KernelProfile,
  refused: readonly RefusedArea[] = [],
  boot?: BootLogInfo,
): string[] {
  const lines: string[] = [];
  if (boot) lines.push(`Command line: ${boot.cmdline}`, ...(boot.early ?? []));
  type Step = { area: CmaArea } | { refused: RefusedArea };
  const steps: Step[] = areas.map((area) => ({ area }));
  for (const r of [...refused].sort((a, b) => a.position - b.position))
    steps.splice(Math.min(r.position, steps.length), 0, { refused: r });
  const huge = steps.filter((s) => isHugetlbName('area' in s ? s.area.name : s.refused.name));
  const sizes = huge.map((s) => mib('area' in s ? s.area.count : s.refused.count));
  const total = sizes.reduce((a, b) => a + b, 0);
  const perNode = Math.max(0, ...sizes);
  let announced = false;
  for (const s of steps) {
    const name = 'area' in s ? s.area.name : s.refused.name;
    const hugetlb = isHugetlbName(name);
    if (hugetlb && !announced) {
      const announce =
        boot?.hugetlbAnnounce !== undefined
          ? boot.hugetlbAnnounce
          : `hugetlb_cma: reserve ${total} MiB, up to ${perNode} MiB per node`;
      if (announce !== null) lines.push(announce);
      announced = true;
    }
    if ('area' in s) {
      // 7.x prints cma='s size as asked
      const asked = name === 'reserved' ? boot?.reservedMiB : undefined;
      lines.push(...bootLogLines(s.area, profile, asked ?? mib(s.area.count)));
      if (hugetlb) lines.push(`hugetlb_cma: reserved ${mib(s.area.count)} MiB on node ${name.slice(7)}`);
      continue;
    }
    const r = s.refused;
    if (r.lines) {
      lines.push(...r.lines);
      continue;
    }
    const hex = (pfn: number) => `0x${(pfn * 4096).toString(16).padStart(16, '0')}`;
    if (r.error === -22)
      lines.push(
        `cma: Size (${hex(r.count)}) of region at ${hex(r.basePfn ?? 0)} exceeds limit (${hex(r.limitPfn)})`,
      );
    const node = hugetlb ? Number(name.slice(7)) : -1;
    // 6.12 names the node (cma_declare_contiguous_nid); 6.1 and 7.x (the multi-range hugetlb
    // path) do not
    const onNode = profile.reservedLogStyle === 'at-address-on-node' ? ` on node ${node}` : '';
    lines.push(`cma: Failed to reserve ${mib(r.count)} MiB${onNode}`);
    if (hugetlb) lines.push(`hugetlb_cma: reservation failed: err ${r.error}, node ${node}`);
  }
  if (boot?.hugetlbWarning !== undefined) lines.push(boot.hugetlbWarning);
  if (boot) lines.push(`Kernel command line: ${boot.cmdline}`);
  return lines;
}
