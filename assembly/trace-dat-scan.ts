// The trace.dat reader's fast path (src/sources/trace/trace-dat-wasm.ts drives it), compiled to
// WebAssembly for the binary decode worker: it walks the CPUs' ring-buffer pages (as
// ring-buffer.ts's PageReader: time deltas, time extends, absolute timestamps, padding, the
// missed-events marks), merges the CPUs' records by timestamp (the lower CPU on ties, as
// trace-dat.ts's MergedRecords), counts records of events nobody asked for, and writes the
// records of the plain cma events (those with a fast plan: trace-dat-reader.ts's FastPlan) as
// batch records (parallel-format.ts's layout: 12 f64 per event, a 16-byte task-name cell per
// event). Any other record is handed back to the TypeScript side, which decodes it as before;
// so is everything that needs a lookup (a pid's task name, a new area name). Timestamps are
// doubles computed in the same order as the TypeScript side computes them, so the numbers are
// the same bit for bit. Little-endian files only.
//
// Memory (byte offsets, set by init): per-CPU state (CPU_STRIDE bytes each), the action of each
// event id (a byte: 0 not wanted, 255 hand back, k the fast plan k - 1), the fast plans
// (PLAN_STRIDE bytes each), the pid → task-name cache (COMM_SLOTS slots), the current area
// name's raw bytes, the records, their task-name cells, then each CPU's page buffer.

const CPU_STRIDE: usize = 64;
const PLAN_STRIDE: usize = 64;
const MAX_PLANS: usize = 254;
const COMM_SLOTS: u32 = 8192;
const COMM_STRIDE: usize = 24;
const MAX_NAME: u32 = 65536;

// per-CPU state offsets
const C_BASE = 0; // u32: the page buffer's address
const C_LEN = 4; // u32: bytes in it
const C_AT = 8; // u32: the next page's offset in it
const C_FLAGS = 12; // u32: LIVE | EOF
const C_POS = 16; // i64: the page walk's position (address)
const C_END = 24; // i64: the page's data end (address)
const C_TS = 32; // f64: the current record's timestamp
const C_START = 40; // u32: the current record's data (address)
const C_RLEN = 44; // u32: its length
const C_CPU = 48; // f64: the CPU number

const LIVE: u32 = 1;
const EOF: u32 = 4;

// plan offsets (i32 each; -1: the format has no such field)
const P_KIND = 0;
const P_PID = 4;
const P_COUNT = 8;
const P_COUNT8 = 12;
const P_ALIGN = 16;
const P_ALIGN8 = 20;
const P_PFN = 24;
const P_PFN8 = 28;
const P_PAGE = 32;
const P_PAGE8 = 36;
const P_FIXED_END = 40;
/** 0: no name field, 1: char[N], 2: __data_loc, 3: __rel_loc. */
const P_NAME_MODE = 44;
const P_NAME_OFF = 48;
const P_NAME_SIZE = 52;

/** run()'s answers. */
const DONE = 0;
const FULL = 1;
const NEED_PAGES = 2;
const NEED_COMM = 3;
const NEED_NAME = 4;
const RECORD = 5;

const TWO32: f64 = 4294967296.0;
const TWO27: f64 = 134217728.0;
const TWO53: f64 = 9007199254740992.0;
const TWO59: f64 = 576460752303423488.0;
const EV_ALLOC: i32 = 5;

let CPUS: usize = 0;
/** Each CPU slot's next record's timestamp (f64; +Infinity once its data is done): the merge's keys. */
let KEYS: usize = 0;
let TYPES: usize = 0;
/** Whether init() ran before on this instance. */
let initDone: bool = false;
let PLANS: usize = 0;
let COMMS_CACHE: usize = 0;
let NAME: usize = 0;
let REC: usize = 0;
let CELLS: usize = 0;
let ncpu: i32 = 0;
let pageSize: u32 = 0;
let tsOff: u32 = 0;
let commitOff: u32 = 0;
let dataOff: u32 = 0;
let longSize: u32 = 8;
let typeOff: u32 = 0;
let counterClock = false;

let picked = false;
/** A CPU slot whose advance waits for pages (-1: none); CPU slots before `starting` have started. */
let pending: i32 = -1;
let starting: i32 = 0;
let handed = false;
let cur: i32 = -1;
let recordNo: f64 = 0;
let others: f64 = 0;
let lostEvents: f64 = 0;
let lostPages: f64 = 0;
let rowsOut: i32 = 0;
let needCpuAt: i32 = -1;
let needPidOf: i32 = 0;
let nameLen: u32 = 0;
let nameSet = false;

