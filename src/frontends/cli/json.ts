// JSON output for the CLI: like JSON.stringify, but a bigint prints as an exact JSON number
// (a trace's count=18446744073709551615 stays 18446744073709551615, not 18446744073709552000).

const MARK = '\u0000bigint:';

/** `value` as JSON text (indent as JSON.stringify's space), bigints as exact integers. */
export function jsonText(value: unknown, indent?: number): string {
  // most documents hold no bigint: JSON.stringify alone (the replacer below costs a call per
  // value, ~10× the time on a replay's 300 KB report) throws a TypeError on the first one
  try {
    return JSON.stringify(value, null, indent);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? `${MARK}${v.toString()}` : v),
    indent,
  );
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}
