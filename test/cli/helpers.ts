// Runs the CLI (src/frontends/cli/main.ts through tsx) and returns its exit status and output.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const FIX = join(ROOT, 'test/fixtures');

export function cli(
  args: string[],
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/frontends/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      ...(input !== undefined ? { input } : {}),
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
