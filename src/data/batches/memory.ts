// Batches of rows held in memory: shuffled once per pass with a seeded Rng (training) or in order (evaluation,
// prediction). Also builds Columns from plain JS rows, so the library trains without files.

import type { BatchBuffer } from '../../core/batch.js';
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { xxh64Bytes } from '../../hash/xxh64.js';
import { appendRows, shapeOf, type BatchShape, type Columns } from './columns.js';
import type { BatchSource, SourceState } from './source.js';

export interface MemorySourceOptions {
  /** Reshuffle the rows at the start of every pass. @default false */
  shuffle?: boolean;
  /** Shuffle seed. @default 1 */
  seed?: number;
}

/**
 * @example
 *   const src = new MemorySource(columns, { shuffle: true, seed: 7 });
 */
export class MemorySource implements BatchSource {
  readonly mode = 'memory' as const;
  readonly shape: BatchShape;
  readonly columns: Columns;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private order: Int32Array | null = null;
  private rng: Rng;
  private epoch = 0;
  private pos = 0;
  /** The current pass's order is drawn (the first next() of a pass shuffles). */
  private started = false;
  private ended = false;

  constructor(columns: Columns, options: MemorySourceOptions = {}) {
    this.columns = columns;
    this.shape = shapeOf(columns);
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? 1;
    this.rng = new Rng(this.seed);
  }

  get rowsPerPass(): number {
    return this.columns.rows;
  }

  private startPass(): void {
    if (this.shuffle) {
      if (this.order === null) this.order = Int32Array.from({ length: this.columns.rows }, (_, i) => i);
      this.rng.shuffle(this.order);
    }
    this.started = true;
  }

  async next(out: BatchBuffer, max = out.maxBatch): Promise<number> {
    if (this.ended) {
      this.ended = false;
      this.epoch++;
      this.pos = 0;
      this.started = false;
    }
    if (!this.started) this.startPass();
    const n = Math.min(max, out.maxBatch, this.columns.rows - this.pos);
    out.size = 0;
    if (n <= 0) {
      this.ended = true;
      return 0;
    }
    appendRows(this.columns, this.order, this.pos, n, out);
    this.pos += n;
    return n;
  }

  state(): SourceState {
    // A pass that handed out its last row but has not said so yet is still that pass at its end.
    return { kind: 'memory', epoch: this.epoch, rows: this.pos, seed: this.seed, shuffle: this.shuffle, total: this.columns.rows };
  }

  async restore(s: SourceState): Promise<void> {
    if (s.kind !== 'memory' || s.seed !== this.seed || s.shuffle !== this.shuffle || s.total !== this.columns.rows) {
      throw new ConfigError(`cannot restore a '${s.kind}' source state (seed ${String(s.seed)}, ${String(s.total)} rows) into this in-memory source (seed ${this.seed}, ${this.columns.rows} rows)`);
    }
    this.rng = new Rng(this.seed);
    this.order = null;
    for (let e = 0; e < s.epoch; e++) this.startPass();
    this.epoch = s.epoch;
    this.started = false;
    this.ended = false;
    this.pos = 0;
    if (s.rows > 0 || s.epoch > 0) {
      this.startPass();
      this.pos = s.rows;
    }
  }

  async close(): Promise<void> {}
}

/** One row given as plain JS values. */
export interface PlainRow {
  label: number;
  /** One entry per field: a value, or an array of values for a multi-valued field. Numbers are hashed as their text. */
  values: (string | number | (string | number)[])[];
  /** Per-value weights, parallel to values (omit for weight 1). */
  weights?: (number | number[] | null)[];
  dense?: number[];
  /** The row's sample weight (finite, ≥ 0): it counts as if it appeared this many times. @default 1 */
  sampleWeight?: number;
}

/**
 * Columns from rows held as JS objects: value v of field f gets id XXH64(UTF-8 of String(v), seed f), the same id a
 * file reader gives it, so a model trained here scores files and the other way round.
 *
 * @example
 *   const cols = columnsFromRows([{ label: 1, values: ['ad7', 'site3', ['t1', 't2']] }, …], { multiValued: [false, false, true] });
 */
export function columnsFromRows(rows: readonly PlainRow[], opts: { multiValued?: boolean[]; weighted?: boolean[]; numDense?: number } = {}): Columns {
  const n = rows.length;
  if (n === 0) throw new ConfigError('rows: no rows given');
  const F = rows[0].values.length;
  const mv = opts.multiValued ?? rows[0].values.map((v) => Array.isArray(v));
  const wt = opts.weighted ?? Array.from({ length: F }, (_, f) => rows.some((r) => r.weights?.[f] !== undefined && r.weights?.[f] !== null));
  const nd = opts.numDense ?? rows[0].dense?.length ?? 0;
  const labels = new Float32Array(n);
  const dense = nd > 0 ? new Float32Array(n * nd) : null;
  const sampleWeights = rows.some((r) => r.sampleWeight !== undefined) ? new Float32Array(n) : null;
  const vals: (string | number)[][] = Array.from({ length: F }, () => []);
  const wts: number[][] = Array.from({ length: F }, () => []);
  const offs: Int32Array[] = mv.map((m) => (m ? new Int32Array(n + 1) : new Int32Array(0)));
  rows.forEach((r, i) => {
    if (r.values.length !== F) throw new ConfigError(`rows[${i}]: ${r.values.length} values, expected ${F} (one per field)`);
    if (!(r.label >= 0 && r.label <= 1)) throw new ConfigError(`rows[${i}].label: must be in [0, 1], got ${String(r.label)}`);
    labels[i] = r.label;
    if (sampleWeights !== null) {
      const w = r.sampleWeight ?? 1;
      if (!(typeof w === 'number' && w >= 0 && w < Infinity)) throw new ConfigError(`rows[${i}].sampleWeight: must be a finite number ≥ 0, got ${String(w)}`);
      sampleWeights[i] = w;
    }
    for (let f = 0; f < F; f++) {
      const v = r.values[f];
      const w = r.weights?.[f] ?? null;
      if (mv[f]) {
        const list = Array.isArray(v) ? v : [v];
        const wl = Array.isArray(w) ? w : list.map(() => (typeof w === 'number' ? w : 1));
        vals[f].push(...list);
        wts[f].push(...wl);
        offs[f][i + 1] = vals[f].length;
      } else {
        if (Array.isArray(v)) throw new ConfigError(`rows[${i}].values[${f}]: field ${f} is single-valued, got an array`);
        vals[f].push(v);
        wts[f].push(typeof w === 'number' ? w : 1);
      }
    }
    if (nd > 0) {
      if (!r.dense || r.dense.length !== nd) throw new ConfigError(`rows[${i}].dense: expected ${nd} numbers`);
      (dense as Float32Array).set(r.dense, i * nd);
    }
  });
  return {
    rows: n,
    labels,
    fields: vals.map((list, f) => {
      const ids = new Uint32Array(2 * list.length);
      const enc = new TextEncoder();
      list.forEach((v, k) => {
        const bytes = enc.encode(String(v));
        xxh64Bytes(bytes, 0, bytes.length, f, ids, k);
      });
      return { ids, offsets: mv[f] ? offs[f] : null, weights: wt[f] ? Float32Array.from(wts[f]) : null };
    }),
    numDense: nd,
    dense,
    ...(sampleWeights !== null ? { sampleWeights } : {}),
  };
}