/**
 * Lays out memory for `cpus` CPUs with page buffers of `region` bytes and `maxRecords` records,
 * for pages of `ps` bytes whose header has the timestamp at `tOff`, the commit word at `cOff`
 * and the data at `dOff`; `lsz` is the file's long size, `tyOff` where a record's 2-byte event
 * id is, `counter` whether the clock is a counter (timestamps kept as they are, not ns → µs).
 * Returns 0, or -1 when there is no memory.
 */
export function init(
  cpus: i32,
  region: u32,
  maxRecords: u32,
  ps: u32,
  tOff: u32,
  cOff: u32,
  dOff: u32,
  lsz: u32,
  tyOff: u32,
  counter: bool,
): i32 {
  ncpu = cpus;
  pageSize = ps;
  tsOff = tOff;
  commitOff = cOff;
  dataOff = dOff;
  longSize = lsz;
  typeOff = tyOff;
  counterClock = counter;
  const base = (<usize>__heap_base + 63) & ~(<usize>63);
  CPUS = base;
  KEYS = CPUS + <usize>cpus * CPU_STRIDE;
  TYPES = (KEYS + <usize>cpus * 8 + 63) & ~(<usize>63);
  PLANS = TYPES + 65536;
  COMMS_CACHE = PLANS + MAX_PLANS * PLAN_STRIDE;
  NAME = COMMS_CACHE + <usize>COMM_SLOTS * COMM_STRIDE;
  REC = NAME + MAX_NAME;
  CELLS = REC + <usize>maxRecords * 96;
  const bufs = (CELLS + <usize>maxRecords * 16 + 63) & ~(<usize>63);
  // 64 bytes of slack after the last buffer (word-wise reads past a record's end)
  const end = <u64>bufs + <u64>cpus * <u64>region + 64;
  if (end > 0xfff00000) return -1;
  const pages = <i32>((end + 0xffff) >> 16) - memory.size();
  if (pages > 0 && memory.grow(pages) < 0) return -1;
  // zero as grown when init runs on a new instance, as trace-dat-wasm.ts's does (clearing ~1 MB
  // there, most of it pages nothing else writes, was a page fault per 4 KiB): a second init clears
  if (initDone) memory.fill(CPUS, 0, bufs - CPUS);
  initDone = true;
  for (let c: i32 = 0; c < cpus; c++) {
    const s = CPUS + <usize>c * CPU_STRIDE;
    store<u32>(s + C_BASE, <u32>(bufs + <usize>c * region));
    store<u32>(s + C_FLAGS, 0);
  }
  for (let k: u32 = 0; k < COMM_SLOTS; k++) store<i32>(COMMS_CACHE + <usize>k * COMM_STRIDE, -1, 4);
  for (let c: i32 = 0; c < cpus; c++) store<f64>(KEYS + (<usize>c << 3), Infinity);
  picked = false;
  handed = false;
  pending = -1;
  starting = 0;
  cur = -1;
  recordNo = 0;
  others = 0;
  lostEvents = 0;
  lostPages = 0;
  nameSet = false;
  return 0;
}

