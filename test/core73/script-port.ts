// Ports of the 7.3 golden scripts (test/fixtures/golden-7.3/scripts/*.sh) to the library: each
// port does what the busybox script does, command for command, against a CmaSystem, and returns
// the text the script would print. `$ cmd` lines run through the mini-shell (the same words the
// script hands to `sh -c`); what the mini-shell has no command for (ls -la, stat, readlink, find,
// wc -w, awk) is rendered from the CmaSystem API (stat modes, nlink, sizes, readlink, readdir).
//
// Lines the emulator does not model (uname -v, /proc/cmdline, CmaFree, nr_free_cma, the boot
// log's non-CMA lines) are dropped from the golden side by `comparable()`; see NOTE.md.

import type { CmaSystem } from '../../src/core/system.ts';
import { runCommand } from '../../src/frontends/shell/mini-shell.ts';

export const D = '/sys/kernel/debug/cma';
export const S = '/sys/kernel/mm/cma';
export const T = '/sys/kernel/tracing';
export const H = '/sys/kernel/mm/hugepages/hugepages-1048576kB';

/** Golden lines that come from outside the CMA interface the emulator models. */
const EXTERNAL_LINE = [
  /^console=ttyS0 /, // /proc/cmdline
  /^CmaTotal: /, // /proc/meminfo
  /^CmaFree: /,
  /^nr_free_cma /, // /proc/vmstat (buddy allocator, not the bitmap)
  /^Command line: /, // boot log lines that are not CMA's
  /^Kernel command line: /,
  /^Memory: /,
  // `..` of /sys/kernel/debug/cma is the debugfs root: its link count (10) counts the
  // directories of other subsystems, which the emulator does not have
  /^drwx------ \d+ 0 0 0 \.\.$/,
];

/** The golden text without the lines the emulator does not model. */
export function comparable(golden: string): string {
  return golden
    .split('\n')
    .filter((l) => !EXTERNAL_LINE.some((re) => re.test(l)))
    .join('\n');
}

/**
 * Trace lines with their PID, flags and timestamp columns masked (the oracle README's
 * normalisation: PIDs shift, `.l...` comes from the timer tick, local-clock times vary).
 * Counter-clock stamps are kept: they are deterministic.
 */
export function normaliseTrace(text: string): string {
  return text
    .split('\n')
    .map((l) => {
      const m = /^( *\S+)-[0-9]+ +(\[[0-9]+\]) [^ ]+ +([0-9.]+):/.exec(l);
      if (!m) return l;
      const ts = m[3]!.includes('.') ? 'TS' : m[3]!;
      return `${m[1]}-PID ${m[2]} FLAGS ${ts}:${l.slice(m[0].length)}`;
    })
    .join('\n');
}

function modeString(type: 'file' | 'dir' | 'symlink', mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : '-';
  let s = '';
  for (let i = 8; i >= 0; i--) s += mode & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return t + s;
}

/** A running port: collects output like the script's stdout. */
export class Port {
  private readonly out: string[] = [];
  private pid = 40;

  constructor(readonly sys: CmaSystem) {}

  /** echo LINE (LINE may hold several lines). */
  echo(line = ''): void {
    this.out.push(line);
  }

  /** The script's `t CMD`: "$ CMD", what `sh -c CMD` printed, "rc=N". */
  t(cmd: string): void {
    this.echo(`$ ${cmd}`);
    const r = runCommand(this.sys, cmd, { comm: 'sh', pid: ++this.pid });
    if (r.output !== '') this.echo(r.output.replace(/\n$/, ''));
    this.echo(`rc=${r.status}`);
  }

  /** A write done by the script outside `t` (setup lines such as `echo 1 > enable`). */
  write(path: string, text: string): void {
    const r = this.sys.writeFile(path, text, { comm: 'sh', pid: ++this.pid });
    if (!r.ok) throw new Error(`setup write ${path}: ${r.errno}`);
  }

  /** $(cat PATH): the file's text without trailing newlines; '' when cat fails. */
  cat(path: string): string {
    const r = this.sys.readFile(path);
    return r.ok ? r.text.replace(/\n+$/, '') : '';
  }

