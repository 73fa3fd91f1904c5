// The input batch every model consumes: B samples, labels, per-field 64-bit hash ids (optionally multi-valued)
// and an optional dense numeric block. Plain typed arrays only, so batches can live in shared memory and
// cross worker_threads. Producers (train/, data/ adapters) fill preallocated BatchBuffers; nothing here hashes.
//
//   field "tags", B = 3:  [7, 9] [] [3]   ->  ids = [7,9,3] (as u32 lo/hi pairs)  offsets = [0, 2, 2, 3]
//   single-valued field:  offsets = null, ids holds exactly B values

import type { HashIds } from './ids.js';

/** One field's ids for a batch. */
export interface BatchField {
  /** 64-bit hash ids as little-endian u32 pairs (see core/ids.ts); 2 words per value. */
  ids: HashIds;
  /**
   * Multi-valued fields: the values of sample b are [offsets[b], offsets[b+1]) (B + 1 entries, offsets[0] = 0).
   * null: exactly one value per sample, value b belongs to sample b.
   */
  offsets: Int32Array | null;
  /**
   * One weight per value (libsvm/libffm values), multiplied into the value's embedding rows before pooling;
   * null or absent: every value weighs 1.
   */
  weights?: Float32Array | null;
}

/** A mini-batch. Arrays may be longer than needed (preallocated for the maximum batch size); only `size` rows count. */
export interface Batch {
  /** B, the number of samples. */
  size: number;
  /** Click labels in {0, 1} (any value in [0, 1] is accepted by the loss), ≥ B entries. */
  labels: Float32Array;
  /** One entry per configured field, in config order. */
  fields: BatchField[];
  /** B × numDense numeric inputs, row-major; null when the model has no dense inputs. */
  dense: Float32Array | null;
  /**
   * One sample weight per row (a weight column, ReaderOptions.weightColumn): it multiplies the row's loss and
   * gradient and its share of the metrics, as if the row appeared w times. null or absent: every row weighs 1.
   */
  sampleWeights?: Float32Array | null;
}

/**
 * A reusable Batch with capacity for maxBatch samples. Multi-valued fields grow their id arrays on demand
 * (an allocation only when a batch holds more values than any before it).
 */
export class BatchBuffer implements Batch {
  size = 0;
  readonly labels: Float32Array;
  readonly fields: BatchField[];
  readonly dense: Float32Array | null;
  readonly sampleWeights: Float32Array | null;
  readonly maxBatch: number;

  /** true: arrays live in SharedArrayBuffers (a training batch that worker threads read). */
  readonly shared: boolean;
  /** Bumped whenever reserveValues reallocates a field's arrays (threads holding views must take the new ones). */
  version = 0;

  /**
   * @param multiValued per field: rows hold 0..n values (offsets are kept)
   * @param weighted per field: values carry weights (absent: no field does)
   * @param sampleWeights rows carry sample weights (Batch.sampleWeights)
   */
  constructor(maxBatch: number, multiValued: boolean[], numDense: number, weighted?: boolean[], shared = false, sampleWeights = false) {
    this.maxBatch = maxBatch;
    this.shared = shared;
    this.labels = this.f32(maxBatch);
    this.fields = multiValued.map((mv, f) => {
      const cap = maxBatch * (mv ? 4 : 1);
      return { ids: this.u32(2 * cap), offsets: mv ? this.i32(maxBatch + 1) : null, weights: weighted?.[f] ? this.f32(cap) : null };
    });
    this.dense = numDense > 0 ? this.f32(maxBatch * numDense) : null;
    this.sampleWeights = sampleWeights ? this.f32(maxBatch) : null;
  }

  private f32(n: number): Float32Array {
    return this.shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
  }
  private u32(n: number): Uint32Array {
    return this.shared ? new Uint32Array(new SharedArrayBuffer(4 * n)) : new Uint32Array(n);
  }
  private i32(n: number): Int32Array {
    return this.shared ? new Int32Array(new SharedArrayBuffer(4 * n)) : new Int32Array(n);
  }

  /** Make sure field f can hold n values (grows by doubling, keeping the values already there). */
  reserveValues(f: number, n: number): Uint32Array {
    const fld = this.fields[f];
    if (fld.ids.length < 2 * n) {
      let cap = fld.ids.length / 2;
      while (cap < n) cap *= 2;
      const ids = this.u32(2 * cap);
      ids.set(fld.ids);
      fld.ids = ids;
      if (fld.weights) {
        const w = this.f32(cap);
        w.set(fld.weights);
        fld.weights = w;
      }
      this.version++;
    }
    return fld.ids;
  }
}

/** Σ of the first `count` sample weights (count when the rows carry none): the rows' total weight. */
export function weightSum(sampleWeights: Float32Array | null | undefined, count: number): number {
  if (sampleWeights === null || sampleWeights === undefined) return count;
  let s = 0;
  for (let i = 0; i < count; i++) s += sampleWeights[i];
  return s;
}

/**
 * The loss scale that makes a step's gradient the weighted mean over its `count` rows: 1 / Σ w (1/count without
 * weights), so a row of weight w moves the model as w copies of it in one batch would; 0 when every weight is 0.
 */
export function meanScale(sampleWeights: Float32Array | null | undefined, count: number): number {
  const s = weightSum(sampleWeights, count);
  return s > 0 ? 1 / s : 0;
}
