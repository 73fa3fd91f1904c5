// Full (uncompressed) embedding: one row per value seen at least minCount times in the training data, row 0
// for everything else (OOV). The reference point for every compression ratio; its vocabulary is data, so the
// spec carries it (as 16-hex-digit hash ids, row order from row 1).

import type { HashIds } from '../core/ids.js';
import { ConfigError } from '../core/errors.js';
import { IdMap } from '../hash/id-map.js';
import type { FullSpec, IndexSpec } from './config.js';
import { normalizeIndexSpec } from './config.js';
import type { Indexer } from './table.js';

/**
 * row = 1 + position of h in spec.vocab, or 0 (OOV) when h is not in the vocabulary.
 *
 * @example
 *   const b = new FullVocabBuilder();
 *   b.add(trainIds, n);
 *   const full = new FullIndexer(b.build(5)); // values seen ≥ 5 times get their own row
 */
export class FullIndexer implements Indexer {
  readonly method = 'full' as const;
  readonly numRows: number;
  readonly rowsPerValue = 1;
  private readonly spec: FullSpec;
  private readonly map: IdMap;

  constructor(spec: FullSpec) {
    this.spec = normalizeIndexSpec(spec) as FullSpec;
    const vocab = this.spec.vocab;
    this.numRows = vocab.length + 1;
    this.map = new IdMap(vocab.length);
    for (let i = 0; i < vocab.length; i++) {
      const h = vocab[i];
      const hi = parseInt(h.slice(0, 8), 16);
      const lo = parseInt(h.slice(8), 16);
      if (this.map.get(lo, hi) >= 0) {
        throw new ConfigError(`index.vocab[${i}] repeats hash id ${h}; each id may appear once`, { key: `index.vocab[${i}]` });
      }
      this.map.set(lo, hi, i + 1);
    }
  }

  index(ids: HashIds, n: number, out: Int32Array, outOffset = 0): void {
    const map = this.map;
    for (let i = 0; i < n; i++) {
      const r = map.get(ids[2 * i], ids[2 * i + 1]);
      out[outOffset + i] = r < 0 ? 0 : r;
    }
  }

  toSpec(): IndexSpec {
    return { method: 'full', minCount: this.spec.minCount, vocab: this.spec.vocab.slice() };
  }
}

/**
 * Counts hash ids over any number of batches, then builds a FullSpec. Vocabulary order: count descending,
 * ties by id ascending (so the same data always gives the same rows).
 */
export class FullVocabBuilder {
  private counts: IdMap;
  private over = false;

  /**
   * @param maxDistinct stop counting once more distinct ids than this were seen (the counts are dropped to free
   * their memory, and `overflowed` says so): for a vocabulary wanted only if the field turns out small.
   */
  constructor(expectedDistinct = 1024, private readonly maxDistinct = Infinity) {
    this.counts = new IdMap(Math.min(expectedDistinct, maxDistinct));
  }

  /** Distinct ids counted so far (0 once overflowed). */
  get size(): number {
    return this.counts.size;
  }

  /** true: more than maxDistinct distinct ids were seen, and the counts were dropped; build() then throws. */
  get overflowed(): boolean {
    return this.over;
  }

  /** Count ids[0 … n). */
  add(ids: HashIds, n: number): void {
    if (this.over) return;
    const c = this.counts;
    for (let i = 0; i < n; i++) c.add(ids[2 * i], ids[2 * i + 1], 1);
    if (c.size > this.maxDistinct) {
      this.over = true;
      this.counts = new IdMap(1);
    }
  }

  /** The vocabulary of ids counted ≥ minCount times, capped at maxSize entries (most frequent first). */
  build(minCount = 1, maxSize = Infinity): FullSpec {
    if (this.over) {
      throw new ConfigError(`the vocabulary was not kept: more than ${this.maxDistinct} distinct values were counted`, { key: 'fullVocab', maxDistinct: this.maxDistinct });
    }
    if (!Number.isInteger(minCount) || minCount < 1) {
      throw new ConfigError(`minCount must be an integer ≥ 1, got ${minCount}`, { key: 'minCount', value: minCount });
    }
    const his: number[] = [];
    const los: number[] = [];
    const cnt: number[] = [];
    this.counts.forEach((lo, hi, v) => {
      if (v >= minCount) {
        los.push(lo);
        his.push(hi);
        cnt.push(v);
      }
    });
    const order = Array.from({ length: cnt.length }, (_, i) => i);
    order.sort((a, b) => cnt[b] - cnt[a] || his[a] - his[b] || los[a] - los[b]);
    const size = Math.min(order.length, maxSize);
    const vocab = new Array<string>(size);
    for (let r = 0; r < size; r++) {
      const i = order[r];
      vocab[r] = his[i].toString(16).padStart(8, '0') + los[i].toString(16).padStart(8, '0');
    }
    return { method: 'full', minCount, vocab };
  }
}
