// Quotient-remainder embedding (Shi et al., "Compositional Embeddings Using Complementary Partitions", KDD 2020,
// §3): two rows per value, from a remainder table and a quotient table stacked in one table of m + q rows.

import type { HashIds } from '../core/ids.js';
import { divmod64, mod64 } from '../hash/int64.js';
import type { IndexSpec, QrSpec } from './config.js';
import { normalizeIndexSpec } from './config.js';
import type { Indexer } from './table.js';

/**
 * rows (h mod m) and m + (floor(h / m) mod q). For ids below m·q the pair is unique (complementary partitions);
 * for hashed ids the quotient wraps mod q.
 *
 * @example
 *   const qr = new QrIndexer({ method: 'qr', remainder: 1000, quotient: 1000 });
 *   qr.index(ids, n, rows); // rows[2i] in [0, 1000), rows[2i + 1] in [1000, 2000)
 */
export class QrIndexer implements Indexer {
  readonly method = 'qr' as const;
  readonly numRows: number;
  readonly rowsPerValue = 2;
  private readonly spec: QrSpec;
  private readonly quo = new Uint32Array(2);

  constructor(spec: QrSpec) {
    this.spec = normalizeIndexSpec(spec) as QrSpec;
    this.numRows = this.spec.remainder + this.spec.quotient;
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    const m = this.spec.remainder;
    const q = this.spec.quotient;
    const quo = this.quo;
    let o = outOffset;
    for (let i = 0; i < n; i++) {
      out[o++] = divmod64(ids[2 * i], ids[2 * i + 1], m, quo);
      out[o++] = m + mod64(quo[0], quo[1], q);
    }
  }

  toSpec(): IndexSpec {
    return { ...this.spec };
  }
}
