#!/usr/bin/env node
// The dependency direction of src/ (docs/ARCHITECTURE.md): core ← sources ← analysis ← frontends.
// A module may import its own layer and the layers below it, never one above or beside it; the
// core imports nothing outside itself but src/schema (no node:*, no packages); src/schema, the file
// formats as data, sits below the core and imports only valibot; only the composition roots (the
// CLI, the package's index files) tie front ends together. Imports are read with TypeScript's
// own pre-processor (static, type-only, re-exports and dynamic import()).
//
//   node scripts/check-layers.mjs [--root DIR]     exit 0 = clean, 1 = violations (listed)

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const root = resolve(rootArg >= 0 ? args[rootArg + 1] : join(dirname(fileURLToPath(import.meta.url)), '..'));
const src = join(root, 'src');

/** The layer of a file under src/, or null for src/index.ts (the package entry, a composition root). */
function layerOf(rel) {
  const parts = rel.split(sep);
  if (parts.length === 1) return null;
  if (parts[0] === 'frontends') return parts.length > 2 ? `frontends/${parts[1]}` : 'frontends';
  return parts[0];
}

const RANK = { schema: -1, core: 0, sources: 1, analysis: 2, frontends: 3 };
/** The one package the schema layer (and through it the core) may load: pure, no I/O. */
const SCHEMA_PACKAGES = ['valibot'];
const rankOf = (layer) => RANK[layer.split('/')[0]];

/** Front end → the other front ends it may use (the CLI is the composition root of the tools). */
const FRONTEND_USES = {
  'frontends/cli': ['*'],
  'frontends/http': ['frontends/render', 'frontends/web', 'frontends'],
  'frontends/fuse': ['frontends'],
  'frontends/render': ['frontends'],
  'frontends/shell': ['frontends'],
  'frontends/web': ['frontends'],
  frontends: [],
};

/** Front end → front ends it may read types from only (`import type`, erased from the bundle). */
const FRONTEND_TYPES_FROM = {
  // the browser app shows the HTTP API's responses: its types are the server's view types
  'frontends/web': ['frontends/http'],
};

/** Whether every import of `spec` in `text` is type-only (`import type …` / `export type …`). */
function typeOnly(text, spec) {
  const q = spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const all = [...text.matchAll(new RegExp(`(?:^|\\n)\\s*(import|export)([^;]*?)from\\s*['"]${q}['"]`, 'g'))];
  return all.length > 0 && all.every((m) => /^\s*type[\s{]/.test(m[2]));
}

/** Packages only a front end may load (servers, terminals, drawing). */
const FRONTEND_PACKAGES = ['fastify', '@fastify/', 'commander', 'cli-progress', 'pngjs', '@napi-rs/canvas'];

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

const violations = [];
let files = 0;
let imports = 0;
for (const file of walk(src)) {
  const rel = relative(src, file);
  if (rel.split(sep)[0] === 'wasm' || rel.includes(`${sep}wasm${sep}`)) continue; // generated
  files++;
  const layer = layerOf(rel);
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  for (const { fileName: spec } of info.importedFiles) {
    imports++;
    const why = check(rel, layer, spec, file);
    if (why) violations.push(`src/${rel}: imports '${spec}' — ${why}`);
  }
}

function check(rel, layer, spec, file) {
  const isTest = rel.endsWith('.test.ts');
  if (!spec.startsWith('.')) {
    if (layer === 'core' && !isTest)
      return 'the core imports nothing outside src/core and src/schema (no node:*, no packages)';
    if (layer === 'schema' && !isTest && !SCHEMA_PACKAGES.includes(spec))
      return `the schema layer loads only ${SCHEMA_PACKAGES.join(', ')}`;
    if (
      layer !== null &&
      rankOf(layer) < RANK.frontends &&
      FRONTEND_PACKAGES.some((p) => spec === p || spec.startsWith(p.endsWith('/') ? p : `${p}/`))
    )
      return `'${spec}' belongs to a front end (drawing, serving or terminal output)`;
    return null;
  }
  const target = resolve(dirname(file), spec);
  const trel = relative(src, target);
  if (trel.startsWith('..'))
    return 'src/ imports from outside src/ (tests and scripts depend on src, not the reverse)';
  if (layer === null) return null; // src/index.ts: the package entry re-exports any layer
  const to = layerOf(trel);
  if (to === null) return 'nothing inside src/ imports the package entry';
  const from = layer;
  if (rankOf(to) > rankOf(from)) return `upward import: ${from} may not depend on ${to}`;
  if (rankOf(from) === RANK.frontends && rankOf(to) === RANK.frontends && from !== to) {
    const uses = FRONTEND_USES[from] ?? [];
    if (!uses.includes('*') && !uses.includes(to)) {
      if ((FRONTEND_TYPES_FROM[from] ?? []).includes(to) && typeOnly(readFileSync(file, 'utf8'), spec))
        return null;
      return `sideways import: ${from} may not depend on ${to}`;
    }
  }
  return null;
}

if (violations.length > 0) {
  console.error(
    `layers: ${violations.length} import(s) against the dependency direction (docs/ARCHITECTURE.md):`,
  );
  for (const v of violations) console.error(`  ${v}`);
  process.exit(1);
}
console.log(
  `layers: ${files} files, ${imports} imports, all in the direction schema ← core ← sources ← analysis ← frontends`,
);