  /** The file's whole text (cat PATH to stdout). */
  raw(path: string): string {
    const r = this.sys.readFile(path);
    if (!r.ok) throw new Error(`cat ${path}: ${r.errno}`);
    return r.text;
  }

  /** busybox `ls DIR` (sorted names). */
  ls(path: string): string[] {
    const r = this.sys.readdir(path);
    if (!r.ok) throw new Error(`ls ${path}: ${r.errno}`);
    return [...r.names].sort();
  }

  /**
   * `$(ls DIR)` where DIR may be missing (6.x has no ranges/): busybox prints
   * `ls: DIR: No such file or directory` on stderr, which the scripts' output holds too.
   */
  lsOrErr(path: string): string[] {
    const r = this.sys.readdir(path);
    if (r.ok) return [...r.names].sort();
    if (r.errno !== 'ENOENT') throw new Error(`ls ${path}: ${r.errno}`);
    this.echo(`ls: ${path}: No such file or directory`);
    return [];
  }

  /** `wc -w < FILE`. */
  words(path: string): number {
    const t = this.cat(path).trim();
    return t === '' ? 0 : t.split(/\s+/).length;
  }

  /** One `ls -l` line without the date: mode nlink uid gid size name [-> target]. */
  lsLine(path: string, name: string): string {
    const st = this.sys.stat(path, false);
    if (!st.ok) throw new Error(`stat ${path}: ${st.errno}`);
    const s = st.stat;
    let line = `${modeString(s.type, s.mode)} ${s.nlink} 0 0 ${s.size} ${name}`;
    if (s.type === 'symlink') {
      const l = this.sys.readlink(path);
      if (l.ok) line += ` -> ${l.target}`;
    }
    return line;
  }

  /** layout.sh's lsla: `ls -la DIR` with the date columns removed. */
  lsla(path: string): void {
    this.echo(`$ ls -la ${path}`);
    if (!this.sys.stat(path).ok) {
      this.lsOrErr(path);
      return;
    }
    this.echo(this.lsLine(path, '.'));
    this.echo(this.lsLine(`${path}/..`, '..'));
    for (const n of this.ls(path)) this.echo(this.lsLine(`${path}/${n}`, n));
  }

  /** `find PATH`: readdir order, symlinks listed but not followed. */
  find(path: string): void {
    this.echo(path);
    const st = this.sys.stat(path, false);
    if (!st.ok || st.stat.type !== 'dir') return;
    const r = this.sys.readdir(path);
    if (!r.ok) return;
    for (const n of r.names) this.find(`${path}/${n}`);
  }

  /** `stat -c '%A %a %F %N'` (follow = false) or `stat -L -c '%A %a %F %n'` (follow = true). */
  statLine(path: string, follow: boolean): string {
    const st = this.sys.stat(path, follow);
    if (!st.ok) throw new Error(`stat ${path}: ${st.errno}`);
    const s = st.stat;
    const kind =
      s.type === 'dir'
        ? 'directory'
        : s.type === 'symlink'
          ? 'symbolic link'
          : s.size === 0
            ? 'regular empty file'
            : 'regular file';
    let name = path;
    if (!follow && s.type === 'symlink') {
      const l = this.sys.readlink(path);
      name = `'${path}' -> '${l.ok ? l.target : '?'}'`;
    }
    return `${modeString(s.type, s.mode)} ${(s.mode & 0o777).toString(8)} ${kind} ${name}`;
  }

  /** `grep -v '^#' $T/trace` (or the whole file). */
  trace(withHeader: boolean): void {
    const text = this.raw(`${T}/trace`).replace(/\n$/, '');
    this.echo(
      withHeader
        ? text
        : text
            .split('\n')
            .filter((l) => !l.startsWith('#'))
            .join('\n'),
    );
  }

  /** `dmesg | grep -E RE`. */
  dmesg(re: RegExp): void {
    for (const l of this.sys.dmesg().split('\n')) if (l !== '' && re.test(l)) this.echo(l);
  }

  /** `grep cma_alloc /proc/vmstat`. */
  vmstat(): void {
    this.echo(this.sys.procVmstat().replace(/\n$/, ''));
  }

