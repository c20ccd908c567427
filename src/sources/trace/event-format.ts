// The kernel's event `format` files (tracefs events/<system>/<event>/format, also stored in
// trace.dat) and the ring buffer's `header_page`: which field sits at which offset, with which
// size and signedness. Binary records are decoded by these offsets, so one reader serves every
// kernel era and architecture (long size and endianness come from the file).

/** One field of an event record. */
export interface FormatField {
  readonly name: string;
  /** The C type as printed (`unsigned long`, `__data_loc char[]`, `const struct page *`). */
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  /** `__data_loc`: a u32 (offset | length << 16) pointing into the record. */
  readonly dataLoc: boolean;
  /** `__rel_loc`: as __data_loc, the offset relative to the end of this field. */
  readonly relLoc: boolean;
  /** A fixed array (`char comm[16]`). */
  readonly array: boolean;
}

/** One event format file. */
export interface EventFormat {
  readonly system: string;
  readonly name: string;
  readonly id: number;
  readonly fields: readonly FormatField[];
  readonly printFmt: string;
}

const FIELD_RE = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?/;

/** Parses one `format` file. Throws a one-line Error when it has no name or ID. */
export function parseEventFormat(text: string, system = ''): EventFormat {
  let name = '';
  let id = -1;
  let printFmt = '';
  const fields: FormatField[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('name:')) name = line.slice(5).trim();
    else if (line.startsWith('ID:')) id = Number(line.slice(3).trim());
    else if (line.startsWith('print fmt:')) printFmt = line.slice(10).trim();
    else {
      const f = parseFieldLine(line);
      if (f !== null) fields.push(f);
    }
  }
  if (name === '' || !Number.isInteger(id) || id < 0)
    throw new Error(`event format${system ? ` of system ${system}` : ''} without a name or ID`);
  return { system, name, id, fields, printFmt };
}

/** One `field:TYPE NAME; offset:N; size:N; signed:N;` line, or null. */
function parseFieldLine(line: string): FormatField | null {
  const m = FIELD_RE.exec(line);
  if (m === null) return null;
  const decl = m[1]!.trim();
  // the name is the last identifier, after any "[N]"
  const nm = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$/.exec(decl);
  if (nm === null) return null;
  const fname = nm[1]!;
  const type = decl.slice(0, nm.index).trim() + (nm[2] !== undefined ? nm[2] : '');
  return {
    name: fname,
    type,
    offset: Number(m[2]),
    size: Number(m[3]),
    signed: m[4] === '1',
    dataLoc: type.startsWith('__data_loc'),
    relLoc: type.startsWith('__rel_loc'),
    array: nm[2] !== undefined && !type.startsWith('__data_loc') && !type.startsWith('__rel_loc'),
  };
}

/** The ring-buffer page header (`header_page`): where the timestamp, commit and data are. */
export interface PageHeader {
  readonly timestampOffset: number;
  readonly commitOffset: number;
  /** Size of `commit` (the kernel's long: 8 on 64-bit, 4 on 32-bit). */
  readonly commitSize: number;
  readonly dataOffset: number;
}

/** Parses `header_page`; missing fields fall back to the 64-bit layout (0, 8/8, 16). */
export function parsePageHeader(text: string, longSize: number): PageHeader {
  const byName = new Map<string, FormatField>();
  for (const line of text.split('\n')) {
    const f = parseFieldLine(line);
    if (f !== null && !byName.has(f.name)) byName.set(f.name, f);
  }
  const commit = byName.get('commit');
  const data = byName.get('data');
  return {
    timestampOffset: byName.get('timestamp')?.offset ?? 0,
    commitOffset: commit?.offset ?? 8,
    commitSize: commit?.size ?? longSize,
    dataOffset: data?.offset ?? 8 + longSize,
  };
}
