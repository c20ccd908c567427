// Writes schema/snapshot.schema.json from the valibot schema the loader itself uses
// (src/schema/snapshot.ts), so the published JSON Schema and the code cannot drift apart.
// `npm run schema`; `--check` exits 1 when the file on disk differs (the tests run that).

import { readFileSync, writeFileSync } from 'node:fs';
import { toJsonSchema } from '@valibot/to-json-schema';
import { SnapshotSchema } from '../src/schema/snapshot.ts';

const out = new URL('../schema/snapshot.schema.json', import.meta.url);

/** The published JSON Schema text (draft-07, with an $id other tools can cite). */
export function snapshotJsonSchemaText(): string {
  const schema = toJsonSchema(SnapshotSchema, {
    errorMode: 'throw',
    // objectOf's pipes start with a not-a-list guard; the object after it is the shape
    typeMode: 'output',
  });
  const doc = {
    $schema: schema.$schema,
    $id: 'https://github.com/cma-debug/cma-debug/schema/snapshot.schema.json',
    ...schema,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = snapshotJsonSchemaText();
  if (process.argv.includes('--check')) {
    let old = '';
    try {
      old = readFileSync(out, 'utf8');
    } catch {}
    if (old !== text) {
      console.error('schema/snapshot.schema.json is out of date: run npm run schema');
      process.exit(1);
    }
  } else writeFileSync(out, text);
}
