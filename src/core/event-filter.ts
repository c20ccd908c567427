// Trace event filters: what an event's `filter` file accepts, what it then reads, and which
// records it lets through (kernel/trace/trace_events_filter.c, observed on the 6.1, 6.12 and
// 7.3 oracles: test/fixtures/tracefs-filters/).
//
// An expression is predicates `FIELD OP VALUE` joined by `&&` (binding tighter) and `||`, with
// parentheses and `!`. Numeric fields take ==, !=, <, <=, >, >=, & and a C integer (kstrtoull's
// or kstrtoll's base-0 forms, compared at the field's own size and signedness); string fields
// take ==, != (exact) and ~ (a glob: * ? [set] [!set], \ escapes) with a quoted value. A bad
// expression is refused with the kernel's errno and leaves the file showing the expression, a
// caret under the kernel's position, and its message; the event is then unfiltered.

import type { ErrnoName } from './errno.ts';

/** A field an expression may name: the event's own (from its format) and the generic ones. */
export interface FilterField {
  readonly kind: 'number' | 'string';
  readonly signed: boolean;
  /** Bytes of a numeric field (values compare after truncation to this size). */
  readonly size: 1 | 2 | 4 | 8;
}

/** The value of each field in one record (numbers as the field's raw bits). */
type FilterRecord = (field: string) => bigint | string;

type NumOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '&';
type Node =
  | {
      readonly k: 'num';
      readonly field: string;
      readonly f: FilterField;
      readonly op: NumOp;
      readonly v: bigint;
    }
  | { readonly k: 'str'; readonly field: string; readonly op: '==' | '!=' | '~'; readonly v: string }
  | { readonly k: 'and' | 'or'; readonly a: Node; readonly b: Node }
  | { readonly k: 'not'; readonly x: Node };

/** A parsed filter: `test` says whether a record passes. */
export interface EventFilter {
  /** The expression as the file shows it (trailing whitespace gone). */
  readonly text: string;
  test(rec: FilterRecord): boolean;
}

/** A refused expression: the errno of the write and what the file then shows. */
export interface FilterError {
  readonly errno: ErrnoName;
  readonly shown: string;
}

/** The generic fields every event has (trace_define_generic_fields, trace_define_common_fields). */
export const GENERIC_FIELDS: ReadonlyMap<string, FilterField> = new Map<string, FilterField>([
  ['common_type', { kind: 'number', signed: false, size: 2 }],
  ['common_flags', { kind: 'number', signed: false, size: 1 }],
  ['common_preempt_count', { kind: 'number', signed: false, size: 1 }],
  ['common_pid', { kind: 'number', signed: true, size: 4 }],
  ['CPU', { kind: 'number', signed: true, size: 4 }],
  ['cpu', { kind: 'number', signed: true, size: 4 }],
  ['common_cpu', { kind: 'number', signed: true, size: 4 }],
  ['COMM', { kind: 'string', signed: false, size: 8 }],
  ['comm', { kind: 'string', signed: false, size: 8 }],
]);

/**
 * An event's own fields from its format file's `field:` lines, in order: `__data_loc char[]` and
 * `char[]` are strings, the rest numbers of their size and signedness.
 */
export function ownFields(format: string): [string, FilterField][] {
  const out: [string, FilterField][] = [];
  for (const m of format.matchAll(/\tfield:(.*?);\toffset:\d+;\tsize:(\d+);\tsigned:(\d);/g)) {
    const decl = m[1]!;
    const name = /(\w+)(\[\])?$/.exec(decl)?.[1];
    if (!name || name.startsWith('common_')) continue;
    const size = Number(m[2]);
    out.push([
      name,
      {
        kind: decl.includes('char[]') ? 'string' : 'number',
        signed: m[3] === '1',
        size: size === 1 || size === 2 || size === 4 ? size : 8,
      },
    ]);
  }
  return out;
}

/** A write of this many bytes or more is refused (-EINVAL) and changes nothing. */
export const FILTER_WRITE_MAX = 4096;

/** String values of 256 bytes or more, and numbers of 24 characters or more, are too long. */
const MAX_STRING = 256;
const MAX_NUMBER = 24;

