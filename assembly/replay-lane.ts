// The replay engine's fast lane in WebAssembly (AssemblyScript; `npm run build:wasm`):
// src/sources/trace/replay-lane.ts is its TypeScript face and documents the protocol. It replays
// the common rows of a parse batch (F = 12 numbers a row, src/sources/trace/parallel-format.ts)
// on ONE one-range area whose index (assembly/indexed-bitmap.ts, another instance) it calls
// through imports bound to that instance, and stops at the first row it does not take: the
// TypeScript engine replays that row (event()), then calls run() again after it.
//
// It keeps the calls in flight of the pids it took (PEND) and the area's `used` bits, peak and
// available_count (ST, copied in and out by the TypeScript side around each run), and the area's
// allocation table: its rows, their pfn index and the latency counts (below 65536 µs), which the
// TypeScript side reads and changes through the t* exports and views (LaneTable).
//
// Memory (byte offsets from __heap_base, 64-byte aligned; made by init()):
//   ROWS  CAP × F × f64   the batch's rows (written by the TypeScript side)
//   COMM  CAP × 16 bytes  their comm cells (likewise)
//   PEND  PIDS × REC      a call per pid: f64 count @0, startTs @8, lastBusyPfn @16; i32 align @24,
//                         bits @28, mask @32, held @36 (-1: nothing held), busy @40, state @44
//                         (0: no call here, 1: a call here, 2: the TypeScript side has the pid's call)
//   LIST  PIDS × i32      the pids with state 1, POS their index in LIST
//   ST    24 × f64        see the ST_ constants
//   FAILEV CAP × i32      event numbers of the failures a run took (ST_ROOM)
//   HIST  65536 × u32     latency counts by whole µs (the lane's; merged into the area's at the end)
//   then a bump heap for the table (regions are moved up, never freed, when they grow):
//   TROWS tCap × 80 bytes rows as LiveTable lays them out: pfn, pages, pid, startTs, finishTs,
//                         busy, line, comm length (f64 each), the comm's 16 bytes right-aligned
//   TFREE tCap × i32      free slots (a stack); TFLAG tCap × u8: 1 = the TypeScript side keeps
//                         something of the row (a count ≥ 2^53, a long task name)
//   HASH  cells × 2 f64   pfn → slot, open addressing, linear probes, backward-shift deletion

import { idxClear, idxFind, idxSet } from './index-imports';

const CAP: i32 = 8192;
const F: i32 = 12;
const PIDS: i32 = 65536;
const REC: i32 = 48;
const ROW: usize = 80;
const DENSE: f64 = 65536;

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
/** The pid of the run's last finish (a success, or a failure taken here), or -1. */
const ST_LAST_PID: i32 = 9;
/**
 * In: 1 when the lane may take failures of no space (the report keeps no more records of them:
 * their counts change, and their event numbers are listed while ST_ROOM allows). Out: ST_FRAG
 * and ST_EXH, this run's such failures by class.
 */
const ST_FAILS: i32 = 10;
const ST_FRAG: i32 = 13;
const ST_EXH: i32 = 14;
/** Out: this run's failures of no space after a busy retry (the busy class, before ST_FRAG/ST_EXH). */
const ST_BUSYFAIL: i32 = 16;
/**
 * In: how many failures' event numbers the report still lists; out: how many this run wrote to
 * FAILEV (each its event's number within the run, 1-based).
 */
const ST_ROOM: i32 = 15;
const ST_SLOTS: i32 = 24;
const ST_LIST: i32 = 11;
/** Latencies counted in HIST. */
const ST_HIST: i32 = 12;

const EV_START: f64 = 1;
const EV_FINISH: f64 = 2;
const EV_BUSY: f64 = 3;
const EV_RELEASE: f64 = 4;

