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

/** A map from pfn to a slot number (≥ 0); get() answers -1 for a pfn that has none. */
export class PfnSlots {
  private keys = new Float64Array(256);
  /** -1: empty. */
  private vals = new Int32Array(256).fill(-1);
  private mask = 255;
  private n = 0;
  private readonly other = new Map<number, number>();

  get size(): number {
    return this.n + this.other.size;
  }

  /** Index of k's cell, or of the empty cell where it would go. */
  private find(k: number): number {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = mix(k) & mask;
    while (vals[i] !== -1 && keys[i] !== k) i = (i + 1) & mask;
    return i;
  }

  get(k: number): number {
    if (!inTable(k)) return this.other.get(k) ?? -1;
    return this.vals[this.find(k)]!;
  }

  set(k: number, slot: number): void {
    if (!inTable(k)) {
      this.other.set(k, slot);
      return;
    }
    let i = this.find(k);
    if (this.vals[i] === -1) {
      if (2 * (this.n + 1) > this.vals.length) {
        this.grow();
        i = this.find(k);
      }
      this.n++;
      this.keys[i] = k;
    }
    this.vals[i] = slot;
  }

  delete(k: number): void {
    if (!inTable(k)) {
      this.other.delete(k);
      return;
    }
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = this.find(k);
    if (vals[i] === -1) return;
    // backward-shift deletion: pull later cells of the probe run into the hole when their home
    // is not cyclically inside (hole, cell]
    for (let j = (i + 1) & mask; vals[j] !== -1; j = (j + 1) & mask) {
      const h = mix(keys[j]!) & mask;
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      keys[i] = keys[j]!;
      vals[i] = vals[j]!;
      i = j;
    }
    vals[i] = -1;
    this.n--;
  }

  /** Every slot (in no particular order). */
  values(): number[] {
    const out: number[] = [];
    const vals = this.vals;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== -1) out.push(vals[i]!);
    for (const v of this.other.values()) out.push(v);
    return out;
  }

  private grow(): void {
    const oldK = this.keys;
    const oldV = this.vals;
    const cap = oldV.length * 2;
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let i = 0; i < oldV.length; i++) {
      if (oldV[i] === -1) continue;
      const at = this.find(oldK[i]!);
      this.keys[at] = oldK[i]!;
      this.vals[at] = oldV[i]!;
    }
  }
}
