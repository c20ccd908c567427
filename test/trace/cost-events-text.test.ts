// The migrate counts of a text trace (mm_alloc_contig_migrate_range_info, Android's cma_alloc_info)
// are read in the same pass as its cma events: the parser's general path picks them out
// (ParseOptions.otherEvents) on this thread, on the parse worker and for gzip/stdin, with the same
// events and line numbers as reading every line; `replay --json` reads the trace once (stdin that
// can only be read once gives the counts) and prints what the old two-pass reader printed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readMmTrace } from '../../src/sources/busy-files.ts';
import type { TraceSource } from '../../src/sources/trace/input.ts';
import { fileSource, memorySource } from '../../src/sources/trace/input.ts';
import type { MmEvent } from '../../src/sources/trace/mm-events.ts';
import { COST_EVENT_NAMES, parseMmEventLine } from '../../src/sources/trace/mm-events.ts';
import { setParallelHeadBytes, startParallelParse } from '../../src/sources/trace/parallel.ts';
import { TraceLineParser } from '../../src/sources/trace/parse.ts';
import { readTraceEvents } from '../../src/sources/trace/read-events.ts';
import { replayTrace } from '../../src/sources/trace/replay.ts';
import { PRESTART_MIN_BYTES, prestartTextParse, workerScript } from '../../src/sources/trace/worker-spawn.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIX = join(ROOT, 'test/fixtures');
const dir = mkdtempSync(join(tmpdir(), 'cost-text-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const start = (i: number) =>
  `      camera-${100 + (i % 7)}     [001] .....   ${(100 + i / 1e4).toFixed(6)}: cma_alloc_start: name=reserved count=16 align=4`;
const info = (i: number) =>
  `      camera-${100 + (i % 7)}     [001] .....   ${(100 + i / 1e4).toFixed(6)}: mm_alloc_contig_migrate_range_info: start=0x${(0x80000 + i).toString(16)} end=0x${(0x80010 + i).toString(16)} migratetype=4 nr_migrated=${i % 13} nr_reclaimed=${i % 3} nr_mapped=${i % 5}`;
const android = (i: number) =>
  `      gpu-${200 + (i % 3)}     [000] .....   ${(100 + i / 1e4).toFixed(6)}: cma_alloc_info: name=reserved pfn=0x${(0x80000 + i).toString(16)} count=8 nr_migrated=${i % 11} nr_reclaimed=0 nr_mapped=1 err_iso=0 err_mig=0 err_test=0`;
// lines that name the events without being them (in a field, a comment, another event)
const decoys = [
  '# mm_alloc_contig_migrate_range_info: start=0x1 end=0x2',
  '              sh-38      [000] .....     7.659857: mm_migrate_pages: note: mm_alloc_contig_migrate_range_info: x',
  '              sh-38      [000] .....     7.659857: kmalloc: x: cma_alloc_info: ptr=0',
];

/** The cost events as reading every line finds them. */
function expected(text: string): MmEvent[] {
  const out: MmEvent[] = [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  for (let n = 0; n < lines.length; n++) {
    const e = parseMmEventLine(lines[n]!, n + 1);
    if (e && COST_EVENT_NAMES.has(e.event)) out.push(e);
  }
  return out;
}

/** ~3 MiB: several 1 MiB reads, cost events on both sides of each read's end. */
function traceText(eol: string, finalNl: boolean): string {
  const lines = ['# tracer: nop'];
  for (let i = 0; i < 30000; i++) {
    lines.push(start(i));
    if (i > 9000 && i % 97 === 0) lines.push(info(i));
    if (i > 12000 && i % 301 === 0) lines.push(android(i));
    if (i % 5000 === 7) lines.push(...decoys);
  }
  return lines.join(eol) + (finalNl ? eol : '');
}

function parseOther(bytes: Uint8Array, chunk: number, fastPath: boolean): { mm: MmEvent[]; cma: number } {
  const mm: MmEvent[] = [];
  let cma = 0;
  const p = new TraceLineParser(() => cma++, {
    fastPath,
    otherEvents: { names: COST_EVENT_NAMES, onEvent: (e) => mm.push(e) },
  });
  for (let at = 0; at < bytes.length; at += chunk) p.feed(bytes.slice(at, at + chunk));
  p.end();
  return { mm, cma };
}

describe('the cost events of a text trace, in the same pass as its cma events', () => {
  for (const [name, eol, finalNl] of [
    ['LF', '\n', true],
    ['CRLF, no final newline', '\r\n', false],
  ] as const) {
    it(`the parser: the same events and line numbers as a line-by-line read (${name})`, () => {
      const text = traceText(eol, finalNl);
      const want = expected(text);
      assert.ok(want.length > 250, `${want.length} cost events`);
      assert.ok(want.some((e) => e.event === 'cma_alloc_info'));
      const bytes = new TextEncoder().encode(text);
      for (const chunk of [1 << 20, 4093, 61])
        for (const fastPath of [true, false]) {
          const got = parseOther(bytes, chunk, fastPath);
          assert.deepEqual(got.mm, want, `chunks of ${chunk}, fast path ${fastPath}`);
          // the cma events are the same with and without the option (cma_alloc_info is both)
          let cma = 0;
          const p = new TraceLineParser(() => cma++, { fastPath });
          p.feed(bytes);
          p.end();
          assert.equal(got.cma, cma);
        }
    });
  }

  it('the parse worker posts them before the cma events after them, with or without a head', async () => {
    const text = traceText('\n', true);
    const want = expected(text);
    const f = join(dir, 'worker.trace');
    writeFileSync(f, text);
    for (const head of [0, 1 << 20]) {
      setParallelHeadBytes(head);
      try {
        // each event with the number of cma events delivered before it
        const got: MmEvent[] = [];
        const seenAt: number[] = [];
        let cma = 0;
        const lines: number[] = [];
        const run = startParallelParse(f, {
          mm: {
            names: COST_EVENT_NAMES,
            onEvents: (events, release) => {
              assert.equal(release, null);
              for (const e of events) {
                got.push(e);
                seenAt.push(cma);
              }
            },
          },
        });
        await run.run((ev) => {
          cma++;
          lines.push(ev.line);
        });
        assert.deepEqual(got, want, `head ${head}`);
        // never after a cma event that follows it in the file
        got.forEach((e, i) => {
          const before = lines.filter((l) => l < e.line).length;
          assert.ok(seenAt[i]! <= before, `event at line ${e.line} arrived after cma events past it`);
        });
      } finally {
        setParallelHeadBytes(0);
      }
    }
  });

  it('readTraceEvents: gzip files and one-shot streams, read once', async () => {
    const text = traceText('\n', true);
    const want = expected(text);
    const gz = join(dir, 'trace.gz');
    writeFileSync(gz, gzipSync(text));
    const mem = memorySource(text);
    let opens = 0;
    const once: TraceSource = {
      ...mem,
      open: () => {
        if (++opens > 1) throw new Error('read twice');
        return mem.open();
      },
    };
    for (const src of [fileSource(gz), once]) {
      const got: MmEvent[] = [];
      await readTraceEvents(src, () => {}, {
        mm: { names: COST_EVENT_NAMES, onEvents: (events) => void got.push(...events) },
      });
      assert.deepEqual(got, want, src.label);
    }
    assert.equal(opens, 1);
  });

  it('replayTrace hands them to ReplayOptions.mmEvents from a source it can open only once', async () => {
    const text = traceText('\n', true);
    const mem = memorySource(text);
    let opens = 0;
    const got: MmEvent[] = [];
    await replayTrace(
      {
        ...mem,
        open: () => {
          if (++opens > 1) throw new Error('read twice');
          return mem.open();
        },
      },
      {
        areas: [{ name: 'reserved', basePfn: 0x80000, count: 1 << 18, orderPerBit: 0 }],
        mmEvents: { names: COST_EVENT_NAMES, onEvents: (events) => void got.push(...events) },
      },
    );
    assert.equal(opens, 1);
    assert.deepEqual(got, expected(text));
  });
});

function cli(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/cma-debug.js'), ...args], {
    encoding: 'utf8',
    ...(input ? { input } : {}),
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('replay --json: the counts of one read, as the two-pass reader gave them', () => {
  const cases = [
    ['trace612', 'pinned-pages/6.12/trace.txt.gz', 'name=reserved,count=4096,base_pfn=0x1c800'],
    ['report612', 'pinned-pages/6.12-dat/report.txt.gz', 'name=reserved,count=4096,base_pfn=0x1c400'],
    ['android', 'replay-costs/android-info.trace.gz', 'name=reserved,base_pfn=0x80000,count=262144'],
  ] as const;
  for (const [name, file, area] of cases) {
    it(`${name}: a file and stdin (readable once) print the old output`, () => {
      const want = JSON.parse(readFileSync(join(FIX, `replay-costs/two-pass-${name}.json`), 'utf8'));
      assert.ok(want.migration.events > 300, `${want.migration.events} cost events`);
      const path = join(FIX, file);
      const fromFile = cli(['replay', '-q', '--json', path, area]);
      assert.equal(fromFile.status, 0, fromFile.stderr);
      assert.deepEqual(JSON.parse(fromFile.stdout), want);
      // with the areas given, stdin is not spooled: a second read would fail
      const fromStdin = cli(['replay', '-q', '--json', '-', area], readFileSync(path));
      assert.equal(fromStdin.status, 0, fromStdin.stderr);
      assert.deepEqual(JSON.parse(fromStdin.stdout), want);
      // the CSV and the text report say the same counts
      const csv = join(dir, `${name}.csv`);
      const withCsv = cli(['replay', '-q', '--json', path, area, '--allocations', csv]);
      assert.deepEqual(JSON.parse(withCsv.stdout), want);
      const rows = readFileSync(csv, 'utf8').trimEnd().split('\n');
      assert.match(rows[0]!, /,migrated,reclaimed,mapped,migrate_calls$/);
      const costed = rows.slice(1).filter((r) => !r.endsWith(',,,,'));
      assert.equal(costed.length, want.migration.allocations.length);
      assert.match(cli(['replay', '-q', path, area]).stdout, /migration per allocation \(/);
    });
  }
});

describe('the parse worker bin/cma-debug.js starts early (prestart)', () => {
  it('picks the cost events out when it is taken, and is left for a replay that wants others', async () => {
    const text = traceText('\n', true).repeat(4);
    const f = join(dir, 'early.trace');
    writeFileSync(f, text);
    assert.ok(text.length >= PRESTART_MIN_BYTES);
    const want = expected(text);
    const areas = [{ name: 'reserved', basePfn: 0x80000, count: 1 << 18, orderPerBit: 0 }];
    const ref = await replayTrace(fileSource(f), { areas, parallel: false });
    for (const [started, asked] of [
      [[...COST_EVENT_NAMES], COST_EVENT_NAMES],
      [null, COST_EVENT_NAMES],
      [[...COST_EVENT_NAMES], new Set(['cma_alloc_info'])],
    ] as const) {
      assert.equal(prestartTextParse(f, workerScript(), started === null ? null : [...started]), true);
      const got: MmEvent[] = [];
      const r = await replayTrace(fileSource(f), {
        areas,
        parallel: true,
        mmEvents: { names: asked, onEvents: (events) => void got.push(...events) },
      });
      assert.deepEqual(r, ref);
      assert.deepEqual(
        got,
        want.filter((e) => asked.has(e.event)),
      );
    }
  });
});

describe("readMmTrace (blame) reads text through the trace reader's lines", () => {
  it('every mm event of the fixtures, as a line-by-line read finds them', async () => {
    for (const f of [
      'pinned-pages/6.1/trace.txt.gz',
      'pinned-pages/6.12/trace.txt.gz',
      'pinned-pages/7.3/trace.txt.gz',
      'pinned-pages/6.12-dat/report.txt.gz',
      'traces/gen-trace/unnamed-cma0-split.trace.gz',
      'traces/oracle-6.1/capture1.trace',
    ]) {
      const path = join(FIX, f);
      const raw = readFileSync(path);
      const text = (f.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
      const want: MmEvent[] = [];
      text.split('\n').forEach((l, i) => {
        const e = parseMmEventLine(l, i + 1);
        if (e) want.push(e);
      });
      assert.ok(want.length > 500, f);
      assert.deepEqual(await readMmTrace(path), want, f);
    }
  });
});

describe('parseMmEventLine reads the fields as /(\\w+)=(\\S*)/g matches them', () => {
  it('on random payloads of word characters, =, spaces of every kind and punctuation', () => {
    // a seeded generator: the same payloads every run
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = [
      'a',
      'Z',
      '_',
      '9',
      'nr_migrated',
      '=',
      '=',
      ' ',
      ' ',
      '\t',
      '\u00a0',
      '\u2003',
      '\ufeff',
      ':',
      '-',
      '0x1f',
      'é',
      '(',
      ')',
    ];
    for (let k = 0; k < 3000; k++) {
      let payload = '';
      const len = rnd(24);
      for (let i = 0; i < len; i++) payload += alphabet[rnd(alphabet.length)];
      const e = parseMmEventLine(
        `              sh-38      [000] .....     7.659857: mm_migrate_pages: ${payload}`,
        1,
      );
      assert.ok(e !== null, payload);
      const want: Record<string, string> = {};
      for (const m of payload.matchAll(/(\w+)=(\S*)/g)) want[m[1]!] = m[2]!;
      assert.deepEqual(e.fields, want, JSON.stringify(payload));
    }
  });
});