const isSpace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isAlnum = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9]$/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** The text a write sets: up to its first NUL, trailing whitespace removed (strstrip's end). */
export function filterText(data: string): string {
  const nul = data.indexOf('\0');
  const s = nul >= 0 ? data.slice(0, nul) : data;
  let end = s.length;
  while (end > 0 && isSpace(s[end - 1])) end--;
  return s.slice(0, end);
}

/** Whether the text clears the filter: `0`, blanks around it allowed. */
export function clearsFilter(text: string): boolean {
  let a = 0;
  while (isSpace(text[a])) a++;
  return text.slice(a) === '0';
}

class Refused {
  constructor(
    readonly errno: ErrnoName,
    /** The kernel's message and caret position, or null for "Error: (0)" (no parse error set). */
    readonly message: string | null,
    readonly pos = 0,
  ) {}
}

/** What the filter file shows for a refused expression. */
function shownError(text: string, r: Refused): string {
  if (r.message === null) return `${text}\nError: (0)\n\n`;
  return `${text}\n${' '.repeat(Math.min(r.pos, text.length))}^\nparse_error: ${r.message}\n\n`;
}

/** What an event's file shows when a subsystem-wide write did not apply to it. */
export function subsystemRefusal(text: string): string {
  return `${text}\n^\nparse_error: Couldn't find or set field in one of a subsystem's events\n\n`;
}

/**
 * The first pass over the text: quotes must pair up and parentheses balance, and the count of
 * predicates (runs of other characters started after `&&`, `||`, `)` or the start) must not be 0.
 */
function precheck(s: string): Refused | null {
  let open = 0;
  let preds = 0;
  let inPred = false;
  let quote: string | null = null;
  let lastQuote = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (isSpace(c)) continue;
    if (quote !== null) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      lastQuote = i;
    } else if ((c === '&' || c === '|') && s[i + 1] === c) {
      inPred = false;
      continue;
    } else if (c === '(') {
      open++;
      continue;
    } else if (c === ')') {
      inPred = false;
      if (open === 0) return new Refused('EPERM', "Too few '('", i);
      open--;
      continue;
    }
    if (!inPred) {
      preds++;
      inPred = true;
    }
  }
  if (quote !== null) return new Refused('ESRCH', 'Missing matching quote', lastQuote);
  if (open > 0) {
    // the last '(' that no later ')' closes (none found past the first character: the first)
    let level = 0;
    let q: string | null = null;
    for (let i = s.length - 1; i > 0; i--) {
      const c = s[i]!;
      if (q !== null) {
        if (c === q) q = null;
        continue;
      }
      if (c === '(') {
        if (level === 0) return new Refused('ENOENT', "Too many '('", i);
        level--;
      } else if (c === ')') level++;
      else if (c === '"' || c === "'") q = c;
    }
    return new Refused('ENOENT', "Too many '('", 0);
  }
  if (preds === 0) return new Refused('EINVAL', null);
  return null;
}

/** kstrtoull / kstrtoll with base 0 on a token of letters and digits (and a leading '-'). */
function parseInteger(tok: string, signed: boolean): bigint | null {
  const neg = tok.startsWith('-');
  if (neg && !signed) return null;
  const body = neg ? tok.slice(1) : tok;
  let base = 10;
  let digits = body;
  if (/^0[xX][0-9a-fA-F]/.test(body)) {
    base = 16;
    digits = body.slice(2);
  } else if (body.startsWith('0')) base = 8;
  if (digits === '') return null;
  let v = 0n;
  for (const ch of digits) {
    const d = Number.parseInt(ch, 16);
    if (Number.isNaN(d) || d >= base) return null;
    v = v * BigInt(base) + BigInt(d);
    if (v >= 1n << 64n) return null;
  }
  if (signed) {
    if (neg ? v > 1n << 63n : v >= 1n << 63n) return null;
    return neg ? -v : v;
  }
  return v;
}

