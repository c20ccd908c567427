// The Perfetto reader's fast path (src/sources/trace/perfetto.ts) compiled to WebAssembly, for
// the binary worker: it decodes the FtraceEvents of a FtraceEventBundle (the typed
// cma_alloc_start and the generic cma events in the layout Perfetto writes), holds them in the
// reader's reorder window (per-CPU queues in (ts, seq) order, merged: the earliest goes out once
// more than `window` are held), and writes the events that leave it as batch records
// (parallel-format.ts's layout: 12 f64 per event, a 16-byte task-name cell per event).
// Every event it does not read exactly as the JavaScript decoder does (other typed messages such
// as cma_alloc_info, rare fields, unknown area names, non-canonical or truncated encodings) is
// left to that decoder: bundle() stops before it, and the decoder pushes what it reads into the
// same window (push()). Rows it cannot write as plain records (rare fields, task names over 16
// bytes, pids it has no name for) stop delivery, and the TypeScript side writes them.
// src/sources/trace/perfetto-wasm.ts is its TypeScript face.

// ---- memory (byte offsets, set by init) ----
let IN: usize = 0;
let SCRATCH: usize = 0;
let TMP: usize = 0;
/** The queues' rings are allocated in the arena (blocks of 2^k rows; freed ones kept by size). */
let ARENA: usize = 0;
let arenaEnd: usize = 0;
let arenaTop: usize = 0;
const FREE_BLOCKS = memory.data(32 * 4);
/**
 * The ring of the events out: each slot's event as a batch record (REC, COMM) when this module
 * writes its row, else as its row (OUT, for the TypeScript side); SLOTS tells which (the name
 * id, or -2).
 */
let OUT: usize = 0;
let SLOTS: usize = 0;
/** Where the records the last deliver() wrote start (a slot). */
let deliveredFrom: i32 = 0;
/** A ring could not grow (the arena is used up): the window is the reader's from now on. */
let full: bool = false;
let QUEUES: usize = 0;
/**
 * The merge's order: each non-empty queue's entry (by its first event's ts, then seq), 16 bytes:
 * that ts (f64), and the seq and queue as one key (seq << 10 | queue: in seq order, as seqs are
 * unique).
 */
let ORDER: usize = 0;
let REC: usize = 0;
let COMM: usize = 0;
let COMMTAB: usize = 0;
let NAMES: usize = 0;
let NAMEBYTES: usize = 0;
let KINDS: usize = 0;
let FIELDS: usize = 0;
/** Other events' names the reader picks out (perfetto.ts PerfettoMmOptions): such events are left to it. */
let MMS: usize = 0;

const TMP_BYTES: u32 = 4096;
/** Queues (the TypeScript side maps CPUs onto these; any mapping keeps the merge's order). */
const QMAX: i32 = 1024;
/**
 * Task-name table: open addressing, at most half full. An entry's key is pid + 1 (0: empty), so
 * the table is empty as memory.grow() leaves it: init() writes none of its 1 MiB (every page
 * written there was a page fault, ~11 µs each on this project's VMs, for pages most traces never
 * use: a trace has a few hundred pids).
 */
const CT_BITS: u32 = 15;
const CT_CAP: u32 = 1 << CT_BITS;
const CT_MAX: u32 = CT_CAP >> 1;
const CT_ENTRY: usize = 32;
/** Area names known here (by their bytes): more are left to JavaScript. */
const NMAX: i32 = 1024;
const NAMEBYTES_CAP: u32 = 1 << 16;
const KMAX: i32 = 16;
const FMAX: i32 = 32;
const MMMAX: i32 = 16;
/** Kind and field name entries: the word's length, its value, its bytes (up to 40: the first 8 zero-padded). */
const WORD: usize = 48;

/**
 * A held event, one cache line: ts, seq, count, align, pfn, pid (f64), name id, CPU id (i32),
 * kind, hasPage, rare (u8). A queue's rows are a ring of its own (in (ts, seq) order): read and
 * written in sequence, as the CPU's events come.
 */
const ROW: usize = 64;
const R_TS: usize = 0;
const R_SEQ: usize = 8;
const R_COUNT: usize = 16;
const R_ALIGN: usize = 24;
const R_PFN: usize = 32;
const R_PID: usize = 40;
const R_NAME: usize = 48;
const R_CPU: usize = 52;
const R_KIND: usize = 56;
const R_PAGE: usize = 57;
const R_RARE: usize = 58;
/** Rows of a queue's first ring (it doubles when full). */
const RING0: i32 = 256;
/** CPU numbers by id (the TypeScript side numbers them; rows of a larger id are its to write). */
const CPUMAX: i32 = 1 << 16;
let CPUS: usize = 0;

// events.ts's kinds
const EV_START: u8 = 1;
const EV_ALLOC: u8 = 5;
// perfetto.ts's generic field codes (FIELD_NAMES order)
const F_NAME: i32 = 0;
const F_PFN: i32 = 1;
const F_START: i32 = 2;
const F_PAGE: i32 = 3;
const F_COUNT: i32 = 4;
const F_REQUEST_COUNT: i32 = 5;
const F_ALIGN: i32 = 6;

const TWO53: u64 = 1 << 53;