export function typesAt(): usize {
  return TYPES;
}
export function plansAt(): usize {
  return PLANS;
}
export function recordsAt(): usize {
  return REC;
}
export function cellsAt(): usize {
  return CELLS;
}
export function nameAt(): usize {
  return NAME;
}
/** The raw bytes of the area name NEED_NAME asks about (at nameAt()). */
export function nameBytes(): u32 {
  return nameLen;
}
/** Where CPU slot c's pages go. */
export function cpuBufAt(c: i32): usize {
  return <usize>load<u32>(CPUS + <usize>c * CPU_STRIDE + C_BASE);
}
/** CPU slot c's number (in the records it yields). */
export function setCpu(c: i32, cpu: f64): void {
  store<f64>(CPUS + <usize>c * CPU_STRIDE + C_CPU, cpu);
}
/** CPU slot c's buffer now holds `len` bytes of pages (from its start); `eof`: no more will come. */
export function setCpuBuf(c: i32, len: u32, eof: bool): void {
  const s = CPUS + <usize>c * CPU_STRIDE;
  store<u32>(s + C_LEN, len);
  store<u32>(s + C_AT, 0);
  const f = load<u32>(s + C_FLAGS);
  store<u32>(s + C_FLAGS, eof ? f | EOF : f & ~EOF);
}
/** Fills the task-name cache slot of `pid`: `len` bytes (> 16: too long), its 16-byte cell words. */
export function setComm(pid: i32, len: i32, w0: i32, w1: i32, w2: i32, w3: i32): void {
  const s = COMMS_CACHE + <usize>(<u32>pid & (COMM_SLOTS - 1)) * COMM_STRIDE;
  store<i32>(s, pid);
  store<i32>(s, len, 4);
  store<i32>(s, w0, 8);
  store<i32>(s, w1, 12);
  store<i32>(s, w2, 16);
  store<i32>(s, w3, 20);
}
/** The rows the last run() wrote. */
export function rows(): i32 {
  return rowsOut;
}
/** NEED_PAGES: which CPU slot. */
export function needCpu(): i32 {
  return needCpuAt;
}
/** NEED_COMM: which pid. */
export function needPid(): i32 {
  return needPidOf;
}
/** Records walked so far (the current one's number). */
export function records(): f64 {
  return recordNo;
}
/** Records of events with action 0. */
export function otherRecords(): f64 {
  return others;
}
export function lost(): f64 {
  return lostEvents;
}
export function lostPageCount(): f64 {
  return lostPages;
}
/** The current record (RECORD): its CPU slot, timestamp, data address and length. */
export function curCpu(): i32 {
  return cur;
}
export function curTs(): f64 {
  return load<f64>(CPUS + <usize>cur * CPU_STRIDE + C_TS);
}
export function curStart(): u32 {
  return load<u32>(CPUS + <usize>cur * CPU_STRIDE + C_START);
}
export function curLen(): u32 {
  return load<u32>(CPUS + <usize>cur * CPU_STRIDE + C_RLEN);
}

@inline function u32at(p: usize): u32 {
  return load<u32>(p);
}
@inline function u64f(p: usize): f64 {
  return <f64>load<u32>(p + 4) * TWO32 + <f64>load<u32>(p);
}

/** Starts CPU state s on the page at address `at` (as PageReader.reset). */
function reset(s: usize, at: usize): void {
  store<f64>(s + C_TS, u64f(at + tsOff));
  const commit = u32at(at + commitOff);
  let size = <i64>(commit & ((1 << 27) - 1));
  const dataMax = <i64>pageSize - <i64>dataOff;
  if (size > dataMax) size = dataMax;
  const pos = <i64>at + <i64>dataOff;
  const end = pos + size;
  store<i64>(s + C_POS, pos);
  store<i64>(s + C_END, end);
  if ((commit & 0x80000000) != 0) {
    let n: f64 = -1;
    if ((commit & 0x40000000) != 0 && end + <i64>longSize <= <i64>at + <i64>pageSize) {
      const v = longSize == 8 ? u64f(<usize>end) : <f64>u32at(<usize>end);
      if (v > 0) n = v;
    }
    lostPages += 1;
    if (n > 0) lostEvents += n;
  }
}

/** The next data record of CPU state s's page (as PageReader.next); false at the page's end. */
function pageNext(s: usize): bool {
  let pos = load<i64>(s + C_POS);
  const end = load<i64>(s + C_END);
  let ts = load<f64>(s + C_TS);
  while (pos + 4 <= end) {
    const p = <usize>pos;
    const w = u32at(p);
    const typeLen = w & 31;
    const delta = w >>> 5;
    if (typeLen == 29) {
      if (delta == 0 || pos + 8 > end) {
        pos = end;
        break;
      }
      ts += <f64>delta;
      pos = pos + 4 + <i64>u32at(p + 4);
      continue;
    }
    if (typeLen == 30) {
      if (pos + 8 > end) {
        pos = end;
        break;
      }
      ts += <f64>u32at(p + 4) * TWO27 + <f64>delta;
      pos += 8;
      continue;
    }
    if (typeLen == 31) {
      if (pos + 8 > end) {
        pos = end;
        break;
      }
      const abs = <f64>u32at(p + 4) * TWO27 + <f64>delta;
      const top = Math.floor(ts / TWO59) * TWO59;
      ts = abs + (abs < TWO59 ? top : 0);
      pos += 8;
      continue;
    }
    ts += <f64>delta;
    let start: i64;
    let len: i64;
    if (typeLen == 0) {
      if (pos + 8 > end) {
        pos = end;
        break;
      }
      const l = u32at(p + 4);
      if (l < 4) {
        pos = end;
        break;
      }
      start = pos + 8;
      len = <i64>l - 4;
      pos = pos + 4 + <i64>l;
    } else {
      start = pos + 4;
      len = <i64>typeLen * 4;
      pos = pos + 4 + len;
    }
    if (pos > end) {
      pos = end;
      break;
    }
    store<i64>(s + C_POS, pos);
    store<f64>(s + C_TS, ts);
    store<u32>(s + C_START, <u32>start);
    store<u32>(s + C_RLEN, <u32>len);
    return true;
  }
  store<i64>(s + C_POS, pos);
  store<f64>(s + C_TS, ts);
  return false;
}

