// The replay engine's fast lane in WebAssembly (AssemblyScript; `npm run build:wasm`):
// src/sources/trace/replay-lane.ts is its TypeScript face and documents the protocol. It replays
// the common rows of a parse batch (F = 12 numbers a row, src/sources/trace/parallel-format.ts)
// on ONE one-range area whose index (assembly/indexed-bitmap.ts, another instance) it calls
// through imports bound to that instance, and stops at the first row it does not take: the
// TypeScript engine replays that row (event()), then calls run() again after it.
//
// It keeps the calls in flight of the pids it took (PEND) and the area's `used` bits, peak and
// available_count (ST, copied in and out by the TypeScript side around each run); the allocation
// table stays on the TypeScript side, which applies the rows' table operations (OPS) after each
// run, in order.
//
// Memory (byte offsets from __heap_base, 64-byte aligned; made by init()):
//   ROWS  CAP × F × f64   the batch's rows (written by the TypeScript side)
//   OPS   CAP × OPW × f64 table operations of the run: [1, pfn, count, pid, startTs, ts, busy,
//                         line, comm cell, comm length] (a successful finish) or [2, pfn, count, ts]
//                         (a release)
//   PEND  PIDS × REC      a call per pid: f64 count @0, startTs @8, lastBusyPfn @16; i32 align @24,
//                         bits @28, mask @32, held @36 (-1: nothing held), busy @40, state @44
//                         (0: no call here, 1: a call here, 2: the TypeScript side has the pid's call)
//   LIST  PIDS × i32      the pids with state 1, POS their index in LIST
//   ST    16 × f64        see the ST_ constants

@external('index', 'set')
declare function idxSet(start: i32, n: i32): i32;
@external('index', 'clear')
declare function idxClear(start: i32, n: i32): i32;
@external('index', 'findArea')
declare function idxFind(start: i32, nr: i32, mask: i32, off: i32): i32;

const CAP: i32 = 8192;
const F: i32 = 12;
const OPW: i32 = 10;
const PIDS: i32 = 65536;
const REC: i32 = 48;

// ST: in (set by the TypeScript side before run) and out (after it)
const ST_USED: i32 = 0;
const ST_PEAK: i32 = 1;
const ST_AVAIL: i32 = 2;
// out: this run's counts
const ST_EVENTS: i32 = 3;
const ST_STARTS: i32 = 4;
const ST_OK: i32 = 5;
const ST_RELEASES: i32 = 6;
const ST_BUSY: i32 = 7;
const ST_FREE_RELEASES: i32 = 8;
/** The pid of the run's last successful finish, or -1. */
const ST_LAST_PID: i32 = 9;
const ST_OPS: i32 = 10;
const ST_LIST: i32 = 11;

const EV_START: f64 = 1;
const EV_FINISH: f64 = 2;
const EV_BUSY: f64 = 3;
const EV_RELEASE: f64 = 4;

let ROWS: usize = 0;
let OPS: usize = 0;
let PEND: usize = 0;
let LIST: usize = 0;
let POS: usize = 0;
let ST: usize = 0;
let base: f64 = 0;
let areaCount: f64 = 0;
let rangeCount: f64 = 0;
let unit: f64 = 1;
let maxno: i32 = 0;
let table: bool = true;
let nList: i32 = 0;
/** cma_bitmap_aligned_mask and _offset by alignment order 0–63 (mask -1: not for the index's int32 arguments). */
const MASKS: usize = memory.data(64 * 4);
const OFFS: usize = memory.data(64 * 4);

/** 2^e, exactly. */
function pow2(e: i32): f64 {
  let v: f64 = 1;
  for (let k = 0; k < e; k++) v *= 2;
  return v;
}

/** Lays out the memory for an area (range 0 at pfn b, `rcount` pages, `cnt` pages in all, order_per_bit o, `mx` bits). */
export function init(b: f64, cnt: f64, rcount: f64, o: i32, mx: i32, tbl: i32): void {
  base = b;
  areaCount = cnt;
  rangeCount = rcount;
  unit = pow2(o);
  maxno = mx;
  table = tbl != 0;
  let at: usize = (__heap_base + 63) & ~(<usize>63);
  ROWS = at;
  at += <usize>(CAP * F * 8);
  OPS = at;
  at += <usize>(CAP * OPW * 8);
  PEND = at;
  at += <usize>(PIDS * REC);
  LIST = at;
  at += <usize>(PIDS * 4);
  POS = at;
  at += <usize>(PIDS * 4);
  ST = at;
  at += 16 * 8;
  const need = <i32>((at + 0xffff) >>> 16);
  const have = memory.size();
  if (need > have) memory.grow(need - have);
  for (let a = 0; a < 64; a++) {
    const m: f64 = a <= o ? 0 : pow2(a - o) - 1;
    const off: f64 = Math.floor((b % pow2(a)) / unit);
    const ok = m < 1073741824 && off < 1073741824;
    store<i32>(MASKS + <usize>(a * 4), ok ? <i32>m : -1);
    store<i32>(OFFS + <usize>(a * 4), ok ? <i32>off : 0);
  }
}

