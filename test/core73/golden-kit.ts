// What the library golden tests of the 6.12 and 7.3 profiles share (test/core612, test/core73):
// reading a golden, building the system a golden was made on, comparing a ported script's
// output, the `### …` sections of areas.txt/ranges.txt, and the failure-log ratelimit scenario.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createSystem } from '../../src/core/create.ts';
import type { CmaSystem } from '../../src/core/system.ts';
import { comparable, normaliseTrace } from './script-port.ts';

/** The goldens of one profile (test/fixtures/golden-<profile>/). */
export function goldenKit(profile: '6.12' | '7.3'): {
  golden: (name: string) => string;
  system: (areas: readonly string[] | null, raw?: boolean) => CmaSystem;
} {
  const dir = new URL(`../fixtures/golden-${profile}/`, import.meta.url);
  return {
    golden: (name) => readFileSync(new URL(name, dir), 'utf8'),
    /** The areas (null: a kernel without CMA), a fixed clock, raw pointers for `-nohash` goldens. */
    system: (areas, raw = false) =>
      createSystem({
        profile,
        ...(areas === null ? { configText: '{"areas": []}' } : { areas: [...areas] }),
        now: () => 1000,
        ...(raw ? { pointers: { mode: 'raw' as const } } : {}),
      }),
  };
}

/** A ported script's output equals the golden, both without the lines outside the interface. */
export function check(actual: string, goldenText: string): void {
  assert.equal(normaliseTrace(comparable(actual)), normaliseTrace(comparable(goldenText)));
}

/** The `### …` sections of ranges.txt / areas.txt, by their heading. */
export function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(/^### /m).slice(1)) {
    const nl = part.indexOf('\n');
    out.set(part.slice(0, nl), part.slice(nl + 1).replace(/\n+$/, '\n'));
  }
  return out;
}

/**
 * extra/ratelimit.sh ported: fill `reserved`, fail 15 times, sleep 6 s, fail once more; the
 * `cma`/suppression/dump lines of dmesg (10 failure lines per 5 s, then "N callbacks suppressed").
 */
export function ratelimitLog(profile: '6.12' | '7.3'): string {
  let now = 1000;
  const sys = createSystem({ profile, now: () => now });
  const D = '/sys/kernel/debug/cma/reserved';
  assert.ok(sys.writeFile(`${D}/alloc`, '4096\n').ok);
  for (let i = 0; i < 15; i++) assert.equal(sys.writeFile(`${D}/alloc`, '1\n').ok, false);
  now += 6000; // sleep 6
  assert.equal(sys.writeFile(`${D}/alloc`, '1\n').ok, false);
  const ours = sys
    .dmesg()
    .split('\n')
    .filter((l) => /cma|suppress|^=> /.test(l) && !/Command line|Memory:/.test(l))
    .join('\n');
  return `${ours}\n`;
}
