// Turns per-field cardinalities and a memory target into BH settings (code length S, block length t) and into
// the baselines' settings at the same rows, so methods are compared at equal memory. Pure arithmetic: it
// never sees data, so full tables here carry no vocabulary (FullVocabBuilder fills it from the data).

import { ConfigError } from '../core/errors.js';
import type { BhSpec, BhStrategy, DoubleHashSpec, HashSpec, QrSpec } from './config.js';
import { MAX_TABLE_ROWS, bhBlockWidths, bhNumRows, denseCodeBits } from './config.js';

export interface PlanField {
  /** Field name for the report. @default 'f<index>' */
  name?: string;
  /** Distinct values the field holds (or is expected to hold). */
  cardinality: number;
}

export interface PlanTarget {
  /** Total memory = full memory / compression. Give exactly one of compression and budgetBytes. */
  compression?: number;
  /** Total memory of all tables in bytes. */
  budgetBytes?: number;
  /** Embedding dimension. */
  dim: number;
  /** @default 4 (float32) */
  bytesPerElement?: number;
  /** BH block strategy. @default 'succession' */
  strategy?: BhStrategy;
  /** Ids are dense integers 0 … cardinality − 1 (S = bits the largest id needs, no code collisions). @default false */
  dense?: boolean;
  /** Hashed ids: choose the smallest S whose expected colliding pairs n²/2^(S+1) ≤ maxCollisionRate·n. @default 0.001 */
  maxCollisionRate?: number;
}

export interface PlannedAlternative<S> {
  spec: S;
  rows: number;
  /** Expected pairs of distinct values that get identical rows. */
  expectedCollisions: number;
}

export interface FieldPlan {
  field: string;
  cardinality: number;
  /** Rows of the uncompressed table: cardinality + 1 (row 0 = OOV). */
  fullRows: number;
  /** This field's equal share of the rows left after the water-filling split (BH may end above it by taking rows other fields left unused). */
  budgetRows: number;
  method: 'full' | 'bh';
  /** The BH spec when method is 'bh'. */
  bh?: BhSpec;
  rows: number;
  bytes: number;
  /** fullRows / rows. */
  compression: number;
  /** Expected pairs of distinct values that share all their rows (0 for full and dense BH). */
  expectedCollisions: number;
  /** Baselines at exactly this field's BH rows (equal memory). Absent for fields kept full. */
  alternatives?: {
    hash: PlannedAlternative<HashSpec>;
    qr: PlannedAlternative<QrSpec>;
    dhash: PlannedAlternative<DoubleHashSpec>;
  };
}

export interface EmbeddingPlan {
  fields: FieldPlan[];
  budgetRows: number;
  totalRows: number;
  totalBytes: number;
  fullRows: number;
  fullBytes: number;
  /** fullBytes / totalBytes. */
  compression: number;
  expectedCollisions: number;
  /** The rule S was chosen by, in words. */
  collisionRule: string;
}

/** The planner's default bound on expected colliding code pairs, as a fraction of the field's cardinality. */
export const DEFAULT_MAX_COLLISION_RATE = 0.001;

/**
 * Code length S for n hashed values: the smallest S in [1, 64] whose expected colliding code pairs
 * n²/2^(S+1) ≤ rate·n, i.e. 2^(S+1) ≥ n / rate.
 */
export function hashedCodeBits(n: number, rate = DEFAULT_MAX_COLLISION_RATE): number {
  return Math.min(64, Math.max(1, Math.ceil(Math.log2(Math.max(1, n) / rate)) - 1));
}

/** Expected colliding pairs when n values fall uniformly into `cells` cells: n(n−1)/(2·cells). */
function pairs(n: number, cells: number): number {
  return (n * (n - 1)) / (2 * cells);
}