export function rowsAt(): usize {
  return ROWS;
}
export function opsAt(): usize {
  return OPS;
}
export function pendAt(): usize {
  return PEND;
}
export function listAt(): usize {
  return LIST;
}
export function stAt(): usize {
  return ST;
}

@inline function st(k: i32): f64 {
  return load<f64>(ST + (<usize>k << 3));
}
@inline function setSt(k: i32, v: f64): void {
  store<f64>(ST + (<usize>k << 3), v);
}

@inline function listAdd(pid: i32): void {
  store<i32>(LIST + (<usize>nList << 2), pid);
  store<i32>(POS + (<usize>pid << 2), nList);
  nList++;
}

function listRemove(pid: i32): void {
  const k = load<i32>(POS + (<usize>pid << 2));
  nList--;
  const last = load<i32>(LIST + (<usize>nList << 2));
  store<i32>(LIST + (<usize>k << 2), last);
  store<i32>(POS + (<usize>last << 2), k);
}

/** The pid's call goes to the TypeScript side (state 2), or its state is set (0 or 2) when it has none here. */
export function mark(pid: i32, state: i32): void {
  const rec = PEND + <usize>pid * REC;
  if (load<i32>(rec + 44) == 1) {
    listRemove(pid);
    setSt(ST_LIST, <f64>nList);
  }
  store<i32>(rec + 44, state);
}

/**
 * A finish or busy row for the call at `rec` that the TypeScript engine would take without an
 * anomaly or mismatch: the same count and alignment, a placement held at the row's pfn.
 */
@inline function matches(rec: usize, r: usize): bool {
  const align = load<f64>(r + 8 * 8);
  const held = load<i32>(rec + 36);
  return (
    load<f64>(rec) == load<f64>(r + 7 * 8) &&
    (align < 0 || <f64>load<i32>(rec + 24) == align) &&
    held >= 0 &&
    base + <f64>held * unit == load<f64>(r + 9 * 8)
  );
}

/**
 * Replays rows [from, n) of ROWS (their area's name id `nameId` in the batch) up to the first row
 * it does not take; returns that row's index (n: every row). ST has the counts and OPS the table
 * operations of the rows taken.
 */