/**
 * Moves CPU slot c to its next record (MergedRecords' advance), its key to that record's
 * timestamp (+Infinity when its data is done); false: it needs pages first.
 */
function advance(c: i32): bool {
  const s = CPUS + <usize>c * CPU_STRIDE;
  for (;;) {
    let f = load<u32>(s + C_FLAGS);
    if ((f & LIVE) != 0 && pageNext(s)) {
      store<f64>(KEYS + (<usize>c << 3), load<f64>(s + C_TS));
      return true;
    }
    const at = load<u32>(s + C_AT);
    if (<u64>at + <u64>pageSize <= <u64>load<u32>(s + C_LEN)) {
      reset(s, <usize>load<u32>(s + C_BASE) + <usize>at);
      store<u32>(s + C_AT, at + pageSize);
      store<u32>(s + C_FLAGS, f | LIVE);
      continue;
    }
    if ((f & EOF) != 0) {
      store<u32>(s + C_FLAGS, f & ~LIVE);
      store<f64>(KEYS + (<usize>c << 3), Infinity);
      return true;
    }
    return false;
  }
}

/** Whether the n bytes at a and b are the same (8 at a time: reads up to 7 bytes past both). */
@inline function sameBytes(a: usize, b: usize, n: u32): bool {
  let q: u32 = 0;
  for (; q + 8 <= n; q += 8) if (load<u64>(a + q) != load<u64>(b + q)) return false;
  if (q == n) return true;
  const sh = <u64>(8 - (n - q)) << 3;
  return (load<u64>(a + q) << sh) == (load<u64>(b + q) << sh);
}