/** One predicate from `at` (a non-blank character): the node and where it ends. */
function predicate(s: string, at: number, fields: ReadonlyMap<string, FilterField>): [Node, number] {
  // positions in the kernel's messages count from one past the predicate's first character
  const base = at + 1;
  let i = at;
  while (i < s.length && (isAlnum(s[i]) || s[i] === '_')) i++;
  if (i === at) throw new Refused('EPERM', null);
  const name = s.slice(at, i);
  const f = fields.get(name);
  if (!f) throw new Refused('EINVAL', 'Field not found', base + i - at);
  while (isSpace(s[i])) i++;
  const op = ['==', '!=', '<=', '>=', '<', '>', '&', '~'].find((o) => s.startsWith(o, i));
  if (!op) throw new Refused('EINVAL', 'Invalid operator', base + i - at);
  i += op.length;
  while (isSpace(s[i])) i++;
  const v0 = i;
  const c = s[i];
  if (c === '"' || c === "'") {
    const close = s.indexOf(c, i + 1);
    const end = close < 0 ? s.length : close;
    const value = s.slice(i + 1, end);
    i = end + 1;
    if (value.length >= MAX_STRING) throw new Refused('EINVAL', 'Operand too long', base + i - at);
    if (op !== '==' && op !== '!=' && op !== '~')
      throw new Refused('EINVAL', 'Illegal operation for field type', base + v0 - at);
    if (f.kind !== 'string') throw new Refused('EINVAL', 'Expecting numeric field', base + v0 - at);
    return [{ k: 'str', field: name, op, v: value }, i];
  }
  if (isDigit(c) || c === '-') {
    if (f.kind === 'string') throw new Refused('EINVAL', 'Expecting string field', base + v0 - at);
    if (op === '~') throw new Refused('EINVAL', 'Illegal operation for field type', base + v0 - at);
    if (c === '-') i++;
    while (isAlnum(s[i])) i++;
    const tok = s.slice(v0, i);
    if (tok.length >= MAX_NUMBER) throw new Refused('EINVAL', 'Operand too long', base + i - at);
    const v = parseInteger(tok, f.signed);
    if (v === null) throw new Refused('EINVAL', 'Illegal integer value', base + v0 - at);
    return [{ k: 'num', field: name, f, op: op as NumOp, v: cast(v, f) }, i];
  }
  throw new Refused('EINVAL', 'Invalid value (did you forget quotes)?', base + v0 - at);
}

