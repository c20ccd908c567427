// Event triggers: what an event's `trigger` file takes, lists and does (kernel/trace/
// trace_events_trigger.c as the 6.1, 6.12 and 7.3 oracles showed it: test/fixtures/tracefs-
// triggers/). The builds offer traceon, traceoff, stacktrace, enable_event and disable_event
// (no hist triggers).

import type { ErrnoName } from './errno.ts';
import type { EventFilter, FilterField } from './event-filter.ts';
import { parseFilter } from './event-filter.ts';

export type TriggerCommand = 'traceon' | 'traceoff' | 'stacktrace' | 'enable_event' | 'disable_event';

/** One trigger on an event. */
export interface Trigger {
  readonly cmd: TriggerCommand;
  /** enable_event/disable_event: the `system:event` it switches. */
  readonly target?: string;
  /** How many more times it fires (null: unlimited). */
  count: number | null;
  readonly filter?: EventFilter;
}

/** What a trigger file reads with no trigger set. */
export const NO_TRIGGERS =
  '# Available triggers:\n# traceon traceoff stacktrace enable_event disable_event\n';

/** A trigger's line in the file: `traceoff:count=2 if count > 4`, `enable_event:cma:x:unlimited`. */
export function triggerLine(t: Trigger): string {
  const target = t.target ? `:${t.target}` : '';
  const count = t.count === null ? 'unlimited' : `count=${t.count}`;
  return `${t.cmd}${target}:${count}${t.filter ? ` if ${t.filter.text}` : ''}\n`;
}

/**
 * Triggers that cannot sit on one event together: traceon and traceoff are one kind (either
 * refuses the other with EEXIST, and `!traceon` removes a traceoff), stacktrace another, and
 * enable_event and disable_event one per target.
 */
export function triggerKind(cmd: TriggerCommand, target?: string): string {
  if (cmd === 'traceon' || cmd === 'traceoff') return 'traceonoff';
  if (cmd === 'stacktrace') return 'stacktrace';
  return `event ${target}`;
}

/** A parsed write: add or remove a trigger, or why it is refused. */
export type TriggerWrite =
  | { readonly ok: true; readonly remove: boolean; readonly trigger: Trigger }
  | { readonly ok: false; readonly errno: ErrnoName };

/**
 * One write to a trigger file (blanks around it allowed): `[!]CMD[:PARAMS][ if FILTER]`, where
 * traceon/traceoff/stacktrace take `:N` (a count) and enable_event/disable_event take
 * `:SYSTEM:EVENT[:N]` naming one of the kernel's events (a count's own further `:…` is ignored:
 * `traceoff:5:6` sets count 5). The filter is the event's filter language.
 */
export function parseTrigger(
  text: string,
  fields: ReadonlyMap<string, FilterField>,
  events: readonly string[],
): TriggerWrite {
  const bad = { ok: false, errno: 'EINVAL' } as const;
  let s = text.trim();
  const remove = s.startsWith('!');
  if (remove) s = s.slice(1);
  const sp = s.search(/\s/);
  const head = sp < 0 ? s : s.slice(0, sp);
  const rest = sp < 0 ? '' : s.slice(sp).trim();
  const [cmd, ...params] = head.split(':');
  let filter: EventFilter | undefined;
  // a removal names the trigger by its command: what follows it is not read
  if (rest !== '' && !remove) {
    const m = /^if\s+(\S[\s\S]*)$/.exec(rest);
    if (!m) return bad;
    const f = parseFilter(m[1]!, fields);
    if (!f.ok) return bad;
    filter = f.filter;
  }
  const countOf = (p: string | undefined): number | null | undefined =>
    p === undefined ? null : /^\d+$/.test(p) ? Number(p) : undefined;
  if (cmd === 'traceon' || cmd === 'traceoff' || cmd === 'stacktrace') {
    const count = countOf(params[0]);
    if (count === undefined) return bad;
    const trigger: Trigger = { cmd, count, ...(filter ? { filter } : {}) };
    return { ok: true, remove, trigger };
  }
  if (cmd === 'enable_event' || cmd === 'disable_event') {
    if (params.length < 2 || params.length > 3) return bad;
    const target = `${params[0]}:${params[1]}`;
    if (!events.includes(target)) return bad;
    const count = countOf(params[2]);
    if (count === undefined) return bad;
    return { ok: true, remove, trigger: { cmd, target, count, ...(filter ? { filter } : {}) } };
  }
  return bad;
}