let window: i32 = 0;
let outMax: i32 = 0;
let held: i32 = 0;
let orderLen: i32 = 0;
let ringHead: i32 = 0;
let ringCount: i32 = 0;
let seq: f64 = 0;
let lastTs: f64 = -Infinity;
let late: f64 = 0;
let nFtrace: f64 = 0;
let nEvents: f64 = 0;
let nLost: f64 = 0;
let stopPos: u32 = 0;
let ctUsed: u32 = 0;
/** Whether init() ran before on this instance. */
let initDone: bool = false;
let ctFull: bool = false;
let nNames: i32 = 0;
let nameBytesUsed: u32 = 0;
let lastName: i32 = -1;
let nKinds: i32 = 0;
let nFields: i32 = 0;
let nMms: i32 = 0;
/** Every generic event of another name is left to JavaScript (an mm name too long for the table). */
let mmAll: bool = false;
/** The cma kinds (bit k) the reader also picks out as other events: left to it. */
let mmKinds: u32 = 0;
// the default task-name cells: '<...>' (no name known) and '<idle>' (pid 0)
let unknownLen: i32 = 0;
let idleLen: i32 = 0;
const unknownCell = memory.data(16);
const idleCell = memory.data(16);

/**
 * Lays out memory: an input region of `inCap` bytes (the file's chunks are read into it), a
 * scratch region of `scratchCap` bytes (bundles copied in), a reorder window of `win` events and
 * at most `maxOut` events out at a time. Returns 0, or -1 (no memory).
 */
export function init(inCap: u32, scratchCap: u32, win: i32, maxOut: i32, arenaBytes: u32): i32 {
  window = win;
  // (a power of 2)
  outMax = maxOut;
  let at = ((<usize>__heap_base + 63) & ~(<usize>63));
  IN = at;
  at = (at + inCap + 64 + 63) & ~(<usize>63);
  SCRATCH = at;
  at = (at + scratchCap + 64 + 63) & ~(<usize>63);
  TMP = at;
  at += TMP_BYTES;
  CPUS = at;
  at += <usize>CPUMAX * 8;
  OUT = (at + 63) & ~(<usize>63);
  // (takeHeld() copies the whole window there)
  at = OUT + <usize>(win + 8 > maxOut ? win + 8 : maxOut) * ROW;
  QUEUES = at;
  at += <usize>QMAX * 16;
  ORDER = at;
  at += <usize>QMAX * 16;
  REC = at;
  at += <usize>maxOut * 96;
  SLOTS = at;
  at += <usize>maxOut * 4;
  COMM = at;
  at += <usize>maxOut * 16;
  COMMTAB = at;
  at += <usize>CT_CAP * CT_ENTRY;
  NAMES = at;
  at += <usize>NMAX * 12;
  NAMEBYTES = at;
  at += NAMEBYTES_CAP;
  KINDS = at;
  at += <usize>KMAX * WORD;
  FIELDS = at;
  at += <usize>FMAX * WORD;
  MMS = at;
  at += <usize>MMMAX * WORD;
  // (the byte compares read up to 8 bytes past a table's end)
  at += 64;
  ARENA = (at + 63) & ~(<usize>63);
  arenaEnd = ARENA + arenaBytes;
  arenaTop = ARENA;
  at = arenaEnd;
  const pages = <i32>((at + 0xffff) >> 16) - memory.size();
  if (pages > 0 && memory.grow(pages) < 0) return -1;
  // queues: no ring (base 0), head 0, size 0, mask 0
  memory.fill(QUEUES, 0, <usize>QMAX * 16);
  memory.fill(FREE_BLOCKS, 0, 32 * 4);
  // the task-name table is zero as grown (see CT_CAP) when init runs on a new instance, as
  // perfetto-wasm.ts's does: only a second init clears it
  if (initDone) memory.fill(COMMTAB, 0, <usize>CT_CAP * CT_ENTRY);
  initDone = true;
  ctUsed = 0;
  ctFull = false;
  lastPid = -1;
  return 0;
}
/** CPU id's number. */
export function setCpu(id: i32, cpu: f64): void {
  if (id >= 0 && id < CPUMAX) store<f64>(CPUS + (<usize>id << 3), cpu);
}
export function inAt(): usize {
  return IN;
}
export function scratchAt(): usize {
  return SCRATCH;
}
export function tmpAt(): usize {
  return TMP;
}
export function recordsAt(): usize {
  return REC;
}
export function commsAt(): usize {
  return COMM;
}
/** Where the last bundle() stopped. */
export function pos(): u32 {
  return stopPos;
}
export function ftraceEvents(): f64 {
  return nFtrace;
}
export function events(): f64 {
  return nEvents;
}
export function lostBundles(): f64 {
  return nLost;
}
export function lateEvents(): f64 {
  return late;
}
export function heldEvents(): i32 {
  return held;
}
/** Whether a ring could not grow (then the reader takes the window: takeHeld()). */
export function isFull(): bool {
  return full;
}
export function lastTime(): f64 {
  return lastTs;
}
export function nextSeq(): f64 {
  return seq;
}

/** A queue: its ring's address (0: none), mask (rows - 1), head and size. */
@inline function queue(q: i32): usize {
  return QUEUES + (<usize>q << 4);
}
@inline function qRow(Q: usize, k: i32): usize {
  return <usize>load<u32>(Q) + (<usize>((load<i32>(Q, 8) + k) & load<i32>(Q, 4)) << 6);
}

// ---- tables the TypeScript side fills (bytes written at TMP first) ----

