// Row-wise optimizer state (lazy Adam's m and v, Adagrad's accumulator) in WASM memories of its own, split by row
// ranges, for tables whose state does not fit next to them in one wasm32 memory (4 GiB): a full Criteo Kaggle
// table (33.8M rows × 16 floats, 2.2 GB) fits, its Adam state (4.3 GB more) does not. The table stays in the main
// memory, so gathers, backward and the fused inference bag are unchanged; only the optimizer step moves rows. A table
// too large for the main memory itself lives outside WASM memory with its state instead (external-table.ts).
//
//   main memory:  table [numRows × dim], staging          shard s (own WebAssembly.Memory): state rows [s·R, (s+1)·R)
//   update:  rowSplit (one pass: each touched row's local index and gradient + l2·w, grouped by shard) → staging
//            per shard ─copy→ sparseAdamStep / sparseAdagradStep (state rows; gradient → step d) ─copy→ rowSubtract
//
// The shard kernels run the same float32 operations in the same order as sparseAdam/sparseAdagrad, so an update is
// bit-identical to the single-memory one. Shard memories are shared: worker threads attach to
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
  rowSplit(table: Float32Array, grad: Float32Array, dim: number, rows: Int32Array, u: number, rowsPerShard: number, numShards: number, cap: number, l2: number, outRows: Int32Array, outG: Float32Array, counts: Int32Array): void;
  rowSubtract(table: Float32Array, dim: number, rows: Int32Array, n: number, lo: number, d: Float32Array): void;
  sparseAdamStep(m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, u: number, gd: Float32Array, lr: number, beta1: number, beta2: number, eps: number, step: number): void;
  sparseAdagradStep(acc: Float32Array, dim: number, rows: Int32Array, u: number, gd: Float32Array, lr: number, eps: number): void;
}

/** One thread's staging buffers in one memory: local row indices and gradient (then step) rows, cap rows each. */
interface Staging {
  cap: number;
  rows: Int32Array;
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
  return { cap: 0, rows: new Int32Array(0), g: new Float32Array(0) };
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
  /** Main-memory staging: one region of `cap` rows per shard. */
  private stage: Staging = emptyStaging();
  private counts: Int32Array | null = null;

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
      a.free(st.g);
    }
    return { cap, rows: a.allocI32(cap), g: a.allocF32(cap * this.dim) };
  }

  // Main staging holds numShards regions of `per` rows (the per-shard row count can reach u).
  private step(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, l2: number, run: (sh: Shard, st: Staging, c: number) => void): void {
    if (u === 0) return;
    const dim = this.dim;
    const S = this.shards.length;
    if (table.length !== this.numRows * dim) throw new ConfigError(`row state: table has ${table.length} floats, the state is for ${this.numRows} × ${dim}`);
    let per = Math.max(1, Math.floor(this.stage.cap / S));
    if (per < u) {
      per = 256;
      while (per < u) per *= 2;
      this.stage = this.grow(this.stage, per * S, this.alloc);
      per = Math.floor(this.stage.cap / S);
    }
    if (this.counts === null) this.counts = this.alloc.allocI32(S);
    const m = this.stage;
    const counts = this.counts;
    this.main.rowSplit(table, grad, dim, rows, u, this.rowsPerShard, S, per, l2, m.rows, m.g, counts);
    for (let i = 0; i < S; i++) {
      const c = counts[i];
      if (c === 0) continue;
      const sh = this.shards[i];
      sh.stage = this.grow(sh.stage, c, sh.host);
      const s = sh.stage;
      const r0 = i * per;
      const nf = c * dim;
      s.rows.set(m.rows.subarray(r0, r0 + c));
      s.g.set(m.g.subarray(r0 * dim, r0 * dim + nf));
      run(sh, s, c);
      const d = m.g.subarray(r0 * dim, r0 * dim + nf);
      d.set(s.g.subarray(0, nf));
      this.main.rowSubtract(table, dim, m.rows.subarray(r0, r0 + c), c, sh.lo, d);
    }
  }

  adam(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void {
    if (this.arrays !== 2) throw new ConfigError('row state: adam needs 2 state arrays (m and v)');
    this.step(table, rows, u, grad, l2, (sh, s, c) => sh.host.sparseAdamStep(sh.state[0], sh.state[1], this.dim, s.rows, c, s.g, lr, beta1, beta2, eps, step));
  }

  adagrad(table: Float32Array, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void {
    this.step(table, rows, u, grad, l2, (sh, s, c) => sh.host.sparseAdagradStep(sh.state[0], this.dim, s.rows, c, s.g, lr, eps));
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
    if (m.cap > 0) for (const x of [m.rows, m.g]) this.alloc.free(x);
    this.stage = emptyStaging();
    if (this.counts !== null) this.alloc.free(this.counts);
    this.counts = null;
    for (const sh of this.shards) {
      const s = sh.stage;
      if (s.cap > 0) for (const x of [s.rows, s.g]) sh.host.free(x);
      sh.stage = emptyStaging();
    }
  }
}
