// The HTTP routes' inputs (query strings and path parameters) as valibot schemas: one place
// says what each route takes, and a bad value is answered 400 with the parameter it concerns.

import * as v from 'valibot';
import { validate } from '../../schema/issues.ts';

/** A non-negative decimal integer in a query string (at most 16 digits), as a number. */
const uint = (max = Number.MAX_SAFE_INTEGER) =>
  v.pipe(
    v.string('must be given once'),
    v.regex(
      /^\d{1,16}$/,
      (i) => `must be a non-negative decimal integer, not '${String(i.input).slice(0, 40)}'`,
    ),
    v.transform(Number),
    v.maxValue(max, (i) => `is too large (at most ${max}, got ${String(i.input)})`),
  );
/** An optional one: an empty value counts as absent (`?top=`). */
const optUint = (max?: number) =>
  v.optional(
    v.pipe(
      v.string('must be given once'),
      v.transform((s) => (s === '' ? undefined : s)),
      v.optional(uint(max)),
    ),
  );

export const RangeParams = v.object({ name: v.string(), range: uint() });
/** from/to/per: bit numbers; their upper bound is the range's size, checked by the route. */
export const BucketsQuery = v.object({ from: optUint(), to: optUint(), per: optUint() });
export const AnalysisQuery = v.object({ area: v.optional(v.string()), top: optUint(1000) });
export const ExplainQuery = v.object({
  area: v.optional(v.string()),
  pages: v.pipe(
    v.optional(v.string(), ''),
    v.check((s) => s !== '', 'is missing'),
    uint(),
  ),
  align: optUint(63),
});
export const TraceQuery = v.object({ limit: optUint(200_000) });

/** A route's inputs, or the one-line message of the first bad one (`query parameter 'top' …`). */
export function routeInput<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  where: 'query' | 'path',
): { ok: true; value: v.InferOutput<S> } | { ok: false; message: string } {
  try {
    return {
      ok: true,
      value: validate(schema, input, (m) => {
        throw new RouteInputError(m);
      }),
    };
  } catch (e) {
    if (!(e instanceof RouteInputError)) throw e;
    const m = /^(\w+) (.*)$/.exec(e.message);
    const message = m
      ? `${where === 'query' ? 'query' : 'path'} parameter '${m[1]}' ${m[2]}`
      : `${where} ${e.message.replace(/^the document /, '')}`;
    return { ok: false, message };
  }
}

class RouteInputError extends Error {}