/** Whether the n bytes at a and b are equal (both may be read up to 8 bytes further). */
function bytesEqual(a: usize, b: usize, n: u32): bool {
  let k: u32 = 0;
  for (; k + 8 <= n; k += 8) if (load<u64>(a + k) != load<u64>(b + k)) return false;
  if (k == n) return true;
  const mask = (<u64>1 << (<u64>(n - k) << 3)) - 1;
  return ((load<u64>(a + k) ^ load<u64>(b + k)) & mask) == 0;
}

/** Area name `id` is the `len` bytes at TMP (ignored when the table is full or has them). */
export function addName(len: u32, id: i32): void {
  if (nNames >= NMAX || nameBytesUsed + len > NAMEBYTES_CAP) return;
  if (findName(TMP, len) >= 0) return;
  const e = NAMES + <usize>nNames * 12;
  store<u32>(e, nameBytesUsed);
  store<u32>(e, len, 4);
  store<i32>(e, id, 8);
  memory.copy(NAMEBYTES + nameBytesUsed, TMP, len);
  nameBytesUsed += len;
  nNames++;
}
/** The id of the name of `len` bytes at p, or -1 (the last one found is tried first). */
function findName(p: usize, len: u32): i32 {
  if (lastName >= 0) {
    const e = NAMES + <usize>lastName * 12;
    if (load<u32>(e, 4) == len && bytesEqual(NAMEBYTES + load<u32>(e), p, len)) return load<i32>(e, 8);
  }
  for (let i = 0; i < nNames; i++) {
    const e = NAMES + <usize>i * 12;
    if (load<u32>(e, 4) == len && bytesEqual(NAMEBYTES + load<u32>(e), p, len)) {
      lastName = i;
      return load<i32>(e, 8);
    }
  }
  return -1;
}

/** A generic event name (bytes at TMP) of a cma kind, or a generic field name and its code. */
export function addKind(len: u32, kind: i32): void {
  if (nKinds < KMAX) addWord(KINDS, nKinds++, len, kind);
}
export function addField(len: u32, code: i32): void {
  if (nFields < FMAX) addWord(FIELDS, nFields++, len, code);
}
/** An other event's name (bytes at TMP) the reader picks out. */
export function addMmName(len: u32): void {
  if (nMms < MMMAX && len <= 40) addWord(MMS, nMms++, len, 1);
  else mmAll = true;
}
/** The cma kinds (bit k) the reader picks out as other events too. */
export function setMmKinds(mask: u32): void {
  mmKinds = mask;
}
function addWord(table: usize, i: i32, len: u32, v: i32): void {
  const e = table + <usize>i * WORD;
  // longer words are never compared with (no field or event name is that long)
  store<u32>(e, len > 40 ? 0xffffffff : len);
  store<i32>(e, v, 4);
  memory.fill(e + 8, 0, 40);
  memory.copy(e + 8, TMP, len > 40 ? 0 : len);
}
/** Per place (0: the event name; 8 × kind + j: field j of an event of that kind), the entry that matched there last. */
const hints = memory.data(256);
/** Whether the word entry e has the `len` bytes at p (which may be read 8 bytes on). */
@inline function wordIs(e: usize, p: usize, len: u32): bool {
  if (load<u32>(e) != len) return false;
  if (len <= 8) {
    const mask = len == 8 ? 0xffffffffffffffff : (<u64>1 << (<u64>len << 3)) - 1;
    return ((load<u64>(p) ^ load<u64>(e, 8)) & mask) == 0;
  }
  return bytesEqual(e + 8, p, len);
}
/**
 * The value of the word of `len` bytes at p in `table` (`n` entries), or -1; the entry that
 * matched at place `h` (hints) last is tried first.
 */
function findWord(table: usize, n: i32, p: usize, len: u32, h: u32): i32 {
  const hp = hints + (<usize>(h & 63) << 2);
  const last = load<i32>(hp);
  if (last < n && wordIs(table + <usize>last * WORD, p, len)) return load<i32>(table + <usize>last * WORD, 4);
  for (let i = 0; i < n; i++) {
    const e = table + <usize>i * WORD;
    if (wordIs(e, p, len)) {
      store<i32>(hp, i);
      return load<i32>(e, 4);
    }
  }
  return -1;
}

/**
 * The task name of `pid` as a 16-byte cell of `len` bytes (words w0..w3; len over 16: no cell).
 * pid -1: the name of pids without one ('<...>'); -2: pid 0's ('<idle>').
 */
export function setComm(pid: i32, len: i32, w0: i32, w1: i32, w2: i32, w3: i32): void {
  lastPid = -1;
  let c: usize;
  if (pid == -1) {
    unknownLen = len;
    c = unknownCell;
  } else if (pid == -2) {
    idleLen = len;
    c = idleCell;
  } else {
    if (pid < 0) return;
    let h = (<u32>pid * 0x9e3779b1) >> (32 - CT_BITS);
    const key = <u32>pid + 1;
    for (;;) {
      const e = COMMTAB + <usize>h * CT_ENTRY;
      const k = load<u32>(e);
      if (k == key) break;
      if (k == 0) {
        if (ctUsed >= CT_MAX) {
          ctFull = true;
          return;
        }
        ctUsed++;
        store<u32>(e, key);
        break;
      }
      h = (h + 1) & (CT_CAP - 1);
    }
    const e = COMMTAB + <usize>h * CT_ENTRY;
    store<i32>(e, len, 4);
    c = e + 8;
  }
  store<i32>(c, w0);
  store<i32>(c, w1, 4);
  store<i32>(c, w2, 8);
  store<i32>(c, w3, 12);
}

