// The snapshot file (`cma-debug snapshot`): every CMA file's exact text under /sys, as one JSON
// document other tools can write too. schema/snapshot.schema.json is generated from this.

import * as v from 'valibot';
import { objectOf, received } from './issues.ts';

const pathMap = (what: string) =>
  v.record(
    v.string(),
    v.string((i) => `must be ${what} as a string (${received(i.input)})`),
    (i) => `must map paths to ${what} (${received(i.input)})`,
  );
const pathList = v.array(
  v.string((i) => `must be a path string (${received(i.input)})`),
  (i) => `must be a list of paths (${received(i.input)})`,
);

/** Files read from a device without debugfs (a production kernel): /proc/meminfo, vmstat, … */
const SnapshotDeviceSchema = v.pipe(
  objectOf('a device section {files, unreadable}', {
    files: v.pipe(pathMap('the file text'), v.description('path (relative to /) → exact text')),
    unreadable: v.optional(v.pipe(pathMap('an error'), v.description('path → why it could not be read'))),
  }),
  v.description('What a device without debugfs showed (proc and sysfs files), when captured from one.'),
);

export const SnapshotSchema = v.pipe(
  objectOf('a cma-debug snapshot {"format": "cma-debug-snapshot", "version": 1, "files": {...}}', {
    $schema: v.optional(v.string()),
    format: v.pipe(
      v.literal('cma-debug-snapshot', (i) => `is not "cma-debug-snapshot" (${received(i.input)})`),
      v.description('Always "cma-debug-snapshot".'),
    ),
    version: v.pipe(
      v.literal(1, (i) => `${String(i.input)} is not supported (1 is)`),
      v.description('Format version; 1.'),
    ),
    source: v.optional(
      v.pipe(
        v.string((i) => `must be a string (${received(i.input)})`),
        v.description('Where it was captured.'),
      ),
    ),
    capturedAt: v.optional(
      v.pipe(
        v.string((i) => `must be a string (${received(i.input)})`),
        v.description('ISO 8601 capture time.'),
      ),
    ),
    kernelRelease: v.optional(
      v.pipe(
        v.nullable(v.string((i) => `must be a string or null (${received(i.input)})`)),
        v.description('`uname -r` of the captured kernel, or null.'),
      ),
    ),
    files: v.pipe(
      pathMap('the file text'),
      v.description(
        'Path relative to /sys → the file’s exact text (bitmap files keep the kernel’s missing final newline).',
      ),
    ),
    symlinks: v.optional(v.pipe(pathMap('a link target'), v.description('Path → symlink target.'))),
    dirs: v.optional(v.pipe(pathList, v.description('Directories, relative to /sys.'))),
    writeOnly: v.optional(
      v.pipe(
        pathList,
        v.description('Files present but never read (alloc, free: reading fails with EACCES).'),
      ),
    ),
    unreadable: v.optional(v.pipe(pathMap('an error'), v.description('Path → why it could not be read.'))),
    device: v.optional(SnapshotDeviceSchema),
  }),
  v.title('cma-debug snapshot'),
  v.description('Every file of /sys/kernel/debug/cma and /sys/kernel/mm/cma of one kernel at one moment.'),
);
