// What the kernel log says about CMA on a device without debugfs: the areas reserved at boot
// (base and size), the allocation failures (area, request, error) and, since 6.12, the free-range
// dump printed after each failure (cma_debug_show_areas): the exact free runs at that moment.
//
// Lines may carry any of the usual prefixes (`<6>`, `[  1.234567]`, `[  1.234567][  T123]`,
// a journal's `… kernel: `); busybox dmesg prints none.

import { SourceError } from './tree.ts';

/** A `cma: Reserved …` / `Reserved memory: created CMA memory pool …` boot line. */
export interface LogReservation {
  /** Pages (4 KiB). */
  readonly pages: number;
  /** First pfn, or null when the line gives no address (7.x hugetlb: `in N ranges`). */
  readonly basePfn: number | null;
  /** 7.x `in N ranges`. */
  readonly ranges: number | null;
  /** Device-tree node name (`OF: reserved mem: … linux,cma`), when the log names it. */
  readonly name: string | null;
  /** `on node N` (6.12+; -1 = any node). */
  readonly node: number | null;
  /** 1-based line number. */
  readonly line: number;
}

/** `hugetlb_cma: reserved N MiB on node K`: the area hugetlbK. */
export interface LogHugetlb {
  readonly name: string;
  readonly pages: number;
  readonly line: number;
}

/** One free-area dump (cma_debug_show_areas) as printed. */
export interface LogDump {
  /** Free runs per range: pages and first bit (from the range's start). One range on 6.x. */
  readonly ranges: { pages: number; bit: number }[][];
  /** 7.x block format (`range N:` lines). */
  readonly multiRange: boolean;
  readonly free: number;
  readonly total: number;
  readonly line: number;
}

/** `cma: <func>: <area>: alloc failed, req-size: N pages, ret: E` and the dump after it. */
export interface LogFailure {
  /** Area name, or null on kernels that do not print it (and for a suppressed line). */
  readonly area: string | null;
  /** null: the failure line was suppressed by the ratelimit, only its dump was printed. */
  readonly func: string | null;
  readonly request: number | null;
  readonly ret: number | null;
  readonly line: number;
  readonly dump: LogDump | null;
}

/** Everything CMA in a kernel log. */
export interface DeviceLog {
  readonly reservations: LogReservation[];
  readonly hugetlb: LogHugetlb[];
  readonly failures: LogFailure[];
  /** Failure lines the ratelimit dropped (`<func>: N callbacks suppressed`). */
  readonly suppressed: number;
  /** `Memory: …K cma-reserved` (pages), when printed. */
  readonly cmaReservedPages: number | null;
  readonly lines: number;
}

/** Strips the prefixes a kernel log line may carry. */
function stripLogPrefix(raw: string): string {
  return raw
    .replace(/\r$/, '')
    .replace(/^<\d+>/, '')
    .replace(/^.*? kernel: /, '')
    .replace(/^\[\s*[\d.]+\](?:\[\s*[TC]\d+\])?\s?/, '');
}

function runs(text: string, at: string): { pages: number; bit: number }[] {
  const t = text.trim().replace(/^\+/, '').replace(/\+$/, '');
  if (t === '') return [];
  return t.split('+').map((r) => {
    const m = /^(\d+)@(\d+)$/.exec(r);
    if (!m) throw new SourceError(`${at}: '${r.slice(0, 30)}' is not <pages>@<bit> in the free-area dump`);
    return { pages: Number(m[1]), bit: Number(m[2]) };
  });
}

const MIB = 256; // pages per MiB