let ROWS: usize = 0;
let COMM: usize = 0;
let HIST: usize = 0;
let PEND: usize = 0;
let LIST: usize = 0;
let POS: usize = 0;
let ST: usize = 0;
let FAILEV: usize = 0;
let base: f64 = 0;
let areaCount: f64 = 0;
let rangeCount: f64 = 0;
let unit: f64 = 1;
/** 1 / unit (a power of two: x / unit and x * invUnit are the same number, without a division). */
let invUnit: f64 = 1;
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
  invUnit = 1 / unit;
  maxno = mx;
  table = tbl != 0;
  let at: usize = (__heap_base + 63) & ~(<usize>63);
  ROWS = at;
  at += <usize>(CAP * F * 8);
  COMM = at;
  at += <usize>(CAP * 16);
  PEND = at;
  at += <usize>(PIDS * REC);
  LIST = at;
  at += <usize>(PIDS * 4);
  POS = at;
  at += <usize>(PIDS * 4);
  ST = at;
  at += <usize>(ST_SLOTS * 8);
  FAILEV = at;
  at += <usize>(CAP * 4);
  HIST = at;
  at += 65536 * 4;
  top = at;
  room(0);
  tGrow(256);
  hInit(256);
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
export function commAt(): usize {
  return COMM;
}
export function histAt(): usize {
  return HIST;
}
export function pendAt(): usize {
  return PEND;
}
export function listAt(): usize {
  return LIST;
}
export function failEvAt(): usize {
  return FAILEV;
}
export function stAt(): usize {
  return ST;
}


// ---------------------------------------------------------------- the allocation table

let top: usize = 0;
let TROWS: usize = 0;
let TFREE: usize = 0;
let TFLAG: usize = 0;
let tCap: i32 = 0;
let tUsed: i32 = 0;
let nFree: i32 = 0;
let HASH: usize = 0;
let hMask: i32 = 0;
let hN: i32 = 0;

/** Grows the memory to hold `top + extra` bytes. */
function room(extra: usize): void {
  const need = <i32>((top + extra + 0xffff) >>> 16);
  const have = memory.size();
  if (need > have) memory.grow(need - have);
}

/** A region of n bytes (64-byte aligned) at the top of the heap. */
function alloc(n: usize): usize {
  room(n + 64);
  const at = (top + 63) & ~(<usize>63);
  top = at + n;
  return at;
}

/** Room for `cap` rows (the rows, free stack and flags move up). */
function tGrow(cap: i32): void {
  const rows = alloc(<usize>cap * ROW);
  const free = alloc(<usize>cap * 4);
  const flag = alloc(<usize>cap);
  if (tCap > 0) {
    memory.copy(rows, TROWS, <usize>tCap * ROW);
    memory.copy(free, TFREE, <usize>nFree * 4);
    memory.copy(flag, TFLAG, <usize>tCap);
  }
  memory.fill(flag + <usize>tCap, 0, <usize>(cap - tCap));
  TROWS = rows;
  TFREE = free;
  TFLAG = flag;
  tCap = cap;
}

/**
 * A free slot (LiveTable: the last freed, else a new one). The rows grow 4× at a time: each
 * growth leaves the old rows behind in the heap, written pages (a page fault each, ~11 µs on
 * this project's VMs) that are not used again, ~1/3 of the final rows instead of all of them
 * with doubling; the new rows are written only as slots are used.
 */
export function tAlloc(): i32 {
  if (nFree > 0) {
    nFree--;
    return load<i32>(TFREE + (<usize>nFree << 2));
  }
  if (tUsed == tCap) tGrow(tCap * 4);
  return tUsed++;
}

/** Frees a slot (its flag cleared). */
export function tFree(slot: i32): void {
  store<u8>(TFLAG + <usize>slot, 0);
  store<i32>(TFREE + (<usize>nFree << 2), slot);
  nFree++;
}

export function tRowsAt(): usize {
  return TROWS;
}
export function tFlagAt(): usize {
  return TFLAG;
}
export function tCapNow(): i32 {
  return tCap;
}
export function hashAt(): usize {
  return HASH;
}
export function hashCells(): i32 {
  return hMask + 1;
}
export function hashSize(): i32 {
  return hN;
}

/** murmur3's 32-bit finalizer over the pfn's low word mixed with its high word (PfnSlots' mix). */
@inline function mix(k: f64): i32 {
  const u = <u64>k;
  let h: i32 = (<i32>(<u32>u)) ^ ((<i32>(<u32>(u >> 32))) * <i32>0x9e3779b1);
  h ^= <i32>(<u32>h >> 16);
  h = h * <i32>0x85ebca6b;
  h ^= <i32>(<u32>h >> 13);
  h = h * <i32>0xc2b2ae35;
  return h ^ <i32>(<u32>h >> 16);
}

@inline function cellKey(i: i32): f64 {
  return load<f64>(HASH + (<usize>i << 4));
}
@inline function cellSlot(i: i32): f64 {
  return load<f64>(HASH + (<usize>i << 4) + 8);
}

