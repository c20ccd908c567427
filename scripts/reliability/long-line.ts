// A gzip whose middle "line" is N MiB of 'x' between real trace lines: replay must skip it with
// its line number in constant memory. Prints the time and peak RSS (from /usr/bin/time).
//   node --import tsx scripts/reliability/long-line.ts [--mib 1024]

import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';

const ROOT = join(import.meta.dirname, '../..');
const TRACE = join(ROOT, 'test/fixtures/traces/oracle-6.1/capture1.trace');
export const AREA = 'name=reserved,count=4096,base_pfn=0xbee00';

/** Writes the gzip: 20 trace lines, one line of `mib` MiB, the last 5 trace lines. */
export async function writeLongLineGzip(file: string, mib: number): Promise<void> {
  const lines = readFileSync(TRACE, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const gz = createGzip({ level: 1 });
  const out = gz.pipe(createWriteStream(file));
  const write = (b: Buffer | string) =>
    gz.write(b) ? Promise.resolve() : new Promise<void>((r) => gz.once('drain', () => r()));
  await write(`${lines.slice(0, 20).join('\n')}\n`);
  const x = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < mib; i++) await write(x);
  await write(`\n${lines.slice(-5).join('\n')}\n`);
  gz.end();
  await new Promise<void>((r) => out.on('close', () => r()));
}

/** Replays `file` (or stdin bytes) through the CLI; peak RSS in KB when /usr/bin/time exists. */
export function replayMeasured(args: string[], input?: Buffer) {
  const time = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', 'RSS_KB %M'] : [];
  const cmd = [...time, process.execPath, join(ROOT, 'bin/cma-debug.js'), 'replay', ...args, '--area', AREA];
  const t0 = performance.now();
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: 'utf8',
    input,
    timeout: 300_000,
    maxBuffer: 1 << 26,
  });
  const seconds = (performance.now() - t0) / 1000;
  const rss = /RSS_KB (\d+)/.exec(r.stderr)?.[1];
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    seconds,
    rssMiB: rss ? Number(rss) / 1024 : null,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--mib');
  const mib = i >= 0 ? Number(process.argv[i + 1]) : 1024;
  const dir = mkdtempSync(join(tmpdir(), 'cma-long-'));
  try {
    const f = join(dir, 'long.gz');
    await writeLongLineGzip(f, mib);
    const r = replayMeasured([f]);
    const skipped = /line (\d+): line of (\d+) bytes/.exec(r.stdout);
    console.log(
      `long-line: ${mib} MiB line in a gzip: exit ${r.status}, ${r.seconds.toFixed(1)} s, peak RSS ${r.rssMiB?.toFixed(0) ?? '?'} MiB, skipped line ${skipped?.[1] ?? 'NOT REPORTED'} (${skipped?.[2] ?? '?'} bytes)`,
    );
    if (r.status !== 0 || !skipped) process.exit(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
