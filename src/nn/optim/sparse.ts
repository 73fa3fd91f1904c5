// Row-wise optimizers for embedding tables: only the rows a batch touched are read or written (lazy Adam,
// Adagrad, SGD). State arrays have the table's shape and, like the table, may live in shared memory so that
// worker threads update rows Hogwild-style (Niu et al. 2011) without locks. When the backend cannot hold the state
// next to the table (a full Criteo Kaggle table's Adam state: 4.3 GB), it lives in row shards of their own
// (kernels/row-state.ts), and the update is the same, bit for bit. A table that lives outside the backend's memory
// (kernels/external-table.ts) keeps its state outside too: each update copies the rows and their state into
// staging, runs the same kernel on rows 0…u−1 there and copies them back (bit for bit the same as well).

import { ConfigError } from '../../core/errors.js';
import { allocExternalF32, copyRows } from '../../kernels/index.js';
import type { Ops } from '../../kernels/ops.js';
import type { RowState, RowStateShared } from '../../kernels/row-state.js';
import type { NormalizedOptimConfig, SparseOptimizerKind } from './config.js';

/** Adagrad's denominator epsilon (the backend op takes it explicitly). */
export const ADAGRAD_EPS = 1e-10;

/** A sparse optimizer's state as another thread attaches to it (survives postMessage). */
export interface SparseStateShared {
  state1: Float32Array;
  state2: Float32Array;
  /** Set when the state lives in row shards (state1/state2 are then empty). */
  rows?: RowStateShared;
}

export class SparseOptimizer {
  readonly kind: SparseOptimizerKind;
  /** Adam m / Adagrad accumulator (table-shaped); empty for SGD, and when rowState holds the state. */
  state1: Float32Array;
  /** Adam v (table-shaped); empty otherwise. */
  state2: Float32Array;
  /** The state in row shards of their own (see kernels/row-state.ts), or null when state1/state2 hold it. */
  readonly rowState: RowState | null;
  private readonly ops: Ops;
  private readonly size: number;
  /** The table and state live outside the backend's memory: updates go through staging (see stagedUpdate). */
  readonly external: boolean;
  private stage: { cap: number; rows: Int32Array; table: Float32Array; s1: Float32Array; s2: Float32Array } | null = null;

  /**
   * dim: floats per table row; when given, a backend with Ops.rowState may keep the state in row shards (state too
   * large for its memory). attach: another thread's state (SparseStateShared). external: the table lives outside
   * the backend's memory (EmbeddingBag.external), and so does the state.
   */
  constructor(ops: Ops, kind: SparseOptimizerKind, tableSize: number, attach?: SparseStateShared, dim?: number, external = false) {
    this.ops = ops;
    this.kind = kind;
    this.size = tableSize;
    this.external = external;
    const arrays = kind === 'adam' ? 2 : kind === 'adagrad' ? 1 : 0;
    const n1 = arrays >= 1 ? tableSize : 0;
    const n2 = arrays >= 2 ? tableSize : 0;
    let rowState: RowState | null = null;
    if (attach?.rows !== undefined) {
      if (ops.rowState === undefined) throw new ConfigError(`sparse optimizer: the attached state is sharded, backend '${ops.name}' cannot attach to it`);
      rowState = ops.rowState(attach.rows.numRows, attach.rows.dim, attach.rows.arrays, attach.rows);
      if (rowState === null || rowState.numRows * rowState.dim !== tableSize || rowState.arrays !== arrays) throw new ConfigError(`sparse optimizer: attached state does not match ${kind} for ${tableSize} floats`);
    } else if (attach === undefined && arrays > 0 && dim !== undefined && ops.rowState !== undefined && !external) {
      if (!(Number.isInteger(dim) && dim >= 1 && tableSize % dim === 0)) throw new ConfigError(`sparse optimizer: ${tableSize} floats are not rows of ${dim}`);
      rowState = ops.rowState(tableSize / dim, dim, arrays as 1 | 2);
    }
    this.rowState = rowState;
    if (rowState !== null) {
      this.state1 = new Float32Array(0);
      this.state2 = new Float32Array(0);
    } else if (attach) {
      if (attach.state1.length !== n1 || attach.state2.length !== n2) throw new ConfigError(`sparse optimizer: attached state does not match ${kind} for ${tableSize} floats`);
      this.state1 = attach.state1;
      this.state2 = attach.state2;
    } else if (external) {
      this.state1 = allocExternalF32(n1, `${kind} state of a ${tableSize}-float table`);
      this.state2 = allocExternalF32(n2, `${kind} state of a ${tableSize}-float table`);
    } else {
      this.state1 = ops.allocF32(n1);
      this.state2 = ops.allocF32(n2);
    }
  }

