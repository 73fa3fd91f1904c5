// Rows held column by column, and the row gather of the project: every batch a trainer, an evaluation or a
// predictor sees is filled by appendRows from some Columns (a reader's chunk, a dataset in memory, another batch),
// except the stream's shuffled batches, which come from its row-major buffer (row-store.ts).
// Pure data: no I/O, no parsing, no hashing.
//
//   field "tags", rows = 3:  [7, 9] [] [3]   ->  ids = [7,9,3] (u32 lo/hi pairs)  offsets = [0, 2, 2, 3]

import { BatchBuffer, type Batch } from '../../core/batch.js';
import { ConfigError } from '../../core/errors.js';
import type { HashIds } from '../../core/ids.js';

/** One field's values for the rows of a Columns. */
export interface ColumnField {
  /** 64-bit hash ids, 2 u32 words per value (core/ids.ts). */
  ids: HashIds;
  /** Multi-valued: the values of row r are [offsets[r], offsets[r+1]) (rows + 1 entries). Absent/null: one value per row. */
  offsets?: Int32Array | Uint32Array | null;
  /** One weight per value (libsvm/libffm values). Absent/null: every value weighs 1. */
  weights?: Float32Array | null;
}

/**
 * Rows in memory, columnar. A reader's DataChunk, a loaded dataset and a Batch (through batchColumns) are all
 * Columns, so one gather serves them all.
 */
export interface Columns {
  rows: number;
  /** rows labels in [0, 1]. */
  labels: Float32Array;
  /** One column per model field, in the model's field order. */
  fields: ColumnField[];
  /** Dense numeric inputs per row. @default 0 */
  numDense?: number;
  /** rows × numDense, row-major. */
  dense?: Float32Array | null;
  /** One sample weight per row (a weight column). Absent/null: every row weighs 1. */
  sampleWeights?: Float32Array | null;
}

/** What a batch of some Columns must hold: per field multi-valued and weighted, and the dense width. */
export interface BatchShape {
  fields: readonly { multiValued: boolean; weighted: boolean }[];
  numDense: number;
  /** Rows carry sample weights (a weight column). @default false */
  sampleWeights?: boolean;
}

/** The shape of a Columns' batches. */
export function shapeOf(c: Columns): BatchShape {
  return {
    fields: c.fields.map((f) => ({ multiValued: (f.offsets ?? null) !== null, weighted: (f.weights ?? null) !== null })),
    numDense: c.numDense ?? 0,
    ...((c.sampleWeights ?? null) !== null ? { sampleWeights: true } : {}),
  };
}

/** A batch buffer of the shape (shared: in SharedArrayBuffers, for training threads). */
export function batchBufferOf(shape: BatchShape, maxBatch: number, shared = false): BatchBuffer {
  return new BatchBuffer(
    maxBatch,
    shape.fields.map((f) => f.multiValued),
    shape.numDense,
    shape.fields.map((f) => f.weighted),
    shared,
    shape.sampleWeights === true,
  );
}

/** A Batch seen as Columns (no copy). */
export function batchColumns(b: Batch): Columns {
  return { rows: b.size, labels: b.labels, fields: b.fields, numDense: b.dense === null ? 0 : b.dense.length / Math.max(1, b.labels.length), dense: b.dense, sampleWeights: b.sampleWeights ?? null };
}

/** Throws ConfigError when the columns disagree with their row count or with the model's field/dense counts. */
export function checkColumns(c: Columns, numFields: number, numDense: number, what = 'dataset'): void {
  if (!Number.isInteger(c.rows) || c.rows < 0) throw new ConfigError(`${what}: rows must be a non-negative integer, got ${String(c.rows)}`);
  if (c.labels.length < c.rows) throw new ConfigError(`${what}: ${c.labels.length} labels for ${c.rows} rows`);
  const sw = c.sampleWeights ?? null;
  if (sw !== null) {
    if (sw.length < c.rows) throw new ConfigError(`${what}: ${sw.length} sample weights for ${c.rows} rows`, { key: 'sampleWeights' });
    for (let i = 0; i < c.rows; i++) {
      if (!(sw[i] >= 0 && sw[i] < Infinity)) throw new ConfigError(`${what}: sample weight of row ${i} is ${sw[i]}; weights must be finite and ≥ 0`, { key: 'sampleWeights' });
    }
  }
  if (c.fields.length !== numFields) throw new ConfigError(`${what}: ${c.fields.length} fields, the model has ${numFields}`);
  c.fields.forEach((f, i) => {
    const o = f.offsets ?? null;
    if (o !== null && o.length < c.rows + 1) throw new ConfigError(`${what}: field ${i} offsets need ${c.rows + 1} entries`);
    const values = o === null ? c.rows : o[c.rows];
    if (f.ids.length < 2 * values) throw new ConfigError(`${what}: field ${i} has ${f.ids.length / 2} ids, needs ${values}`);
    if (f.weights && f.weights.length < values) throw new ConfigError(`${what}: field ${i} has ${f.weights.length} weights, needs ${values}`);
  });
  const nd = c.numDense ?? 0;
  if (nd !== numDense) throw new ConfigError(`${what}: ${nd} dense inputs per row, the model expects ${numDense}`, { key: 'numDense' });
  if (nd > 0 && (!c.dense || c.dense.length < c.rows * nd)) throw new ConfigError(`${what}: dense block needs ${c.rows * nd} values`);
}

