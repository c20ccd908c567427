// The binary forms of a bench trace for `npm run bench` (its formats table; `npm run bench:formats`
// runs that table alone): the same events as trace-cmd's trace.dat (v6, bench/write-trace-dat.ts)
// and as a Perfetto trace (bench/write-perfetto.ts), on 8 CPUs as gen-trace writes them, made once
// next to the text and remade when the text changes.

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileSource } from '../src/sources/trace/input.ts';
import { readTraceEvents } from '../src/sources/trace/read-events.ts';
import { writePerfettoBench } from './write-perfetto.ts';
import { writeTraceDat } from './write-trace-dat.ts';

/** gen-trace's default --cpus: the CPU numbers in the text are 0..7. */
const CPUS = 8;

export interface BinaryForms {
  dat: string;
  datBytes: number;
  perfetto: string;
  perfettoBytes: number;
}

/** The trace.dat and Perfetto forms of the text trace at `text` (made when missing or stale). */
export async function writeBinaryForms(text: string, log: (s: string) => void): Promise<BinaryForms> {
  const base = text.replace(/\.trace$/, '');
  const dat = `${base}.dat`;
  const perfetto = `${base}.pftrace`;
  const stamp = `${base}.forms.json`;
  const st = statSync(text);
  // (clock: the forms' timestamps are nanoseconds inside each printed microsecond, bench/ns-clock.ts)
  const key = JSON.stringify({ bytes: st.size, mtimeMs: st.mtimeMs, cpus: CPUS, clock: 'ns' });
  const fresh =
    existsSync(dat) &&
    existsSync(perfetto) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8').trim() === key;
  if (!fresh) {
    log(`writing the trace.dat and Perfetto forms of ${text}`);
    const each = (onEvent: Parameters<typeof readTraceEvents>[1]) =>
      readTraceEvents(fileSource(text), onEvent).then(() => undefined);
    await writeTraceDat(dat, each, { cpus: CPUS, release: '6.1.192', nsClock: true });
    await writePerfettoBench(perfetto, each, { cpus: CPUS, release: '6.1.192', nsClock: true });
    writeFileSync(stamp, `${key}\n`);
  }
  return { dat, datBytes: statSync(dat).size, perfetto, perfettoBytes: statSync(perfetto).size };
}
