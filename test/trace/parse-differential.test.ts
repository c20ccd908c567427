// Property-based differential test of the text parser's three ways to read a line: the
// WebAssembly fast path (assembly/trace-scan.ts via ParseOptions.wasm), the JavaScript fast path
// (parse-fast.ts fastLine) and the general path (`fastPath: false`, the reference). Real cma_*
// lines from the fixtures (6.1, 6.12 and 7.3 ftrace text, trace-cmd report, Android) are mutated
// the ways kernels and tools print them — task names, pids, cpus, flag columns, timestamps,
// values of every width and base, names, extra and missing keys, CRLF, trailing spaces, cut
// lines, `name=cma%d` splits, stray bytes — and fed in chunks of random sizes. A fast path may
// reject a line (the general path then reads it) but must never read it differently: every
// event (all fields, task name and line number) and the stats (malformed lines included) must be
// the same whichever path reads them.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { TraceLineParser } from '../../src/sources/trace/parse.ts';

import { batchesOf, snap } from './parse-kit.ts';

const FIX = join(import.meta.dirname, '../fixtures');

/** Every line of the fixture traces that names a cma event or the migrate-range event (latin1: one char a byte). */
function seedLines(): string[] {
  const files: string[] = [];
  for (const dir of [
    'traces/gen-trace',
    'traces/oracle-6.1',
    'traces/oracle-7.3',
    'traces/plan',
    'replay-costs',
  ])
    for (const f of readdirSync(join(FIX, dir)).sort())
      if (f.endsWith('.trace') || f.endsWith('.trace.gz')) files.push(join(dir, f));
  for (const f of ['6.1', '6.12', '7.3']) files.push(`trace-dat/${f}.report.txt`);
  const seen = new Set<string>();
  // one line per shape (the event and its keys), up to a few of each
  const perShape = new Map<string, number>();
  for (const f of files) {
    const raw = readFileSync(join(FIX, f));
    const text = (f.endsWith('.gz') ? gunzipSync(raw) : raw).toString('latin1');
    const ls = text.split('\n');
    for (let j = 0; j < ls.length; j++) {
      let l = ls[j]!;
      // 6.1's unnamed areas: `name=cma%d\n` and the other keys on the next line, rejoined
      if (/name=cma\d+$/.test(l) && ls[j + 1]?.startsWith(' ')) l += ls[++j];
      if (!/: (cma_|mm_alloc_contig_migrate_range_info)/.test(l) || l.startsWith('#')) continue;
      const shape = l.replace(/^.*?: ([a-z_]+):/, '$1').replace(/=\S*/g, '=');
      const n = perShape.get(shape) ?? 0;
      if (n >= 4 || seen.has(l)) continue;
      perShape.set(shape, n + 1);
      seen.add(l);
    }
  }
  return [...seen].sort();
}

interface Seed {
  event: string;
  pairs: [string, string][];
}

const PREFIX =
  /^(.*?)-(\d+)(?:\s+\(\s*[\d-]+\))?\s+\[(\d+)\](?:\s+(\S{4,5}))?\s+(\d+)\.(\d+):\s+([a-z_]+):\s+(.*)$/;

function parseSeed(line: string): Seed | null {
  const m = PREFIX.exec(line);
  if (!m) return null;
  const pairs: [string, string][] = [];
  for (const tok of m[8]!.trim().split(/ +/)) {
    const eq = tok.indexOf('=');
    if (eq <= 0) return null;
    pairs.push([tok.slice(0, eq), tok.slice(eq + 1)]);
  }
  return { event: m[7]!, pairs };
}

/**
 * The other events the parser picks out (ParseOptions.otherEvents) as the kernel prints them
 * (TP_printk of kmem:mm_alloc_contig_migrate_range_info, migrate:mm_migrate_pages,
 * page_isolation:test_pages_isolated); the fixtures hold them only in binary traces.
 */
