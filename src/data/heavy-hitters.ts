// The most frequent values of a field in bounded memory, so the hybrid embedding's hot set can be found in one pass
// over a stream: exact counts while the distinct values fit under a limit, Misra–Gries (Misra & Gries, 1982) counters
// after that. Knows nothing of embeddings or budgets; the counting pass feeds it ids, the planner reads top().

import { ConfigError } from '../core/errors.js';
import { IdMap } from '../hash/id-map.js';

export interface HeavyHittersOptions {
  /** Counters kept once the sketch starts reducing; every value counted more than total/(capacity + 1) times is kept. */
  capacity: number;
  /** Distinct values counted exactly before the first reduction (≥ 2·capacity). @default 2 · capacity */
  exactLimit?: number;
}

export interface HotCandidates {
  /** Hash id halves of the candidates, most frequent first (ties: smaller 64-bit id first). */
  lo: Uint32Array;
  hi: Uint32Array;
  /** Estimated counts: true count − undercount ≤ count ≤ true count. */
  counts: Float64Array;
  /** Occurrences counted in all (every value, kept or not). */
  total: number;
  /** Largest possible undercount of any value (0 while exact); a value missing from the list has true count ≤ this. */
  undercount: number;
}

/**
 * Misra–Gries with batched decrements: counters live in an IdMap; when it holds exactLimit values, the
 * (capacity + 1)-th largest count d is subtracted from every counter and the ones left ≤ 0 are dropped (at most
 * capacity survive). Each reduction removes at least (capacity + 1)·d occurrences, so the summed decrements, which
 * bound any value's undercount, stay ≤ total / (capacity + 1). Until the first reduction every count is exact.
 *
 * @example
 *   const hh = new HeavyHitters({ capacity: 1 << 16 });
 *   hh.add(column.ids, n);        // as many chunks as the stream has
 *   const top = hh.top(1000);     // the 1000 most frequent ids and their counts
 */
export class HeavyHitters {
  readonly capacity: number;
  readonly exactLimit: number;
  private counts: IdMap;
  /** Weighted counting (rows with sample weights were added): counts holds each id's index into weighted. */
  private weighted: Float64Array | null = null;
  private totalCount = 0;
  private decrements = 0;

  constructor(opts: HeavyHittersOptions) {
    const c = opts.capacity;
    if (!Number.isInteger(c) || c < 1) throw new ConfigError(`heavy hitters: capacity must be an integer ≥ 1, got ${c}`, { key: 'capacity' });
    const limit = opts.exactLimit ?? 2 * c;
    if (!Number.isInteger(limit) || limit < 2 * c) {
      throw new ConfigError(`heavy hitters: exactLimit must be an integer ≥ 2·capacity (${2 * c}), got ${limit}`, { key: 'exactLimit' });
    }
    this.capacity = c;
    this.exactLimit = limit;
    this.counts = new IdMap(Math.min(limit, 1 << 16));
  }

  /** Occurrences counted (weighted rows: their total weight). */
  get total(): number {
    return this.totalCount;
  }

  /** True while no reduction has happened: every count is the true count. */
  get exact(): boolean {
    return this.decrements === 0;
  }

  /** Values currently counted. */
  get size(): number {
    return this.counts.size;
  }

  /** Count ids[0 … n) (HashIds layout: lo, hi per id). */
  add(ids: Uint32Array, n: number): void {
    if (this.weighted !== null) {
      for (let i = 0; i < n; i++) this.addWeight(ids[2 * i], ids[2 * i + 1], 1);
      return;
    }
    for (let i = 0; i < n; i++) {
      if (this.counts.size >= this.exactLimit && this.counts.get(ids[2 * i], ids[2 * i + 1]) < 0) this.reduce();
      this.counts.add(ids[2 * i], ids[2 * i + 1], 1);
    }
    this.totalCount += n;
  }