let commLen: i32 = 0;
/** The last pid commOf found in the table (-1: none; setComm forgets it), its cell and its name's length. */
let lastPid: f64 = -1;
let lastCell: usize = 0;
let lastLen: i32 = 0;
/** The cell of pid's task name (commLen its length), or 0: a name JavaScript writes (over 16 bytes, or not known here). */
function commOf(pid: f64): usize {
  if (pid == lastPid) {
    commLen = lastLen;
    return lastCell;
  }
  if (pid == 0) {
    commLen = idleLen;
    return idleCell;
  }
  if (!(pid > 0 && pid < 2147483648.0)) return 0;
  const p = <i32>pid;
  if (<f64>p != pid) return 0;
  let h = (<u32>p * 0x9e3779b1) >> (32 - CT_BITS);
  const key = <u32>p + 1;
  for (;;) {
    const e = COMMTAB + <usize>h * CT_ENTRY;
    const k = load<u32>(e);
    if (k == key) {
      const l = load<i32>(e, 4);
      if (l > 16) return 0;
      commLen = l;
      lastPid = pid;
      lastCell = e + 8;
      lastLen = l;
      return e + 8;
    }
    if (k == 0) break;
    h = (h + 1) & (CT_CAP - 1);
  }
  if (ctFull) return 0;
  commLen = unknownLen;
  return unknownCell;
}

// ---- the reorder window (perfetto.ts Decoder.push/emitFirst) ----

@inline function before(ta: f64, ka: u64, tb: f64, kb: u64): bool {
  return ta < tb || (ta == tb && ka < kb);
}
@inline function orderKey(q: i32, sq: f64): u64 {
  return (<u64>sq << 10) | <u64>q;
}
@inline function orderQ(i: i32): i32 {
  return <i32>load<u64>(ORDER + (<usize>i << 4), 8) & (QMAX - 1);
}
@inline function orderTs(i: i32): f64 {
  return load<f64>(ORDER + (<usize>i << 4));
}
@inline function orderK(i: i32): u64 {
  return load<u64>(ORDER + (<usize>i << 4), 8);
}
@inline function setOrder(i: i32, q: i32, ts: f64, sq: f64): void {
  const o = ORDER + (<usize>i << 4);
  store<f64>(o, ts);
  store<u64>(o, orderKey(q, sq), 8);
}
@inline function moveOrder(to: i32, from: i32): void {
  store<v128>(ORDER + (<usize>to << 4), load<v128>(ORDER + (<usize>from << 4)));
}
/** Queue q, its first event (ts, sq), at order[i] or before: past the queues whose first event is later. */
function raise(i: i32, q: i32, ts: f64, sq: f64): void {
  const k = orderKey(q, sq);
  for (; i > 0 && before(ts, k, orderTs(i - 1), orderK(i - 1)); i--) moveOrder(i, i - 1);
  setOrder(i, q, ts, sq);
}

/** Copies a row. */
@inline function copyRow(to: usize, from: usize): void {
  store<v128>(to, load<v128>(from));
  store<v128>(to, load<v128>(from, 16), 16);
  store<v128>(to, load<v128>(from, 32), 32);
  store<v128>(to, load<v128>(from, 48), 48);
}

/**
 * Bytes between blocks carved from the arena (17 cache lines). The queues' rings are powers of
 * two and each CPU's is read and written at about the same pace, so back to back their heads
 * (and tails) sat at the same offsets modulo the caches' set strides and evicted each other:
 * gpu-1g.pftrace decoded in 210 ms with the window of 16384 events, against 126 ms with 4096
 * (bench/run.ts's Perfetto form, min of 5 on this thread). With this gap between blocks each
 * ring starts at another offset modulo 4 KiB and 64 KiB, and the same file decodes in ~137 ms.
 */
const BLOCK_GAP: usize = 17 * 64;

/** A block of 2^k rows (0: the arena is used up). */
function allocRows(k: i32): usize {
  const f = FREE_BLOCKS + (<usize>k << 2);
  const b = <usize>load<u32>(f);
  if (b != 0) {
    store<u32>(f, load<u32>(b));
    return b;
  }
  const size = <usize>ROW << k;
  if (arenaTop + size > arenaEnd) return 0;
  const r = arenaTop;
  arenaTop += size + BLOCK_GAP;
  return r;
}
function freeRows(b: usize, k: i32): void {
  const f = FREE_BLOCKS + (<usize>k << 2);
  store<u32>(b, load<u32>(f));
  store<u32>(f, <u32>b);
}

/** Makes room for a row in queue q: false when its ring cannot grow. */
function room(q: i32): bool {
  const Q = queue(q);
  const base = <usize>load<u32>(Q);
  const mask = load<i32>(Q, 4);
  const size = load<i32>(Q, 12);
  if (base != 0 && size <= mask) return true;
  const rows = base == 0 ? RING0 : (mask + 1) << 1;
  const k = <i32>ctz(<u32>rows);
  const nb = allocRows(k);
  if (nb == 0) {
    full = true;
    return false;
  }
  if (base != 0) {
    // its rows from head to the end, then from 0 to head
    const head = load<i32>(Q, 8);
    const n1 = mask + 1 - head;
    memory.copy(nb, base + (<usize>head << 6), <usize>n1 << 6);
    memory.copy(nb + (<usize>n1 << 6), base, <usize>head << 6);
    freeRows(base, <i32>ctz(<u32>(mask + 1)));
  }
  store<u32>(Q, <u32>nb);
  store<i32>(Q, rows - 1, 4);
  store<i32>(Q, 0, 8);
  return true;
}