const OTHER_SEEDS = [
  '              sh-38      [000] .....     7.659857: mm_alloc_contig_migrate_range_info: start=0x1c800 end=0x1cc00 migratetype=1 nr_migrated=4 nr_reclaimed=0 nr_mapped=4',
  '              sh-38      [000] .....     7.659860: mm_migrate_pages: nr_succeeded=4 nr_failed=0 nr_thp_succeeded=0 nr_thp_failed=0 nr_thp_split=0 nr_split=0 mode=MIGRATE_SYNC reason=contig_range',
  '              sh-38      [000] .....     7.659861: test_pages_isolated: start_pfn=0x1c800 end_pfn=0x1cc00 fin_pfn=0x1cc00 ret=success',
];
const OTHER_NAMES: ReadonlySet<string> = new Set([
  'mm_alloc_contig_migrate_range_info',
  'mm_migrate_pages',
  'test_pages_isolated',
  'cma_alloc_info',
]);

const SEEDS: Seed[] = [...seedLines(), ...OTHER_SEEDS].map(parseSeed).filter((s): s is Seed => s !== null);

// ---- the mutations ----

const hexDigits = (n: number, upper: boolean) =>
  fc
    .array(fc.constantFrom(...'0123456789abcdef'), { minLength: n, maxLength: n })
    .map((d) => (upper ? d.join('').toUpperCase() : d.join('')));

/** Numbers near the edges the paths handle: 0, int32, 2^52, 2^53, 2^64. */
const edgeNumber = fc.constantFrom(
  0n,
  1n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  2n ** 52n - 1n,
  2n ** 52n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  0xfffffffffffffn,
  0x1fffffffffffffn,
  2n ** 63n,
  2n ** 64n - 2n,
  2n ** 64n - 1n,
  2n ** 64n,
);
const anyNumber = fc.oneof(
  edgeNumber,
  fc.bigInt({ min: 0n, max: 2n ** 70n }),
  fc.bigInt({ min: 0n, max: 4096n }),
);

/** A pfn as %lx prints it, and in the forms other tools and kernels might. */
const pfnValue = fc.oneof(
  { weight: 4, arbitrary: anyNumber.map((v) => `0x${v.toString(16)}`) },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 1, max: 17 })
      .chain((n) => hexDigits(n, false))
      .map((h) => `0x${h}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 17 })
      .chain((n) => hexDigits(n, true))
      .map((h) => `0x${h}`),
  },
  { weight: 1, arbitrary: anyNumber.map((v) => `0X${v.toString(16)}`) },
  { weight: 1, arbitrary: anyNumber.map((v) => v.toString(16)) },
  { weight: 1, arbitrary: anyNumber.map((v) => v.toString(10)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '0x',
      '',
      '0x0',
      '0',
      '0xffffffffffffffff',
      '-1',
      '0xfffffffffffffffff',
      '0x0ffffffffffffffff',
    ),
  },
);
/** %p: hashed 16 digits, the unhashed kernel address, (____ptrval____), NULL forms. */
const pageValue = fc.oneof(
  { weight: 3, arbitrary: hexDigits(16, false) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('0000000000000000', '(____ptrval____)', '(null)', '0x0', '0', '00000000', ''),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20 }).chain((n) => hexDigits(n, false)) },
  { weight: 1, arbitrary: hexDigits(16, false).map((h) => `0x${h}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 16 }).chain((n) => hexDigits(n, true)) },
);
/** %lu / %u / %d counts and orders of every width, with leading zeros and signs. */
const decValue = fc.oneof(
  { weight: 4, arbitrary: anyNumber.map((v) => v.toString()) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 99 }).map(String) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 20 }), anyNumber)
      .map(([w, v]) => v.toString().padStart(w, '0')),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '+1', '-1', '-16', '0x10', '1a', '64', '63', '099', '1 ') },
);

/** Bytes of task names: letters, digits, spaces, dashes, punctuation, UTF-8 and invalid bytes (latin1 chars). */
const commChars = fc.constantFrom(
  ...'abcxyzKR09135 -_/:.[]()#=',
  '\xc3\xa9', // é in UTF-8
  '\xe2\x82\xac', // € in UTF-8
  '\xff',
  '\x80',
  '\t',
  // a task may name itself anything (PR_SET_NAME); ftrace prints it as is
  '\n',
  '\r',
);
const comm = fc
  .array(commChars, { maxLength: 20 })
  .map((cs) => cs.join(''))
  .map((s) => s.slice(0, 20));

