// The config file (`--config FILE`): `{"profile"?: "7.3", "mem"?: "6G", "areas": [...]}`. Shapes only; the
// numbers' meaning (sizes, alignment, kernel limits) is checked by core/config.ts.

import * as v from 'valibot';
import { objectOf, received } from './issues.ts';

const numberOrText = v.union(
  [v.number(), v.string()],
  (i) => `must be a number or a string (${received(i.input)})`,
);
const maybe = v.optional(numberOrText);

/** One `ranges` entry of an area. */
const ConfigRangeSchema = objectOf('a range {base_pfn, count}', {
  base_pfn: maybe,
  basePfn: maybe,
  count: maybe,
});

/** One `busy` entry: pinned pages whose migration fails with `error` (default -16, EBUSY). */
const ConfigBusySchema = objectOf('a busy entry {pfn, count, error, owner?}', {
  pfn: maybe,
  count: maybe,
  error: maybe,
  /** Who holds the pages: shown by the emulated page_owner and dump_page. */
  owner: v.optional(
    objectOf('a busy owner {pid, comm, kind}', {
      pid: v.pipe(
        v.number((i) => `must be a number (${received(i.input)})`),
        v.safeInteger(),
        v.minValue(0),
      ),
      comm: v.string((i) => `must be a string (${received(i.input)})`),
      kind: v.optional(
        v.picklist(['anon', 'shmem', 'file'], (i) => `must be anon, shmem or file (${received(i.input)})`),
      ),
    }),
  ),
});

/** One area: size or count (pages), or a list of ranges. */
const ConfigAreaSchema = objectOf('an area {name, size, count, base_pfn, order_per_bit, ranges, busy}', {
  name: maybe,
  size: maybe,
  count: maybe,
  base_pfn: maybe,
  basePfn: maybe,
  order_per_bit: maybe,
  orderPerBit: maybe,
  ranges: v.optional(v.array(ConfigRangeSchema, (i) => `must be a list (${received(i.input)})`)),
  busy: v.optional(v.array(ConfigBusySchema, (i) => `must be a list (${received(i.input)})`)),
});

/** A config file. Unknown top-level keys (`$schema`, comments) are ignored. */
export const ConfigSchema = objectOf(
  '{"areas": [...]}',
  {
    profile: v.optional(v.string((i) => `must be a string (${received(i.input)})`)),
    /** Guest RAM of the emulated machine (`512M`, `6G`, or bytes): where areas without a base go. */
    mem: maybe,
    /** A kernel command line (`cma=`, `hugetlb_cma=`, `memmap=`): its areas come before `areas`. */
    cmdline: v.optional(v.string((i) => `must be a string (${received(i.input)})`)),
    areas: v.optional(v.array(ConfigAreaSchema, (i) => `must be a list (${received(i.input)})`)),
  },
  'loose',
);
