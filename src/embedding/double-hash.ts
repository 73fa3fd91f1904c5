// Double hashing (Zhang et al., "Model Size Reduction Using Frequency Based Double Hashing for Recommender
// Systems", RecSys 2020): k hashed rows per value in one shared table of R rows, so two values collide only
// if all k rows agree. Generalised here to k ≥ 1 independent hashes.

import type { HashIds } from '../core/ids.js';
import { mix64, mix64Salt, mod64 } from '../hash/int64.js';
import type { DoubleHashSpec, IndexSpec } from './config.js';
import { normalizeIndexSpec } from './config.js';
import type { Indexer } from './table.js';

/**
 * row_i = mix64(h, seed i) mod R for i = 1 … k, where mix64 is the splitmix64 finalizer of h + i·0x9e3779b97f4a7c15.
 *
 * @example
 *   const dh = new DoubleHashIndexer({ method: 'dhash', rows: 1 << 16, hashes: 2 });
 *   dh.index(ids, n, rows); // rows[2i], rows[2i + 1] in [0, 65536)
 */
export class DoubleHashIndexer implements Indexer {
  readonly method = 'dhash' as const;
  readonly numRows: number;
  readonly rowsPerValue: number;
  private readonly spec: DoubleHashSpec;
  private readonly salts: Uint32Array;
  private readonly tmp = new Uint32Array(2);

  constructor(spec: DoubleHashSpec) {
    this.spec = normalizeIndexSpec(spec) as DoubleHashSpec;
    this.numRows = this.spec.rows;
    this.rowsPerValue = this.spec.hashes;
    this.salts = new Uint32Array(2 * this.spec.hashes);
    for (let i = 0; i < this.spec.hashes; i++) {
      const [lo, hi] = mix64Salt(i + 1);
      this.salts[2 * i] = lo;
      this.salts[2 * i + 1] = hi;
    }
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    const k = this.rowsPerValue;
    const r = this.numRows;
    const salts = this.salts;
    const tmp = this.tmp;
    let o = outOffset;
    for (let i = 0; i < n; i++) {
      const lo = ids[2 * i];
      const hi = ids[2 * i + 1];
      for (let j = 0; j < k; j++) {
        mix64(lo, hi, salts[2 * j], salts[2 * j + 1], tmp, 0);
        out[o++] = mod64(tmp[0], tmp[1], r);
      }
    }
  }

  toSpec(): IndexSpec {
    return { ...this.spec };
  }
}
