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
  readonly maxBatch: number;

  constructor(maxBatch: number, multiValued: boolean[], numDense: number) {
    this.maxBatch = maxBatch;
    this.labels = new Float32Array(maxBatch);
    this.fields = multiValued.map((mv) => ({
      ids: new Uint32Array(2 * maxBatch * (mv ? 4 : 1)),
      offsets: mv ? new Int32Array(maxBatch + 1) : null,
    }));
    this.dense = numDense > 0 ? new Float32Array(maxBatch * numDense) : null;
  }

  /** Make sure field f can hold n values (grows by doubling; keeps nothing). */
  reserveValues(f: number, n: number): Uint32Array {
    const fld = this.fields[f];
    if (fld.ids.length < 2 * n) {
      let cap = fld.ids.length / 2;
      while (cap < n) cap *= 2;
      fld.ids = new Uint32Array(2 * cap);
    }
    return fld.ids;
  }
}