/** Area names: the seed's, the usual ones, `cma%d`, and odd ones of every length. */
const areaName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('reserved', 'hugetlb0', 'cma0', 'cma1', 'linux,cma') },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.constantFrom(...'abcdefgh0123456789_-,.', ' ', '\xc3\xa9', '\xff', 'count=1'), {
        maxLength: 40,
      })
      .map((cs) => cs.join('')),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5000 }).map((n) => 'n'.repeat(n)) },
);

const FLAGS = [
  '.....',
  'd..1.',
  'dNs1.',
  'd.h2.',
  '.N...',
  'dnhs.',
  'd..1',
  '....',
  '.N..',
  'd.s3',
  '',
  '.. ..',
  '...]]',
  'Z....',
];
const EVENTS = [
  'cma_alloc_start',
  'cma_alloc_finish',
  'cma_alloc_busy_retry',
  'cma_release',
  'cma_alloc_info',
  'cma_alloc',
  'cma_alloc_startx',
  'cma_alloc_start2',
  'mm_alloc_contig_migrate_range_info',
];
const EXTRA_KEYS: [string, string][] = [
  ['extra', '1'],
  ['errorno', '-16'],
  ['errorno', '0'],
  ['nr_reclaimed', '3'],
  ['available_count', '4096'],
  ['total_count', '8192'],
  ['request_count', '8'],
  ['align', '3'],
  ['pfn', '0x80000'],
  ['page', '0000000035a66047'],
  ['count', '1'],
  ['name', 'reserved'],
  ['x', ''],
  ['', '1'],
];

interface GenLine {
  /** Keep the kernel's own 6.1 prefix layout (only the event's values, names and keys mutated). */
  tidy: boolean;
  seed: number;
  comm: string;
  pid: string;
  pidWidth: number;
  cpu: string;
  flags: string;
  sec: string;
  secWidth: number;
  frac: string;
  event: number; // -1: the seed's
  eventPad: number;
  /** per pair: [value mutation (null: keep), drop] */
  vals: { kind: number; pfn: string; page: string; dec: string; drop: boolean }[];
  name: string | null;
  extra: { at: number; kv: [string, string] } | null;
  swap: number;
  splitName: boolean;
  ending: string;
  cut: number | null;
  bytes: { at: number; op: number; ch: string }[];
}

