// The hashing trick (Weinberger et al., ICML 2009): one row per value, row = h mod R. The simplest baseline
// BH is compared against at equal memory; every collision is silent and permanent.

import type { HashIds } from '../core/ids.js';
import { mod64 } from '../hash/int64.js';
import type { HashSpec, IndexSpec } from './config.js';
import { normalizeIndexSpec } from './config.js';
import type { Indexer } from './table.js';

/**
 * row = h mod R over the full 64-bit hash id h (computed exactly from its u32 halves, see mod64).
 *
 * @example
 *   const ix = new HashIndexer({ method: 'hash', rows: 1 << 20 });
 *   ix.index(ids, n, rows); // rows[i] = h_i mod 2^20
 */
export class HashIndexer implements Indexer {
  readonly method = 'hash' as const;
  readonly numRows: number;
  readonly rowsPerValue = 1;
  private readonly spec: HashSpec;

  constructor(spec: HashSpec) {
    this.spec = normalizeIndexSpec(spec) as HashSpec;
    this.numRows = this.spec.rows;
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    const r = this.numRows;
    for (let i = 0; i < n; i++) out[outOffset + i] = mod64(ids[2 * i], ids[2 * i + 1], r);
  }

  toSpec(): IndexSpec {
    return { ...this.spec };
  }
}