/** A value as a field of `f`'s size and signedness holds it. */
function cast(v: bigint, f: FilterField): bigint {
  const bits = f.size * 8;
  return f.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

/**
 * The expression: terms (`!`s, then a parenthesised expression or a predicate) joined by `&&` and
 * `||`, scanned left to right as the kernel does, so the first fault found is the one reported.
 */
function expression(s: string, fields: ReadonlyMap<string, FilterField>): Node {
  // operands and operators for precedence: && binds tighter than ||
  type Frame = { terms: Node[]; ops: ('&&' | '||')[]; invert: boolean };
  const frames: Frame[] = [{ terms: [], ops: [], invert: false }];
  let invert = false;
  let i = 0;
  let n = 0;
  let dangling = false;
  const reduce = (fr: Frame): Node => {
    // fold && first, then ||
    const acc: Node[] = [fr.terms[0]!];
    fr.ops.forEach((op, k) => {
      const next = fr.terms[k + 1]!;
      if (op === '&&') acc[acc.length - 1] = { k: 'and', a: acc[acc.length - 1]!, b: next };
      else acc.push(next);
    });
    let node = acc[0]!;
    for (const x of acc.slice(1)) node = { k: 'or', a: node, b: x };
    return node;
  };
  for (;;) {
    // a term
    while (isSpace(s[i])) i++;
    if (i >= s.length) break;
    const c = s[i];
    if (c === '(') {
      frames.push({ terms: [], ops: [], invert });
      invert = false;
      i++;
      continue;
    }
    if (c === '!' && s[i + 1] !== '=') {
      invert = !invert;
      i++;
      continue;
    }
    const [pred, end] = predicate(s, i, fields);
    i = end;
    n++;
    dangling = false;
    let term: Node = invert ? { k: 'not', x: pred } : pred;
    invert = false;
    // what follows it: ')' closes groups, '&&' or '||' starts the next term, or the end
    for (;;) {
      while (isSpace(s[i])) i++;
      if (i >= s.length) break;
      const d = s[i];
      if (d === ')') {
        const fr = frames.pop()!;
        fr.terms.push(term);
        const group = reduce(fr);
        term = fr.invert ? { k: 'not', x: group } : group;
        i++;
        continue;
      }
      if ((d === '&' || d === '|') && s[i + 1] === d) break;
      throw new Refused('EPERM', 'Too many terms in predicate expression', i);
    }
    const top = frames[frames.length - 1]!;
    top.terms.push(term);
    if (i >= s.length) break;
    top.ops.push(s[i] === '&' ? '&&' : '||');
    dangling = true;
    i += 2;
  }
  if (n === 0) throw new Refused('EINVAL', 'No filter found', s.length);
  if (dangling) throw new Refused('EINVAL', 'Meaningless filter expression', s.length);
  return reduce(frames[0]!);
}

/** Parses an expression against an event's fields: the filter, or why it is refused. */
export function parseFilter(
  text: string,
  fields: ReadonlyMap<string, FilterField>,
): { ok: true; filter: EventFilter } | ({ ok: false } & FilterError) {
  try {
    const pre = precheck(text);
    if (pre) throw pre;
    const root = expression(text, fields);
    return { ok: true, filter: { text, test: (rec) => evaluate(root, rec) } };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    return { ok: false, errno: e.errno, shown: shownError(text, e) };
  }
}

function evaluate(n: Node, rec: FilterRecord): boolean {
  switch (n.k) {
    case 'and':
      return evaluate(n.a, rec) && evaluate(n.b, rec);
    case 'or':
      return evaluate(n.a, rec) || evaluate(n.b, rec);
    case 'not':
      return !evaluate(n.x, rec);
    case 'str': {
      const v = String(rec(n.field));
      if (n.op === '==') return v === n.v;
      if (n.op === '!=') return v !== n.v;
      return globMatch(n.v, v);
    }
    case 'num': {
      const raw = rec(n.field);
      const v = cast(typeof raw === 'bigint' ? raw : 0n, n.f);
      switch (n.op) {
        case '==':
          return v === n.v;
        case '!=':
          return v !== n.v;
        case '<':
          return v < n.v;
        case '<=':
          return v <= n.v;
        case '>':
          return v > n.v;
        case '>=':
          return v >= n.v;
        case '&':
          return (v & n.v) !== 0n;
      }
    }
  }
}

/**
 * A glob as `~` matches it (lib/glob.c's rules): `*` any run, `?` one character, `[...]` a set
 * with ranges (`!` first negates it, `]` first is literal; an unclosed `[` matches nothing), `\`
 * makes the next character literal; everything else matches itself, case and all.
 */
export function globMatch(pat: string, str: string): boolean {
  let p = 0;
  let s = 0;
  let backP = -1;
  let backS = -1;
  while (s <= str.length) {
    if (p < pat.length) {
      const c = pat[p]!;
      if (c === '*') {
        backP = ++p;
        backS = s;
        continue;
      }
      if (s < str.length) {
        if (c === '?') {
          p++;
          s++;
          continue;
        }
        if (c === '[') {
          const m = matchSet(pat, p, str[s]!);
          if (m > 0) {
            p = m;
            s++;
            continue;
          }
          if (m < 0) return false;
        } else {
          let lit = c;
          let next = p + 1;
          if (c === '\\' && p + 1 < pat.length) {
            lit = pat[p + 1]!;
            next = p + 2;
          }
          if (lit === str[s]) {
            p = next;
            s++;
            continue;
          }
        }
      }
    } else if (s === str.length) return true;
    // mismatch: let the last star take one more character
    if (backP < 0 || backS >= str.length) return false;
    p = backP;
    s = ++backS;
  }
  return false;
}

/** `[...]` at `p` against `ch`: the index past the set when it matches, 0 when not, -1 unclosed. */
function matchSet(pat: string, p: number, ch: string): number {
  let i = p + 1;
  let negate = false;
  if (pat[i] === '!') {
    negate = true;
    i++;
  }
  let hit = false;
  let first = true;
  for (;;) {
    if (i >= pat.length) return -1;
    let a = pat[i]!;
    if (a === ']' && !first) break;
    first = false;
    if (a === '\\' && i + 1 < pat.length) a = pat[++i]!;
    let b = a;
    if (pat[i + 1] === '-' && i + 2 < pat.length && pat[i + 2] !== ']') {
      b = pat[i + 2]!;
      i += 2;
    }
    if (ch >= a && ch <= b) hit = true;
    i++;
  }
  return hit !== negate ? i + 1 : 0;
}