/**
 * A new row at the end of queue q (room() made) for an event of time ts: moved before the rows
 * of a later time (none, as a rule); returns its address, where the caller writes the event.
 */
function slot(q: i32, ts: f64): usize {
  const Q = queue(q);
  const base = <usize>load<u32>(Q);
  const mask = load<i32>(Q, 4);
  const head = load<i32>(Q, 8);
  const size = load<i32>(Q, 12);
  store<i32>(Q, size + 1, 12);
  let k = size;
  while (k > 0) {
    const before = base + (<usize>((head + k - 1) & mask) << 6);
    if (load<f64>(before + R_TS) <= ts) break;
    copyRow(base + (<usize>((head + k) & mask) << 6), before);
    k--;
  }
  return base + (<usize>((head + k) & mask) << 6);
}

/** Puts the event into queue q (room() made); returns its seq. */
function place(
  q: i32,
  ts: f64,
  pid: f64,
  kind: i32,
  count: f64,
  align: f64,
  pfn: f64,
  hasPage: i32,
  nameId: i32,
  cpu: i32,
  rare: i32,
): f64 {
  const Q = queue(q);
  const wasEmpty = load<i32>(Q, 12) == 0;
  const p = slot(q, ts);
  const s = seq;
  seq += 1;
  store<f64>(p + R_TS, ts);
  store<f64>(p + R_SEQ, s);
  store<f64>(p + R_COUNT, count);
  store<f64>(p + R_ALIGN, align);
  store<f64>(p + R_PFN, pfn);
  store<f64>(p + R_PID, pid);
  store<i32>(p + R_NAME, nameId);
  store<i32>(p + R_CPU, cpu);
  store<u8>(p + R_KIND, <u8>kind);
  store<u8>(p + R_PAGE, <u8>hasPage);
  store<u8>(p + R_RARE, <u8>rare);
  if (wasEmpty) {
    orderLen++;
    raise(orderLen - 1, q, ts, s);
  } else if (p == qRow(Q, 0)) {
    let i = 0;
    while (orderQ(i) != q) i++;
    raise(i, q, ts, s);
  }
  if (++held > window) emitFirst();
  return s;
}

/** Moves the earliest held event to the ring of events out. */
function emitFirst(): void {
  const q = orderQ(0);
  const Q = queue(q);
  const r = qRow(Q, 0);
  const ts = load<f64>(r + R_TS);
  if (ts < lastTs) late++;
  else lastTs = ts;
  outSlot(r, ts, (ringHead + ringCount) & (outMax - 1));
  ringCount++;
  const size = load<i32>(Q, 12) - 1;
  store<i32>(Q, size, 12);
  store<i32>(Q, (load<i32>(Q, 8) + 1) & load<i32>(Q, 4), 8);
  held--;
  if (size == 0) {
    orderLen--;
    for (let i = 0; i < orderLen; i++) moveOrder(i, i + 1);
  } else {
    const n = qRow(Q, 0);
    const nts = load<f64>(n + R_TS);
    const nsq = load<f64>(n + R_SEQ);
    let i = 0;
    const nk = orderKey(q, nsq);
    for (; i + 1 < orderLen && before(orderTs(i + 1), orderK(i + 1), nts, nk); i++) moveOrder(i, i + 1);
    setOrder(i, q, nts, nsq);
  }
}

/**
 * An event the TypeScript side decoded into the window (its CPU's queue q): its seq (`rare`:
 * its rare fields are kept there under that seq), or -1 when the window has no room for it
 * (then it is the reader's: takeHeld()).
 */
export function push(
  ts: f64,
  pid: f64,
  kind: i32,
  count: f64,
  align: f64,
  pfn: f64,
  hasPage: i32,
  nameId: i32,
  cpu: i32,
  q: i32,
  rare: i32,
): f64 {
  if (full || !room(q)) return -1;
  return place(q, ts, pid, kind, count, align, pfn, hasPage, nameId, cpu, rare);
}

/**
 * Puts row r (of time ts) into slot s of the ring out: as the batch record deliver() hands out
 * (its line and batch name id written then), or — a row with rare fields, of a CPU this module
 * has no number for, or of a pid whose task name it cannot write — as the row itself, for the
 * TypeScript side. (The task names cannot change before the row is delivered: the reader
 * delivers after each bundle, and only packets between bundles name tasks.)
 */
