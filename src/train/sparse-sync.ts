// Merged sparse updates for data-parallel training: every thread's shard leaves its touched embedding rows and
// their gradients in a shared exchange; after a barrier each thread owns the rows r with ⌊r/16⌋ mod N = its id
// (runs of 16 rows, so no two threads write one cache line of the table or its optimizer state), sums
// those rows' gradients over all shards in shard order (deterministic) and takes ONE optimizer step per row.
// So N threads run the same lazy Adam / Adagrad / SGD (and --l2 term) as one thread on the whole batch, up to
// float summation order. Barriers and error flags belong to the caller (train/worker.ts); this file only moves rows.
//
//   thread t, table b:  exchange rows[b][t] (cap_b ints), grad[b][t] (cap_b × dim), counts[t·nBags + b]
//   round k copies a shard's rows [k·cap_b, (k+1)·cap_b); one round unless a shard touched more than cap_b rows

import type { Ops } from '../kernels/ops.js';
import type { CtrModel, SparseGrad } from '../models/ctr-model.js';

/** How threads apply embedding-row updates. */
export type SparseSync = 'merged' | 'hogwild';
export const SPARSE_SYNCS: readonly SparseSync[] = ['merged', 'hogwild'];

/** The shared exchange (all arrays in the backend's shared memory, so it survives postMessage to workers). */
export interface SparseExchange {
  threads: number;
  bags: { name: string; dim: number; numRows: number; cap: number; rows: Int32Array[]; grad: Float32Array[] }[];
  /** counts[t · bags.length + b]: rows thread t's shard touched in table b this step. */
  counts: Int32Array;
}

/**
 * Exchange for `threads` shards of at most shardMax samples. Each round carries up to min(numRows,
 * shardMax · rowsPerSample) rows per thread and table: one round for single-valued fields.
 */
export function createExchange(ops: Ops, model: CtrModel, threads: number, shardMax: number): SparseExchange {
  const bags = model.sparseGrads().map((g) => {
    const cap = Math.max(1, Math.min(g.numRows, shardMax * model.layout.rowsPerSample));
    return {
      name: g.name,
      dim: g.dim,
      numRows: g.numRows,
      cap,
      rows: Array.from({ length: threads }, () => ops.allocI32(cap)),
      grad: Array.from({ length: threads }, () => ops.allocF32(cap * g.dim)),
    };
  });
  return { threads, bags, counts: new Int32Array(new SharedArrayBuffer(4 * Math.max(1, threads * bags.length))) };
}

/** Give the exchange's backend arrays back (the creating thread, after the workers stopped). */
export function freeExchange(ops: Ops, ex: SparseExchange): void {
  for (const b of ex.bags) {
    for (const a of b.rows) ops.free(a);
    for (const a of b.grad) ops.free(a);
  }
}

interface Accumulator {
  /** Rows this thread owns in the table (the accumulator never needs more). */
  owned: number;
  slot: Int32Array;
  rows: Int32Array;
  grad: Float32Array;
  count: number;
}

/** One thread's side of the exchange: publish its shard's rows, merge the rows it owns, step them. */
export class SparseMerger {
  private readonly ops: Ops;
  private readonly ex: SparseExchange;
  private readonly id: number;
  private readonly acc: Accumulator[];
  private grads: SparseGrad[] | null = null;

  /** ops: this thread's backend (it allocates the private accumulators); id: this thread's index (main = 0). */
  constructor(ops: Ops, ex: SparseExchange, id: number) {
    this.ops = ops;
    this.ex = ex;
    this.id = id;
    const N = ex.threads;
    this.acc = ex.bags.map((b) => {
      let owned = 0;
      for (let c = id; c * 16 < b.numRows; c += N) owned += Math.min(16, b.numRows - c * 16);
      const slot = ops.allocI32(Math.max(1, b.numRows));
      slot.fill(-1);
      const cap = Math.max(1, Math.min(owned, N * b.cap));
      return { owned, slot, rows: ops.allocI32(cap), grad: ops.allocF32(cap * b.dim), count: 0 };
    });
  }

