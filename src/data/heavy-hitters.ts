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

  /** Occurrences counted. */
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
    for (let i = 0; i < n; i++) {
      if (this.counts.size >= this.exactLimit && this.counts.get(ids[2 * i], ids[2 * i + 1]) < 0) this.reduce();
      this.counts.add(ids[2 * i], ids[2 * i + 1], 1);
    }
    this.totalCount += n;
  }

  private reduce(): void {
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

  /** The k most frequent values counted (fewer when fewer are held), with their estimated counts. */
  top(k: number): HotCandidates {
    const lo: number[] = [];
    const hi: number[] = [];
    const cnt: number[] = [];
    this.counts.forEach((l, h, v) => {
      lo.push(l);
      hi.push(h);
      cnt.push(v);
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