const genLine: fc.Arbitrary<GenLine> = fc.record({
  tidy: fc.boolean(),
  seed: fc.nat(SEEDS.length - 1),
  comm,
  pid: fc.oneof(
    fc.integer({ min: 1, max: 9_999_999 }).map(String),
    fc
      .integer({ min: 1, max: 7 })
      .chain((n) => fc.integer({ min: 10 ** (n - 1), max: 10 ** n - 1 }).map(String)),
    fc.constantFrom('0', '12345678', '4194304', '00012'),
  ),
  pidWidth: fc.oneof({ weight: 8, arbitrary: fc.constant(7) }, { weight: 1, arbitrary: fc.nat(9) }),
  cpu: fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: 999 }).map((c) => String(c).padStart(3, '0')) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 99999 }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom('', '0', '00', '0000', '1a2', ' 12', '12 ') },
  ),
  flags: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('.....', 'd..1.', 'dNs1.', 'd.h2.') },
    { weight: 4, arbitrary: fc.constantFrom(...FLAGS) },
    {
      weight: 1,
      arbitrary: fc.array(fc.constantFrom(...'.dNnhHsSzZb1239] \n'), { maxLength: 6 }).map((a) => a.join('')),
    },
  ),
  sec: fc
    .integer({ min: 1, max: 10 })
    .chain((n) =>
      fc.array(fc.constantFrom(...'0123456789'), { minLength: n, maxLength: n }).map((a) => a.join('')),
    ),
  secWidth: fc.oneof({ weight: 8, arbitrary: fc.constant(5) }, { weight: 1, arbitrary: fc.nat(12) }),
  frac: fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .array(fc.constantFrom(...'0123456789'), { minLength: 6, maxLength: 6 })
        .map((a) => a.join('')),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.constantFrom(...'0123456789'), { minLength: 9, maxLength: 9 })
        .map((a) => a.join('')),
    },
    {
      weight: 1,
      arbitrary: fc.array(fc.constantFrom(...'0123456789a:'), { maxLength: 10 }).map((a) => a.join('')),
    },
  ),
  event: fc.oneof(
    { weight: 12, arbitrary: fc.constant(-1) },
    { weight: 1, arbitrary: fc.nat(EVENTS.length - 1) },
  ),
  eventPad: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(22) }),
  vals: fc.array(
    fc.record({
      kind: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(1) }),
      pfn: pfnValue,
      page: pageValue,
      dec: decValue,
      drop: fc.oneof(
        { weight: 12, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    }),
    { minLength: 8, maxLength: 8 },
  ),
  name: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: areaName }),
  extra: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ at: fc.nat(8), kv: fc.constantFrom(...EXTRA_KEYS) }) },
  ),
  swap: fc.oneof({ weight: 10, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(7) }),
  splitName: fc.oneof(
    { weight: 12, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  ending: fc.constantFrom(
    '\n',
    '\n',
    '\n',
    '\n',
    '\n',
    '\n',
    '\r\n',
    ' \n',
    '  \n',
    '\t\n',
    '\r\r\n',
    '\n\n',
    '',
  ),
  cut: fc.oneof({ weight: 10, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(200) }),
  bytes: fc.oneof(
    { weight: 4, arbitrary: fc.constant<never[]>([]) },
    fc.array(
      fc.record({
        at: fc.nat(200),
        op: fc.nat(2),
        ch: fc.constantFrom(
          ' ',
          '\n',
          '0',
          '9',
          'f',
          'F',
          'x',
          ':',
          '.',
          '-',
          ']',
          '[',
          '=',
          '\r',
          '\xff',
          '\0',
          '#',
        ),
      }),
      { maxLength: 2 },
    ),
  ),
});

const DEC_KEYS = new Set([
  'count',
  'request_count',
  'align',
  'available_count',
  'total_count',
  'errorno',
  'nr_migrated',
  'nr_reclaimed',
  'nr_mapped',
  'err_iso',
  'err_mig',
  'err_test',
  'nr_migrated_file_pages',
]);

/** One generated line as latin1 text (one char a byte). */
function render(g0: GenLine): string {
  const g: GenLine = g0.tidy
    ? {
        ...g0,
        comm: g0.comm.slice(0, 16),
        pidWidth: 7,
        pid: g0.pid.slice(0, 7),
        cpu: g0.cpu.padStart(3, '0').slice(-3).replace(/\D/g, '0'),
        flags: FLAGS[g0.seed % 4]!,
        sec: g0.sec.slice(0, 5),
        secWidth: 5,
        frac: g0.frac.padEnd(6, '0').slice(0, 6).replace(/\D/g, '1'),
        eventPad: 0,
        ending: g0.ending === '\r\n' ? '\r\n' : '\n',
        cut: null,
        bytes: [],
      }
    : g0;
  const seed = SEEDS[g.seed]!;
  const event = g.event < 0 ? seed.event : EVENTS[g.event]!;
  let pairs = seed.pairs.map(([k, v], i): [string, string] | null => {
    const m = g.vals[i % g.vals.length]!;
    if (m.drop) return null;
    if (k === 'name') return [k, g.name ?? v];
    if (m.kind === 0) return [k, v];
    if (k === 'pfn') return [k, m.pfn];
    if (k === 'page') return [k, m.page];
    if (DEC_KEYS.has(k)) return [k, m.dec];
    return [k, m.dec];
  });
  if (g.extra !== null) pairs.splice(Math.min(g.extra.at, pairs.length), 0, g.extra.kv);
  if (g.swap >= 0 && g.swap + 1 < pairs.length) {
    const a = pairs[g.swap]!;
    pairs[g.swap] = pairs[g.swap + 1]!;
    pairs[g.swap + 1] = a;
  }
  pairs = pairs.filter((p) => p !== null);
  let payload = '';
  for (const p of pairs) {
    if (p === null) continue;
    payload += `${payload === '' ? '' : ' '}${p[0]}=${p[1]}`;
    // 6.1's `name=cma%d\n`: the other keys follow on the next line
    if (g.splitName && p[0] === 'name') payload += '\n';
  }
  const head =
    `${g.comm.padStart(16)}-${g.pid.padEnd(g.pidWidth)} [${g.cpu}]` +
    `${g.flags === '' ? '' : ` ${g.flags}`} ${g.sec.padStart(g.secWidth)}.${g.frac}: `;
  let line = `${head}${`${event}:`.padEnd(event.length + 1 + g.eventPad)} ${payload}${g.ending}`;
  for (const b of g.bytes) {
    const at = b.at % (line.length + 1);
    if (b.op === 0) line = line.slice(0, at) + b.ch + line.slice(at + 1);
    else if (b.op === 1) line = line.slice(0, at) + b.ch + line.slice(at);
    else line = line.slice(0, at) + line.slice(at + 1);
  }
  if (g.cut !== null) line = line.slice(0, g.cut % (line.length + 1));
  return line;
}