  /**
   * Count one column of `rows` rows (offsets: a multi-valued field's row starts; null: one value per row), each value
   * by its row's sample weight (null: 1 each, as add()), so a row of weight w counts as w rows (a value seen only in
   * rows of weight 0 is never a candidate). Misra–Gries holds for weighted counts: a reduction by the
   * (capacity + 1)-th largest weight d still removes at least (capacity + 1)·d of the total.
   */
  addRows(ids: Uint32Array, offsets: Uint32Array | null, rows: number, sampleWeights: Float32Array | null | undefined): void {
    if ((sampleWeights ?? null) === null) return this.add(ids, offsets === null ? rows : offsets[rows]);
    const sw = sampleWeights as Float32Array;
    if (this.weighted === null) this.toWeighted();
    for (let r = 0; r < rows; r++) {
      const w = sw[r];
      if (!(w > 0)) continue;
      const a = offsets === null ? r : offsets[r];
      const b = offsets === null ? r + 1 : offsets[r + 1];
      for (let i = a; i < b; i++) this.addWeight(ids[2 * i], ids[2 * i + 1], w);
    }
  }

  private reduce(): void {
    if (this.weighted !== null) return this.reduceWeighted();
    const vals = new Int32Array(this.counts.size);
    let j = 0;
    this.counts.forEach((_lo, _hi, v) => {
      vals[j++] = v;
    });
    vals.sort();
    const d = vals[vals.length - 1 - this.capacity]; // the (capacity + 1)-th largest
    const next = new IdMap(this.exactLimit);
    this.counts.forEach((lo, hi, v) => {
      if (v > d) next.set(lo, hi, v - d);
    });
    this.counts = next;
    this.decrements += d;
  }

  /** Switch to weighted counts: each id's value becomes its index into `weighted`, which holds its count so far. */
  private toWeighted(): void {
    const w = new Float64Array(Math.max(16, this.exactLimit + 1));
    const ids: number[] = [];
    this.counts.forEach((lo, hi, v) => {
      w[ids.length / 2] = v;
      ids.push(lo, hi);
    });
    // Rebuilt, not set() during forEach (set may grow the map under it).
    const next = new IdMap(Math.min(this.exactLimit, 1 << 16));
    for (let k = 0; k < ids.length / 2; k++) next.set(ids[2 * k], ids[2 * k + 1], k);
    this.counts = next;
    this.weighted = w;
  }

  private addWeight(lo: number, hi: number, by: number): void {
    let k = this.counts.get(lo, hi);
    if (k < 0) {
      if (this.counts.size >= this.exactLimit) this.reduce();
      k = this.counts.size;
      this.counts.set(lo, hi, k);
      (this.weighted as Float64Array)[k] = 0;
    }
    (this.weighted as Float64Array)[k] += by;
    this.totalCount += by;
  }

  private reduceWeighted(): void {
    const w = this.weighted as Float64Array;
    const n = this.counts.size;
    const vals = Float64Array.from(w.subarray(0, n)).sort();
    const d = vals[n - 1 - this.capacity]; // the (capacity + 1)-th largest
    const next = new IdMap(this.exactLimit);
    const nw = new Float64Array(w.length);
    let k = 0;
    this.counts.forEach((lo, hi, i) => {
      if (w[i] > d) {
        next.set(lo, hi, k);
        nw[k++] = w[i] - d;
      }
    });
    this.counts = next;
    this.weighted = nw;
    this.decrements += d;
  }

  /** The k most frequent values counted (fewer when fewer are held), with their estimated counts. */
  top(k: number): HotCandidates {
    const lo: number[] = [];
    const hi: number[] = [];
    const cnt: number[] = [];
    const w = this.weighted;
    this.counts.forEach((l, h, v) => {
      lo.push(l);
      hi.push(h);
      cnt.push(w === null ? v : w[v]);
    });
    const order = Array.from({ length: cnt.length }, (_, i) => i);
    order.sort((a, b) => cnt[b] - cnt[a] || hi[a] - hi[b] || lo[a] - lo[b]);
    const m = Math.min(Math.max(0, Math.floor(k)), order.length);
    const out: HotCandidates = { lo: new Uint32Array(m), hi: new Uint32Array(m), counts: new Float64Array(m), total: this.totalCount, undercount: this.decrements };
    for (let r = 0; r < m; r++) {
      out.lo[r] = lo[order[r]];
      out.hi[r] = hi[order[r]];
      out.counts[r] = cnt[order[r]];
    }
    return out;
  }
}

/** A candidate's hash id as the 16 hex digits index specs use. */
export function hotKeyHex(c: HotCandidates, i: number): string {
  return c.hi[i].toString(16).padStart(8, '0') + c.lo[i].toString(16).padStart(8, '0');
}
