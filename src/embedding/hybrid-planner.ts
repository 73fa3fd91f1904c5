// Splits one field's memory between hot rows (values of their own, key included) and the BH rows every other value
// share (BH, or double hashing at budgets of a few rows), from the field's frequency counts. Pure arithmetic on counts: which ids are hot comes from the counting
// pass (data/heavy-hitters.ts); the field's byte budget comes from planEmbeddings (the same bytes BH gets there).

import { ConfigError } from '../core/errors.js';
import type { BhStrategy } from './config.js';
import { HOT_KEY_BYTES } from './config.js';
import { DEFAULT_MAX_COLLISION_RATE, bhShapeWithin, hashedCodeBits } from './planner.js';

/**
 * A value is also hot when it carries this many times the mean count of the field's cold values (the rule's second
 * arm, for fields whose BH rows are shared by so many values that BH cannot resolve them; see planHybridField).
 */
export const HOT_OVER_MEAN = 100;
/** A value is hot when it carries at least 1/(HOT_PER_BLOCK·K) of the field's cold occurrences (the rule's first arm). */
export const HOT_PER_BLOCK = 16;
/** Hashes per value of a double-hashing cold part (double hashing's own setting, as the dhash baseline plans it). */
export const DHASH_COLD_HASHES = 2;

/** The cold part's form and shape in a given number of rows. dhash: codeBits = blockBits = 0, blocks = hashes. */
export interface ColdShape {
  cold: 'bh' | 'dhash';
  codeBits: number;
  blockBits: number;
  rows: number;
  /** Rows per value: BH's blocks K, or dhash's hashes. */
  blocks: number;
}

/**
 * The cold part for n values in `rows` rows (rows ≥ 2). BH's blocks own disjoint rows, so S code bits need at least
 * 2·S rows, and where the rows are fewer than twice the code length BH wants (S* = the collision rule's minimum, or
 * the pinned codeBits) bhShapeWithin cuts the code to S = ⌊R/2⌋ bits: 2^S distinct codes, whatever the shape. Two
 * hashes into one shared table of R rows give R(R+1)/2 distinct row pairs (unordered, the same row twice included).
 * The cold part is double hashing exactly when BH's code is cut short and the pairs outnumber its codes:
 *   S < S*  and  R(R+1)/2 > 2^S   ⇔  dhash (2 hashes in all R rows)
 * With the default collision rate S* ≥ 9 for any n, so this is double hashing for R ≤ 13 (13 rows: 91 pairs against
 * 2^6 = 64 codes) and BH from R = 14 on (2^7 = 128 against 105). Where BH's code is not cut short (S = S*, so its
 * expected code collisions are within the collision rule) BH stays, however many pairs R rows would give.
 * form 'bh' or 'dhash' forces one (for measuring).
 */
export function coldShape(n: number, rows: number, strategy: BhStrategy, rate: number, codeBits: number | undefined, form: 'auto' | 'bh' | 'dhash' = 'auto'): ColdShape {
  const bh = bhShapeWithin(n, rows, strategy, rate, codeBits);
  if (bh === null) throw new Error('unreachable: a cold part has at least 2 rows');
  const dhash: ColdShape = { cold: 'dhash', codeBits: 0, blockBits: 0, rows, blocks: DHASH_COLD_HASHES };
  if (form === 'dhash') return dhash;
  const want = codeBits ?? hashedCodeBits(n, rate);
  if (form === 'auto' && bh.codeBits < want && (rows * (rows + 1)) / 2 > 2 ** bh.codeBits) return dhash;
  return { cold: 'bh', ...bh };
}

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
  /** The cold part's form: 'auto' (coldShape's rule), or always 'bh' / 'dhash' (for measuring). @default 'auto' */
  cold?: 'auto' | 'bh' | 'dhash';
}