export function run(from: i32, n: i32, nameId: f64): i32 {
  let used = <i32>st(ST_USED);
  let peak = <i32>st(ST_PEAK);
  let avail = st(ST_AVAIL);
  let events = 0;
  let starts = 0;
  let oks = 0;
  let releases = 0;
  let busys = 0;
  let freeReleases = 0;
  let lastPid: f64 = -1;
  let ops = 0;
  let i = from;
  for (; i < n; i++) {
    const r = ROWS + <usize>i * <usize>(F * 8);
    // an extra (7.x/6.12/Android fields, a long comm, a count ≥ 2^53) or another area
    if (load<f64>(r + 11 * 8) >= 0 || load<f64>(r + 5 * 8) != nameId) break;
    const kind = load<f64>(r);
    if (kind == EV_RELEASE) {
      const pfn = load<f64>(r + 9 * 8);
      const count = load<f64>(r + 7 * 8);
      if (!(pfn >= base && pfn < base + rangeCount)) break;
      const bitF = Math.floor((pfn - base) / unit);
      const bitsF = Math.floor((count + unit - 1) / unit);
      if (!(bitF < <f64>maxno && bitsF >= 0 && bitF + bitsF <= <f64>maxno)) break;
      events++;
      releases++;
      avail = Math.min(areaCount, avail + count);
      const bits = <i32>bitsF;
      const was = bits > 0 ? idxClear(<i32>bitF, bits) : 0;
      used -= was;
      if (was != bits) freeReleases++;
      if (table) {
        const op = OPS + <usize>ops * <usize>(OPW * 8);
        store<f64>(op, 2);
        store<f64>(op + 8, pfn);
        store<f64>(op + 16, count);
        store<f64>(op + 24, load<f64>(r + 4 * 8));
        ops++;
      }
      continue;
    }
    const pidF = load<f64>(r + 2 * 8);
    if (!(pidF >= 0 && pidF < <f64>PIDS)) break;
    const pid = <i32>pidF;
    if (<f64>pid != pidF) break;
    const rec = PEND + <usize>pid * REC;
    const state = load<i32>(rec + 44);
    if (kind == EV_START) {
      const count = load<f64>(r + 7 * 8);
      if (state != 0 || count == 0) break;
      const bitsF = Math.floor((count + unit - 1) / unit);
      if (!(bitsF >= 1 && bitsF <= <f64>maxno)) break;
      const alignOrder = load<f64>(r + 8 * 8);
      const align: f64 = alignOrder > 0 ? alignOrder : 0;
      if (!(align < 64) || align != Math.floor(align)) break;
      const ai = <i32>align;
      const mask = load<i32>(MASKS + <usize>(ai * 4));
      if (mask < 0) break;
      events++;
      starts++;
      const bits = <i32>bitsF;
      let held = idxFind(0, bits, mask, load<i32>(OFFS + <usize>(ai * 4)));
      if (held < maxno) {
        used += idxSet(held, bits);
        if (used > peak) peak = used;
      } else held = -1;
      store<f64>(rec, count);
      store<f64>(rec + 8, load<f64>(r + 4 * 8));
      store<f64>(rec + 16, -1);
      store<i32>(rec + 24, ai);
      store<i32>(rec + 28, bits);
      store<i32>(rec + 32, mask);
      store<i32>(rec + 36, held);
      store<i32>(rec + 40, 0);
      store<i32>(rec + 44, 1);
      listAdd(pid);
    } else if (kind == EV_FINISH) {
      // a failed call, or a comm in an extra
      if (load<f64>(r + 10 * 8) != 1 || load<f64>(r + 6 * 8) < 0) break;
      if (state != 1 || !matches(rec, r)) break;
      events++;
      oks++;
      lastPid = pidF;
      store<i32>(rec + 44, 0);
      listRemove(pid);
      if (table) {
        const op = OPS + <usize>ops * <usize>(OPW * 8);
        store<f64>(op, 1);
        store<f64>(op + 8, load<f64>(r + 9 * 8));
        store<f64>(op + 16, load<f64>(r + 7 * 8));
        store<f64>(op + 24, pidF);
        store<f64>(op + 32, load<f64>(rec + 8));
        store<f64>(op + 40, load<f64>(r + 4 * 8));
        store<f64>(op + 48, <f64>load<i32>(rec + 40));
        store<f64>(op + 56, load<f64>(r + 1 * 8));
        store<f64>(op + 64, <f64>(4 * i));
        store<f64>(op + 72, load<f64>(r + 6 * 8));
        ops++;
      }
    } else if (kind == EV_BUSY) {
      if (state != 1 || !matches(rec, r)) break;
      events++;
      busys++;
      store<i32>(rec + 40, load<i32>(rec + 40) + 1);
      store<f64>(rec + 16, load<f64>(r + 9 * 8));
      const held = load<i32>(rec + 36);
      const bits = load<i32>(rec + 28);
      const mask = load<i32>(rec + 32);
      used -= idxClear(held, bits);
      // EBUSY: the search goes on after the block (from at most maxno, as the index's face clamps)
      let start = held + mask + 1;
      if (start > maxno) start = maxno;
      let nb = idxFind(start, bits, mask, load<i32>(OFFS + <usize>(load<i32>(rec + 24) * 4)));
      if (nb < maxno) {
        used += idxSet(nb, bits);
        if (used > peak) peak = used;
      } else nb = -1;
      store<i32>(rec + 36, nb);
    } else break;
  }
  setSt(ST_USED, <f64>used);
  setSt(ST_PEAK, <f64>peak);
  setSt(ST_AVAIL, avail);
  setSt(ST_EVENTS, <f64>events);
  setSt(ST_STARTS, <f64>starts);
  setSt(ST_OK, <f64>oks);
  setSt(ST_RELEASES, <f64>releases);
  setSt(ST_BUSY, <f64>busys);
  setSt(ST_FREE_RELEASES, <f64>freeReleases);
  setSt(ST_LAST_PID, lastPid);
  setSt(ST_OPS, <f64>ops);
  setSt(ST_LIST, <f64>nList);
  return i;
}