  /** Round 0: record this shard's row counts and copy the first chunk (grads null: this shard failed, publish nothing). */
  publish(grads: SparseGrad[] | null): void {
    this.grads = grads;
    const nb = this.ex.bags.length;
    for (let b = 0; b < nb; b++) {
      const g = grads?.[b];
      this.ex.counts[this.id * nb + b] = g ? g.count : 0;
    }
    this.copyChunk(0);
  }

  /** Rounds this step needs (same answer on every thread once all published). */
  rounds(): number {
    const nb = this.ex.bags.length;
    let r = 0;
    for (let t = 0; t < this.ex.threads; t++) {
      for (let b = 0; b < nb; b++) r = Math.max(r, Math.ceil(this.ex.counts[t * nb + b] / this.ex.bags[b].cap));
    }
    return r;
  }

  /** Copy chunk k of this shard's rows into the exchange (rounds k ≥ 1, after a barrier). */
  copyChunk(k: number): void {
    const g = this.grads;
    if (g === null) return;
    this.ex.bags.forEach((b, i) => {
      const lo = k * b.cap;
      const hi = Math.min(g[i].count, lo + b.cap);
      if (hi <= lo) return;
      b.rows[this.id].set(g[i].rows.subarray(lo, hi));
      b.grad[this.id].set(g[i].grad.subarray(lo * b.dim, hi * b.dim));
    });
  }

  /** Add chunk k of every shard (in shard order) to this thread's accumulators, for the rows it owns. */
  merge(k: number): void {
    const N = this.ex.threads;
    const nb = this.ex.bags.length;
    this.ex.bags.forEach((b, i) => {
      const a = this.acc[i];
      if (k === 0) {
        a.count = 0;
        let total = 0;
        for (let t = 0; t < N; t++) total += this.ex.counts[t * nb + i];
        this.reserve(i, Math.min(a.owned, total));
      }
      for (let t = 0; t < N; t++) {
        const n = Math.min(this.ex.counts[t * nb + i] - k * b.cap, b.cap);
        if (n <= 0) continue;
        a.count = this.ops.sparseGradMerge(b.dim, b.rows[t], b.grad[t], n, N, this.id, a.slot, a.rows, a.grad, a.count);
      }
    });
  }

  /** One optimizer step per merged row (global step t), then clear the row → index maps. */
  apply(model: CtrModel, t: number): void {
    this.ex.bags.forEach((b, i) => {
      const a = this.acc[i];
      if (a.count > 0) model.applySparseRows(b.name, a.rows, a.count, a.grad, t);
    });
  }

  /** Clear the row → index maps (after apply, or after a failed merge). */
  reset(): void {
    for (const a of this.acc) {
      for (let i = 0; i < a.count; i++) a.slot[a.rows[i]] = -1;
      a.count = 0;
    }
    this.grads = null;
  }

  private reserve(i: number, rows: number): void {
    const a = this.acc[i];
    if (rows <= a.rows.length) return;
    const dim = this.ex.bags[i].dim;
    this.ops.free(a.rows);
    this.ops.free(a.grad);
    a.rows = this.ops.allocI32(rows);
    a.grad = this.ops.allocF32(rows * dim);
  }

  /** Free the accumulators (this thread's backend). */
  dispose(): void {
    for (const a of this.acc) {
      this.ops.free(a.slot);
      this.ops.free(a.rows);
      this.ops.free(a.grad);
    }
  }
}

/**
 * After every thread published (publish, then a barrier): merge the rows this thread owns over all shards, round by
 * round, and step them. `barrier` waits for every thread; all threads call this with the same exchange contents,
 * so they pass the same barriers. A failed merge still passes them, then throws.
 */
export async function mergeAndApply(merger: SparseMerger, model: CtrModel, t: number, barrier: () => void | Promise<void>): Promise<void> {
  const R = merger.rounds();
  let err: unknown = null;
  for (let k = 0; k < R; k++) {
    if (k > 0) {
      await barrier(); // everyone merged chunk k − 1: the exchange can be overwritten
      merger.copyChunk(k);
      await barrier();
    }
    try {
      if (err === null) merger.merge(k);
    } catch (e) {
      err = e;
    }
  }
  try {
    if (err === null) merger.apply(model, t);
  } finally {
    merger.reset();
  }
  if (err !== null) throw err;
}