@inline function outSlot(r: usize, ts: f64, s: i32): void {
  const pid = load<f64>(r + R_PID);
  const cpuId = load<i32>(r + R_CPU);
  const c = load<u8>(r + R_RARE) == 0 && cpuId < CPUMAX ? commOf(pid) : 0;
  if (c == 0) {
    copyRow(OUT + (<usize>s << 6), r);
    store<i32>(SLOTS + (<usize>s << 2), -2);
    return;
  }
  const o = REC + <usize>s * 96;
  store<f64>(o, <f64>load<u8>(r + R_KIND));
  store<f64>(o, pid, 16);
  store<f64>(o, load<f64>(CPUS + (<usize>cpuId << 3)), 24);
  store<f64>(o, usOf(ts), 32);
  store<f64>(o, <f64>commLen, 48);
  store<f64>(o, load<f64>(r + R_COUNT), 56);
  store<f64>(o, load<f64>(r + R_ALIGN), 64);
  store<f64>(o, load<f64>(r + R_PFN), 72);
  store<f64>(o, <f64>load<u8>(r + R_PAGE), 80);
  store<f64>(o, -1, 88);
  const cc = COMM + (<usize>s << 4);
  store<u64>(cc, load<u64>(c));
  store<u64>(cc, load<u64>(c, 8), 8);
  store<i32>(SLOTS + (<usize>s << 2), load<i32>(r + R_NAME));
}

/** Moves held events out until none are held or the ring is nearly full. */
export function drain(): void {
  while (held > 0 && ringCount < outMax - 2) emitFirst();
}

/**
 * Copies the held events, queue by queue in their order, to the rows out (there are none out:
 * the reader delivered them) and empties the window; returns how many (the reader's window
 * takes them: the module reads no more events).
 */
export function takeHeld(): i32 {
  let n = 0;
  for (let q = 0; q < QMAX; q++) {
    const Q = queue(q);
    const size = load<i32>(Q, 12);
    for (let k = 0; k < size; k++) {
      memory.copy(OUT + (<usize>n << 6), qRow(Q, k), ROW);
      n++;
    }
    store<i32>(Q, 0, 12);
  }
  held = 0;
  orderLen = 0;
  ringHead = 0;
  ringCount = 0;
  return n;
}
/** Row i of the rows out (takeHeld()). */
export function outRow(i: i32): usize {
  return OUT + (<usize>i << 6);
}

// ---- the events out ----

@inline function outHead(): usize {
  return OUT + (<usize>ringHead << 6);
}
/** The head of the ring: -1 (empty), -2 (a row the TypeScript side writes), else its name id. */
export function peek(): i32 {
  if (ringCount == 0) return -1;
  return load<i32>(SLOTS + (<usize>ringHead << 2));
}
/** The head row's address (for the TypeScript side to read; peek() -2). */
export function headRow(): usize {
  return outHead();
}
/** Drops the head of the ring. */
export function dropHead(): void {
  ringHead = (ringHead + 1) & (outMax - 1);
  ringCount--;
}

/**
 * Hands out up to `max` records from the head of the ring (name id `bid`, lines from line0 + 1),
 * stopping at a row of another name, one the TypeScript side writes, or the ring's end; returns
 * how many (they are at slots deliveredAt() on).
 */
export function deliver(max: i32, bid: f64, line0: f64): i32 {
  if (ringCount == 0) return 0;
  const h = ringHead;
  const g = load<i32>(SLOTS + (<usize>h << 2));
  let lim = ringCount < max ? ringCount : max;
  if (lim > outMax - h) lim = outMax - h;
  let k = 0;
  while (k < lim && load<i32>(SLOTS + (<usize>(h + k) << 2)) == g) {
    const o = REC + <usize>(h + k) * 96;
    store<f64>(o, line0 + <f64>(k + 1), 8);
    store<f64>(o, bid, 40);
    k++;
  }
  deliveredFrom = h;
  ringHead = (h + k) & (outMax - 1);
  ringCount -= k;
  return k;
}
/** The slot of the first record the last deliver() handed out. */
export function deliveredAt(): i32 {
  return deliveredFrom;
}

/** The µs a time in ns prints as: rounded as Math.round does (halves up), as perfetto.ts's usOf. */
@inline function usOf(ns: f64): f64 {
  const x = ns / 1000;
  let t = Math.floor(x);
  if (x - t >= 0.5) t += 1;
  return t;
}

// ---- decoding ----
// (positions are locals, the end of a varint read is in vEnd: a global written once per varint)

/** Where the last varint read ends (0: it was bad: over 10 bytes, or not ending before its limit). */
let vEnd: usize = 0;

/** The varint at q, ending before e (vEnd). */
@inline function rv(q: usize, e: usize): u64 {
  const c = <u64>load<u8>(q);
  if (c < 0x80 && q < e) {
    vEnd = q + 1;
    return c;
  }
  return rvSlow(q, e);
}
function rvSlow(q: usize, e: usize): u64 {
  let v: u64 = 0;
  let shift: u64 = 0;
  const lim = e - q > 10 ? q + 10 : e;
  for (let r = q; r < lim; r++) {
    const c = <u64>load<u8>(r);
    v |= (c & 0x7f) << shift;
    if (c < 0x80) {
      vEnd = r + 1;
      return v;
    }
    shift += 7;
  }
  vEnd = 0;
  return 0;
}
/** The end of the field of wire type w at q (its tag read), before e; 0: bad. */
function skipped(w: u32, q: usize, e: usize): usize {
  if (w == 0) {
    rv(q, e);
    return vEnd;
  }
  if (w == 1) return q + 8 <= e ? q + 8 : 0;
  if (w == 5) return q + 4 <= e ? q + 4 : 0;
  if (w == 2) {
    const l = rv(q, e);
    const b = vEnd;
    if (b == 0 || l > <u64>(e - b)) return 0;
    return b + <usize>l;
  }
  return 0;
}

