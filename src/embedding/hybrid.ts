// Frequency-aware hybrid index (issue 13; the hot/cold split of CAFE, Zhang et al., SIGMOD 2024, with BH, Yan et
// al., CIKM 2021, for the cold part): the most frequent values of a field own one row each, every other value (new
// ids included) gets its BH rows. Pure integer maths; which values are hot is decided from data elsewhere
// (data/heavy-hitters.ts counts, embedding/hybrid-planner.ts splits the budget), never here.

import type { HashIds } from '../core/ids.js';
import { ConfigError } from '../core/errors.js';
import { IdMap } from '../hash/id-map.js';
import { BinaryCodeIndexer } from './binary-code.js';
import type { HybridSpec, IndexSpec } from './config.js';
import { hybridColdSpec, normalizeIndexSpec } from './config.js';
import { DoubleHashIndexer } from './double-hash.js';
import type { Indexer } from './table.js';

/**
 * Every value gets the K rows of the cold part (BH: K = ceil(S / t); dhash: K = hashes), so the bag's layout stays
 * fixed per field:
 *   hot value i (position i in spec.hot):  rows = [i, i, …, i]                 (its own row, K times)
 *   any other id h:                        rows = [H + c_0(h), …, H + c_{K−1}(h)]
 * where H = hot.length and c_k are the rows of the cold spec (hybridColdSpec: BH {codeBits, blockBits, strategy}, or
 * dhash {rows, hashes}) on h. Summing K copies of a hot row is K·e_i (mean fusion: e_i), so the hot value's vector is
 * a function of its row alone.
 *
 *   hot = [a, b], S = 4, t = 2 (K = 2, BH rows 8):  a → [0, 0]  b → [1, 1]  c → [2 + v_0(c), 2 + 4 + v_1(c)]
 *   hot = [a], dhash R = 5, k = 2:                   a → [0, 0]  c → [1 + (z_1(c) mod 5), 1 + (z_2(c) mod 5)]
 *
 * @example
 *   const hy = new HybridIndexer({ method: 'hybrid', hot: ['00000000000000a1'], codeBits: 20, blockBits: 5, strategy: 'succession' });
 *   hy.numRows; // 1 + 4·32 = 129
 */
export class HybridIndexer implements Indexer {
  readonly method = 'hybrid' as const;
  readonly numRows: number;
  readonly rowsPerValue: number;
  /** Hot values (rows 0 … hotRows − 1). */
  readonly hotRows: number;
  private readonly spec: HybridSpec;
  private readonly hot: IdMap;
  /** The cold part's spec (rows from 0, before the hot-row shift). */
  readonly coldSpec: ReturnType<typeof hybridColdSpec>;
  /** The cold part's indexer (rows before the hot-row shift); the ONNX export builds its rows from it. */
  readonly cold: BinaryCodeIndexer | DoubleHashIndexer;

  constructor(spec: HybridSpec) {
    this.spec = normalizeIndexSpec(spec) as HybridSpec;
    const hot = this.spec.hot;
    this.hotRows = hot.length;
    this.hot = new IdMap(hot.length);
    for (let i = 0; i < hot.length; i++) {
      const hi = parseInt(hot[i].slice(0, 8), 16);
      const lo = parseInt(hot[i].slice(8), 16);
      if (this.hot.get(lo, hi) >= 0) throw new ConfigError(`index.hot[${i}] repeats hash id ${hot[i]}; each id may appear once`, { key: `index.hot[${i}]` });
      this.hot.set(lo, hi, i);
    }
    this.coldSpec = hybridColdSpec(this.spec);
    this.cold = this.coldSpec.method === 'dhash' ? new DoubleHashIndexer(this.coldSpec) : new BinaryCodeIndexer(this.coldSpec);
    this.rowsPerValue = this.cold.rowsPerValue;
    this.numRows = this.hotRows + this.cold.numRows;
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    const K = this.rowsPerValue;
    const H = this.hotRows;
    const map = this.hot;
    this.cold.index(ids, n, out, outOffset);
    for (let i = 0, o = outOffset; i < n; i++, o += K) {
      const r = H === 0 ? -1 : map.get(ids[2 * i], ids[2 * i + 1]);
      if (r >= 0) for (let k = 0; k < K; k++) out[o + k] = r;
      else for (let k = 0; k < K; k++) out[o + k] += H;
    }
  }

  toSpec(): IndexSpec {
    return { ...this.spec, hot: this.spec.hot.slice() };
  }
}
