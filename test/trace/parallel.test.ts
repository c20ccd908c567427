// The parser's fast path against its general path, and the parallel (worker) replay against the
// single-thread one: the same events, fields and results, on every fixture trace and on
// hand-made lines that are almost, but not quite, the common 6.1 layout.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { indexedBitmapFactory } from '../../src/core/indexed-bitmap.ts';
import { fileSource } from '../../src/sources/trace/input.ts';
import { parseFileParallel, setParallelHeadBytes } from '../../src/sources/trace/parallel.ts';
import {
  claimHead,
  claimWorkerStart,
  newHandoff,
  publishHandoff,
} from '../../src/sources/trace/parallel-format.ts';
import { TraceLineParser } from '../../src/sources/trace/parse.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';

import { batchesOf, snap } from './parse-kit.ts';

const FIX = join(import.meta.dirname, '../fixtures/traces');

function fixtures(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const dir of ['gen-trace', 'oracle-6.1', 'oracle-7.3']) {
    for (const f of readdirSync(join(FIX, dir)).sort()) {
      if (f.endsWith('.trace.gz'))
        out.push({ name: `${dir}/${f}`, bytes: gunzipSync(readFileSync(join(FIX, dir, f))) });
      else if (f.endsWith('.trace'))
        out.push({ name: `${dir}/${f}`, bytes: readFileSync(join(FIX, dir, f)) });
    }
  }
  return out;
}

/** Events and stats, fed in chunks of `chunk` bytes (copied into one reused buffer). */
function parseAll(
  bytes: Uint8Array,
  fastPath: boolean,
  chunk: number,
  wasm = false,
): { evs: unknown[][]; stats: unknown } {
  const evs: unknown[][] = [];
  const p = new TraceLineParser((ev) => evs.push(snap(ev)), { fastPath, wasm });
  const buf = Buffer.alloc(chunk);
  for (let pos = 0; pos < bytes.length; pos += chunk) {
    const n = Math.min(chunk, bytes.length - pos);
    buf.set(bytes.subarray(pos, pos + n));
    p.feed(buf.subarray(0, n));
  }
  return { evs, stats: p.end() };
}

const L = (
  comm: string,
  pid: number,
  rest: string,
  ts = '  100.000012',
  cpu = '002',
  flags = '.....',
): string => `${comm.padStart(16)}-${String(pid).padEnd(7)} [${cpu}] ${flags} ${ts}: ${rest}`;

