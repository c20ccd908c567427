// The package's version, read from package.json once (src/ and dist/ sit at the same depth).

import { readFileSync } from 'node:fs';

/** cma-debug's version as package.json states it. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