/** Math.round of a non-negative double (halves up). */
@inline function roundHalfUp(x: f64): f64 {
  const f = Math.floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

/**
 * Walks records in timestamp order, writing those of fast plans as rows 0, 1, … (at most `max`,
 * with name id `nameId`), until it needs the TypeScript side: returns DONE, FULL (`max` rows),
 * NEED_PAGES (needCpu()), NEED_COMM (needPid()), NEED_NAME (a record's area name differs from
 * the last one's: its raw bytes at nameAt()) or RECORD (the current record is for the
 * TypeScript side to decode). rows() is how many rows it wrote. The next call goes on where it
 * stopped (past the RECORD).
 */
export function run(max: i32, nameId: f64): i32 {
  let k: i32 = 0;
  let r = REC;
  let c16 = CELLS;
  if (handed) {
    handed = false;
    picked = false;
    pending = cur;
  }
  while (true) {
    if (!picked) {
      // the CPU slots not started yet, then the one whose record was the last
      while (starting < ncpu) {
        if (!advance(starting)) {
          needCpuAt = starting;
          rowsOut = k;
          return NEED_PAGES;
        }
        starting++;
      }
      if (pending >= 0) {
        if (!advance(pending)) {
          needCpuAt = pending;
          rowsOut = k;
          return NEED_PAGES;
        }
        pending = -1;
      }
      // the smallest timestamp, the lower slot on ties
      let best: i32 = -1;
      let bestTs: f64 = Infinity;
      for (let c: i32 = 0; c < ncpu; c++) {
        const ts = load<f64>(KEYS + (<usize>c << 3));
        if (ts < bestTs) {
          best = c;
          bestTs = ts;
        }
      }
      if (best < 0) {
        rowsOut = k;
        return DONE;
      }
      cur = best;
      picked = true;
      recordNo += 1;
    }
    if (k >= max) {
      rowsOut = k;
      return FULL;
    }
    const s = CPUS + <usize>cur * CPU_STRIDE;
    const base = <usize>load<u32>(s + C_START);
    const len = load<u32>(s + C_RLEN);
    let action: u32 = 0;
    if (typeOff + 2 <= len) action = <u32>load<u8>(TYPES + <usize>load<u16>(base + typeOff));
    if (action == 0) {
      others += 1;
      picked = false;
      pending = cur;
      continue;
    }
    if (action == 255) {
      handed = true;
      rowsOut = k;
      return RECORD;
    }
    const pl = PLANS + <usize>(action - 1) * PLAN_STRIDE;
    if (len < load<u32>(pl + P_FIXED_END)) {
      handed = true;
      rowsOut = k;
      return RECORD;
    }
    let count: f64 = 0;
    const countAt = load<i32>(pl + P_COUNT);
    if (countAt >= 0) {
      count = load<i32>(pl + P_COUNT8) != 0 ? u64f(base + <usize>countAt) : <f64>u32at(base + <usize>countAt);
      if (count >= TWO53) {
        handed = true;
        rowsOut = k;
        return RECORD;
      }
    }
    const pidAt = load<i32>(pl + P_PID);
    const pid: i32 = pidAt >= 0 ? load<i32>(base + <usize>pidAt) : 0;
    const slot = COMMS_CACHE + <usize>(<u32>pid & (COMM_SLOTS - 1)) * COMM_STRIDE;
    const commLen = load<i32>(slot, 4);
    if (commLen < 0 || load<i32>(slot) != pid) {
      needPidOf = pid;
      rowsOut = k;
      return NEED_COMM;
    }
    if (commLen > 16) {
      handed = true;
      rowsOut = k;
      return RECORD;
    }
    // the area name's raw bytes against the last one's
    const mode = load<i32>(pl + P_NAME_MODE);
    let ns: u32 = 0;
    let nn: u32 = 0;
    if (mode != 0) {
      const off = <u32>load<i32>(pl + P_NAME_OFF);
      const size = <u32>load<i32>(pl + P_NAME_SIZE);
      if (mode == 1) {
        ns = off;
        nn = size;
      } else {
        if (off + 4 > len) {
          handed = true;
          rowsOut = k;
          return RECORD;
        }
        const v = u32at(base + off);
        ns = (v & 0xffff) + (mode == 3 ? off + size : 0);
        nn = v >>> 16;
      }
      if (<u64>ns + <u64>nn > <u64>len) {
        handed = true;
        rowsOut = k;
        return RECORD;
      }
    }
    if (!nameSet || nn != nameLen || !sameBytes(base + ns, NAME, nn)) {
      memory.copy(NAME, base + ns, nn);
      nameLen = nn;
      nameSet = true;
      rowsOut = k;
      return NEED_NAME;
    }
    let pfn: f64 = NaN;
    const pfnAt = load<i32>(pl + P_PFN);
    if (pfnAt >= 0) {
      const at = base + <usize>pfnAt;
      if (load<i32>(pl + P_PFN8) != 0) {
        const lo = u32at(at);
        const hi = u32at(at + 4);
        pfn = lo == 0xffffffff && hi == 0xffffffff ? -1 : <f64>hi * TWO32 + <f64>lo;
      } else {
        const v = u32at(at);
        pfn = v == 0xffffffff ? -1 : <f64>v;
      }
    }
    let align: f64 = -1;
    const alignAt = load<i32>(pl + P_ALIGN);
    if (alignAt >= 0) align = load<i32>(pl + P_ALIGN8) != 0 ? u64f(base + <usize>alignAt) : <f64>u32at(base + <usize>alignAt);
    const kind = load<i32>(pl + P_KIND);
    let hasPage: bool;
    const pageAt = load<i32>(pl + P_PAGE);
    if (pageAt >= 0) {
      const at = base + <usize>pageAt;
      hasPage = u32at(at) != 0 || (load<i32>(pl + P_PAGE8) != 0 && u32at(at + 4) != 0);
    } else hasPage = kind == EV_ALLOC ? pfn >= 0 : false;
    const ts = load<f64>(s + C_TS);
    store<f64>(r, <f64>kind);
    store<f64>(r, recordNo, 8);
    store<f64>(r, <f64>pid, 16);
    store<f64>(r, load<f64>(s + C_CPU), 24);
    store<f64>(r, counterClock ? ts : roundHalfUp(ts / 1000), 32);
    store<f64>(r, nameId, 40);
    store<f64>(r, <f64>commLen, 48);
    store<f64>(r, count, 56);
    store<f64>(r, align, 64);
    store<f64>(r, pfn, 72);
    store<f64>(r, hasPage ? 1 : 0, 80);
    store<f64>(r, -1, 88);
    store<u64>(c16, load<u64>(slot, 8));
    store<u64>(c16, load<u64>(slot, 16), 8);
    k++;
    r += 96;
    c16 += 16;
    picked = false;
    pending = cur;
  }
  return DONE;
}