/** Parses a kernel log; throws SourceError (with the line) only for a malformed free-area dump. */
export function parseDeviceLog(text: string, where = 'dmesg'): DeviceLog {
  const reservations: LogReservation[] = [];
  const hugetlb: LogHugetlb[] = [];
  const failures: { -readonly [K in keyof LogFailure]: LogFailure[K] }[] = [];
  let suppressed = 0;
  let cmaReservedPages: number | null = null;
  let block: { ranges: { pages: number; bit: number }[][]; multiRange: boolean; line: number } | null = null;
  let awaitingDump = false;
  let pendingPool: { pages: number; basePfn: number; line: number } | null = null;
  const lines = text.split('\n');
  // the failure line is ratelimited, the dump after it is not: a dump with no failure line
  // before it is a failure whose line was suppressed
  const attach = (dump: LogDump) => {
    const last = failures[failures.length - 1];
    if (awaitingDump && last) last.dump = dump;
    else failures.push({ func: null, area: null, request: null, ret: null, line: dump.line, dump });
    awaitingDump = false;
  };
  lines.forEach((raw, i) => {
    const line = stripLogPrefix(raw);
    const no = i + 1;
    const at = `${where}:${no}`;
    let m = /^cma: Reserved (\d+) MiB at (?:0x)?([0-9a-f]+)(?: on node (-?\d+))?/.exec(line);
    if (m) {
      reservations.push({
        pages: Number(m[1]) * MIB,
        basePfn: Number(BigInt(`0x${m[2]}`) / 4096n),
        ranges: null,
        name: null,
        node: m[3] !== undefined ? Number(m[3]) : null,
        line: no,
      });
      return;
    }
    m = /^cma: Reserved (\d+) MiB in (\d+) ranges?/.exec(line);
    if (m) {
      reservations.push({
        pages: Number(m[1]) * MIB,
        basePfn: null,
        ranges: Number(m[2]),
        name: null,
        node: null,
        line: no,
      });
      return;
    }
    m = /^hugetlb_cma: reserved (\d+) MiB on node (\d+)/.exec(line);
    if (m) {
      hugetlb.push({ name: `hugetlb${m[2]}`, pages: Number(m[1]) * MIB, line: no });
      return;
    }
    // device tree: "Reserved memory: created CMA memory pool at 0x…, size 32 MiB" then
    // "OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool"
    m = /^Reserved memory: created CMA memory pool at 0x([0-9a-f]+), size (\d+) MiB/.exec(line);
    if (m) {
      pendingPool = { pages: Number(m[2]) * MIB, basePfn: Number(BigInt(`0x${m[1]}`) / 4096n), line: no };
      return;
    }
    m = /^OF: reserved mem: initialized node ([^,\s]+(?:,[^,\s]+)?), compatible id shared-dma-pool/.exec(
      line,
    );
    if (m && pendingPool) {
      reservations.push({ ...pendingPool, ranges: null, name: m[1]!, node: null });
      pendingPool = null;
      return;
    }
    // newer kernels: "OF: reserved mem: 0x…..0x… (32768 KiB) map reusable linux,cma"
    m = /^OF: reserved mem: 0x([0-9a-f]+)\.\.0x([0-9a-f]+) \((\d+) KiB\) (?:no)?map reusable (\S+)/.exec(
      line,
    );
    if (m) {
      reservations.push({
        pages: Number(m[3]) / 4,
        basePfn: Number(BigInt(`0x${m[1]}`) / 4096n),
        ranges: null,
        name: m[4]!,
        node: null,
        line: no,
      });
      return;
    }
    m = /^Memory: .*?(\d+)K cma-reserved/.exec(line);
    if (m) {
      cmaReservedPages = Number(m[1]) / 4;
      return;
    }
    m = /^cma: (\w+): (?:(.+): )?alloc failed, req-size: (\d+) pages, ret: (-?\d+)/.exec(line);
    if (m) {
      block = null;
      awaitingDump = true;
      failures.push({
        func: m[1]!,
        area: m[2] ?? null,
        request: Number(m[3]),
        ret: Number(m[4]),
        line: no,
        dump: null,
      });
      return;
    }
    m = /^(?:cma_alloc|__cma_alloc|__cma_alloc_frozen|cma_alloc_frozen): (\d+) callbacks suppressed/.exec(
      line,
    );
    if (m) {
      suppressed += Number(m[1]);
      return;
    }
    m = /^cma: number of available pages: ?(.*?)(?:=> (\d+) free of (\d+) total pages)?\s*$/.exec(line);
    if (m) {
      const first = m[1]!.trim() === '' ? [] : [runs(m[1]!, at)];
      if (m[2] !== undefined)
        attach({ ranges: first, multiRange: false, free: Number(m[2]), total: Number(m[3]), line: no });
      else block = { ranges: first, multiRange: false, line: no };
      return;
    }
    if (block) {
      m = /^cma: range (\d+): ?(.*)$/.exec(line);
      if (m) {
        if (Number(m[1]) !== block.ranges.length)
          throw new SourceError(`${at}: range ${m[1]} out of order in the free-area dump`);
        block.multiRange = true;
        block.ranges.push(runs(m[2]!, at));
        return;
      }
      if (/^cma:\s*$/.test(line)) return;
      // a dump longer than one printk record goes on in lines without a prefix
      m = /^(\+?\d+@\d+(?:\+\d+@\d+)*\+?)?\s*(?:=> (\d+) free of (\d+) total pages)?\s*$/.exec(line);
      if (m && (m[1] !== undefined || m[2] !== undefined)) {
        if (m[1] !== undefined) {
          if (block.ranges.length === 0) block.ranges.push([]);
          block.ranges[block.ranges.length - 1]!.push(...runs(m[1], at));
        }
        if (m[2] !== undefined) {
          attach({
            ranges: block.ranges.length === 0 ? [[]] : block.ranges,
            multiRange: block.multiRange,
            free: Number(m[2]),
            total: Number(m[3]),
            line: block.line,
          });
          block = null;
        }
        return;
      }
      block = null; // something else: the dump was cut
    }
  });
  return { reservations, hugetlb, failures, suppressed, cmaReservedPages, lines: lines.length };
}