/** Lines at and around the edge of the fast path's layout. */
const EDGE = [
  '# tracer: nop',
  L('kworker/u16:3', 799, 'cma_alloc_start: name=reserved count=256 align=8'),
  L(
    'kworker/u16:3',
    799,
    'cma_alloc_finish: name=reserved pfn=0x80000 page=0000000035a66047 count=256 align=8',
  ),
  L('GLThread 12', 893, 'cma_release: name=reserved pfn=0x80000 page=0000000035a66047 count=256'),
  L('a-b-1', 12, 'cma_alloc_start: name=reserved count=1 align=0'),
  L('x', 1234567, 'cma_alloc_start: name=reserved count=1 align=0'),
  L(
    'x',
    5,
    'cma_alloc_finish: name=reserved pfn=0xffffffffffffffff page=0000000000000000 count=1316 align=8',
  ),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=0xfffffffffffffffe page=0000000000000000 count=1 align=8'),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=0x1fffffffffffff page=0000000000000000 count=1 align=8'),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=0xABC page=(null) count=1 align=8'),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=80000 page=0x0 count=1 align=8'),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=0x80000 page= count=1 align=8'),
  L('x', 5, 'cma_alloc_busy_retry: name=reserved pfn=0x80008 page=00000000b7b13d95 count=2 align=1'),
  L('x', 5, 'cma_alloc_start: name=reserved count=18446744073709551615 align=8'),
  L('x', 5, 'cma_alloc_start: name=reserved count=999999999999999 align=8'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=64'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=063'),
  L('x', 5, 'cma_alloc_start: name=reserved  count=1 align=3'),
  L('x', 5, 'cma_alloc_start:  name=reserved count=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3 extra=1'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3 '),
  `${L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3')}\r`,
  L('x', 5, 'cma_alloc_start: name=reserved x count=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=other count=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=other count=2 align=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '123456.000001'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '     .000001'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100 000001'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '02x'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '002', 'd.h1.'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '002', '.. ..'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '002', '...]]'),
  L('x', 5, 'cma_alloc_start: name=reserved count=+1 align=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count= align=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align='),
  L(
    'x',
    5,
    'cma_alloc_info: name=reserved pfn=0xffffffffffffffff count=4 nr_migrated=1 err_iso=0 err_mig=2 err_test=0',
  ),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=0x0 page=0000000000000000 count=4 align=2 errorno=-16'),
  L('x', 5, 'cma_alloc_start: name=cma0'),
  ' count=4 align=2',
  L('x', 5, 'cma_alloc_start: name=cma0'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  L('x', 5, 'cma_alloc_startx: name=reserved count=1 align=3'),
  L('x', 5, 'cma_releasx: name=reserved pfn=0x1 page=0000000035a66047 count=1'),
  L('x', 5, 'cma_rXlease: name=reserved pfn=0x1 page=0000000035a66047 count=1'),
  L('x', 5, 'cma_alloc_stXrt: name=reserved count=1 align=3'),
  L('x', 5, 'cma_Xlloc_start: name=reserved count=1 align=3'),
  L('x', 5, 'cma_alloc_fiXish: name=reserved pfn=0x1 page=0000000035a66047 count=1 align=3'),
  L('x', 5, 'cma_alloc_busy_rXtry: name=reserved pfn=0x1 page=0000000035a66047 count=1 align=3'),
  L('x', 5, 'cma_alloc_bXsy_retry: name=reserved pfn=0x1 page=0000000035a66047 count=1 align=3'),
  L('x', 5, 'cma_alloc_busy_retry: name=reserved pfn=0x1 page=0000000035a66047 count=1 align=3'),
  L('seventeen-chars-x', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  // task names of every length the 16-byte field holds (its leading spaces are counted four at a time)
  L('sixteen-chars-xy', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  L('abcd', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  L('abcde', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  L('twelve-chars', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  L('thirteen-char', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  L('', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
  // a name that differs from the previous one in its last byte, or its first four
  L('x', 5, 'cma_alloc_start: name=reservee count=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=reservee count=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=Xeservee count=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '002', '.]...'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '002', '...].'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '002', ' ....'),
  `#${L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3').slice(1)}`,
  // pfns of every length around the fast path's int32 (7 digits) and double (13) loops, and
  // the 16 f of "nothing tried" with one digit more, fewer or another
  ...[
    '1234567',
    'abcdef0',
    '12345678',
    'fffffffff',
    '123456789abcd',
    'fffffffffffff',
    'ffffffffffffe',
    '123456789abcde',
    'ffffffffffffff',
    'fffffffffffffff',
    'fffffffffffffffff',
    'efffffffffffffff',
    'fffffffffffffffe',
    'fffffffffffff0ff',
    '12g4',
    '123456g',
    '12345678g',
  ].map((h) => L('x', 5, `cma_alloc_finish: name=reserved pfn=0x${h} page=0000000035a66047 count=1 align=3`)),
  // a non-digit at each place of the microseconds and the cpu
  ...['a00001', '0a0001', '00a001', '000a01', '0000a1', '00000a', '/00001', '00000:'].map((f) =>
    L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', `  100.${f}`),
  ),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.999999', '999'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '0:0'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3', '  100.000001', '00/'),
  L('x', 5, 'cma_alloc_start: name=reserved coun=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 alig=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align 3'),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=0X1 page=0000000035a66047 count=1 align=3'),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=1 page=0000000035a66047 count=1 align=3'),
  L('x', 5, 'cma_alloc_finish: name=reserved pfn=0x1 pag=0000000035a66047 count=1 align=3'),
  L('x', 5, 'cma_alloc_start: nam=reserved count=1 align=3'),
  L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3'),
].join('\n');

describe('parser fast path', () => {
  const cases = [{ name: 'edge lines', bytes: new TextEncoder().encode(EDGE) }, ...fixtures()];
  for (const c of cases) {
    it(`${c.name}: same events and stats as the general path, in chunks of any size`, () => {
      const whole = parseAll(c.bytes, false, c.bytes.length + 1);
      assert.ok(whole.evs.length > 0);
      for (const chunk of [c.bytes.length + 1, 4096, 333, 61]) {
        const fast = parseAll(c.bytes, true, chunk);
        assert.deepEqual(fast.stats, whole.stats, `stats, chunk ${chunk}`);
        assert.deepEqual(fast.evs, whole.evs, `events, chunk ${chunk}`);
        // the fast path in wasm (ParseOptions.wasm), the chunks copied into its memory
        const wasm = parseAll(c.bytes, true, chunk, true);
        assert.deepEqual(wasm.stats, whole.stats, `wasm stats, chunk ${chunk}`);
        assert.deepEqual(wasm.evs, whole.evs, `wasm events, chunk ${chunk}`);
      }
    });
  }
});

describe('parse worker batches: the fast path written straight into the batch (FastTarget, the wasm scanner)', () => {
  const cases = [{ name: 'edge lines', bytes: new TextEncoder().encode(EDGE) }, ...fixtures()];
  for (const c of cases) {
    it(`${c.name}: the batches event() writes, in chunks of any size`, () => {
      for (const chunk of [c.bytes.length + 1, 4096, 333, 61]) {
        const ref = batchesOf(c.bytes, chunk, 'event');
        assert.ok(ref.length > 1);
        assert.deepEqual(batchesOf(c.bytes, chunk, 'target'), ref, `chunk ${chunk}`);
        assert.deepEqual(batchesOf(c.bytes, chunk, 'wasm'), ref, `wasm, chunk ${chunk}`);
      }
    });
  }
});

describe('parse worker batches: the wasm scanner near the end of a chunk', () => {
  it('never reads a line the chunk holds only the start of, whatever follows it in the buffer', () => {
    const head = L('x', 5, 'cma_alloc_start: name=reserved count=1 align=3');
    const line = L(
      'x',
      5,
      'cma_alloc_finish: name=reserved pfn=0x80000 page=0000000035a66047 count=1 align=3',
    );
    // the first chunk leaves a whole `line` in the buffer where the second chunk's cut copy of
    // it lands: the bytes after the second chunk's end complete it
    const text = `${head}\n${line}\n${head}\n${line}\n${line}\n`;
    const bytes = new TextEncoder().encode(text);
    const first = head.length + 1 + line.length + 1;
    for (const cut of [1, 20, 60, line.length - 1, line.length]) {
      const sizes = [first, head.length + 1 + cut];
      const ref = batchesOf(bytes, sizes, 'event');
      assert.deepEqual(batchesOf(bytes, sizes, 'wasm'), ref, `cut ${cut}`);
    }
  });
});

describe('parse worker batches: the wasm scanner on fields of every width', () => {
  // The scanner reads each field by its width (SIMD masks, digits by 8 at a time): every width it
  // reads, and the widths just past them (which it leaves to the parser), read as event() does.
  const digits = (n: number, d = '7'): string => '123456789123456789'.slice(0, n - 1) + d;
  const lines: string[] = [];
  const ev = (kind: number, rest: string): string =>
    [
      `cma_alloc_start: name=reserved ${rest} align=3`,
      `cma_alloc_finish: name=reserved pfn=0x80000 page=0000000035a66047 ${rest} align=3`,
      `cma_alloc_busy_retry: name=reserved pfn=0x80000 page=0000000035a66047 ${rest} align=3`,
      `cma_release: name=reserved pfn=0x80000 page=0000000035a66047 ${rest}`,
    ][kind]!;
  for (let k = 0; k < 4; k++) {
    for (let n = 1; n <= 17; n++) lines.push(L('x', 5, ev(k, `count=${digits(n)}`)));
    lines.push(L('x', 5, ev(k, 'count=0')), L('x', 5, ev(k, 'count=')));
  }
  for (let n = 1; n <= 17; n++) {
    for (const h of [digits(n, 'a'), 'f'.repeat(n), `${'0'.repeat(n - 1)}F`])
      lines.push(L('x', 5, `cma_release: name=reserved pfn=0x${h} page=0000000035a66047 count=1`));
    lines.push(L('x', 5, `cma_release: name=reserved pfn=0x80000 page=${'0'.repeat(n)} count=1`));
    lines.push(L('x', 5, `cma_release: name=reserved pfn=0x80000 page=${'1'.repeat(n)} count=1`));
  }
  for (const page of [
    '(null)',
    '(____ptrval____)',
    '0x0',
    '0x00000000',
    '0000000000000000 ',
    '000000000000000\n',
  ])
    lines.push(L('x', 5, `cma_release: name=reserved pfn=0x80000 page=${page} count=1`));
  for (const a of ['0', '9', '10', '63', '64', '99', '100', '007', '', 'x'])
    lines.push(L('x', 5, `cma_alloc_start: name=reserved count=1 align=${a}`));
  for (let n = 1; n <= 9; n++) lines.push(L('kworker/0:1', Number(digits(n)), ev(n % 4, 'count=1')));
  for (let n = 1; n <= 7; n++) lines.push(L('x', 5, ev(1, 'count=1'), `${digits(n)}.000001`.padStart(12)));
  for (let n = 0; n <= 17; n++) lines.push(L('abcdefghijklmnopq'.slice(0, n), 5, ev(2, 'count=1')));
  // names of every length up to past 16, each twice in a row (the scanner compares a line's name
  // with the previous event's)
  for (let n = 1; n <= 20; n++) {
    const name = 'abcdefghijklmnopqrstuvwxyz'.slice(0, n);
    for (let j = 0; j < 3; j++) lines.push(L('x', 5, `cma_alloc_start: name=${name} count=${j + 1} align=3`));
    lines.push(L('x', 5, `cma_alloc_start: name=${name}x count=1 align=3`));
    lines.push(L('x', 5, `cma_alloc_start: name=${name.slice(0, -1)} count=1 align=3`));
  }
  const bytes = new TextEncoder().encode(`${lines.join('\n')}\n`);

  it('the same batches as event() writes, whole and in chunks', () => {
    for (const chunk of [bytes.length + 1, 4096, 333]) {
      const ref = batchesOf(bytes, chunk, 'general');
      assert.deepEqual(batchesOf(bytes, chunk, 'wasm'), ref, `chunk ${chunk}`);
    }
    // not vacuous: most lines are of the fast layout
    const evs = parseAll(bytes, true, bytes.length + 1, true).evs.length;
    assert.ok(evs > lines.length * 0.7, `${evs} events of ${lines.length} lines`);
  });
});

describe('parallel replay (parse worker)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cma-par-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  after(() => setParallelHeadBytes(0));
  for (const c of fixtures()) {
    it(`${c.name}: the same result as the single-thread replay (worker from byte 0, 1000, none)`, async () => {
      const path = join(dir, c.name.replaceAll('/', '_'));
      writeFileSync(path, c.bytes);
      const ref = await replayTrace(fileSource(path), {
        parallel: false,
        bitmapFactory: indexedBitmapFactory,
      });
      for (const head of [0, 1000, 4 << 20]) {
        setParallelHeadBytes(head);
        const par = await replayTrace(fileSource(path), {
          parallel: true,
          bitmapFactory: indexedBitmapFactory,
        });
        assert.deepEqual(par, ref, `head ${head}`);
      }
    });
  }
  it('the allocation table keeps task names as bytes: every row handed out names its task as the text path does', async () => {
    const line = (task: string, pid: number, ts: number, ev: string) =>
      `${task.padStart(16)}-${String(pid).padEnd(7)} [000] ..... ${(100 + ts / 1e6).toFixed(6).padStart(12)}: ${ev}\n`;
    // 16-byte names, short ones, names with spaces and dashes, and one longer than 16 (general path)
    const tasks = [
      'RenderThread',
      'surfaceflinger',
      'a',
      'GLThread 12',
      'kworker/u16:3-ev',
      'binder:1234_5-x',
      'a-much-longer-task-name',
    ];
    let text = '';
    let ts = 0;
    for (let i = 0; i < 3000; i++) {
      const t = tasks[i % tasks.length]!;
      const pid = 600 + (i % tasks.length);
      // (each call frees its block before the next: first fit puts every one at the base)
      const pfn = 0x80000;
      text += line(t, pid, ts++, 'cma_alloc_start: name=reserved count=16 align=4');
      text += line(
        t,
        pid,
        ts++,
        `cma_alloc_finish: name=reserved pfn=0x${pfn.toString(16)} page=000000000c8a55f7 count=16 align=4`,
      );
      text += line(
        t,
        pid,
        ts++,
        `cma_release: name=reserved pfn=0x${pfn.toString(16)} page=000000000c8a55f7 count=16`,
      );
    }
    const path = join(dir, 'tasks.trace');
    writeFileSync(path, text);
    const rows = async (parallel: boolean) => {
      const got: string[] = [];
      const r = await replayTrace(fileSource(path), {
        parallel,
        areas: [{ name: 'reserved', basePfn: 0x80000, count: 8192, orderPerBit: 0 }],
        onAllocation: (a) => got.push(`${a.task}|${a.pid}|${a.pfn}`),
      });
      return { got, r };
    };
    const seq = await rows(false);
    const par = await rows(true);
    assert.equal(seq.got.length, 3000);
    assert.equal(seq.r.mismatches, 0);
    assert.deepEqual(par.got, seq.got);
    assert.deepEqual(new Set(seq.got.map((g) => g.split('|')[0])), new Set(tasks));
  });

  it('a head that ends inside a split `name=cma0` event: this thread reads on, same result', async () => {
    const c = fixtures().find((f) => f.name.includes('unnamed-cma0-split'))!;
    const text = new TextDecoder().decode(c.bytes);
    const at = text.indexOf('name=cma0\n');
    assert.ok(at > 0);
    const path = join(dir, 'split.trace');
    writeFileSync(path, c.bytes);
    const ref = await replayTrace(fileSource(path), { parallel: false });
    const one = parseAll(c.bytes, true, 1 << 20);
    for (const head of [at + 10, at + 11, at + 20]) {
      setParallelHeadBytes(head);
      const evs: unknown[][] = [];
      const stats = await parseFileParallel(path, (ev) => evs.push(snap(ev)));
      assert.deepEqual(stats, one.stats, `head ${head}`);
      assert.deepEqual(evs, one.evs, `head ${head}`);
      assert.deepEqual(await replayTrace(fileSource(path), { parallel: true }), ref);
    }
  });
  it('parses the events in order with every field, and reports a missing file with its code', async () => {
    const path = join(dir, 'edge.trace');
    writeFileSync(path, EDGE);
    const ref = parseAll(new TextEncoder().encode(EDGE), true, 1 << 20);
    for (const head of [0, 500, 1 << 20]) {
      setParallelHeadBytes(head);
      const evs: unknown[][] = [];
      const progress: number[] = [];
      const stats = await parseFileParallel(path, (ev) => evs.push(snap(ev)), {
        onProgress: (b) => progress.push(b),
      });
      assert.deepEqual(evs, ref.evs, `head ${head}`);
      assert.deepEqual(stats, ref.stats, `head ${head}`);
      assert.equal(progress.at(-1), EDGE.length);
    }
    await assert.rejects(
      parseFileParallel(join(dir, 'missing'), () => {}),
      { code: 'ENOENT' },
    );
  });
  it('stops the worker and rejects with the error onEvent throws', async () => {
    const path = join(dir, 'edge2.trace');
    writeFileSync(path, EDGE);
    for (const head of [0, 1 << 20]) {
      setParallelHeadBytes(head);
      await assert.rejects(
        parseFileParallel(path, () => {
          throw new Error('stop here');
        }),
        /stop here/,
      );
    }
  });
});

describe("the head's hand-off between the calling thread and the worker", () => {
  it('the worker closes the claim where the calling thread is, then starts at the line start it publishes', () => {
    const h = newHandoff(0);
    assert.deepEqual(claimHead(h, 0, 100, 1000), { end: 100, closed: false });
    // (published before the worker closes, so that this one thread need not wait)
    publishHandoff(h, 123, 7);
    assert.deepEqual(claimWorkerStart(h), { start: 123, firstLine: 7 });
    // the calling thread reads the piece it claimed, no more
    assert.deepEqual(claimHead(h, 0, 100, 1000), { end: 100, closed: true });
    assert.deepEqual(claimHead(h, 100, 200, 1000), { end: 100, closed: true });
  });
  it('a worker ready before the calling thread has claimed anything takes the whole file at once', () => {
    const h = newHandoff(0);
    assert.deepEqual(claimWorkerStart(h), { start: 0, firstLine: 0 });
    assert.deepEqual(claimHead(h, 0, 100, 1000), { end: 0, closed: true });
  });
  it('bytes claimed in advance (the test hook) are read before the claim may close', () => {
    const h = newHandoff(500);
    assert.deepEqual(claimHead(h, 0, 100, 1000), { end: 500, closed: false });
    assert.deepEqual(claimHead(h, 500, 600, 1000), { end: 600, closed: false });
    publishHandoff(h, 650, 9);
    assert.deepEqual(claimWorkerStart(h), { start: 650, firstLine: 9 });
  });
  it('the calling thread closes the claim at the end of the file; an abort leaves the worker nothing', () => {
    const h = newHandoff(0);
    assert.deepEqual(claimHead(h, 0, 4096, 1000), { end: 1000, closed: false });
    assert.deepEqual(claimHead(h, 1000, 5096, 1000), { end: 1000, closed: true });
    publishHandoff(h, 1000, null);
    assert.equal(claimWorkerStart(h), null);
  });
});

describe('pending calls keyed by pid', () => {
  it('pids above 65536 replay exactly like small ones (same counters, same bitmap)', async () => {
    for (const c of fixtures().filter((f) => f.name.startsWith('gen-trace/gpu'))) {
      const text = new TextDecoder().decode(c.bytes);
      // every other task gets pid + 900000 (the %-7d field still fits)
      const big = text.replace(/^(.{16})-(\d+)( *)\[/gm, (_m, comm: string, pid: string, sp: string) => {
        const n = Number(pid);
        const p = n % 2 === 0 ? String(n + 900000) : pid;
        return `${comm}-${p}${' '.repeat(Math.max(1, pid.length + sp.length - p.length))}[`;
      });
      assert.notEqual(big, text);
      const a = await replayTrace(text, { bitmapFactory: indexedBitmapFactory, allocations: false });
      const b = await replayTrace(big, { bitmapFactory: indexedBitmapFactory, allocations: false });
      const pick = (r: typeof a) => [
        r.events,
        r.allocs,
        r.releases,
        r.busyRetries,
        r.mismatches,
        r.anomalies,
        r.pendingAtEnd,
        r.failedBy,
        r.areas.map((x) => [x.used, x.maxchunk, x.bitmapSha256]),
      ];
      assert.deepEqual(pick(b), pick(a), c.name);
    }
  });
});