/**
 * Plan every field's table under a memory target.
 *
 * Budget split (max-min fair, "water-filling"): fields are visited from the smallest; while a field's full table
 * (cardinality + 1 rows) fits in an equal share of the rows left, it stays full and its rows leave the pool.
 * The fields left split the remaining rows equally and use BH: S from the collision rule (or dense bits), then
 * the largest t with Σ_k 2^width_k ≤ the field's share (a larger t means more rows and fewer shared rows).
 * Rows that the step function Σ 2^width_k leaves unused then go, largest field first, to whichever field can
 * take the next larger t, until none can: the total never exceeds the budget.
 *
 * @example
 *   const plan = planEmbeddings([{ cardinality: 1e7 }, { cardinality: 300 }], { compression: 100, dim: 16 });
 *   plan.fields[0].bh; // { method: 'bh', codeBits: 33, blockBits: …, strategy: 'succession', dense: false }
 */
export function planEmbeddings(fields: readonly PlanField[], target: PlanTarget): EmbeddingPlan {
  const dim = target.dim;
  const bpe = target.bytesPerElement ?? 4;
  const strategy = target.strategy ?? 'succession';
  const dense = target.dense ?? false;
  const rate = target.maxCollisionRate ?? DEFAULT_MAX_COLLISION_RATE;
  if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`plan.dim must be an integer ≥ 1, got ${dim}`, { key: 'plan.dim' });
  if (!(bpe > 0)) throw new ConfigError(`plan.bytesPerElement must be > 0, got ${bpe}`, { key: 'plan.bytesPerElement' });
  if (!(rate > 0)) throw new ConfigError(`plan.maxCollisionRate must be > 0, got ${rate}`, { key: 'plan.maxCollisionRate' });
  if (strategy !== 'succession' && strategy !== 'skip') {
    throw new ConfigError(`plan.strategy must be one of: succession, skip; got ${JSON.stringify(strategy)}`, { key: 'plan.strategy' });
  }
  if (fields.length === 0) throw new ConfigError('plan needs at least one field', { key: 'plan.fields' });
  fields.forEach((f, i) => {
    if (!Number.isInteger(f.cardinality) || f.cardinality < 1) {
      throw new ConfigError(`plan.fields[${i}].cardinality must be an integer ≥ 1, got ${f.cardinality}`, { key: `plan.fields[${i}].cardinality` });
    }
  });
  const rowBytes = dim * bpe;
  const fullRowsOf = fields.map((f) => f.cardinality + 1);
  const fullRows = fullRowsOf.reduce((a, b) => a + b, 0);
  let budgetRows: number;
  if ((target.compression === undefined) === (target.budgetBytes === undefined)) {
    throw new ConfigError('plan needs exactly one of compression (e.g. 100 for 100×) and budgetBytes', { key: 'plan.compression' });
  } else if (target.compression !== undefined) {
    if (!(target.compression >= 1)) throw new ConfigError(`plan.compression must be ≥ 1, got ${target.compression}`, { key: 'plan.compression' });
    budgetRows = Math.floor(fullRows / target.compression);
  } else {
    const b = target.budgetBytes as number;
    if (!(b > 0)) throw new ConfigError(`plan.budgetBytes must be > 0, got ${b}`, { key: 'plan.budgetBytes' });
    budgetRows = Math.floor(b / rowBytes);
  }

  // water-filling
  const share = new Array<number>(fields.length).fill(0);
  const isFull = new Array<boolean>(fields.length).fill(false);
  const order = fields.map((_, i) => i).sort((a, b) => fullRowsOf[a] - fullRowsOf[b]);
  let left = budgetRows;
  let pos = 0;
  while (pos < order.length && fullRowsOf[order[pos]] <= Math.floor(left / (order.length - pos))) {
    const i = order[pos];
    isFull[i] = true;
    share[i] = fullRowsOf[i];
    left -= fullRowsOf[i];
    pos++;
  }
  const rest = order.length - pos;
  for (let p = pos; p < order.length; p++) share[order[p]] = Math.min(MAX_TABLE_ROWS, Math.floor(left / rest));

  // BH choices per compressed field: S, then the largest t within the share
  const codeBits = new Array<number>(fields.length).fill(0);
  const blockBits = new Array<number>(fields.length).fill(0);
  let used = 0;
  for (let i = 0; i < fields.length; i++) {
    if (isFull[i]) {
      used += fullRowsOf[i];
      continue;
    }
    const n = fields[i].cardinality;
    const b = share[i];
    let S = dense ? denseCodeBits(n) : hashedCodeBits(n, rate);
    while (S > 1 && bhNumRows(S, 1, strategy) > b) S--;
    if (bhNumRows(S, 1, strategy) > b) {
      throw new ConfigError(`plan: field ${fields[i].name ?? `f${i}`} gets ${b} rows, fewer than the 2 rows a compressed field needs; raise the budget or lower the compression`, {
        key: 'plan.budgetBytes',
      });
    }
    let t = 1;
    for (let c = S; c >= 1; c--) {
      if (bhNumRows(S, c, strategy) <= b) {
        t = c;
        break;
      }
    }
    codeBits[i] = S;
    blockBits[i] = t;
    used += bhNumRows(S, t, strategy);
  }
  // Rows are a step function of t, so shares leave rows unused: hand them out again, largest fields first,
  // each time to the smallest larger t that still fits, until no field can grow.
  const bySize = order.slice(pos).reverse();
  for (let grew = true; grew; ) {
    grew = false;
    for (const i of bySize) {
      const now = bhNumRows(codeBits[i], blockBits[i], strategy);
      for (let c = blockBits[i] + 1; c <= codeBits[i]; c++) {
        const more = bhNumRows(codeBits[i], c, strategy);
        if (more > now && more - now <= budgetRows - used && more <= MAX_TABLE_ROWS) {
          used += more - now;
          blockBits[i] = c;
          grew = true;
          break;
        }
      }
    }
  }

  const planned: FieldPlan[] = fields.map((f, i) => {
    const n = f.cardinality;
    const name = f.name ?? `f${i}`;
    const base = { field: name, cardinality: n, fullRows: fullRowsOf[i], budgetRows: share[i] };
    if (isFull[i]) {
      return { ...base, method: 'full', rows: fullRowsOf[i], bytes: fullRowsOf[i] * rowBytes, compression: 1, expectedCollisions: 0 };
    }
    const S = codeBits[i];
    // report t as the widest block: larger t with the same K (skip) or t > S describe the same table
    const t = Math.max(...bhBlockWidths(S, blockBits[i], strategy));
    const rows = bhNumRows(S, t, strategy);
    const collisions = dense && 2 ** S >= n ? 0 : pairs(n, 2 ** S);
    const m = Math.ceil(rows / 2);
    const q = Math.max(1, rows - m);
    return {
      ...base,
      method: 'bh',
      bh: { method: 'bh', codeBits: S, blockBits: t, strategy, dense },
      rows,
      bytes: rows * rowBytes,
      compression: fullRowsOf[i] / rows,
      expectedCollisions: collisions,
      alternatives: {
        hash: { spec: { method: 'hash', rows }, rows, expectedCollisions: pairs(n, rows) },
        qr: { spec: { method: 'qr', remainder: m, quotient: q }, rows: m + q, expectedCollisions: dense && m * q >= n ? 0 : pairs(n, m * q) },
        dhash: { spec: { method: 'dhash', rows, hashes: 2 }, rows, expectedCollisions: pairs(n, rows * rows) },
      },
    };
  });
  const totalRows = planned.reduce((a, f) => a + f.rows, 0);
  return {
    fields: planned,
    budgetRows,
    totalRows,
    totalBytes: totalRows * rowBytes,
    fullRows,
    fullBytes: fullRows * rowBytes,
    compression: fullRows / totalRows,
    expectedCollisions: planned.reduce((a, f) => a + f.expectedCollisions, 0),
    collisionRule: dense
      ? 'dense ids: S = bits the largest id needs, no code collisions'
      : `hashed ids: smallest S with expected colliding code pairs n²/2^(S+1) ≤ ${rate}·n`,
  };
}
