// Turns per-field cardinalities and a memory target into BH settings (code length S, block length t) and into
// the baselines' settings at the same rows, so methods are compared at equal memory. Pure arithmetic: it
// never sees data, so full tables here carry no vocabulary (FullVocabBuilder fills it from the data).

import { ConfigError } from '../core/errors.js';
import type { BhSpec, BhStrategy, DoubleHashSpec, HashSpec, QrSpec } from './config.js';
import { MAX_TABLE_ROWS, denseCodeBits } from './config.js';

export interface PlanField {
  /** Field name for the report. @default 'f<index>' */
  name?: string;
  /** Distinct values the field holds (or is expected to hold). */
  cardinality: number;
  /**
   * The cardinality is a lower bound (counted on a sample of the data that was still gaining values): the field is
   * never kept full, since a vocabulary from the sample would miss the values after it. @default false
   */
  lowerBound?: boolean;
  /**
   * Elements per row of this field's tables, when not the target's dim (a field with its own embedding dim): its rows
   * cost dim × bytesPerElement each, and the budget is split in bytes. @default target.dim
   */
  dim?: number;
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
  /** Hashed ids: S is at least the smallest S whose expected colliding pairs n²/2^(S+1) ≤ maxCollisionRate·n (longer if that fills the share better). @default 0.001 */
  maxCollisionRate?: number;
  /** Pin the code length S of every compressed field (a paper setting); only t is planned. A share under 2·S rows still shortens it. */
  codeBits?: number;
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
  /** Elements per row (the field's dim, or the target's). */
  dim: number;
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
  /** The budget in rows of target.dim elements. */
  budgetRows: number;
  totalRows: number;
  totalBytes: number;
  fullRows: number;
  fullBytes: number;
  /** fullBytes / totalBytes. */
  compression: number;
  expectedCollisions: number;
  /** The rule bounding S, in words. */
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

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Expected colliding pairs when n values fall uniformly into `cells` cells: n(n−1)/(2·cells). */
function pairs(n: number, cells: number): number {
  return (n * (n - 1)) / (2 * cells);
}

/** One BH shape: code length S, block length t (already the widest block), K blocks, Σ_k 2^width_k rows. */
interface BhShape {
  S: number;
  t: number;
  K: number;
  rows: number;
}

/** bhNumRows without building the width list (the planner evaluates thousands of shapes per field). */
function shapeOf(S: number, t: number, strategy: BhStrategy): BhShape {
  const K = Math.ceil(S / t);
  if (strategy === 'succession') return { S, t, K, rows: (K - 1) * 2 ** t + 2 ** (S - (K - 1) * t) };
  const q = Math.floor(S / K);
  const r = S - q * K; // r blocks of q + 1 bits, K − r blocks of q bits
  return { S, t: r > 0 ? q + 1 : q, K, rows: r * 2 ** (q + 1) + (K - r) * 2 ** q };
}

/**
 * The strategies whose plans search code lengths above the collision rule's minimum. Skip needs it: at a fixed S
 * its rows are a coarse step function of t (lastfm-tag-like at 10×: 1,600 of 2,416 rows), while a longer code
 * reaches finer row counts. Succession already has fine steps at a fixed S (its last block takes the remainder),
 * and there the search measured worse: the Criteo-shaped demo at 1000× (~16 rows per field) went from S = 7 with
 * blocks of 2–3 bits to S = 8 with blocks of 2 bits, and BH's test AUC fell from 0.6719 ± 0.0009 to 0.6674 ±
 * 0.0006 (3 seeds each): at tiny budgets wider blocks are worth more than a longer code.
 */
const LONGER_CODES_FOR: readonly BhStrategy[] = ['skip'];

/**
 * A shape may trade up to this fraction of the most rows that fit for fewer blocks. Without it the most rows often
 * means many narrow blocks (frappe-like at 10×: 18 blocks of 3 bits for 140 rows, where 5 blocks give 136), and
 * every block is one more row to look up, update and fuse per value.
 */
export const PLAN_ROW_SLACK = 0.03;

/**
 * Among the shapes with S in [loS, hiS], t in [1, S], at most maxK blocks and rows in (above, atMost], the best by
 * `better` (which sees two shapes with rows in range). Null when none fits.
 */
function pickShape(loS: number, hiS: number, above: number, atMost: number, maxK: number, strategy: BhStrategy, better: (c: BhShape, best: BhShape) => boolean): BhShape | null {
  let best: BhShape | null = null;
  for (let S = loS; S <= hiS; S++) {
    for (let t = 1; t <= S; t++) {
      const c = shapeOf(S, t, strategy);
      if (c.rows <= above || c.rows > atMost || c.K > maxK) continue;
      if (best === null || better(c, best)) best = c;
    }
  }
  return best;
}

/** Most rows; ties: fewer blocks, then a shorter code. */
const mostRows = (c: BhShape, b: BhShape): boolean => c.rows > b.rows || (c.rows === b.rows && (c.K < b.K || (c.K === b.K && c.S < b.S)));
/** Fewest blocks; ties: more rows, then a shorter code. */
const fewestBlocks = (c: BhShape, b: BhShape): boolean => c.K < b.K || (c.K === b.K && (c.rows > b.rows || (c.rows === b.rows && c.S < b.S)));
/** Fewest rows; ties: fewer blocks, then a shorter code. */
const fewestRows = (c: BhShape, b: BhShape): boolean => c.rows < b.rows || (c.rows === b.rows && (c.K < b.K || (c.K === b.K && c.S < b.S)));

/**
 * Max-min fair split of a budget of `budget` units over fields visited in `order` (smallest full table first): while
 * a field's full table (fullUnitsOf) fits in an equal share of the units left it stays full; the `order.length − pos`
 * fields left split the rest. A unit is one row of the narrowest step of width (units[i] per row of field i: 1 for
 * every field when all rows have one width, so units are rows). share is in rows.
 */
function waterFill(fullUnitsOf: readonly number[], units: readonly number[], order: readonly number[], budget: number): { share: number[]; isFull: boolean[]; pos: number } {
  const share = new Array<number>(fullUnitsOf.length).fill(0);
  const isFull = new Array<boolean>(fullUnitsOf.length).fill(false);
  let left = budget;
  let pos = 0;
  while (pos < order.length && fullUnitsOf[order[pos]] <= Math.floor(left / (order.length - pos))) {
    const i = order[pos];
    isFull[i] = true;
    share[i] = fullUnitsOf[i] / units[i];
    left -= fullUnitsOf[i];
    pos++;
  }
  const rest = order.length - pos;
  for (let p = pos; p < order.length; p++) share[order[p]] = Math.min(MAX_TABLE_ROWS, Math.floor(Math.floor(left / rest) / units[order[p]]));
  return { share, isFull, pos };
}

/**
 * The smallest budget in rows that gives every compressed field the 2 rows it needs. The share of the compressed
 * fields never falls as the budget grows (water-filling), so a binary search over [1, all full tables] finds it.
 */
function minFeasibleRows(fullUnitsOf: readonly number[], units: readonly number[], order: readonly number[]): number {
  const ok = (rows: number): boolean => {
    const w = waterFill(fullUnitsOf, units, order, rows);
    return w.pos === order.length || order.slice(w.pos).every((i) => w.share[i] >= 2);
  };
  let lo = 1;
  // every table full (a lower-bound field, never full: 2 rows) is always feasible
  let hi = fullUnitsOf.reduce((a, b, i) => a + (Number.isFinite(b) ? b : 2 * units[i]), 0);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The error for a field whose share is under 2 rows, with the largest compression or smallest budget that plans. */
function tooSmall(field: string, rows: number, fillRowsOf: readonly number[], fullRowsOf: readonly number[], units: readonly number[], order: readonly number[], rowBytes: number, target: PlanTarget): ConfigError {
  const need = minFeasibleRows(fillRowsOf, units, order);
  const head = `plan: field ${field} gets ${rows} rows, fewer than the 2 rows a compressed field needs`;
  if (target.compression !== undefined) {
    // budget rows = ⌊fullRows / compression⌋ ≥ need ⇔ compression ≤ fullRows / need; 2 decimals, rounded down and
    // checked with the planner's own arithmetic
    const fullRows = fullRowsOf.reduce((a, b) => a + b, 0);
    let c = Math.floor((fullRows / need) * 100) / 100;
    while (c > 1 && Math.floor(fullRows / c) < need) c = Math.round(c * 100 - 1) / 100;
    return new ConfigError(`${head}; lower the compression to at most ${c} (every compressed field then gets at least 2 rows)`, {
      key: 'plan.compression',
      field,
      maxCompression: c,
    });
  }
  const bytes = need * rowBytes;
  return new ConfigError(`${head}; raise the budget to at least ${bytes} bytes (every compressed field then gets at least 2 rows)`, {
    key: 'plan.budgetBytes',
    field,
    minBudgetBytes: bytes,
  });
}

/**
 * Plan every field's table under a memory target.
 *
 * Budget split (max-min fair, "water-filling"): fields are visited from the smallest; while a field's full table
 * (cardinality + 1 rows) fits in an equal share of the rows left, it stays full and its rows leave the pool.
 * The fields left split the remaining rows equally and use BH. S is the collision rule's minimum (hashedCodeBits;
 * dense ids: the bits the largest id needs); skip with hashed ids also considers every longer S up to 64 (see
 * LONGER_CODES_FOR: a longer code only lowers the expected collisions, and it makes skip's reachable row counts
 * fine enough to fill its share like succession does). Over those S and every block length t in [1, S], a field
 * takes the shape with the fewest blocks K among those whose rows Σ_k 2^width_k ≤ its share are within
 * PLAN_ROW_SLACK (3 %) of the most rows that fit; ties go to more rows, then to smaller S (at a fixed S this is
 * simply the largest t that fits).
 * A share below 2·S_min rows forces a shorter code (S bits need at least 2·S rows); below 2 rows it throws a
 * ConfigError giving the largest compression (or smallest budgetBytes) that plans.
 * Rows the shares still leave unused then go, largest field first, each time to the field's smallest larger row
 * count with no more blocks that fits in the rows left, until no field can grow: the total never exceeds the
 * budget, and no field has a shape with more rows and no more blocks that would fit in its rows plus the leftover.
 * The reported blockBits is the widest block; expectedCollisions uses the chosen S.
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
  const pinS = target.codeBits;
  if (pinS !== undefined && (!Number.isInteger(pinS) || pinS < 1 || pinS > 64)) {
    throw new ConfigError(`plan.codeBits must be an integer in [1, 64], got ${pinS}`, { key: 'plan.codeBits' });
  }
  fields.forEach((f, i) => {
    if (!Number.isInteger(f.cardinality) || f.cardinality < 1) {
      throw new ConfigError(`plan.fields[${i}].cardinality must be an integer ≥ 1, got ${f.cardinality}`, { key: `plan.fields[${i}].cardinality` });
    }
  });
  fields.forEach((f, i) => {
    if (f.dim !== undefined && !(Number.isInteger(f.dim) && f.dim >= 1)) throw new ConfigError(`plan.fields[${i}].dim must be an integer ≥ 1, got ${f.dim}`, { key: `plan.fields[${i}].dim` });
  });
  // Rows of different widths: the budget is split in units of g elements (g = gcd of the widths), field i's row
  // being units[i] of them. One width for all: g = dim and every row one unit, so the split is in rows as it always was.
  const dims = fields.map((f) => f.dim ?? dim);
  const g = dims.reduce(gcd);
  const units = dims.map((d) => d / g);
  const rowBytesOf = dims.map((d) => d * bpe);
  const rowBytes = g * bpe;
  const fullRowsOf = fields.map((f) => f.cardinality + 1);
  const fullUnitsOf = fullRowsOf.map((r, i) => r * units[i]);
  const fullRows = fullUnitsOf.reduce((a, b) => a + b, 0);
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

  // A lower-bound field takes part in the split as if its full table never fitted.
  const fillRowsOf = fields.map((f, i) => (f.lowerBound === true ? Infinity : fullUnitsOf[i]));
  const order = fields.map((_, i) => i).sort((a, b) => fillRowsOf[a] - fillRowsOf[b] || a - b);
  const { share, isFull, pos } = waterFill(fillRowsOf, units, order, budgetRows);

  // BH shape per compressed field: the most rows within its share over every S ≥ the collision-rule minimum
  // (dense ids: exactly the bits the largest id needs) and every t.
  const shape = new Array<BhShape | null>(fields.length).fill(null);
  const loS = new Array<number>(fields.length).fill(0);
  const hiS = new Array<number>(fields.length).fill(0);
  let used = 0;
  for (let i = 0; i < fields.length; i++) {
    if (isFull[i]) {
      used += fullUnitsOf[i];
      continue;
    }
    const n = fields[i].cardinality;
    const b = share[i];
    const minS = pinS ?? (dense ? denseCodeBits(n) : hashedCodeBits(n, rate));
    // S bits need at least 2·S rows (t = 1); a share below 2·minS forces a shorter code
    loS[i] = Math.min(minS, Math.floor(b / 2));
    if (loS[i] < 1) throw tooSmall(fields[i].name ?? `f${i}`, b, fillRowsOf, fullUnitsOf, units, order, rowBytes, target);
    // Only skip searches longer codes (LONGER_CODES_FOR). Dense ids: bits above the largest id's are always 0, so a
    // longer code only adds rows no id reaches.
    hiS[i] = dense || pinS !== undefined || !LONGER_CODES_FOR.includes(strategy) ? loS[i] : 64;
    // (S = loS, t = 1) always fits; then the fewest blocks within PLAN_ROW_SLACK of the most rows
    const most = (pickShape(loS[i], hiS[i], 0, b, 64, strategy, mostRows) as BhShape).rows;
    const c = pickShape(loS[i], hiS[i], Math.ceil((1 - PLAN_ROW_SLACK) * most) - 1, b, 64, strategy, fewestBlocks) as BhShape;
    shape[i] = c;
    used += c.rows * units[i];
  }
  // Shares still leave rows unused (each field's reachable row counts are a finite set): hand them out again,
  // largest fields first, each time growing a field to its smallest larger row count that fits in the rows
  // left, until no field can grow. The total never exceeds the budget.
  const bySize = order.slice(pos).reverse();
  for (let grew = true; grew; ) {
    grew = false;
    for (const i of bySize) {
      const now = (shape[i] as BhShape).rows;
      const next = pickShape(loS[i], hiS[i], now, Math.min(MAX_TABLE_ROWS, now + Math.floor((budgetRows - used) / units[i])), (shape[i] as BhShape).K, strategy, fewestRows);
      if (next !== null) {
        used += (next.rows - now) * units[i];
        shape[i] = next;
        grew = true;
      }
    }
  }

  const planned: FieldPlan[] = fields.map((f, i) => {
    const n = f.cardinality;
    const name = f.name ?? `f${i}`;
    const base = { field: name, cardinality: n, fullRows: fullRowsOf[i], budgetRows: share[i], dim: dims[i] };
    if (isFull[i]) {
      return { ...base, method: 'full', rows: fullRowsOf[i], bytes: fullRowsOf[i] * rowBytesOf[i], compression: 1, expectedCollisions: 0 };
    }
    const { S, t, rows } = shape[i] as BhShape; // t = the widest block (for skip, every t with the same K is the same table)
    const collisions = dense && 2 ** S >= n ? 0 : pairs(n, 2 ** S);
    const m = Math.ceil(rows / 2);
    const q = Math.max(1, rows - m);
    return {
      ...base,
      method: 'bh',
      bh: { method: 'bh', codeBits: S, blockBits: t, strategy, dense },
      rows,
      bytes: rows * rowBytesOf[i],
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
  const totalBytes = planned.reduce((a, f) => a + f.bytes, 0);
  const fullBytes = fullRows * rowBytes;
  return {
    fields: planned,
    budgetRows: Math.floor((budgetRows * g) / dim),
    totalRows,
    totalBytes,
    fullRows: fullRowsOf.reduce((a, b) => a + b, 0),
    fullBytes,
    compression: fullBytes / totalBytes,
    expectedCollisions: planned.reduce((a, f) => a + f.expectedCollisions, 0),
    collisionRule: dense
      ? 'dense ids: S = bits the largest id needs, no code collisions'
      : `hashed ids: S ≥ the smallest S with expected colliding code pairs n²/2^(S+1) ≤ ${rate}·n (longer when it fills the share better)`,
  };
}

/**
 * One table's BH shape within `rows` rows for n hashed values, by planEmbeddings' per-field rule: S from the collision
 * rule (or codeBits when given; shortened when rows < 2·S), then the fewest blocks within PLAN_ROW_SLACK of the most
 * rows that fit (skip also searches longer codes). Null when rows < 2. The hybrid planner sizes its cold part with it.
 */
export function bhShapeWithin(n: number, rows: number, strategy: BhStrategy, rate = DEFAULT_MAX_COLLISION_RATE, codeBits?: number): { codeBits: number; blockBits: number; rows: number; blocks: number } | null {
  const lo = Math.min(codeBits ?? hashedCodeBits(n, rate), Math.floor(rows / 2));
  if (lo < 1) return null;
  const hi = codeBits !== undefined || !LONGER_CODES_FOR.includes(strategy) ? lo : 64;
  const most = (pickShape(lo, hi, 0, rows, 64, strategy, mostRows) as BhShape).rows;
  const c = pickShape(lo, hi, Math.ceil((1 - PLAN_ROW_SLACK) * most) - 1, rows, 64, strategy, fewestBlocks) as BhShape;
  return { codeBits: c.S, blockBits: c.t, rows: c.rows, blocks: c.K };
}
