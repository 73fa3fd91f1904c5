// The hybrid embedding's data side for a run: one bounded-memory heavy-hitters count per training field (cached per
// loaded dataset, so a sweep counts once), and each field's HybridSpec from its BH plan's bytes and those counts.
// The counting pass is the only thing here that reads data; the split itself is embedding/hybrid-planner.ts.

import { ConfigError } from '../core/errors.js';
import type { Dataset as DataSet } from '../data/dataset.js';
import type { HotCandidates } from '../data/heavy-hitters.js';
import { HeavyHitters, hotKeyHex } from '../data/heavy-hitters.js';
import type { BhStrategy, HybridSpec } from '../embedding/config.js';
import type { FieldPlan } from '../embedding/planner.js';
import { planHybridField } from '../embedding/hybrid-planner.js';

/** Counters per field once the sketch reduces (hot sets larger than this are capped at it). */
export const HOT_CAPACITY = 1 << 17;
/** Distinct values per field counted exactly before the sketch starts reducing (≤ ~7 MB per field). */
export const HOT_EXACT_LIMIT = 1 << 18;

const cache = new WeakMap<DataSet, HotCandidates[]>();

/** One field's counter for the counting pass (streamed runs call add() per chunk). */
export function newHotCounter(): HeavyHitters {
  return new HeavyHitters({ capacity: HOT_CAPACITY, exactLimit: HOT_EXACT_LIMIT });
}

/** A counter's candidates, as many as a hot set may take. */
export function topHot(h: HeavyHitters): HotCandidates {
  return h.top(HOT_CAPACITY);
}

/**
 * Each training field's hot candidates (most frequent first): from the streamed counting pass (loadRunData with
 * hotCounts), or counted once per in-memory dataset.
 */
export function hotCandidatesOf(data: { train: { columns: DataSet | null }; hotCandidates?: HotCandidates[] | null }): HotCandidates[] {
  if (data.hotCandidates) return data.hotCandidates;
  const train = data.train.columns;
  if (train === null) {
    throw new ConfigError('--embedding hybrid on streamed data needs the hot counts of the counting pass (loadRunData with hotCounts: true)', { key: 'hotCounts' });
  }
  let c = cache.get(train);
  if (c === undefined) {
    c = train.fields.map((col) => {
      const hh = newHotCounter();
      hh.addRows(col.ids, col.offsets ?? null, train.rows, train.sampleWeights); // a row of weight w counts w times
      return topHot(hh);
    });
    cache.set(train, c);
  }
  return c;
}

export interface HybridOptions {
  strategy: BhStrategy;
  rowBytes: number;
  maxCollisionRate: number;
  codeBits?: number;
  hotShare?: number;
  /** The cold part's form (hybrid-planner coldShape). @default 'auto' */
  cold?: 'auto' | 'bh' | 'dhash';
}

/** A compressed field's hybrid spec in exactly the bytes its BH plan takes (hot rows, their keys and BH rows). */
export function hybridFieldSpec(p: FieldPlan, cand: HotCandidates, o: HybridOptions): { spec: HybridSpec; hot: number; hotCoverage: number; keyBytes: number } {
  const plan = planHybridField({
    cardinality: p.cardinality,
    counts: cand.counts,
    total: cand.total,
    budgetBytes: p.bytes,
    rowBytes: o.rowBytes,
    strategy: o.strategy,
    maxCollisionRate: o.maxCollisionRate,
    codeBits: o.codeBits,
    hotShare: o.hotShare,
    cold: o.cold,
  });
  const hot = new Array<string>(plan.hot);
  for (let i = 0; i < plan.hot; i++) hot[i] = hotKeyHex(cand, i);
  return {
    spec: plan.cold === 'dhash' ? { method: 'hybrid', hot, cold: 'dhash', rows: plan.bhRows, hashes: plan.hashes } : { method: 'hybrid', hot, codeBits: plan.codeBits, blockBits: plan.blockBits, strategy: plan.strategy },
    hot: plan.hot,
    hotCoverage: plan.hotCoverage,
    keyBytes: plan.keyBytes,
  };
}
