// Hostile trace text: a 256 MiB single line inside a gzip is skipped with its line number in
// constant memory (the full 1 GiB case runs in `npm run reliability`), and gzip is detected on
// stdin by content as it is for files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { replayMeasured, writeLongLineGzip } from '../../scripts/reliability/long-line.ts';
import { MAX_LINE_BYTES, parseTraceText, TraceLineParser } from '../../src/sources/trace/parse.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const TRACE = path.join(ROOT, 'test/fixtures/traces/oracle-6.1/capture1.trace');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cma-long-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('line length bound', () => {
  it('the parser skips a line past MAX_LINE_BYTES, fed in small chunks, and keeps counting', () => {
    let events = 0;
    const p = new TraceLineParser(() => {
      events++;
    });
    const lines = fs.readFileSync(TRACE, 'utf8').split('\n');
    p.feed(new TextEncoder().encode(`${lines.slice(0, 10).join('\n')}\n`));
    const x = new Uint8Array(64 * 1024).fill(0x78);
    for (let i = 0; i < (3 * MAX_LINE_BYTES) / x.length; i++) p.feed(x);
    p.feed(new TextEncoder().encode(`\n${lines.slice(10, 20).join('\n')}\n`));
    const st = p.end();
    assert.equal(st.lines, 21);
    assert.equal(st.malformed, 1);
    assert.equal(st.malformedLines[0]?.line, 11);
    assert.match(st.malformedLines[0]!.reason, /line of 3145728 bytes, longer than the 1048576-byte limit/);
    let without = 0;
    parseTraceText(`${lines.slice(0, 20).join('\n')}\n`, () => {
      without++;
    });
    assert.equal(events, without, 'every event around the long line is still read');
    assert.ok(events > 0);
  });
  it('replay of a gzip with a 256 MiB line: skipped with its line number, in < 200 MiB RSS', async () => {
    const f = path.join(tmp, 'long.gz');
    await writeLongLineGzip(f, 256);
    const r = replayMeasured([f]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /line 21: line of 268435456 bytes, longer than the 1048576-byte limit .*skipped/);
    assert.match(r.stdout, /13 cma events/);
    if (r.rssMiB !== null) assert.ok(r.rssMiB < 200, `peak RSS ${r.rssMiB.toFixed(0)} MiB`);
  });
  it('gzip on stdin is detected by content', () => {
    const text = fs.readFileSync(TRACE);
    const plain = replayMeasured(['-'], text);
    const gz = replayMeasured(['-'], gzipSync(text));
    assert.equal(gz.status, 0, gz.stderr);
    assert.match(gz.stdout, /trace <stdin>: 930 lines, 918 cma events/);
    assert.equal(gz.stdout, plain.stdout);
  });
});
