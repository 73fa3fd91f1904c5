// Row-wise optimizers for embedding tables: only the rows a batch touched are read or written (lazy Adam,
// Adagrad, SGD). State arrays have the table's shape and, like the table, may live in shared memory so that
// worker threads update rows Hogwild-style (Niu et al. 2011) without locks.

import { ConfigError } from '../../core/errors.js';
import type { Ops } from '../../kernels/ops.js';
import type { NormalizedOptimConfig, SparseOptimizerKind } from './config.js';

/** Adagrad's denominator epsilon (the backend op takes it explicitly). */
export const ADAGRAD_EPS = 1e-10;

export class SparseOptimizer {
  readonly kind: SparseOptimizerKind;
  /** Adam m / Adagrad accumulator (table-shaped); empty for SGD. */
  state1: Float32Array;
  /** Adam v (table-shaped); empty otherwise. */
  state2: Float32Array;
  private readonly ops: Ops;
  private readonly size: number;

  constructor(ops: Ops, kind: SparseOptimizerKind, tableSize: number, attach?: { state1: Float32Array; state2: Float32Array }) {
    this.ops = ops;
    this.kind = kind;
    this.size = tableSize;
    const n1 = kind === 'sgd' ? 0 : tableSize;
    const n2 = kind === 'adam' ? tableSize : 0;
    if (attach) {
      if (attach.state1.length !== n1 || attach.state2.length !== n2) throw new ConfigError(`sparse optimizer: attached state does not match ${kind} for ${tableSize} floats`);
      this.state1 = attach.state1;
      this.state2 = attach.state2;
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
    switch (this.kind) {
      case 'sgd':
        this.ops.sparseSgd(table, dim, rows, u, grad, lr, l2);
        return;
      case 'adagrad':
        this.ops.sparseAdagrad(table, this.state1, dim, rows, u, grad, lr, l2, ADAGRAD_EPS);
        return;
      case 'adam':
        this.ops.sparseAdam(table, this.state1, this.state2, dim, rows, u, grad, lr, cfg.beta1, cfg.beta2, cfg.eps, l2, t);
        return;
    }
  }

  reset(): void {
    this.state1.fill(0);
    this.state2.fill(0);
  }

  get tableSize(): number {
    return this.size;
  }
}
