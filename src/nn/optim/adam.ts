// Adam over a model's flat dense parameters (nn/params.ts): one backend call for the decayed region and one for
// the rest, so weight decay reaches weight matrices only.

import type { Ops } from '../../kernels/ops.js';
import type { DenseParams } from '../params.js';
import type { NormalizedOptimConfig } from './config.js';

export class DenseAdam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  private readonly ops: Ops;
  private readonly params: DenseParams;

  constructor(ops: Ops, params: DenseParams) {
    this.ops = ops;
    this.params = params;
    this.m = ops.allocF32(Math.max(1, params.size)).subarray(0, params.size);
    this.v = ops.allocF32(Math.max(1, params.size)).subarray(0, params.size);
  }

  /** One step with the gradient in `grad` (default: params.grad); t is 1-based. */
  step(cfg: NormalizedOptimConfig, t: number, grad: Float32Array = this.params.grad): void {
    const p = this.params;
    const d = p.decaySize;
    const n = p.size;
    if (d > 0) this.ops.adam(p.data.subarray(0, d), grad.subarray(0, d), this.m.subarray(0, d), this.v.subarray(0, d), d, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weightDecay, t);
    if (n > d) this.ops.adam(p.data.subarray(d, n), grad.subarray(d, n), this.m.subarray(d, n), this.v.subarray(d, n), n - d, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, 0, t);
  }

  reset(): void {
    this.m.fill(0);
    this.v.fill(0);
  }
}