export interface HybridFieldPlan {
  /** Hot values: the first `hot` candidates. */
  hot: number;
  /** Share of the field's occurrences the hot values carry (by the candidates' counts). */
  hotCoverage: number;
  /** The cold part's form (coldShape). */
  cold: 'bh' | 'dhash';
  /** BH's code length and block length (0 when cold is 'dhash'). */
  codeBits: number;
  blockBits: number;
  strategy: BhStrategy;
  /** dhash's hashes per value (0 when cold is 'bh'). */
  hashes: number;
  /** Rows of the cold part (BH's or dhash's). */
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
 * h values hot leaves R(h) = ⌊(B − h·(r + 8)) / r⌋ BH rows for the n_c(h) = n − h cold values and their
 * occurrences M(h) = N − Σ_{i≤h} c_i; K is the number of blocks of the field's BH shape with no hot value. Where the
 * field's whole budget is in double hashing's range (coldShape makes R(0) rows double hashing: R(0) ≤ 13 at the
 * default rate) no value is hot and the field is exactly the double-hashing baseline's table: there a row of its own
 * costs a twelfth or more of the table, and the hot sets the rule picked there lost to plain double hashing (frappe
 * at 100×, BENCHMARKS.md). Otherwise value h
 * joins the hot set (while R(h) ≥ 2) when
 *   c_h ≥ min( M(h) / (16·K),  100 · M(h) / n_c(h) )      (HOT_PER_BLOCK = 16, HOT_OVER_MEAN = 100)
 * i.e. when it alone carries at least 1/(16K) of the cold occurrences, or 100× the mean cold value's count. The first arm keeps BH whole where its
 * blocks are wide (a row of a 2^t-row block carries M/2^t; with 2^t ≥ 16K, as frappe's 4–6 blocks of 5–6 bits at
 * 10×, no single value reaches M/(16K) unless the field is very skewed), and hands the head its own rows where the
 * blocks are narrow (2-bit blocks at ~30 rows per field: BH's additive codes cannot separate 75 values, let alone
 * 185k). The second arm covers huge fields whose mean count is tiny. Both constants are calibrated on measured
 * splits (BENCHMARKS.md, seed 1): frappe at 10× lost AUC with every hot share above 0 (0 → 0.9329, 25 % → 0.9297,
 * 50 % → 0.9237, 3 epochs) and the rule picks 0 there; the Criteo-shaped set at 1000× gained with every step (0 →
 * 0.6995, 50 % → 0.7157, 80 % → 0.7211, 95 % → 0.7229, 1 epoch) and the rule picks ~90 % there.
 * The cold part keeps the form of the field's whole budget (so above 13 rows always BH; with hotShare in a field of
 * at most 13 rows, double hashing in all R(h) rows): planEmbeddings' BH shape for the cold values (S from the collision rule on n − h
 * values, the fewest blocks within 3 % of the most rows that fit in R(h)); the bytes that shape leaves unused go to further
 * hot values in count order, so the field ends within r + 8 bytes of its budget. BH's row counts step coarsely, so
 * when the hot set pushes BH down to a smaller shape than it would have with no hot value, the hot set is kept only
 * if the occurrences it adds carry at least the rows lost × min(N/(16K), 100·N/n) (each lost row valued as the rule
 * values one hot value); otherwise BH keeps its shape and hot values take only the bytes it leaves. hotShare
 * replaces the rule with a fixed fraction of B for hot rows and keys.
 *
 * @example
 *   planHybridField({ cardinality: 185_000, counts, total: 1e6, budgetBytes: 42 * 64, rowBytes: 64 });
 *   // Zipf(1.1) counts: → { hot: 35, hotCoverage: 0.44, codeBits: 1, blockBits: 1, bhRows: 2, … }
 */
