// pfn → slot for the allocation table: an open-addressing hash table on typed arrays. A Map keyed
// by pfns was the allocation table's largest cost on 64 GiB areas (~1 µs a lookup on gpu-64g's
// pfns, which are multiples of large powers of two); this one mixes every bit of the pfn and
// probes linearly, ~30 ns a lookup.

const TWO32 = 2 ** 32;

/** murmur3's 32-bit finalizer over the pfn's low word mixed with its high word. */
function mix(k: number): number {
  let h = (k >>> 0) ^ Math.imul((k / TWO32) >>> 0, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Whole numbers 0 ≤ k < 2^53 go in the table; anything else (never a real pfn) in a Map. */
function inTable(k: number): boolean {
  return k >= 0 && k <= Number.MAX_SAFE_INTEGER && Math.floor(k) === k;
}

/**
 * A map from pfn to a slot number (≥ 0); get() answers -1 for a pfn that has none. A cell is two
 * numbers of one Float64Array, key then slot (-1: empty), so a probe touches one cache line (on
 * a 64 GiB area the table is probed between climbs of a 12 MiB tree: most probes miss the caches).
 */
export class PfnSlots {
  private cells = PfnSlots.empty(256);
  /** Cells - 1. */
  private mask = 255;
  private n = 0;
  private readonly other = new Map<number, number>();

  private static empty(cap: number): Float64Array {
    const c = new Float64Array(2 * cap);
    for (let i = 1; i < c.length; i += 2) c[i] = -1;
    return c;
  }

  get size(): number {
    return this.n + this.other.size;
  }

  /** Index (in cells) of k's cell, or of the empty cell where it would go. */
  private find(k: number): number {
    const c = this.cells;
    const mask = this.mask;
    let i = mix(k) & mask;
    while (c[2 * i + 1] !== -1 && c[2 * i] !== k) i = (i + 1) & mask;
    return i;
  }

  get(k: number): number {
    if (!inTable(k)) return this.other.get(k) ?? -1;
    return this.cells[2 * this.find(k) + 1]!;
  }

  set(k: number, slot: number): void {
    this.put(k, slot);
  }

  /** set(k, slot), returning k's previous slot or -1 (one probe). */
  put(k: number, slot: number): number {
    if (!inTable(k)) {
      const old = this.other.get(k) ?? -1;
      this.other.set(k, slot);
      return old;
    }
    let i = this.find(k);
    const old = this.cells[2 * i + 1]!;
    if (old === -1) {
      if (2 * (this.n + 1) > this.mask + 1) {
        this.grow();
        i = this.find(k);
      }
      this.n++;
      this.cells[2 * i] = k;
    }
    this.cells[2 * i + 1] = slot;
    return old;
  }

  delete(k: number): void {
    this.take(k);
  }

  /** delete(k), returning the slot it had or -1 (one probe). */
  take(k: number): number {
    if (!inTable(k)) {
      const old = this.other.get(k) ?? -1;
      this.other.delete(k);
      return old;
    }
    const c = this.cells;
    const mask = this.mask;
    let i = this.find(k);
    const old = c[2 * i + 1]!;
    if (old === -1) return -1;
    // backward-shift deletion: pull later cells of the probe run into the hole when their home
    // is not cyclically inside (hole, cell]
    for (let j = (i + 1) & mask; c[2 * j + 1] !== -1; j = (j + 1) & mask) {
      const h = mix(c[2 * j]!) & mask;
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      c[2 * i] = c[2 * j]!;
      c[2 * i + 1] = c[2 * j + 1]!;
      i = j;
    }
    c[2 * i + 1] = -1;
    this.n--;
    return old;
  }

  /** Every slot (in no particular order). */
  values(): number[] {
    const out: number[] = [];
    const c = this.cells;
    for (let i = 1; i < c.length; i += 2) if (c[i] !== -1) out.push(c[i]!);
    for (const v of this.other.values()) out.push(v);
    return out;
  }

  private grow(): void {
    const old = this.cells;
    const cap = old.length; // twice the cells
    this.cells = PfnSlots.empty(cap);
    this.mask = cap - 1;
    const c = this.cells;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] === -1) continue;
      const at = this.find(old[i]!);
      c[2 * at] = old[i]!;
      c[2 * at + 1] = old[i + 1]!;
    }
  }
}
