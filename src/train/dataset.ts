// The in-memory, columnar dataset the trainer consumes: labels, per-field hash ids (optionally multi-valued)
// and an optional dense block. Data readers adapt to it; the trainer only gathers rows from it into
// preallocated batches. Columns may live in SharedArrayBuffers so worker threads read them without copies.
//
//   field "tags", n = 3:  [7, 9] [] [3]   ->  ids = [7,9,3] (u32 lo/hi pairs)  offsets = [0, 2, 2, 3]

import { BatchBuffer } from '../core/batch.js';
import { ConfigError } from '../core/errors.js';
import type { HashIds } from '../core/ids.js';

export interface DatasetField {
  /** 64-bit hash ids, 2 u32 words per value (core/ids.ts). */
  ids: HashIds;
  /** Multi-valued: values of row r are [offsets[r], offsets[r+1]) (n + 1 entries). Absent/null: one value per row. */
  offsets?: Int32Array | null;
}

export interface Dataset {
  /** Rows. */
  n: number;
  /** n labels in {0, 1}. */
  labels: Float32Array;
  /** One column per model field, in the model's field order. */
  fields: DatasetField[];
  /** Dense numeric inputs per row. @default 0 */
  numDense?: number;
  /** n × numDense, row-major. */
  dense?: Float32Array | null;
}

/** Throws ConfigError when the columns disagree with n or with the model's field/dense counts. */
export function checkDataset(ds: Dataset, numFields: number, numDense: number, what = 'dataset'): void {
  if (ds.labels.length < ds.n) throw new ConfigError(`${what}: ${ds.labels.length} labels for ${ds.n} rows`);
  if (ds.fields.length !== numFields) throw new ConfigError(`${what}: ${ds.fields.length} fields, the model has ${numFields}`);
  ds.fields.forEach((f, i) => {
    const o = f.offsets ?? null;
    if (o !== null && o.length < ds.n + 1) throw new ConfigError(`${what}: field ${i} offsets need ${ds.n + 1} entries`);
    const values = o === null ? ds.n : o[ds.n];
    if (f.ids.length < 2 * values) throw new ConfigError(`${what}: field ${i} has ${f.ids.length / 2} ids, needs ${values}`);
  });
  const nd = ds.numDense ?? 0;
  if (nd !== numDense) throw new ConfigError(`${what}: ${nd} dense inputs per row, the model expects ${numDense}`, { key: 'numDense' });
  if (nd > 0 && (!ds.dense || ds.dense.length < ds.n * nd)) throw new ConfigError(`${what}: dense block needs ${ds.n * nd} values`);
}

/** A batch buffer shaped for the dataset's fields (multi-valued where the dataset has offsets). */
export function batchBufferFor(ds: Dataset, maxBatch: number): BatchBuffer {
  return new BatchBuffer(maxBatch, ds.fields.map((f) => (f.offsets ?? null) !== null), ds.numDense ?? 0);
}

/** Gather rows order[start .. start+count) into out (no allocation unless a multi-valued field outgrows it). */
export function gatherBatch(ds: Dataset, order: ArrayLike<number>, start: number, count: number, out: BatchBuffer): void {
  out.size = count;
  for (let i = 0; i < count; i++) out.labels[i] = ds.labels[order[start + i]];
  for (let f = 0; f < ds.fields.length; f++) {
    const src = ds.fields[f];
    const o = src.offsets ?? null;
    if (o === null) {
      const ids = out.fields[f].ids;
      for (let i = 0; i < count; i++) {
        const r = order[start + i];
        ids[2 * i] = src.ids[2 * r];
        ids[2 * i + 1] = src.ids[2 * r + 1];
      }
    } else {
      let total = 0;
      for (let i = 0; i < count; i++) {
        const r = order[start + i];
        total += o[r + 1] - o[r];
      }
      const ids = out.reserveValues(f, total);
      const offs = out.fields[f].offsets as Int32Array;
      let v = 0;
      offs[0] = 0;
      for (let i = 0; i < count; i++) {
        const r = order[start + i];
        for (let k = 2 * o[r]; k < 2 * o[r + 1]; k++) ids[2 * v + k - 2 * o[r]] = src.ids[k];
        v += o[r + 1] - o[r];
        offs[i + 1] = v;
      }
    }
  }
  const nd = ds.numDense ?? 0;
  if (nd > 0 && out.dense && ds.dense) {
    for (let i = 0; i < count; i++) {
      const r = order[start + i];
      for (let j = 0; j < nd; j++) out.dense[i * nd + j] = ds.dense[r * nd + j];
    }
  }
}

function shareTyped<T extends Float32Array | Int32Array | Uint32Array>(a: T, make: (b: SharedArrayBuffer) => T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = make(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** The same dataset with every column in a SharedArrayBuffer (columns already shared are kept as is). */
export function shareDataset(ds: Dataset): Dataset {
  return {
    n: ds.n,
    labels: shareTyped(ds.labels, (b) => new Float32Array(b)),
    fields: ds.fields.map((f) => ({
      ids: shareTyped(f.ids, (b) => new Uint32Array(b)),
      offsets: f.offsets ? shareTyped(f.offsets, (b) => new Int32Array(b)) : null,
    })),
    numDense: ds.numDense ?? 0,
    dense: ds.dense ? shareTyped(ds.dense, (b) => new Float32Array(b)) : null,
  };
}