function hInit(cells: i32): void {
  HASH = alloc(<usize>cells * 16);
  hMask = cells - 1;
  for (let i = 0; i < cells; i++) store<f64>(HASH + (<usize>i << 4) + 8, -1);
}

/** k's cell, or the empty cell where it would go. */
function hFind(k: f64): i32 {
  let i = mix(k) & hMask;
  while (cellSlot(i) != -1 && cellKey(i) != k) i = (i + 1) & hMask;
  return i;
}

/** Sets k's slot; returns its previous one, or -1. */
export function tPut(k: f64, slot: f64): f64 {
  return putAt(hFind(k), k, slot);
}

/** tPut() at cell i, hFind(k)'s (the table unchanged since): one probe for a lookup and a put. */
function putAt(i: i32, k: f64, slot: f64): f64 {
  const old = cellSlot(i);
  if (old == -1) {
    if (2 * (hN + 1) > hMask + 1) {
      const oldHash = HASH;
      const cells = hMask + 1;
      hInit(cells * 2);
      for (let j = 0; j < cells; j++) {
        const s = load<f64>(oldHash + (<usize>j << 4) + 8);
        if (s == -1) continue;
        const key = load<f64>(oldHash + (<usize>j << 4));
        const at = hFind(key);
        store<f64>(HASH + (<usize>at << 4), key);
        store<f64>(HASH + (<usize>at << 4) + 8, s);
      }
      i = hFind(k);
    }
    hN++;
    store<f64>(HASH + (<usize>i << 4), k);
  }
  store<f64>(HASH + (<usize>i << 4) + 8, slot);
  return old;
}

/** Removes k; returns its slot, or -1. */
export function tTake(k: f64): f64 {
  return takeAt(hFind(k));
}

/** tTake() of the key at cell i, hFind()'s (the table unchanged since). */
function takeAt(i: i32): f64 {
  const old = cellSlot(i);
  if (old == -1) return -1;
  // backward-shift deletion
  for (let j = (i + 1) & hMask; cellSlot(j) != -1; j = (j + 1) & hMask) {
    const h = mix(cellKey(j)) & hMask;
    const stays = i <= j ? i < h && h <= j : i < h || h <= j;
    if (stays) continue;
    store<f64>(HASH + (<usize>i << 4), cellKey(j));
    store<f64>(HASH + (<usize>i << 4) + 8, cellSlot(j));
    i = j;
  }
  store<f64>(HASH + (<usize>i << 4) + 8, -1);
  hN--;
  return old;
}