// ---- the three paths ----

let fastEvents = 0;
let otherEvents = 0;

/** Events and stats of `bytes` fed in chunks of `sizes` (the rest in one), copied into one reused buffer. */
function parse(
  bytes: Uint8Array,
  mode: 'general' | 'fast' | 'wasm',
  sizes: number[],
): { evs: unknown[][]; stats: unknown } {
  const evs: unknown[][] = [];
  const p = new TraceLineParser(
    (ev) => {
      evs.push(snap(ev));
      if (p.fastEvent) fastEvents++;
    },
    {
      fastPath: mode !== 'general',
      wasm: mode === 'wasm',
      otherEvents: {
        names: OTHER_NAMES,
        onEvent: (e) => {
          otherEvents++;
          evs.push(['other', JSON.stringify(e)]);
        },
      },
    },
  );
  const buf = Buffer.alloc(bytes.length + 1);
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = Math.min(sizes[i] ?? bytes.length, bytes.length - pos);
    buf.set(bytes.subarray(pos, pos + n));
    p.feed(buf.subarray(0, n));
    pos += n;
  }
  return { evs, stats: p.end() };
}

/** A 6.1 line the fast path reads, to give the lines before it the 256 bytes fastLine wants after them. */
const TAIL =
  '# padding: the fast paths read a line only with room after it in the chunk ' +
  `${'-'.repeat(300)}\n` +
  '              sh-31      [000] .....     1.179771: cma_alloc_start: name=reserved count=699 align=0\n';

const input = fc.record({
  lines: fc.array(genLine, { minLength: 1, maxLength: 12 }),
  tail: fc.boolean(),
  // chunk sizes: whole, or a few random ones (1 byte up), the rest in one
  chunksA: fc.oneof(fc.constant<never[]>([]), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 8 })),
  chunksB: fc.oneof(fc.constant<never[]>([]), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 8 })),
  small: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 20 }),
});

function textOf(i: { lines: GenLine[]; tail: boolean }): Uint8Array {
  return Buffer.from(i.lines.map(render).join('') + (i.tail ? TAIL : ''), 'latin1');
}

function check(bytes: Uint8Array, chunksA: number[], chunksB: number[], small: number[]): void {
  const ref = parse(bytes, 'general', []);
  const text = Buffer.from(bytes).toString('latin1');
  for (const [mode, sizes] of [
    ['fast', chunksA],
    ['wasm', chunksB],
    ['wasm', chunksA],
    ['fast', small],
    ['general', small],
  ] as const) {
    const got = parse(bytes, mode, sizes);
    assert.deepEqual(got.evs, ref.evs, `${mode} events, chunks ${sizes.join(',')}:\n${JSON.stringify(text)}`);
    assert.deepEqual(
      got.stats,
      ref.stats,
      `${mode} stats, chunks ${sizes.join(',')}:\n${JSON.stringify(text)}`,
    );
  }
}