// the event being decoded
let evKind: u8 = 0;
let evName: i32 = 0;
let evCount: f64 = 0;
let evAlign: f64 = 0;
let evPfn: f64 = 0;
let evPage: u8 = 0;

/**
 * The events of the bundle at [s, e) into queue qi (CPU cpu). Returns 0 (done), 1 (the ring is
 * nearly full: deliver, then call again from pos()) or 2 (the field at pos() is left to JavaScript).
 */
export function bundle(s: usize, e: usize, qi: i32, cpu: i32): i32 {
  let q = s;
  while (q < e) {
    if (ringCount >= outMax - 2) {
      stopPos = <u32>q;
      return 1;
    }
    const tag = load<u8>(q);
    if (tag == 18) {
      const l = rv(q + 1, e);
      const b = vEnd;
      if (b == 0 || l > <u64>(e - b) || !event(b, b + <usize>l, qi, cpu)) {
        stopPos = <u32>q;
        return 2;
      }
      q = b + <usize>l;
      continue;
    }
    if (tag >= 0x80) {
      stopPos = <u32>q;
      return 2;
    }
    let n: usize;
    if (tag == 24) {
      const v = rv(q + 1, e);
      n = vEnd;
      if (n != 0 && v != 0) nLost++;
    } else n = skipped(tag & 7, q + 1, e);
    if (n == 0) {
      stopPos = <u32>q;
      return 2;
    }
    q = n;
  }
  stopPos = <u32>q;
  return 0;
}

/** The FtraceEvent at [s, e): false (nothing changed) when JavaScript is to read it. */
function event(s: usize, e: usize, qi: i32, cpu: i32): bool {
  let q = s;
  let ts: u64 = 0;
  let pid: u64 = 0;
  let which: u64 = 0;
  let body: usize = 0;
  let bodyEnd: usize = 0;
  while (q < e) {
    // the tags Perfetto writes, by their bytes first (what the general case below reads them as)
    const t = load<u8>(q);
    if (t == 0x08) {
      ts = rv(q + 1, e);
      q = vEnd;
      if (q == 0) return false;
      continue;
    }
    if (t == 0x10) {
      const b = q + 1;
      pid = rv(b, e);
      q = vEnd;
      if (q == 0 || q - b > 7) return false;
      continue;
    }
    if (t >= 0x80 && q + 1 < e) {
      const t2 = load<u16>(q);
      const f: u64 = t2 == 0x14ba ? 327 : t2 == 0x1d8a ? 465 : t2 == 0x1d92 ? 466 : 0;
      if (f != 0) {
        const l = rv(q + 2, e);
        body = vEnd;
        if (body == 0 || l > <u64>(e - body)) return false;
        bodyEnd = body + <usize>l;
        which = f;
        q = bodyEnd;
        continue;
      }
    }
    const tag = rv(q, e);
    const b = vEnd;
    if (b == 0 || b - q > 5) return false;
    const field = tag >> 3;
    const w = <u32>tag & 7;
    if (field == 1 && w == 0) {
      ts = rv(b, e);
      q = vEnd;
    } else if (field == 2 && w == 0) {
      pid = rv(b, e);
      q = vEnd;
      if (q - b > 7) return false;
    } else if (w == 2 && (field == 465 || field == 466 || field == 327)) {
      const l = rv(b, e);
      body = vEnd;
      if (body == 0 || l > <u64>(e - body)) return false;
      bodyEnd = body + <usize>l;
      which = field;
      q = bodyEnd;
    } else q = skipped(w, b, e);
    if (q == 0) return false;
  }
  if (which == 466) return false;
  if (which == 0) {
    nFtrace++;
    return true;
  }
  evName = 0;
  evCount = 0;
  evAlign = -1;
  evPfn = NaN;
  evPage = 0;
  if (which == 465) {
    if (mmKinds & (1 << EV_START)) return false;
    evKind = EV_START;
    if (!typedStart(body, bodyEnd)) return false;
  } else {
    const k = generic(body, bodyEnd);
    if (k < 0) return false;
    if (k == 0) {
      // no cma event
      nFtrace++;
      return true;
    }
  }
  // (no room: the reader takes the window, and this event)
  if (full || !room(qi)) return false;
  nFtrace++;
  nEvents++;
  // held and merged by ns (usOf gives the µs when the row goes out)
  place(qi, <f64>ts, <f64>pid, evKind, evCount, evAlign, evPfn, evPage, evName, cpu, 0);
  return true;
}

/** CmaAllocStartFtraceEvent {align 1, count 2, name 3}. */
function typedStart(s: usize, e: usize): bool {
  let q = s;
  while (q < e) {
    const tag = rv(q, e);
    const b = vEnd;
    if (b == 0 || b - q > 5) return false;
    const f = tag >> 3;
    const w = <u32>tag & 7;
    if (w == 2) {
      const l = rv(b, e);
      const d = vEnd;
      if (d == 0 || l > <u64>(e - d)) return false;
      if (f == 3) {
        const id = findName(d, <u32>l);
        if (id < 0) return false;
        evName = id;
      }
      q = d + <usize>l;
    } else if (w == 0) {
      const v = rv(b, e);
      q = vEnd;
      if (q == 0) return false;
      if (f == 1) {
        if (v >= TWO53) return false;
        evAlign = <f64>v;
      } else if (f == 2) {
        if (v >= TWO53) return false;
        evCount = <f64>v;
      }
    } else {
      q = skipped(w, b, e);
      if (q == 0) return false;
    }
  }
  return true;
}