  /** Update the u rows in `rows` with their gradients (u × dim). t is the 1-based global step (Adam bias correction). */
  update(table: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, cfg: NormalizedOptimConfig, t: number): void {
    if (u === 0) return;
    const lr = cfg.embeddingLr;
    const l2 = cfg.embeddingL2;
    const rs = this.rowState;
    if (rs !== null && rs.dim !== dim) throw new ConfigError(`sparse optimizer: rows of ${dim} floats, the state holds rows of ${rs.dim}`);
    if (this.external) {
      this.stagedUpdate(table, dim, rows, u, grad, cfg, t);
      return;
    }
    switch (this.kind) {
      case 'sgd':
        this.ops.sparseSgd(table, dim, rows, u, grad, lr, l2);
        return;
      case 'adagrad':
        if (rs !== null) rs.adagrad(table, rows, u, grad, lr, l2, ADAGRAD_EPS);
        else this.ops.sparseAdagrad(table, this.state1, dim, rows, u, grad, lr, l2, ADAGRAD_EPS);
        return;
      case 'adam':
        if (rs !== null) rs.adam(table, rows, u, grad, lr, cfg.beta1, cfg.beta2, cfg.eps, l2, t);
        else this.ops.sparseAdam(table, this.state1, this.state2, dim, rows, u, grad, lr, cfg.beta1, cfg.beta2, cfg.eps, l2, t);
        return;
    }
  }

  // The rows and their state copied into staging (backend memory), the in-memory kernel on staging rows 0…u−1
  // (row-wise: each row's update reads only that row), the results copied back.
  private stagedUpdate(table: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, cfg: NormalizedOptimConfig, t: number): void {
    const ops = this.ops;
    let st = this.stage;
    if (st === null || st.cap < u) {
      let cap = Math.max(256, st?.cap ?? 0);
      while (cap < u) cap *= 2;
      if (st !== null) for (const a of [st.rows, st.table, st.s1, st.s2]) if (a.length > 0) ops.free(a);
      const idx = ops.allocI32(cap);
      for (let i = 0; i < cap; i++) idx[i] = i;
      st = { cap, rows: idx, table: ops.allocF32(cap * dim), s1: ops.allocF32(this.state1.length > 0 ? cap * dim : 0), s2: ops.allocF32(this.state2.length > 0 ? cap * dim : 0) };
      this.stage = st;
    }
    const big = [table, this.state1, this.state2].filter((a) => a.length > 0);
    const small = [st.table, st.s1, st.s2].slice(0, big.length);
    copyRows(big, small, dim, rows, u, true);
    const lr = cfg.embeddingLr;
    const l2 = cfg.embeddingL2;
    if (this.kind === 'sgd') ops.sparseSgd(st.table, dim, st.rows, u, grad, lr, l2);
    else if (this.kind === 'adagrad') ops.sparseAdagrad(st.table, st.s1, dim, st.rows, u, grad, lr, l2, ADAGRAD_EPS);
    else ops.sparseAdam(st.table, st.s1, st.s2, dim, st.rows, u, grad, lr, cfg.beta1, cfg.beta2, cfg.eps, l2, t);
    copyRows(big, small, dim, rows, u, false);
  }

  /** What another thread passes as `attach`. */
  get shared(): SparseStateShared {
    return { state1: this.state1, state2: this.state2, rows: this.rowState?.shared };
  }

  reset(): void {
    this.state1.fill(0);
    this.state2.fill(0);
    this.rowState?.fill(0);
  }

  get tableSize(): number {
    return this.size;
  }
}
