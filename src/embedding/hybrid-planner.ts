// Splits one field's memory between hot rows (values of their own, key included) and the BH rows every other value
// shares, from the field's frequency counts. Pure arithmetic on counts: which ids are hot comes from the counting
// pass (data/heavy-hitters.ts); the field's byte budget comes from planEmbeddings (the same bytes BH gets there).

import { ConfigError } from '../core/errors.js';
import type { BhStrategy } from './config.js';
import { HOT_KEY_BYTES } from './config.js';
import { DEFAULT_MAX_COLLISION_RATE, bhShapeWithin } from './planner.js';

export interface HybridFieldInput {
  /** Distinct values of the field (hot or not). */
  cardinality: number;
  /** Candidate counts, most frequent first (estimates from the counting pass). */
  counts: ArrayLike<number>;
  /** Occurrences of the field in all. */
  total: number;
  /** The field's budget in bytes: hot rows + their keys + BH rows. */
  budgetBytes: number;
  /** Bytes of one row (floats per row × bytes per float). */
  rowBytes: number;
  /** @default 'succession' */
  strategy?: BhStrategy;
  /** @default DEFAULT_MAX_COLLISION_RATE */
  maxCollisionRate?: number;
  /** Pin the BH code length S. */
  codeBits?: number;
  /** Override the rule: this fraction of the budget goes to hot rows and keys (for measuring splits). */
  hotShare?: number;
}

export interface HybridFieldPlan {
  /** Hot values: the first `hot` candidates. */
  hot: number;
  /** Share of the field's occurrences the hot values carry (by the candidates' counts). */
  hotCoverage: number;
  codeBits: number;
  blockBits: number;
  strategy: BhStrategy;
  /** BH rows of the cold part. */
  bhRows: number;
  /** hot + bhRows. */
  rows: number;
  /** HOT_KEY_BYTES · hot. */
  keyBytes: number;
  /** rows · rowBytes + keyBytes ≤ budgetBytes. */
  bytes: number;
}

/**
 * The split rule. Let c_1 ≥ c_2 ≥ … be the counts, N their total, r the row bytes and B the budget. Making the first
 * h values hot leaves R(h) = ⌊(B − h·(r + 8)) / r⌋ BH rows for the cold occurrences M(h) = N − Σ_{i≤h} c_i. Value h
 * joins the hot set while it alone carries at least what an average BH row would: c_h ≥ M(h) / R(h), and R(h) ≥ 2.
 * (A hot value's row is trained by its own occurrences only; a BH row is shared by every cold value that hits it, so
 * a value that out-weighs an average BH row gains more from its own row than the rows it takes cost the cold ones.)
 * The BH part then takes planEmbeddings' shape for the cold values (S from the collision rule on n − h values, the
 * fewest blocks within 3 % of the most rows that fit in R(h)), and the bytes that shape leaves unused go to further
 * hot values in count order, so the field ends within r + 8 bytes of its budget. hotShare replaces the rule with a
 * fixed fraction of B for hot rows and keys.
 *
 * @example
 *   planHybridField({ cardinality: 1e6, counts, total: 1e6, budgetBytes: 40_000, rowBytes: 40 });
 *   // → { hot: 120, codeBits: 29, blockBits: …, bhRows: 856, … }
 */
export function planHybridField(f: HybridFieldInput): HybridFieldPlan {
  const r = f.rowBytes;
  const B = f.budgetBytes;
  const strategy = f.strategy ?? 'succession';
  const rate = f.maxCollisionRate ?? DEFAULT_MAX_COLLISION_RATE;
  const per = r + HOT_KEY_BYTES;
  const C = Math.min(f.counts.length, f.cardinality);
  if (!(r > 0) || !(B >= 2 * r)) throw new ConfigError(`plan: a hybrid field needs at least 2 rows (${2 * r} bytes), got ${B} bytes`, { key: 'plan.budgetBytes' });
  const rowsLeft = (h: number): number => Math.floor((B - h * per) / r);
  let h = 0;
  let covered = 0;
  if (f.hotShare !== undefined) {
    if (!(f.hotShare >= 0 && f.hotShare < 1)) throw new ConfigError(`plan.hotShare must be in [0, 1), got ${f.hotShare}`, { key: 'plan.hotShare' });
    h = Math.min(C, Math.floor((f.hotShare * B) / per));
    while (h > 0 && rowsLeft(h) < 2) h--;
    for (let i = 0; i < h; i++) covered += f.counts[i];
  } else {
    while (h < C && rowsLeft(h + 1) >= 2) {
      const c = f.counts[h];
      if (c * rowsLeft(h + 1) < f.total - covered - c) break;
      covered += c;
      h++;
    }
  }
  const cold = Math.max(1, f.cardinality - h);
  const shape = bhShapeWithin(cold, rowsLeft(h), strategy, rate, f.codeBits);
  if (shape === null) throw new Error('unreachable: rowsLeft(h) ≥ 2');
  // bytes the shape leaves go to more hot values (in count order)
  while (h < C && h * per + shape.rows * r + per <= B) {
    covered += f.counts[h];
    h++;
  }
  const rows = h + shape.rows;
  const keyBytes = HOT_KEY_BYTES * h;
  return {
    hot: h,
    hotCoverage: f.total > 0 ? covered / f.total : 0,
    codeBits: shape.codeBits,
    blockBits: shape.blockBits,
    strategy,
    bhRows: shape.rows,
    rows,
    keyBytes,
    bytes: rows * r + keyBytes,
  };
}
