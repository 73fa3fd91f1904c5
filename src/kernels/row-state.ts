// Row-wise optimizer state (lazy Adam's m and v, Adagrad's accumulator) in WASM memories of its own, split by row
// ranges, for tables whose state does not fit next to them in one wasm32 memory (4 GiB): a full Criteo Kaggle
// table (33.8M rows × 16 floats, 2.2 GB) fits, its Adam state (4.3 GB more) does not. The table stays in the main
// memory, so gathers, backward and the fused inference bag are unchanged; only the optimizer step moves rows.
//
//   main memory:  table [numRows × dim], staging          shard s (own WebAssembly.Memory): state rows [s·R, (s+1)·R)
//   update, per shard:  rowSplit (touched rows of [lo, hi): local index, table row, gradient) → staging
//                       ─copy→ shard: sparseAdamRows / sparseAdagradRows ─copy→ staging → rowScatter into the table
//
// The shard kernels run the same per-row Adam/Adagrad code on the same float32 values as sparseAdam/sparseAdagrad,
// so an update is bit-identical to the single-memory one. Shard memories are shared: worker threads attach to
// them (RowStateShared survives postMessage) and each thread stages in its own buffers.

import { ConfigError } from '../core/errors.js';
import type { FusedBagAlloc } from './fused-bag.js';

/** What one thread needs to attach to another thread's state shards (plain views and memories: survives postMessage). */
export interface RowStateShared {
  numRows: number;
  dim: number;
  arrays: 1 | 2;
  rowsPerShard: number;
  /** Per shard: its WebAssembly.Memory (a WasmMemory) and its state arrays (views into that memory). */
  shards: { memory: unknown; state: Float32Array[] }[];
}