/**
 * Append rows order[start .. start+count) of src (order null: rows start .. start+count) to out, after its
 * out.size rows, and grow out.size. No allocation unless a multi-valued field outgrows its buffer. A field
 * without weights in src gets weight 1 where out keeps weights.
 */
export function appendRows(src: Columns, order: ArrayLike<number> | null, start: number, count: number, out: BatchBuffer): void {
  const at = out.size;
  if (at + count > out.maxBatch) throw new ConfigError(`batch: ${at + count} rows exceed the buffer's ${out.maxBatch}`);
  const row = order === null ? (i: number): number => start + i : (i: number): number => order[start + i];
  if (order === null) out.labels.set(src.labels.subarray(start, start + count), at);
  else for (let i = 0; i < count; i++) out.labels[at + i] = src.labels[order[start + i]];
  const dsw = out.sampleWeights;
  if (dsw !== null) {
    const ssw = src.sampleWeights ?? null;
    if (ssw === null) dsw.fill(1, at, at + count);
    else if (order === null) dsw.set(ssw.subarray(start, start + count), at);
    else for (let i = 0; i < count; i++) dsw[at + i] = ssw[order[start + i]];
  }
  for (let f = 0; f < src.fields.length; f++) {
    const s = src.fields[f];
    const d = out.fields[f];
    const o = s.offsets ?? null;
    const sw = s.weights ?? null;
    if (o === null) {
      const ids = d.ids;
      if (order === null) ids.set(s.ids.subarray(2 * start, 2 * (start + count)), 2 * at);
      else {
        for (let i = 0; i < count; i++) {
          const r = order[start + i];
          ids[2 * (at + i)] = s.ids[2 * r];
          ids[2 * (at + i) + 1] = s.ids[2 * r + 1];
        }
      }
      const dw = d.weights ?? null;
      if (dw !== null) {
        if (sw === null) dw.fill(1, at, at + count);
        else for (let i = 0; i < count; i++) dw[at + i] = sw[row(i)];
      }
      continue;
    }
    const offs = d.offsets as Int32Array;
    if (at === 0) offs[0] = 0;
    let v = offs[at];
    let total = v;
    for (let i = 0; i < count; i++) {
      const r = row(i);
      total += o[r + 1] - o[r];
    }
    const ids = out.reserveValues(f, total);
    const dw = d.weights ?? null;
    for (let i = 0; i < count; i++) {
      const r = row(i);
      const lo = o[r];
      const n = o[r + 1] - lo;
      ids.set(s.ids.subarray(2 * lo, 2 * (lo + n)), 2 * v);
      if (dw !== null) {
        if (sw === null) dw.fill(1, v, v + n);
        else dw.set(sw.subarray(lo, lo + n), v);
      }
      v += n;
      offs[at + i + 1] = v;
    }
  }
  const nd = src.numDense ?? 0;
  if (nd > 0 && out.dense && src.dense) {
    if (order === null) out.dense.set(src.dense.subarray(start * nd, (start + count) * nd), at * nd);
    else {
      for (let i = 0; i < count; i++) {
        const r = order[start + i];
        out.dense.set(src.dense.subarray(r * nd, (r + 1) * nd), (at + i) * nd);
      }
    }
  }
  out.size = at + count;
}

function shareTyped<T extends Float32Array | Int32Array | Uint32Array>(a: T, make: (b: SharedArrayBuffer) => T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = make(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** The same columns with every array in a SharedArrayBuffer (arrays already shared are kept as they are). */
export function shareColumns(c: Columns): Columns {
  return {
    rows: c.rows,
    labels: shareTyped(c.labels, (b) => new Float32Array(b)),
    fields: c.fields.map((f) => ({
      ids: shareTyped(f.ids, (b) => new Uint32Array(b)),
      offsets: f.offsets ? shareTyped(f.offsets, (b) => (f.offsets instanceof Int32Array ? new Int32Array(b) : new Uint32Array(b))) : null,
      weights: f.weights ? shareTyped(f.weights, (b) => new Float32Array(b)) : null,
    })),
    numDense: c.numDense ?? 0,
    dense: c.dense ? shareTyped(c.dense, (b) => new Float32Array(b)) : null,
    sampleWeights: c.sampleWeights ? shareTyped(c.sampleWeights, (b) => new Float32Array(b)) : null,
  };
}

/** Fill out with rows order[start .. start+count) of src (order null: rows start .. start+count), replacing what it held. */
export function gatherRows(src: Columns, order: ArrayLike<number> | null, start: number, count: number, out: BatchBuffer): void {
  out.size = 0;
  appendRows(src, order, start, count, out);
}
