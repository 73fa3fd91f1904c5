// An open-addressing hash map from 64-bit ids (lo, hi u32 halves) to non-negative int32 values. Used to
// count ids (vocabulary building) and to look up the full-embedding vocabulary, with no BigInt keys and no
// per-entry objects: keys, values and occupancy live in three typed arrays, linear probing, power-of-two size.

/**
 * @example
 *   const counts = new IdMap();
 *   counts.add(ids[0], ids[1]);      // count id 0 of a HashIds batch
 *   counts.get(ids[0], ids[1]);      // 1; an id never added gives −1
 */
export class IdMap {
  private keys: Uint32Array;
  private vals: Int32Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(expectedSize = 16) {
    let cap = 16;
    while (cap < 2 * expectedSize) cap *= 2;
    this.keys = new Uint32Array(2 * cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  /** Number of distinct ids stored. */
  get size(): number {
    return this.count;
  }

  /** The value stored for id (lo, hi), or −1. */
  get(lo: number, hi: number): number {
    lo >>>= 0;
    hi >>>= 0;
    const keys = this.keys;
    const used = this.used;
    let s = slotOf(lo, hi) & this.mask;
    while (used[s] !== 0) {
      if (keys[2 * s] === lo && keys[2 * s + 1] === hi) return this.vals[s];
      s = (s + 1) & this.mask;
    }
    return -1;
  }

  /** Set the value of id (lo, hi). */
  set(lo: number, hi: number, value: number): void {
    // slotFor first: it may grow the table, and `this.vals[slotFor()]` would read the old array before the call.
    const s = this.slotFor(lo >>> 0, hi >>> 0);
    this.vals[s] = value;
  }

  /** Add `by` to the value of id (lo, hi) (a new id starts at 0); returns the new value. */
  add(lo: number, hi: number, by = 1): number {
    const s = this.slotFor(lo >>> 0, hi >>> 0);
    const v = this.vals[s] + by;
    this.vals[s] = v;
    return v;
  }

  /** Calls fn(lo, hi, value) for every entry, in slot order (not insertion order). */
  forEach(fn: (lo: number, hi: number, value: number) => void): void {
    const cap = this.mask + 1;
    for (let s = 0; s < cap; s++) if (this.used[s] !== 0) fn(this.keys[2 * s], this.keys[2 * s + 1], this.vals[s]);
  }

  /** The slot holding id (lo, hi), inserting it with value 0 if absent. */
  private slotFor(lo: number, hi: number): number {
    if (2 * (this.count + 1) > this.mask + 1) this.grow();
    const keys = this.keys;
    const used = this.used;
    let s = slotOf(lo, hi) & this.mask;
    while (used[s] !== 0) {
      if (keys[2 * s] === lo && keys[2 * s + 1] === hi) return s;
      s = (s + 1) & this.mask;
    }
    used[s] = 1;
    keys[2 * s] = lo;
    keys[2 * s + 1] = hi;
    this.vals[s] = 0;
    this.count++;
    return s;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldUsed = this.used;
    const cap = 2 * (this.mask + 1);
    this.keys = new Uint32Array(2 * cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    for (let s = 0; s < oldUsed.length; s++) {
      if (oldUsed[s] === 0) continue;
      const lo = oldKeys[2 * s];
      const hi = oldKeys[2 * s + 1];
      let t = slotOf(lo, hi) & this.mask;
      while (this.used[t] !== 0) t = (t + 1) & this.mask;
      this.used[t] = 1;
      this.keys[2 * t] = lo;
      this.keys[2 * t + 1] = hi;
      this.vals[t] = oldVals[s];
    }
  }
}

/** Mix both halves so dense ids (hi = 0, consecutive lo) spread over the table too. */
function slotOf(lo: number, hi: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 13)) >>> 0;
}