/** Row-wise optimizer state outside the table's memory (Ops.rowState). */
export interface RowState {
  readonly numRows: number;
  readonly dim: number;
  /** State arrays per row (2: Adam m and v; 1: Adagrad accumulator). */
  readonly arrays: 1 | 2;
  readonly rowsPerShard: number;
  readonly numShards: number;
  /** For another thread's Ops.rowState(…, attach). */
  readonly shared: RowStateShared;
  /** sparseAdam (ops.ts) on the u rows in `rows` of `table` (numRows × dim, in the main memory). */
  adam(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void;
  /** sparseAdagrad (ops.ts) likewise. */
  adagrad(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void;
  /** Set every state value. */
  fill(value: number): void;
  /** Copy rows [start, start + count) of state array `a` into out (count × dim floats). */
  read(a: number, start: number, count: number, out: Float32Array): void;
  /** Copy src (count × dim floats) into rows [start, start + count) of state array `a`. */
  write(a: number, start: number, count: number, src: Float32Array): void;
  /** Give the staging buffers back (the shard memories go with the last reference). */
  dispose(): void;
}

/** The kernels and memory of one WASM instance, as the state shards use them (WasmOps implements this). */
export interface RowStateHost extends FusedBagAlloc {
  readonly memory: unknown;
  free(a: Float32Array | Int32Array): void;
  rowSplit(table: Float32Array, grad: Float32Array, dim: number, rows: Int32Array, u: number, lo: number, hi: number, outRows: Int32Array, outW: Float32Array, outG: Float32Array): number;
  rowScatter(table: Float32Array, dim: number, rows: Int32Array, n: number, lo: number, src: Float32Array): void;
  sparseAdamRows(w: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void;
  sparseAdagradRows(w: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void;
}

/** One thread's staging buffers in one memory: local row indices, weight rows and gradient rows. */
interface Staging {
  cap: number;
  rows: Int32Array;
  w: Float32Array;
  g: Float32Array;
}

interface Shard {
  host: RowStateHost;
  lo: number;
  hi: number;
  state: Float32Array[];
  stage: Staging;
}

function emptyStaging(): Staging {
  return { cap: 0, rows: new Int32Array(0), w: new Float32Array(0), g: new Float32Array(0) };
}

/** Rows per shard for state of `arrays` × dim floats per row in shards of at most shardBytes (≥ 1 row). */
export function stateRowsPerShard(shardBytes: number, dim: number, arrays: number): number {
  const perRow = arrays * dim * 4;
  const rows = Math.floor(shardBytes / perRow);
  // Runs of 16 rows stay in one shard when they can (the threads' row ownership uses runs of 16).
  return rows >= 16 ? rows - (rows % 16) : Math.max(1, rows);
}

/**
 * Optimizer state rows in shards of rowsPerShard rows, each in a memory of its own.
 * @example
 * const st = ShardedRowState.create(mainOps, alloc, numRows, 16, 2, rowsPerShard, (bytes) => WasmOps.createShard(bytes));
 * st.adam(table, rows, u, grad, lr, 0.9, 0.999, 1e-8, 0, t);
 */
export class ShardedRowState implements RowState {
  readonly numRows: number;
  readonly dim: number;
  readonly arrays: 1 | 2;
  readonly rowsPerShard: number;
  private readonly main: RowStateHost;
  private readonly alloc: FusedBagAlloc & { free(a: Float32Array | Int32Array): void };
  private readonly shards: Shard[];
  private stage: Staging = emptyStaging();

  private constructor(main: RowStateHost, alloc: ShardedRowState['alloc'], numRows: number, dim: number, arrays: 1 | 2, rowsPerShard: number, shards: Shard[]) {
    this.main = main;
    this.alloc = alloc;
    this.numRows = numRows;
    this.dim = dim;
    this.arrays = arrays;
    this.rowsPerShard = rowsPerShard;
    this.shards = shards;
  }

  /** New zeroed state: one host (a fresh memory of at least `bytes`) per shard from newHost. */
  static create(main: RowStateHost, alloc: ShardedRowState['alloc'], numRows: number, dim: number, arrays: 1 | 2, rowsPerShard: number, newHost: (bytes: number) => RowStateHost): ShardedRowState {
    if (!(Number.isInteger(rowsPerShard) && rowsPerShard >= 1)) throw new ConfigError(`row state: rowsPerShard must be a positive integer, got ${rowsPerShard}`, { value: rowsPerShard });
    const shards: Shard[] = [];
    for (let lo = 0; lo < numRows; lo += rowsPerShard) {
      const hi = Math.min(numRows, lo + rowsPerShard);
      const n = (hi - lo) * dim;
      const host = newHost(arrays * n * 4);
      const state: Float32Array[] = [];
      for (let a = 0; a < arrays; a++) state.push(host.allocF32(n));
      shards.push({ host, lo, hi, state, stage: emptyStaging() });
    }
    return new ShardedRowState(main, alloc, numRows, dim, arrays, rowsPerShard, shards);
  }

  /** This thread's view of another thread's state: attachHost builds an instance over each shard memory. */
  static attach(main: RowStateHost, alloc: ShardedRowState['alloc'], shared: RowStateShared, attachHost: (memory: unknown) => RowStateHost): ShardedRowState {
    const { numRows, dim, arrays, rowsPerShard } = shared;
    const shards = shared.shards.map((s, i) => {
      const lo = i * rowsPerShard;
      return { host: attachHost(s.memory), lo, hi: Math.min(numRows, lo + rowsPerShard), state: s.state, stage: emptyStaging() };
    });
    return new ShardedRowState(main, alloc, numRows, dim, arrays, rowsPerShard, shards);
  }

  get numShards(): number {
    return this.shards.length;
  }

  get shared(): RowStateShared {
    return { numRows: this.numRows, dim: this.dim, arrays: this.arrays, rowsPerShard: this.rowsPerShard, shards: this.shards.map((s) => ({ memory: s.host.memory, state: s.state })) };
  }

  // Staging for at least n rows (doubling), in the given allocator's memory.
  private grow(st: Staging, n: number, a: Pick<RowStateHost, 'allocF32' | 'allocI32' | 'free'>): Staging {
    if (n <= st.cap) return st;
    let cap = Math.max(256, st.cap);
    while (cap < n) cap *= 2;
    if (st.cap > 0) {
      a.free(st.rows);
      a.free(st.w);
      a.free(st.g);
    }
    return { cap, rows: a.allocI32(cap), w: a.allocF32(cap * this.dim), g: a.allocF32(cap * this.dim) };
  }

  private step(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, run: (sh: Shard, st: Staging, c: number) => void): void {
    if (u === 0) return;
    const dim = this.dim;
    if (table.length !== this.numRows * dim) throw new ConfigError(`row state: table has ${table.length} floats, the state is for ${this.numRows} × ${dim}`);
    this.stage = this.grow(this.stage, u, this.alloc);
    const m = this.stage;
    for (const sh of this.shards) {
      const c = this.main.rowSplit(table, grad, dim, rows, u, sh.lo, sh.hi, m.rows, m.w, m.g);
      if (c === 0) continue;
      sh.stage = this.grow(sh.stage, c, sh.host);
      const s = sh.stage;
      const nf = c * dim;
      s.rows.set(m.rows.subarray(0, c));
      s.w.set(m.w.subarray(0, nf));
      s.g.set(m.g.subarray(0, nf));
      run(sh, s, c);
      m.w.set(s.w.subarray(0, nf));
      this.main.rowScatter(table, dim, m.rows, c, sh.lo, m.w);
    }
  }

  adam(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void {
    if (this.arrays !== 2) throw new ConfigError('row state: adam needs 2 state arrays (m and v)');
    this.step(table, rows, u, grad, (sh, s, c) => sh.host.sparseAdamRows(s.w, sh.state[0], sh.state[1], this.dim, s.rows, c, s.g, lr, beta1, beta2, eps, l2, step));
  }

  adagrad(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void {
    this.step(table, rows, u, grad, (sh, s, c) => sh.host.sparseAdagradRows(s.w, sh.state[0], this.dim, s.rows, c, s.g, lr, l2, eps));
  }

  fill(value: number): void {
    for (const sh of this.shards) for (const a of sh.state) a.fill(value);
  }

  private copy(a: number, start: number, count: number, buf: Float32Array, into: boolean): void {
    if (!(Number.isInteger(a) && a >= 0 && a < this.arrays)) throw new ConfigError(`row state: no state array ${a} (has ${this.arrays})`);
    if (!(start >= 0 && count >= 0 && start + count <= this.numRows)) throw new ConfigError(`row state: rows [${start}, ${start + count}) outside [0, ${this.numRows})`);
    const dim = this.dim;
    for (const sh of this.shards) {
      const lo = Math.max(start, sh.lo);
      const hi = Math.min(start + count, sh.hi);
      if (lo >= hi) continue;
      const src = sh.state[a].subarray((lo - sh.lo) * dim, (hi - sh.lo) * dim);
      const at = (lo - start) * dim;
      if (into) buf.set(src, at);
      else src.set(buf.subarray(at, at + (hi - lo) * dim));
    }
  }

  read(a: number, start: number, count: number, out: Float32Array): void {
    this.copy(a, start, count, out, true);
  }

  write(a: number, start: number, count: number, src: Float32Array): void {
    this.copy(a, start, count, src, false);
  }

  dispose(): void {
    const m = this.stage;
    if (m.cap > 0) for (const x of [m.rows, m.w, m.g]) this.alloc.free(x);
    this.stage = emptyStaging();
    for (const sh of this.shards) {
      const s = sh.stage;
      if (s.cap > 0) for (const x of [s.rows, s.w, s.g]) sh.host.free(x);
      sh.stage = emptyStaging();
    }
  }
}
