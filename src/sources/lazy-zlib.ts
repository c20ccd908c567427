// node:zlib, loaded the first time a gzip'd file or a compressed block needs it. Most traces are
// plain: loading node's zlib (and the streams it pulls in) is ~15 ms of a decode worker's boot on
// the project's 2-vCPU VM, and the boot is what the first batch waits for.

import { createRequire } from 'node:module';

type Zlib = typeof import('node:zlib');
let zlibModule: Zlib | undefined;

export function zlib(): Zlib {
  zlibModule ??= createRequire(import.meta.url)('node:zlib') as Zlib;
  return zlibModule;
}