export function planHybridField(f: HybridFieldInput): HybridFieldPlan {
  const r = f.rowBytes;
  const B = f.budgetBytes;
  const strategy = f.strategy ?? 'succession';
  const rate = f.maxCollisionRate ?? DEFAULT_MAX_COLLISION_RATE;
  const form = f.cold ?? 'auto';
  if (form !== 'auto' && form !== 'bh' && form !== 'dhash') throw new ConfigError(`plan.cold must be one of: auto, bh, dhash; got ${JSON.stringify(form)}`, { key: 'plan.cold' });
  const per = r + HOT_KEY_BYTES;
  const C = Math.min(f.counts.length, f.cardinality);
  if (!(r > 0) || !(B >= 2 * r)) throw new ConfigError(`plan: a hybrid field needs at least 2 rows (${2 * r} bytes), got ${B} bytes`, { key: 'plan.budgetBytes' });
  const rowsLeft = (h: number): number => Math.floor((B - h * per) / r);
  // The cold part's form is decided once, on the field's whole budget: the form coldShape gives R(0) rows (double
  // hashing at R(0) ≤ 13 rows at the default rate, BH above). The rows a hot set leaves keep that form: double hashing
  // in them measured no better (lastfm-tag 100×, 43 hot tags and 8 rows left: 0.7028 ± 0.0031 against BH's 0.7041 ±
  // 0.0031; Criteo-shaped 1000×, 2–3 rows left: 0.7225 ± 0.0002 against 0.7227 ± 0.0003; 3 seeds, BENCHMARKS.md).
  const none0 = coldShape(Math.max(1, f.cardinality), rowsLeft(0), strategy, rate, f.codeBits, form);
  const coldForm = none0.cold;
  let h = 0;
  let covered = 0;
  if (f.hotShare !== undefined) {
    if (!(f.hotShare >= 0 && f.hotShare < 1)) throw new ConfigError(`plan.hotShare must be in [0, 1), got ${f.hotShare}`, { key: 'plan.hotShare' });
    h = Math.min(C, Math.floor((f.hotShare * B) / per));
    while (h > 0 && rowsLeft(h) < 2) h--;
    for (let i = 0; i < h; i++) covered += f.counts[i];
  } else {
    // A field whose cold part is double hashing takes no hot value: it is the double-hashing table. K: the BH
    // shape's blocks with no hot value (each cold occurrence updates K rows).
    const K = none0.blocks;
    while (none0.cold === 'bh' && h < C && rowsLeft(h + 1) >= 2) {
      const c = f.counts[h];
      const cold = f.total - covered - c; // M(h + 1)
      const coldValues = Math.max(1, f.cardinality - h - 1);
      if (c * HOT_PER_BLOCK * K < cold && c * coldValues < HOT_OVER_MEAN * cold) break;
      covered += c;
      h++;
    }
  }
  // The cold shape for the bytes the hot set leaves; the bytes that shape leaves go to more hot values (count order).
  const fill = (h0: number, cov0: number): { h: number; covered: number; shape: ColdShape } => {
    const shape = coldShape(Math.max(1, f.cardinality - h0), rowsLeft(h0), strategy, rate, f.codeBits, coldForm);
    let hh = h0;
    let cov = cov0;
    while (hh < C && hh * per + shape.rows * r + per <= B) cov += f.counts[hh++];
    return { h: hh, covered: cov, shape };
  };
  let pick = fill(h, covered);
  if (f.hotShare === undefined && h > 0) {
    // BH's reachable row counts step coarsely (frappe's items at 10×: 200 rows with 6-bit blocks, 130 with 5-bit
    // ones), so a few hot values can cost a whole step. Keep the hot set only if its extra occurrences are worth the
    // BH rows it costs, each row valued as the rule values one: min(K·N/R(0), HOT_OVER_MEAN·N/n).
    const none = fill(0, 0);
    const lost = none.shape.rows - pick.shape.rows;
    if (lost > 0) {
      const perRow = Math.min(f.total / (HOT_PER_BLOCK * none.shape.blocks), (HOT_OVER_MEAN * f.total) / Math.max(1, f.cardinality));
      if (pick.covered - none.covered < lost * perRow) pick = none;
    }
  }
  h = pick.h;
  covered = pick.covered;
  const shape = pick.shape;
  const rows = h + shape.rows;
  const keyBytes = HOT_KEY_BYTES * h;
  return {
    hot: h,
    hotCoverage: f.total > 0 ? covered / f.total : 0,
    cold: shape.cold,
    codeBits: shape.codeBits,
    blockBits: shape.blockBits,
    strategy,
    hashes: shape.cold === 'dhash' ? shape.blocks : 0,
    bhRows: shape.rows,
    rows,
    keyBytes,
    bytes: rows * r + keyBytes,
  };
}
