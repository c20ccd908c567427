#!/usr/bin/env node
// Bundles the dashboard (src/frontends/web/app/main.ts) into dist/web/app.js with esbuild: one
// self-contained script the server sends; nothing is fetched from elsewhere at run time.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'web', 'app.js');
mkdirSync(dirname(outfile), { recursive: true });
await esbuild.build({
  entryPoints: [join(root, 'src', 'frontends', 'web', 'app', 'main.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  outfile,
  logLevel: 'warning',
});
