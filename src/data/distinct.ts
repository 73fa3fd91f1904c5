// Per-field distinct-value counts over the hash ids of a pass: what the planner needs to size tables and what the
// 'full' method needs (`fullRows`: values seen ≥ minCount times). Exact (open addressing on the 64-bit ids) or
// approximate (HyperLogLog, 16 KiB per field) when exact would not fit in memory.

import { ConfigError } from '../core/errors.js';
import type { DataChunk } from './chunk.js';
import { columnLength } from './chunk.js';
import type { DataReader } from './reader.js';

export interface DistinctOptions {
  /**
   * 'exact': hash table of every id (~24 bytes per distinct value). 'approx': HyperLogLog, ~1% error. 'auto': exact
   * until the tables hold exactCapBytes, then every field continues as HyperLogLog (result().approx says so).
   * @default 'exact'
   */
  method?: 'exact' | 'approx' | 'auto';
  /** 'auto': memory the exact tables may take. @default 512 MiB */
  exactCapBytes?: number;
  /** Also count values seen at least this often (exact only). @default 1 */
  minCount?: number;
}

export interface DistinctResult {
  fieldNames: string[];
  /** Distinct values per field. */
  distinct: number[];
  /** Distinct values seen ≥ minCount times per field (equal to distinct when minCount = 1; approx: same as distinct). */
  frequent: number[];
  minCount: number;
  approx: boolean;
  rows: number;
}

/** Exact multiset of 64-bit ids: open addressing, linear probing, slot = (lo, hi, count); count 0 = empty. */
class IdCounter {
  private table = new Uint32Array(3 * 1024);
  private mask = 1023;
  size = 0;

  add(lo: number, hi: number): void {
    if (2 * (this.size + 1) > this.mask + 1) this.grow();
    const t = this.table;
    let s = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const p = 3 * s;
      if (t[p + 2] === 0) {
        t[p] = lo;
        t[p + 1] = hi;
        t[p + 2] = 1;
        this.size++;
        return;
      }
      if (t[p] === lo && t[p + 1] === hi) {
        if (t[p + 2] !== 0xffffffff) t[p + 2]++;
        return;
      }
      s = (s + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    const cap = 2 * (this.mask + 1);
    this.table = new Uint32Array(3 * cap);
    this.mask = cap - 1;
    const t = this.table;
    for (let p = 0; p < old.length; p += 3) {
      if (old[p + 2] === 0) continue;
      let s = (old[p] ^ Math.imul(old[p + 1], 0x9e3779b1)) & this.mask;
      while (t[3 * s + 2] !== 0) s = (s + 1) & this.mask;
      t[3 * s] = old[p];
      t[3 * s + 1] = old[p + 1];
      t[3 * s + 2] = old[p + 2];
    }
  }

  get bytes(): number {
    return this.table.byteLength;
  }

  /** Feed every id to f. */
  forEach(f: (lo: number, hi: number) => void): void {
    const t = this.table;
    for (let p = 0; p < t.length; p += 3) if (t[p + 2] !== 0) f(t[p], t[p + 1]);
  }

  countAtLeast(k: number): number {
    if (k <= 1) return this.size;
    let n = 0;
    for (let p = 2; p < this.table.length; p += 3) if (this.table[p] >= k) n++;
    return n;
  }
}

const HLL_P = 14;
const HLL_M = 1 << HLL_P;

/** HyperLogLog (Flajolet et al. 2007) with linear counting for small cardinalities. */
class Hll {
  private readonly reg = new Uint8Array(HLL_M);

  add(lo: number, hi: number): void {
    const idx = hi >>> (32 - HLL_P);
    // rank over the remaining 50 bits: 18 bits of hi, then lo
    const rest = (hi << HLL_P) >>> 0;
    const rank = rest !== 0 ? Math.clz32(rest) + 1 : 18 + Math.clz32(lo) + 1;
    if (rank > this.reg[idx]) this.reg[idx] = rank;
  }

  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      sum += 2 ** -this.reg[i];
      if (this.reg[i] === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    const e = (alpha * HLL_M * HLL_M) / sum;
    if (e <= 2.5 * HLL_M && zeros > 0) return Math.round(HLL_M * Math.log(HLL_M / zeros));
    return Math.round(e);
  }
}

/**
 * Streaming counter: feed it chunks (e.g. during a training pass) and read the result at the end.
 *
 * @example
 *   const c = new DistinctCounter(reader.fieldNames, { minCount: 2 });
 *   for await (const chunk of reader.chunks()) c.add(chunk);
 *   c.result().frequent; // rows each 'full' table needs, per field
 */
export class DistinctCounter {
  private exact: IdCounter[] | null;
  private hll: Hll[] | null;
  private readonly capBytes: number;
  private readonly minCount: number;
  private rows = 0;

  constructor(
    private readonly fieldNames: readonly string[],
    options: DistinctOptions = {},
  ) {
    const method = options.method ?? 'exact';
    if (method !== 'exact' && method !== 'approx' && method !== 'auto') throw new ConfigError(`method must be one of: 'exact', 'approx', 'auto' (got '${String(method)}')`, { key: 'method' });
    this.capBytes = method === 'auto' ? (options.exactCapBytes ?? 512 * 2 ** 20) : Infinity;
    this.minCount = options.minCount ?? 1;
    if (!Number.isInteger(this.minCount) || this.minCount < 1) throw new ConfigError(`minCount must be a positive integer, got ${this.minCount}`, { key: 'minCount' });
    this.exact = method !== 'approx' ? fieldNames.map(() => new IdCounter()) : null;
    this.hll = method === 'approx' ? fieldNames.map(() => new Hll()) : null;
  }

  add(chunk: DataChunk): void {
    this.rows += chunk.rows;
    for (let f = 0; f < this.fieldNames.length; f++) {
      const col = chunk.fields[f];
      const n = columnLength(col, chunk.rows);
      const ids = col.ids;
      if (this.exact) {
        const c = this.exact[f];
        for (let i = 0; i < n; i++) c.add(ids[2 * i], ids[2 * i + 1]);
      } else {
        const h = (this.hll as Hll[])[f];
        for (let i = 0; i < n; i++) h.add(ids[2 * i], ids[2 * i + 1]);
      }
    }
    if (this.exact !== null && this.capBytes !== Infinity && this.exact.reduce((a, c) => a + c.bytes, 0) > this.capBytes) {
      // Over the cap: carry every id counted so far into HyperLogLog and count approximately from here on.
      this.hll = this.exact.map((c) => {
        const h = new Hll();
        c.forEach((lo, hi) => h.add(lo, hi));
        return h;
      });
      this.exact = null;
    }
  }

  result(): DistinctResult {
    const distinct = this.exact ? this.exact.map((c) => c.size) : (this.hll as Hll[]).map((h) => h.estimate());
    const frequent = this.exact ? this.exact.map((c) => c.countAtLeast(this.minCount)) : distinct.slice();
    return { fieldNames: [...this.fieldNames], distinct, frequent, minCount: this.minCount, approx: this.exact === null, rows: this.rows };
  }
}

/** One pass over a reader, counting distinct hash ids per field. */
export async function countDistinct(reader: DataReader, options: DistinctOptions = {}): Promise<DistinctResult> {
  const c = new DistinctCounter(reader.fieldNames, options);
  for await (const chunk of reader.chunks()) c.add(chunk);
  return c.result();
}
