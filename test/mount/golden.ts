// What the golden-transcript mount tests of 6.1, 6.12 and 7.3 share: running a golden script with
// busybox against `cma-debug mount`, and the section-by-section and trace comparisons.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  adaptScript,
  asSys,
  busyboxScript,
  dropHostLines,
  normalisePids,
  normaliseTrace,
  numericOwners,
  ROOT,
  startMount,
} from './helpers.ts';

export { dropHostLines, fuseUnavailable, normalisePids, normaliseTrace, ROOT } from './helpers.ts';

/** test/fixtures/golden-<id>/. */
export function goldenDir(id: string): string {
  return join(ROOT, `test/fixtures/golden-${id}`);
}

/**
 * What busybox printed (stdout and stderr in order) running the golden `script` of `golden`
 * against a fresh `cma-debug mount ARGS`, with the mount directory shown as /sys and owners
 * as the oracle's initramfs prints them.
 */
export async function transcript(
  golden: string,
  script: string,
  mountArgs: readonly string[],
): Promise<string> {
  const server = await startMount([...mountArgs]);
  try {
    const text = adaptScript(readFileSync(join(golden, 'scripts', script), 'utf8'));
    const r = await busyboxScript(text, server.dir);
    return numericOwners(asSys(r.stdout + r.stderr, server.dir));
  } finally {
    await server.stop();
  }
}

/** Splits a transcript into its `== `/`###`-headed sections, so a failure names the section. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let name = '(start)';
  for (const line of text.split('\n')) {
    if (/^(== |#{8} |={19} )/.test(line)) {
      name = line;
      while (out.has(name)) name += "'";
    }
    out.set(name, `${out.get(name) ?? ''}${line}\n`);
  }
  return out;
}

/**
 * One test per `[script, golden file, mount args]`, one subtest per section of the golden:
 * byte for byte after dropHostLines and the trace normalisation.
 */
export function sectionTests(
  golden: string,
  cases: readonly (readonly [string, string, readonly string[]])[],
): void {
  for (const [script, file, args] of cases) {
    test(`${script} → ${file}`, async (t) => {
      const got = sections(await transcript(golden, script, args));
      // layout.sh's per-area sections are ls -la/stat only: they are checked on a mount with the
      // kernel's st_size 0 (--exact-sizes); by default debugfs files report the length of their
      // text so that tail -c, dd skip= and sendfile readers such as busybox cat work
      const exact =
        script === 'layout.sh' ? sections(await transcript(golden, script, [...args, '--exact-sizes'])) : got;
      const want = sections(normaliseTrace(dropHostLines(readFileSync(join(golden, file), 'utf8'))));
      for (const [name, text] of want) {
        await t.test(name, () => {
          let mine = got.get(name) ?? '(missing)\n';
          if (/^={19} area /.test(name)) {
            // ls -la/stat lines from the exact-size mount, `  area/file: value` lines (cat) from the default one
            const e = (exact.get(name) ?? '').split('\n');
            mine = mine
              .split('\n')
              .map((l, i) => (/^ {2}[^ ]+: /.test(l) ? l : (e[i] ?? l)))
              .join('\n');
          }
          assert.equal(normaliseTrace(mine), text);
        });
      }
    });
  }
}

/**
 * trace.sh against each golden: the local-clock part after the oracle README's normalisation,
 * the counter-clock part exactly but for PIDs (and, with `ignoreFlags`, the flags column: the
 * oracle's timer tick sometimes sets need-resched, `.N...`).
 */
export function traceTests(
  golden: string,
  cases: readonly (readonly [string, readonly string[]])[],
  ignoreFlags = false,
): void {
  const counter = (t: string) => {
    const p = normalisePids(t);
    return ignoreFlags ? p.replace(/^( *\S+-PID \[\d+\]) \S+ /gm, '$1 FLAGS ') : p;
  };
  for (const [file, args] of cases) {
    test(`trace.sh → ${file}`, async () => {
      const got = await transcript(golden, 'trace.sh', args);
      const want = readFileSync(join(golden, file), 'utf8');
      const mark = '######## trace_clock counter';
      assert.ok(got.includes(mark), got);
      assert.equal(
        normaliseTrace(got.slice(0, got.indexOf(mark))),
        normaliseTrace(want.slice(0, want.indexOf(mark))),
      );
      assert.equal(counter(got.slice(got.indexOf(mark))), counter(want.slice(want.indexOf(mark))));
    });
  }
}
