// The dashboard's script: the bundle `npm run build` writes to dist/web/app.js, or, when running
// from the TypeScript sources (or the bundle is missing), built in memory with esbuild once.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let cached: Promise<string> | null = null;

/** Where the browser sources are (the entry point of the bundle). */
function dashboardEntry(): string | null {
  // from src/frontends/web/bundle.ts, or from dist/frontends/web/bundle.js back to src
  const candidates = [
    new URL('./app/main.ts', import.meta.url),
    new URL('../../../src/frontends/web/app/main.ts', import.meta.url),
  ];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Builds the bundle in memory (esbuild). */
async function buildDashboardBundle(minify = true): Promise<string> {
  const entry = dashboardEntry();
  if (!entry) throw new Error('dashboard sources not found and no built bundle: run `npm run build`');
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

/** The dashboard script, read or built once per process. */
export function loadDashboardBundle(): Promise<string> {
  cached ??= (async () => {
    const fromSources = import.meta.url.endsWith('.ts');
    const built = fileURLToPath(new URL('../../web/app.js', import.meta.url));
    if (!fromSources && existsSync(built)) return readFileSync(built, 'utf8');
    return buildDashboardBundle();
  })();
  cached.catch(() => {
    cached = null;
  });
  return cached;
}