  text(): string {
    return this.out.length === 0 ? '' : `${this.out.join('\n')}\n`;
  }
}

/** busybox printf's %-10s. */
function padRight(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

// ---------------------------------------------------------------- basic.sh

export function basicSh(sys: CmaSystem): string {
  const p = new Port(sys);
  const show = (a: string) => {
    for (const f of ['base_pfn', 'count', 'order_per_bit', 'used', 'maxchunk', 'bitmap'])
      p.echo(`  ${a}/${f}: ${p.cat(`${D}/${a}/${f}`)}`);
  };
  const st = (a: string) => {
    for (const f of ['used', 'maxchunk', 'bitmap']) p.echo(`  ${a}/${f}: ${p.cat(`${D}/${a}/${f}`)}`);
  };
  const sysfs = (a: string) => {
    for (const f of p.ls(`${S}/${a}`)) p.echo(`  ${S}/${a}/${f}: ${p.cat(`${S}/${a}/${f}`)}`);
  };
  p.echo('== kernel');
  p.echo(sys.profile.release);
  p.echo(`== ls ${D}`);
  const areas = p.ls(D);
  for (const a of areas) p.echo(a);
  p.echo(`== ls -l ${D}/<first area>`);
  const first = areas[0]!;
  for (const n of p.ls(`${D}/${first}`)) {
    const line = p.lsLine(`${D}/${first}/${n}`, n);
    if (/^[-d]/.test(line)) p.echo(`${line.split(' ')[0]} ${n}`);
  }
  p.echo(`== ls ${S}`);
  for (const a of p.ls(S)) p.echo(a);
  for (const a of p.ls(S)) p.echo(`  ${a}: ${p.ls(`${S}/${a}`).join(' ')} `);
  p.echo('== /proc/meminfo Cma*');
  p.echo('== /proc/vmstat cma*');
  p.vmstat();
  for (const a of areas) {
    p.echo(`== area ${a} (initial)`);
    show(a);
    sysfs(a);
  }
  for (const a of areas) {
    if (p.cat(`${D}/${a}/order_per_bit`) !== '0') continue;
    const A = `${D}/${a}`;
    p.echo();
    p.echo(`=================== area ${a}, order_per_bit 0`);
    const ts = (cmd: string) => {
      p.t(cmd);
      st(a);
    };
    ts(`echo 8 > ${A}/alloc`);
    ts(`echo 4 > ${A}/free`);
    ts(`echo 0x10 > ${A}/alloc`);
    ts(`echo 010 > ${A}/alloc`);
    ts(`echo 5 > ${A}/free`);
    ts(`echo 1000 > ${A}/free`);
    ts(`echo 1000 > ${A}/free`);
    ts(`echo 0 > ${A}/free`);
    p.echo('--- bad / odd inputs');
    p.t(`echo abc > ${A}/alloc`);
    p.t(`echo -1 > ${A}/alloc`);
    p.t(`echo 0 > ${A}/alloc`);
    p.t(`echo '  12' > ${A}/alloc`);
    p.t(`echo '12 ' > ${A}/alloc`);
    p.t(`echo 12abc > ${A}/alloc`);
    p.t(`echo '' > ${A}/alloc`);
    ts(`echo +3 > ${A}/alloc`);
    ts(`echo 3 > ${A}/free`);
    ts(`printf 2 > ${A}/alloc`);
    p.t(`printf '2\\n\\n' > ${A}/alloc`);
    ts(`echo 2 > ${A}/free`);
    ts(`echo 99999999 > ${A}/alloc`);
    p.t(`echo 18446744073709551616 > ${A}/alloc`);
    p.t(`echo 000000000000000000000008 > ${A}/alloc`);
    ts(`echo 4294967304 > ${A}/alloc`);
    ts(`echo 8 > ${A}/free`);
    p.t(`echo 1 > ${A}/base_pfn`);
    p.t(`echo 1 > ${A}/used`);
    p.t(`echo 1 > ${A}/bitmap`);
    p.t(`cat ${A}/alloc`);
    p.t(`cat ${A}/free`);
    p.echo('--- fill the area, then fail');
    const cnt = p.cat(`${A}/count`);
    ts(`echo ${cnt} > ${A}/alloc`);
    ts(`echo 1 > ${A}/alloc`);
    ts(`echo ${cnt} > ${A}/free`);
    p.echo('--- fragmentation / maxchunk');
    p.t(`echo 3 > ${A}/alloc`);
    p.t(`echo 5 > ${A}/alloc`);
    ts(`echo 7 > ${A}/alloc`);
    ts(`echo 7 > ${A}/free`);
    ts(`echo 2 > ${A}/free`);
    ts(`echo 1 > ${A}/alloc`);
    p.echo('--- int truncation on free: 4294967295 -> -1 frees everything');
    ts(`echo 4294967295 > ${A}/free`);
    p.echo('--- bitmap text is built when the file is opened');
    const fd = sys.open(`${A}/bitmap`);
    if (!fd.ok) throw new Error('open bitmap');
    p.t(`echo 1 > ${A}/alloc`);
    const r = sys.read(fd.fh, 1 << 20);
    sys.close(fd.fh);
    const before = r.ok ? new TextDecoder().decode(r.data) : '';
    const f4 = (s: string) => s.replace(/\n$/, '').split(' ').slice(0, 4).join(' ');
    p.echo(`  fd opened before the alloc: ${f4(before)}`);
    p.echo(`  opened after the alloc:     ${f4(p.cat(`${A}/bitmap`))}`);
    p.t(`echo 1 > ${A}/free`);
    p.echo('--- stats');
    sysfs(a);
    p.vmstat();
    p.echo('--- huge negative count on alloc (2^32-1 -> (int)-1)');
    ts(`echo 4294967295 > ${A}/alloc`);
    sysfs(a);
    p.vmstat();
  }
  for (const a of areas) {
    const opb = p.cat(`${D}/${a}/order_per_bit`);
    if (opb === '0') continue;
    const A = `${D}/${a}`;
    const ts = (cmd: string) => {
      p.t(cmd);
      st(a);
    };
    p.echo();
    p.echo(`=================== area ${a}, order_per_bit ${opb}`);
    show(a);
    ts(`echo 8 > ${A}/alloc`);
    ts(`echo 4 > ${A}/free`);
    ts(`echo 8 > ${A}/alloc`);
    ts(`echo 12 > ${A}/free`);
    ts(`echo 8 > ${A}/free`);
    ts(`echo 513 > ${A}/alloc`);
    ts(`echo 1 > ${A}/alloc`);
    ts(`echo 100 > ${A}/free`);
    ts(`echo 513 > ${A}/free`);
    ts(`echo 512 > ${A}/alloc`);
    ts(`echo 512 > ${A}/free`);
    const cnt = Number(p.cat(`${A}/count`));
    ts(`echo ${cnt} > ${A}/alloc`);
    ts(`echo 1 > ${A}/alloc`);
    ts(`echo ${cnt} > ${A}/free`);
    ts(`echo ${cnt + 1} > ${A}/alloc`);
    ts(`echo 99999999 > ${A}/alloc`);
    sysfs(a);
  }
  p.echo();
  p.echo('== final');
  for (const a of areas) {
    show(a);
    sysfs(a);
  }
  p.vmstat();
  p.echo("== dmesg | grep -E 'cma: |hugetlb_cma: '");
  p.dmesg(/cma: |hugetlb_cma: /);
  return p.text();
}

// ---------------------------------------------------------------- trace.sh

export function traceSh(sys: CmaSystem): string {
  const p = new Port(sys);
  p.echo(`== ls ${T}/events/cma`);
  const entries = p.ls(`${T}/events/cma`);
  for (const e of entries) p.echo(e);
  for (const e of entries) {
    const st = sys.stat(`${T}/events/cma/${e}`);
    if (!st.ok || st.stat.type !== 'dir') continue;
    p.echo(`== ${T}/events/cma/${e}/format`);
    p.echo(p.raw(`${T}/events/cma/${e}/format`).replace(/\n$/, ''));
  }
  p.echo('== trace_clock');
  p.echo(p.cat(`${T}/trace_clock`));
  p.echo('== current_tracer');
  p.echo(p.cat(`${T}/current_tracer`));
  const seqReserved = () => {
    const a = `${D}/reserved`;
    const b = Number(p.cat(`${a}/base_pfn`));
    p.echo(`== base_pfn of reserved: ${b} (0x${b.toString(16)})`);
    p.t(`echo 8 > ${a}/alloc`);
    p.t(`echo 4 > ${a}/free`);
    p.t(`echo 0x10 > ${a}/alloc`);
    p.t(`echo 0 > ${a}/alloc`);
    p.t(`echo abc > ${a}/alloc`);
    p.t(`echo 99999999 > ${a}/alloc`);
    p.t(`echo 4096 > ${a}/alloc`);
    p.t(`echo 4294967295 > ${a}/alloc`);
    p.t(`echo 1000 > ${a}/free`);
    p.t(`echo 1000 > ${a}/free`);
  };
  const seqHugetlb = () => {
    const a = `${D}/hugetlb0`;
    if (!sys.stat(a).ok) return;
    const b = Number(p.cat(`${a}/base_pfn`));
    p.echo(`== base_pfn of hugetlb0: ${b} (0x${b.toString(16)})`);
    p.t(`echo 8 > ${a}/alloc`);
    p.t(`echo 4 > ${a}/free`);
    p.t(`echo 513 > ${a}/alloc`);
    p.t(`echo 1000 > ${a}/free`);
  };
  p.echo();
  p.echo('######## default trace_clock (local)');
  p.write(`${T}/trace`, '\n');
  p.write(`${T}/events/cma/enable`, '1\n');
  seqReserved();
  seqHugetlb();
  p.write(`${T}/events/cma/enable`, '0\n');
  p.echo(`== cat ${T}/trace`);
  p.trace(true);
  p.echo();
  p.echo('######## trace_clock counter (deterministic timestamps)');
  p.write(`${T}/trace_clock`, 'counter\n');
  p.write(`${T}/trace`, '\n');
  p.write(`${T}/events/cma/enable`, '1\n');
  seqReserved();
  seqHugetlb();
  p.write(`${T}/events/cma/enable`, '0\n');
  p.echo(`== cat ${T}/trace`);
  p.trace(true);
  p.write(`${T}/trace_clock`, 'local\n');
  return p.text();
}

// ---------------------------------------------------------------- layout.sh

export function layoutSh(sys: CmaSystem): string {
  const p = new Port(sys);
  p.echo('== kernel');
  p.echo(sys.profile.release);
  p.lsla(D);
  p.echo(`$ find ${D}   (readdir order)`);
  p.find(D);
  for (const a of p.ls(D)) {
    const A = `${D}/${a}`;
    p.echo();
    p.echo(`=================== area ${a}`);
    p.lsla(A);
    p.lsla(`${A}/ranges`);
    for (const r of p.lsOrErr(`${A}/ranges`)) p.lsla(`${A}/ranges/${r}`);
    for (const l of ['base_pfn', 'bitmap']) {
      p.echo(`$ readlink ${A}/${l}`);
      const t = sys.readlink(`${A}/${l}`);
      if (t.ok) p.echo(t.target);
    }
    p.echo(`$ stat -c '%A %a %F %N' ${A}/*`);
    for (const n of p.ls(A)) p.echo(p.statLine(`${A}/${n}`, false));
    p.echo(`$ stat -L -c '%A %a %F %n' ${A}/base_pfn ${A}/bitmap`);
    p.echo(p.statLine(`${A}/base_pfn`, true));
    p.echo(p.statLine(`${A}/bitmap`, true));
    p.echo('--- values');
    for (const f of ['count', 'order_per_bit', 'used', 'maxchunk', 'base_pfn'])
      p.echo(`  ${a}/${f}: ${p.cat(`${A}/${f}`)}`);
    for (const r of p.lsOrErr(`${A}/ranges`)) {
      p.echo(`  ${a}/ranges/${r}/base_pfn: ${p.cat(`${A}/ranges/${r}/base_pfn`)}`);
      p.echo(`  ${a}/ranges/${r}/bitmap: ${p.words(`${A}/ranges/${r}/bitmap`)} words`);
    }
    p.echo('--- sysfs');
    p.lsla(`${S}/${a}`);
    for (const f of p.ls(`${S}/${a}`)) p.echo(`  ${S}/${a}/${f}: ${p.cat(`${S}/${a}/${f}`)}`);
  }
  p.echo();
  p.echo('=================== failing allocations (area reserved)');
  const a = 'reserved';
  const A = `${D}/${a}`;
  p.write(`${T}/trace_clock`, 'counter\n');
  p.write(`${T}/trace`, '\n');
  p.write(`${T}/events/cma/enable`, '1\n');
  const cnt = Number(p.cat(`${A}/count`));
  p.t(`echo 0 > ${A}/alloc`);
  p.t(`echo ${cnt + 1} > ${A}/alloc`);
  p.t(`echo 4294967295 > ${A}/alloc`);
  p.t(`echo 8 > ${A}/alloc`);
  p.t(`echo ${cnt} > ${A}/alloc`);
  p.t(`echo ${cnt - 8} > ${A}/alloc`);
  p.t(`echo 1 > ${A}/alloc`);
  const vals = () => {
    for (const f of ['used', 'maxchunk']) p.echo(`  ${a}/${f}: ${p.cat(`${A}/${f}`)}`);
    for (const f of p.ls(`${S}/${a}`)) p.echo(`  ${S}/${a}/${f}: ${p.cat(`${S}/${a}/${f}`)}`);
  };
  vals();
  p.vmstat();
  p.t(`echo ${cnt} > ${A}/free`);
  vals();
  p.write(`${T}/events/cma/enable`, '0\n');
  p.echo('== trace');
  p.trace(false);
  p.write(`${T}/trace_clock`, 'local\n');
  p.echo("== dmesg | grep -E 'cma|CMA|^=> '");
  p.dmesg(/cma|CMA|^=> /);
  return p.text();
}

// ---------------------------------------------------------------- multirange.sh

export function multirangeSh(sys: CmaSystem): string {
  const p = new Port(sys);
  let a = '';
  let n = 0;
  for (const x of p.ls(D)) {
    const k = p.ls(`${D}/${x}/ranges`).length;
    if (k > n) {
      a = x;
      n = k;
    }
  }
  const A = `${D}/${a}`;
  const opb = Number(p.cat(`${A}/order_per_bit`));
  const cnt = Number(p.cat(`${A}/count`));
  const ranges = p.ls(`${A}/ranges`);
  const st = () => {
    p.echo(
      `  used=${p.cat(`${A}/used`)} maxchunk=${p.cat(`${A}/maxchunk`)} available_pages=${p.cat(`${S}/${a}/available_pages`)}`,
    );
    for (const r of ranges) p.echo(`  ranges/${r}/bitmap: ${p.cat(`${A}/ranges/${r}/bitmap`)}`);
  };
  const link = (l: string) => {
    const t = sys.readlink(`${A}/${l}`);
    return t.ok ? t.target : '';
  };
  p.echo('== kernel');
  p.echo(sys.profile.release);
  p.echo(`== area ${a}: ${n} ranges, count=${cnt} order_per_bit=${opb}`);
  p.echo(`  base_pfn (-> ${link('base_pfn')}): ${p.cat(`${A}/base_pfn`)}`);
  p.echo(`  bitmap   (-> ${link('bitmap')}): ${p.words(`${A}/bitmap`)} words`);
  const pages: Record<string, number> = {};
  for (const r of ranges) {
    const b = Number(p.cat(`${A}/ranges/${r}/base_pfn`));
    const w = p.words(`${A}/ranges/${r}/bitmap`);
    pages[r] = (w * 32) << opb;
    p.echo(`  ranges/${r}: base_pfn=${b} (0x${b.toString(16)}) bitmap_words=${w} -> ${pages[r]} pages`);
  }
  st();
  p.write(`${T}/trace_clock`, 'counter\n');
  p.write(`${T}/trace`, '\n');
  p.write(`${T}/events/cma/enable`, '1\n');
  const ts = (cmd: string) => {
    p.t(cmd);
    st();
  };
  p.echo();
  p.echo('######## first fit goes range by range, in range index order');
  ts(`echo 8 > ${A}/alloc`);
  ts(`echo 512 > ${A}/alloc`);
  ts(`echo ${pages['0']} > ${A}/alloc`);
  ts(`echo 1 > ${A}/alloc`);
  ts(`echo 1 > ${A}/free`);
  ts(`echo ${pages['0']} > ${A}/free`);
  p.echo('--- a block never spans two ranges');
  ts(`echo ${cnt} > ${A}/alloc`);
  ts(`echo 4096 > ${A}/free`);
  p.echo('--- fill every range with one block each');
  for (const r of ranges) p.t(`echo ${pages[r]} > ${A}/alloc`);
  st();
  ts(`echo 1 > ${A}/alloc`);
  const last = ranges[ranges.length - 1]!;
  ts(`echo ${pages[last]} > ${A}/free`);
  ts(`echo 8 > ${A}/alloc`);
  ts(`echo ${cnt} > ${A}/free`);
  p.write(`${T}/events/cma/enable`, '0\n');
  p.echo('== trace');
  p.trace(false);
  if (sys.stat(H).ok) {
    p.echo();
    p.echo('######## 1 GiB hugetlb pages come from the same area (align=18)');
    p.write(`${T}/trace`, '\n');
    p.write(`${T}/events/cma/enable`, '1\n');
    p.t(`echo ${n} > ${H}/nr_hugepages`);
    p.echo(`  nr_hugepages=${p.cat(`${H}/nr_hugepages`)}`);
    st();
    ts(`echo 8 > ${A}/alloc`);
    p.t(`echo 0 > ${H}/nr_hugepages`);
    p.echo(`  nr_hugepages=${p.cat(`${H}/nr_hugepages`)}`);
    st();
    ts(`echo 8 > ${A}/free`);
    p.write(`${T}/events/cma/enable`, '0\n');
    p.echo('== trace');
    p.trace(false);
  }
  p.write(`${T}/trace_clock`, 'local\n');
  p.echo();
  p.echo('== sysfs');
  for (const f of p.ls(`${S}/${a}`)) p.echo(`  ${S}/${a}/${f}: ${p.cat(`${S}/${a}/${f}`)}`);
  p.vmstat();
  p.echo("== dmesg | grep -E 'cma|CMA|^=> '");
  p.dmesg(/cma|CMA|^=> /);
  return p.text();
}

// ---------------------------------------------------------------- ranges.sh / areas.sh

export function rangesSh(sys: CmaSystem): string {
  const p = new Port(sys);
  for (const a of p.ls(D)) {
    const rs = p.lsOrErr(`${D}/${a}/ranges`);
    p.echo(
      `${padRight(a, 10)} count=${p.cat(`${D}/${a}/count`)} order_per_bit=${p.cat(`${D}/${a}/order_per_bit`)} ranges=${rs.length}`,
    );
    for (const r of p.lsOrErr(`${D}/${a}/ranges`)) {
      const b = Number(p.cat(`${D}/${a}/ranges/${r}/base_pfn`));
      const w = p.words(`${D}/${a}/ranges/${r}/bitmap`);
      p.echo(
        `    ranges/${r} base_pfn=${b} (0x${b.toString(16)}, phys 0x${(b * 4096).toString(16)}) bitmap_words=${w}`,
      );
    }
  }
  p.dmesg(/^(cma|hugetlb_cma): /);
  return p.text();
}

export function areasSh(sys: CmaSystem): string {
  const p = new Port(sys);
  for (const a of p.ls(D)) {
    const b = Number(p.cat(`${D}/${a}/base_pfn`));
    p.echo(
      `${padRight(a, 10)} base_pfn=${b} (0x${b.toString(16)}) count=${p.cat(`${D}/${a}/count`)} order_per_bit=${p.cat(`${D}/${a}/order_per_bit`)} bitmap_words=${p.words(`${D}/${a}/bitmap`)}`,
    );
  }
  p.dmesg(/cma: |hugetlb_cma: /);
  return p.text();
}
