// The state file (`mount --state FILE`): a whole emulated system as JSON. Shapes only; the
// profile name, bitmap lengths and the trace entries are checked where they are used.

import * as v from 'valibot';
import { objectOf, received } from './issues.ts';

const int = v.pipe(
  v.number((i) => `must be a number (${received(i.input)})`),
  v.safeInteger((i) => `must be an integer (got ${String(i.input)})`),
);
const uint = v.pipe(
  int,
  v.minValue(0, (i) => `must not be negative (got ${String(i.input)})`),
);
/** u64 values are decimal text (JSON numbers lose precision past 2^53). */
const u64 = v.pipe(
  v.string((i) => `must be a decimal string (${received(i.input)})`),
  v.regex(/^\d{1,20}$/, (i) => `must be a decimal u64 (got ${JSON.stringify(String(i.input).slice(0, 40))})`),
);
const list = <T extends v.GenericSchema>(item: T) =>
  v.array(item, (i) => `must be a list (${received(i.input)})`);
const text = v.string((i) => `must be a string (${received(i.input)})`);

const StateAreaSchema = objectOf(
  'an area',
  {
    name: text,
    orderPerBit: v.pipe(
      uint,
      v.maxValue(30, (i) => `is out of range (0..30, got ${String(i.input)})`),
    ),
    ranges: v.pipe(
      list(objectOf('a range {basePfn, count, bitmap}', { basePfn: uint, count: uint, bitmap: text })),
      v.minLength(1, 'is empty: an area has at least one range'),
    ),
    availableCount: uint,
    sysfs: objectOf('the sysfs counters', {
      allocPagesSuccess: u64,
      allocPagesFail: u64,
      releasePagesSuccess: u64,
    }),
    busy: list(
      objectOf('a busy range {pfn, count, error, once?, owner?}', {
        pfn: uint,
        count: uint,
        error: int,
        once: v.optional(v.boolean((i) => `must be true or false (${received(i.input)})`)),
        // who holds the pages (emulated page_owner / dump_page)
        owner: v.optional(
          objectOf('a busy owner {pid, comm, kind, refcount?, mapcount?, stack?, tsNs?}', {
            pid: uint,
            comm: text,
            kind: v.picklist(
              ['anon', 'shmem', 'file'],
              (i) => `must be anon, shmem or file (${received(i.input)})`,
            ),
            refcount: v.optional(uint),
            mapcount: v.optional(int),
            stack: v.optional(list(text)),
            tsNs: v.optional(uint),
          }),
        ),
      }),
    ),
    records: list(objectOf('a record {pfn, count}', { pfn: uint, count: u64 })),
  },
  'loose',
);

export const StateSchema = objectOf(
  'a cma-debug state {"format": "cma-debug-state", …}',
  {
    format: v.literal(
      'cma-debug-state',
      (i) => `is not "cma-debug-state": not a cma-debug state (${received(i.input)})`,
    ),
    version: v.literal(1, (i) => `: state version ${String(i.input)} is not supported (1 is)`),
    profile: text,
    nowMs: v.pipe(
      v.number((i) => `is missing or not a number (${received(i.input)})`),
      v.finite('must be finite'),
    ),
    areas: list(StateAreaSchema),
    vmstat: objectOf(
      'vmstat {cma_alloc_success, cma_alloc_fail}',
      { cma_alloc_success: uint, cma_alloc_fail: uint },
      'loose',
    ),
    corruption: v.nullable(text),
    memPages: v.optional(uint),
    memHoles: v.optional(list(objectOf('a memmap= hole {start, end}', { start: uint, end: uint }))),
    hugepages: v.optional(list(objectOf('a 1 GiB page {area, pfn}', { area: v.nullable(text), pfn: uint }))),
    kernelLog: list(
      objectOf('a log record {timeMs, text}', { timeMs: v.pipe(v.number(), v.finite()), text }),
    ),
    tracing: objectOf(
      'the tracing state',
      {
        tracingOn: v.boolean((i) => `must be true or false (${received(i.input)})`),
        clock: text,
        enabled: list(text),
        written: uint,
        counter: u64,
        pageUsed: v.optional(uint),
        sizeKb: v.optional(uint),
        expanded: v.optional(v.boolean()),
        options: v.optional(list(v.string())),
        timeStart: v.optional(u64),
        triggers: v.optional(
          v.record(
            v.string(),
            list(
              v.object({
                cmd: v.picklist(['traceon', 'traceoff', 'stacktrace', 'enable_event', 'disable_event']),
                target: v.optional(v.string()),
                count: v.nullable(uint),
                filter: v.optional(v.string()),
              }),
            ),
          ),
        ),
        softMode: v.optional(v.record(v.string(), uint)),
        softDisabled: v.optional(list(v.string())),
        eventPids: v.optional(list(uint)),
        notracePids: v.optional(list(uint)),
        cpumask: v.optional(u64),
        bufferPercent: v.optional(uint),
        thresh: v.optional(u64),
        tgids: v.optional(list(uint)),
        filters: v.optional(v.record(v.string(), v.object({ shown: v.string(), active: v.boolean() }))),
        entries: list(v.unknown()),
      },
      'loose',
    ),
  },
  'loose',
);