@inline function rowAt(slot: i32): usize {
  return TROWS + <usize>slot * ROW;
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
 * it does not take; returns that row's index (n: every row). ST has the counts of the rows
 * taken.
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
  let frag = 0;
  let exh = 0;
  let busyFails = 0;
  const takeFails = st(ST_FAILS) == 1;
  const room = <i32>st(ST_ROOM);
  let failEv = 0;
  let lastPid: f64 = -1;
  let hist = 0;
  let i = from;
  for (; i < n; i++) {
    const r = ROWS + <usize>i * <usize>(F * 8);
    // an extra (7.x/6.12/Android fields, a long comm, a count ≥ 2^53) or another area
    if (load<f64>(r + 11 * 8) >= 0 || load<f64>(r + 5 * 8) != nameId) break;
    const kind = load<f64>(r);
    if (kind == EV_RELEASE) {
      const pfn = load<f64>(r + 9 * 8);
      const count = load<f64>(r + 7 * 8);
      if (!(pfn >= base && pfn < base + rangeCount) || pfn != Math.floor(pfn)) break;
      const bitF = Math.floor((pfn - base) * invUnit);
      const bitsF = Math.floor((count + unit - 1) * invUnit);
      if (!(bitF < <f64>maxno && bitsF >= 0 && bitF + bitsF <= <f64>maxno)) break;
      // the row's record: one the TypeScript side keeps something of goes there (its cell is
      // found once, for the lookup and the take below)
      let slot: f64 = -1;
      let cell = 0;
      if (table) {
        cell = hFind(pfn);
        slot = cellSlot(cell);
        if (slot >= 0 && load<u8>(TFLAG + <usize>(<i32>slot)) != 0) break;
      }
      events++;
      releases++;
      avail = Math.min(areaCount, avail + count);
      const bits = <i32>bitsF;
      const was = bits > 0 ? idxClear(<i32>bitF, bits) : 0;
      used -= was;
      if (was != bits) freeReleases++;
      if (slot >= 0) {
        takeAt(cell);
        const row = rowAt(<i32>slot);
        const pages = load<f64>(row + 8);
        if (count < pages) {
          // debugfs partial free: the first pages of the record go
          store<f64>(row, pfn + count);
          store<f64>(row + 8, pages - count);
          tPut(pfn + count, slot);
        } else tFree(<i32>slot);
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
      const bitsF = Math.floor((count + unit - 1) * invUnit);
      if (!(bitsF >= 1 && bitsF <= <f64>maxno)) break;
      const alignOrder = load<f64>(r + 8 * 8);
      // (Math.max(NaN, 0) is NaN on the TypeScript side: such a row is its)
      if (alignOrder != alignOrder) break;
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
      if (load<f64>(r + 10 * 8) == 0) {
        // a failed call: taken when it failed here too (nothing held) at the same count and
        // alignment, with the pfn a 6.1 failure prints (-1, or the last busy pfn), and the
        // report keeps no record of it (ST_FAILS); class as failNoSpace() gives it
        if (!takeFails || state != 1) break;
        const align = load<f64>(r + 8 * 8);
        const pfn = load<f64>(r + 9 * 8);
        if (
          load<f64>(rec) != load<f64>(r + 7 * 8) ||
          !(align < 0 || <f64>load<i32>(rec + 24) == align) ||
          load<i32>(rec + 36) >= 0 ||
          !(pfn == -1 || pfn == load<f64>(rec + 16))
        )
          break;
        events++;
        if (failEv < room) {
          store<i32>(FAILEV + (<usize>failEv << 2), events);
          failEv++;
        }
        if (load<i32>(rec + 40) > 0) busyFails++;
        else if (<f64>(maxno - used) * unit >= <f64>load<i32>(rec + 28) * unit) frag++;
        else exh++;
        lastPid = pidF;
        store<i32>(rec + 44, 0);
        listRemove(pid);
        continue;
      }
      // a comm in an extra
      if (load<f64>(r + 10 * 8) != 1 || load<f64>(r + 6 * 8) < 0) break;
      if (state != 1 || !matches(rec, r)) break;
      const pfn = load<f64>(r + 9 * 8);
      const startTs = load<f64>(rec + 8);
      const ts = load<f64>(r + 4 * 8);
      const lat = ts - startTs;
      let cell = 0;
      if (table) {
        // a latency the dense counts do not take, or a row at the pfn that the TypeScript side
        // keeps something of: the TypeScript side
        if (lat - lat == 0 && !(lat >= 0 && lat < DENSE && Math.floor(lat) == lat)) break;
        if (pfn != Math.floor(pfn)) break;
        cell = hFind(pfn);
        const at = cellSlot(cell);
        if (at >= 0 && load<u8>(TFLAG + <usize>(<i32>at)) != 0) break;
      }
      events++;
      oks++;
      lastPid = pidF;
      store<i32>(rec + 44, 0);
      listRemove(pid);
      if (table) {
        if (lat - lat == 0) {
          const h = HIST + (<usize>(<i32>lat) << 2);
          store<u32>(h, load<u32>(h) + 1);
          hist++;
        }
        const slot = tAlloc();
        const row = rowAt(slot);
        const commLen = load<f64>(r + 6 * 8);
        store<f64>(row, pfn);
        store<f64>(row + 8, load<f64>(r + 7 * 8));
        store<f64>(row + 16, pidF);
        store<f64>(row + 24, startTs);
        store<f64>(row + 32, ts);
        store<f64>(row + 40, <f64>load<i32>(rec + 40));
        store<f64>(row + 48, load<f64>(r + 1 * 8));
        store<f64>(row + 56, commLen);
        const c = COMM + (<usize>i << 4);
        store<u64>(row + 64, load<u64>(c));
        store<u64>(row + 72, load<u64>(c + 8));
        // a row at the same pfn is displaced (dropped: nothing is handed out while the lane runs);
        // the cell is the lookup's (tAlloc() may move the rows, not the index)
        const old = putAt(cell, pfn, <f64>slot);
        if (old >= 0) tFree(<i32>old);
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
  setSt(ST_FRAG, <f64>frag);
  setSt(ST_ROOM, <f64>failEv);
  setSt(ST_EXH, <f64>exh);
  setSt(ST_BUSYFAIL, <f64>busyFails);
  setSt(ST_HIST, st(ST_HIST) + <f64>hist);
  setSt(ST_LIST, <f64>nList);
  return i;
}
