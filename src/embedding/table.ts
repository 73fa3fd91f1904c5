// The one interface every embedding method implements: how many rows a field's table needs, and which rows
// a batch of 64-bit hash ids maps to. Pure integer maths; how rows are fused (sum, mean, concat, weighted)
// belongs to the embedding bag (nn/), not here.

import type { HashIds } from '../core/ids.js';
import type { IndexSpec } from './config.js';

export interface Indexer {
  /** The method's discriminator: 'full' | 'hash' | 'qr' | 'dhash' | 'bh' | 'hybrid'. */
  readonly method: IndexSpec['method'];
  /** Rows this field's table holds. Every row returned by index() is in [0, numRows). */
  readonly numRows: number;
  /** Rows looked up per value (K). */
  readonly rowsPerValue: number;
  /**
   * Map n ids to K rows each: out[outOffset + i·K + k] is row k of id i.
   * Allocates nothing; out must hold outOffset + n·K entries.
   */
  index(ids: HashIds, n: number, out: Int32Array, outOffset?: number): void;
  /** The normalized, JSON-safe description that rebuilds this indexer exactly (vocabularies included). */
  toSpec(): IndexSpec;
}