describe('text parser: regressions the property found', () => {
  it('a line that starts with ": cma_" reads the same when a chunk starts with it (was: not a cma line)', () => {
    const text =
      '               -0       [000] .....     0.00000\n' +
      ': cma_alloc_finish: pfn=0x1ea08 name=reserved page=0000000000000000 count=16 align=0\n' +
      '                -1 [000] .....     0.: cma_alloc_start: name=hugetlb0 available_count=0 align=0\n';
    const bytes = Buffer.from(text, 'latin1');
    const ref = parse(bytes, 'general', []);
    assert.equal((ref.stats as { malformed: number }).malformed, 2);
    check(bytes, [48], [48, 1], [48]);
  });
});

describe('text parser: regressions the property found (fast paths)', () => {
  it('a task name holding a newline is two lines, not one (was: the fast paths read it as one line)', () => {
    const line = (comm: string) =>
      `${comm.padStart(16)}-12      [002] .....   100.000012: cma_alloc_start: name=reserved count=1 align=0\n`;
    const bytes = Buffer.from(`${line('x')}${line('ab\ncd')}${TAIL}`, 'latin1');
    const ref = parse(bytes, 'general', []);
    // line 2 is "             ab", not a cma line; line 3 the event of task "cd"
    assert.deepEqual(
      ref.evs.map((e) => [e[1], e[18]]),
      [
        [1, 'x'],
        [3, 'cd'],
        [5, 'sh'],
      ],
    );
    check(bytes, [], [], []);
    // the same bytes as a short line, then a line whose task name is padded to 13 columns
    check(Buffer.from(`${line('x')}             ab\n${line('cd').slice(3)}${TAIL}`, 'latin1'), [], [], []);
  });
});

describe('text parser: wasm fast path, JS fast path and general path agree on mutated real lines', () => {
  it('has seed lines of every era from the fixtures', () => {
    const events = new Set(SEEDS.map((s) => s.event));
    for (const e of [
      'cma_alloc_start',
      'cma_alloc_finish',
      'cma_alloc_busy_retry',
      'cma_release',
      'cma_alloc_info',
    ])
      assert.ok(events.has(e), e);
    const keys = new Set(SEEDS.flatMap((s) => s.pairs.map(([k]) => k)));
    for (const k of ['request_count', 'errorno', 'available_count', 'nr_migrated', 'migratetype'])
      assert.ok(keys.has(k), k);
    assert.ok(SEEDS.length >= 20, `${SEEDS.length} seeds`);
  });

  it('the same events, fields, line numbers, malformed lines and stats, in chunks of any size', () => {
    fastEvents = 0;
    otherEvents = 0;
    fc.assert(
      fc.property(input, (i) => check(textOf(i), i.chunksA, i.chunksB, i.small)),
      // (FZ_SEED / FZ_RUNS: a longer hunt by hand; the test itself is deterministic)
      { seed: Number(process.env.FZ_SEED ?? 0x6d61), numRuns: Number(process.env.FZ_RUNS ?? 1500) },
    );
    // the property is not vacuous: the fast paths read many of the lines
    assert.ok(fastEvents > 1000, `${fastEvents} fast-path events`);
    assert.ok(otherEvents > 100, `${otherEvents} other events`);
  });

  it("the parse worker's batches: the same whether events, the JS fast path or the wasm scanner write them", () => {
    fc.assert(
      fc.property(input, (i) => {
        const bytes = textOf(i);
        const ref = batchesOf(bytes, [], 'general');
        for (const sizes of [[], i.chunksA]) {
          for (const mode of ['event', 'target', 'wasm'] as const)
            assert.deepEqual(batchesOf(bytes, sizes, mode), ref, `${mode}, chunks ${sizes.join(',')}`);
        }
      }),
      { seed: Number(process.env.FZ_SEED ?? 0x6d62), numRuns: Number(process.env.FZ_RUNS ?? 300) },
    );
  });
});