/**
 * Per kind and field place (8 × kind + j), the bytes of the last field read there from its
 * name's tag to its value's tag when they are 8 or fewer (zero-padded; their length; the
 * field's code): compared as one word before the field's name is read.
 */
const prefixes = memory.data(64 * 16);
/** A mask of the low n (1 to 8) bytes. */
@inline function low(n: u32): u64 {
  return n >= 8 ? 0xffffffffffffffff : (<u64>1 << (<u64>n << 3)) - 1;
}

/**
 * GenericFtraceEvent {event_name 1, field 2 {name 1, str_value 3, int_value 4, uint_value 5}}
 * as Perfetto writes it (the name first, then one value per field): its kind, 0 (no cma
 * event) or -1 (left to JavaScript).
 */
function generic(s: usize, e: usize): i32 {
  if (s >= e || load<u8>(s) != 10) return -1;
  const nl = rv(s + 1, e);
  let q = vEnd;
  if (q == 0 || nl > <u64>(e - q)) return -1;
  const kind = findWord(KINDS, nKinds, q, <u32>nl, 0);
  if (kind < 0) {
    // no cma event: the reader's when it picks such events out
    if (mmAll || (nMms > 0 && findWord(MMS, nMms, q, <u32>nl, 63) >= 0)) return -1;
    return 0;
  }
  if (mmKinds & (1 << <u32>kind)) return -1;
  evKind = <u8>kind;
  q += <usize>nl;
  let sawPage = false;
  for (let j: u32 = 1; q < e; j++) {
    if (load<u8>(q) != 0x12) return -1;
    const l = rv(q + 1, e);
    q = vEnd;
    if (q == 0 || l > <u64>(e - q)) return -1;
    const fe = q + <usize>l;
    const pre = prefixes + (<usize>((<u32>kind << 3) + (j & 7)) << 4);
    const pl = load<u32>(pre, 8);
    let code: i32;
    let vt: u32;
    if (pl != 0 && q + pl <= fe && ((load<u64>(q) ^ load<u64>(pre)) & low(pl)) == 0) {
      // the same name and value tag as the last field here
      code = load<i32>(pre, 12);
      vt = load<u8>(q + pl - 1);
      q += pl;
    } else {
      const at = q;
      if (q >= fe || load<u8>(q) != 10) return -1;
      const fl = rv(q + 1, fe);
      q = vEnd;
      if (q == 0 || fl > <u64>(fe - q)) return -1;
      code = findWord(FIELDS, nFields, q, <u32>fl, (<u32>kind << 3) + (j & 7));
      q += <usize>fl;
      if (q >= fe) return -1;
      vt = load<u8>(q);
      q++;
      const n = <u32>(q - at);
      if (n <= 8) {
        store<u64>(pre, load<u64>(at) & low(n));
        store<u32>(pre, n, 8);
        store<i32>(pre, code, 12);
      } else store<u32>(pre, 0, 8);
    }
    if (vt == 0x1a) {
      if (code != F_NAME && code != -1) return -1;
      const sl = rv(q, fe);
      q = vEnd;
      if (q == 0 || sl > <u64>(fe - q)) return -1;
      if (code == F_NAME) {
        const id = findName(q, <u32>sl);
        if (id < 0) return -1;
        evName = id;
      }
      q += <usize>sl;
    } else if (vt == 0x28 && code == F_PAGE) {
      // a struct page pointer: only whether any of its bits is set (as the JavaScript decode reads it)
      let any: u32 = 0;
      let c: u32 = 0x80;
      let k = 0;
      if (q + 8 <= fe) {
        // a kernel address: its first 8 bytes all continue the varint (read as one word)
        const x = load<u64>(q);
        if ((x & 0x8080808080808080) == 0x8080808080808080) {
          any = (x & 0x7f7f7f7f7f7f7f7f) != 0 ? 1 : 0;
          q += 8;
          k = 8;
        }
      }
      for (; k < 10 && c >= 0x80; k++) {
        if (q >= fe) return -1;
        c = load<u8>(q);
        q++;
        any |= c & 0x7f;
      }
      if (c >= 0x80) return -1;
      sawPage = true;
      evPage = any != 0 ? 1 : 0;
    } else if (vt == 0x28 || vt == 0x20) {
      const v = rv(q, fe);
      q = vEnd;
      if (q == 0) return -1;
      if (code == F_PFN || code == F_START) {
        if (v == 0xffffffffffffffff) evPfn = -1;
        else if (v >= TWO53) return -1;
        else evPfn = <f64>v;
      } else if (code == F_PAGE) {
        sawPage = true;
        evPage = v != 0 ? 1 : 0;
      } else if (code == F_COUNT || code == F_REQUEST_COUNT) {
        if (v >= TWO53) return -1;
        evCount = <f64>v;
      } else if (code == F_ALIGN) {
        if (v >= TWO53) return -1;
        evAlign = <f64>v;
      } else if (code != -1) return -1;
    } else return -1;
    if (q != fe) return -1;
  }
  if (evKind == EV_ALLOC && !sawPage) evPage = evPfn >= 0 ? 1 : 0;
  return kind;
}
