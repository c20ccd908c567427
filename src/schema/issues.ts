// Schema failures as one line naming the JSON path (`areas[0].ranges[1].count must be …`).
// The schema layer imports nothing from the project: core, sources and front ends all use it.

import type { BaseIssue, GenericSchema, InferOutput } from 'valibot';
import * as v from 'valibot';
import { safeParse } from 'valibot';

type Issue = BaseIssue<unknown>;

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** The JSON path of an issue: `areas[0].ranges[1].count`, `files["kernel/debug/cma/x/count"]`. */
function issuePath(issue: Issue): string {
  let out = '';
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENT.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** The deepest issue of a union, so the message speaks of the branch the input meant. */
function deepest(issue: Issue): Issue {
  const subs = issue.issues;
  if (!subs || subs.length === 0) return issue;
  let best = issue;
  for (const s of subs) {
    const d = deepest(s);
    if ((d.path?.length ?? 0) > (best.path?.length ?? 0)) best = d;
  }
  return best;
}

/** One line for the first issue: `<path> <message>`, or the message alone at the root. */
function formatIssue(issue: Issue): string {
  const i = deepest(issue);
  const path = issuePath(i);
  return `${path === '' ? 'the document' : path} ${i.message}`;
}

/** Validates `doc`; on failure calls `fail` with the first issue as one line (it must throw). */
export function validate<S extends GenericSchema>(
  schema: S,
  doc: unknown,
  fail: (message: string) => never,
): InferOutput<S> {
  const r = safeParse(schema, doc, { abortEarly: true });
  if (!r.success) fail(formatIssue(r.issues[0] as Issue));
  return r.output as InferOutput<S>;
}

/** A `received` description for messages: `got 42`, `got null`, `got a list`. */
export function received(input: unknown): string {
  if (input === undefined) return 'missing';
  if (input === null) return 'got null';
  if (Array.isArray(input)) return 'got a list';
  if (typeof input === 'object') return 'got an object';
  if (typeof input === 'string') return `got the text ${JSON.stringify(input.slice(0, 40))}`;
  return `got ${typeof input} ${String(input).slice(0, 40)}`;
}

/**
 * A JSON object with these keys, never a list (valibot alone takes a list for an object); with
 * 'strict' an unknown key is an error naming it, with 'loose' it is ignored.
 */
export function objectOf<E extends v.ObjectEntries>(
  what: string,
  entries: E,
  mode: 'strict' | 'loose' = 'strict',
) {
  const message = (i: v.BaseIssue<unknown>): string => {
    if (i.expected === 'never') return `is not a known key of ${what}`;
    if (i.input === undefined && (i.path?.length ?? 0) > 0) return `is missing (expected in ${what})`;
    return `is not an object: expected ${what} (${received(i.input)})`;
  };
  const obj = mode === 'strict' ? v.strictObject(entries, message) : v.looseObject(entries, message);
  return v.pipe(
    v.custom<unknown>((x) => !Array.isArray(x), `is a list: expected ${what}`),
    obj,
  );
}
