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
 *
 * Weighted rows (a run's sample weights, --weight-column): addRows() counts a value by the weights of the rows it
 * appears in, so a row of weight w counts as w rows, as it does in the loss and the metrics (a file with each row
 * repeated w times gets the same vocabulary), and a value seen only in rows of weight 0, which never trains its
 * row, shares the OOV row. With min count 1 every value of positive total weight gets a row (a fractional weight
 * does not drop a value); above 1 a value needs a total weight ≥ minCount.
 */
export class FullVocabBuilder {
  private counts: IdMap;
  private over = false;
  /** Weighted counting (any weighted rows were added): counts holds each id's index into weighted. */
  private weighted: Float64Array | null = null;

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

  /** Count ids[0 … n) once each. */
  add(ids: HashIds, n: number): void {
    if (this.over) return;
    if (this.weighted !== null) {
      for (let i = 0; i < n; i++) this.addWeight(ids[2 * i], ids[2 * i + 1], 1);
    } else {
      const c = this.counts;
      for (let i = 0; i < n; i++) c.add(ids[2 * i], ids[2 * i + 1], 1);
    }
    this.checkSize();
  }

  /**
   * Count one column of `rows` rows (offsets: a multi-valued field's row starts, offsets[rows] values; null: one
   * value per row), each value by its row's sample weight (null: 1 each, as add()).
   *
   *   offsets [0,2,3], sampleWeights [0.5, 3]  ->  values 0 and 1 count 0.5 each, value 2 counts 3
   */
  addRows(ids: HashIds, offsets: Uint32Array | null, rows: number, sampleWeights: Float32Array | null | undefined): void {
    const n = offsets === null ? rows : offsets[rows];
    if ((sampleWeights ?? null) === null) return this.add(ids, n);
    if (this.over) return;
    const sw = sampleWeights as Float32Array;
    if (this.weighted === null) this.toWeighted();
    for (let r = 0; r < rows; r++) {
      const a = offsets === null ? r : offsets[r];
      const b = offsets === null ? r + 1 : offsets[r + 1];
      for (let i = a; i < b; i++) this.addWeight(ids[2 * i], ids[2 * i + 1], sw[r]);
    }
    this.checkSize();
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
    const w = this.weighted;
    this.counts.forEach((lo, hi, v) => {
      const c = w === null ? v : w[v];
      if (c >= minCount || (minCount === 1 && c > 0)) {
        los.push(lo);
        his.push(hi);
        cnt.push(c);
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

  private checkSize(): void {
    if (this.counts.size > this.maxDistinct) {
      this.over = true;
      this.counts = new IdMap(1);
      this.weighted = null;
    }
  }

  /** Switch to weighted counts: each id's value becomes its index into `weighted`, which holds the count so far. */
  private toWeighted(): void {
    // Collected first: set() may grow the map, which forEach must not see.
    const w = new Float64Array(Math.max(16, 2 * this.counts.size));
    const ids: number[] = [];
    this.counts.forEach((lo, hi, v) => {
      w[ids.length / 2] = v;
      ids.push(lo, hi);
    });
    for (let k = 0; k < ids.length / 2; k++) this.counts.set(ids[2 * k], ids[2 * k + 1], k);
    this.weighted = w;
  }

  private addWeight(lo: number, hi: number, by: number): void {
    const c = this.counts;
    const before = c.size;
    let k = c.add(lo, hi, 0);
    if (c.size > before) {
      k = before;
      c.set(lo, hi, k);
      if (k >= (this.weighted as Float64Array).length) {
        const grown = new Float64Array(2 * k);
        grown.set(this.weighted as Float64Array);
        this.weighted = grown;
      }
      (this.weighted as Float64Array)[k] = 0;
    }
    (this.weighted as Float64Array)[k] += by;
  }
}
