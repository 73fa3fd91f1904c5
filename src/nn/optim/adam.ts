// Adam over a model's flat dense parameters (nn/params.ts): one backend call for the decayed region and one for
// the rest, so weight decay reaches weight matrices only. The moments may live in shared memory so that several
// threads each step a disjoint range of the same parameters (stepRange).

import { ConfigError } from '../../core/errors.js';
import type { Ops } from '../../kernels/ops.js';
import type { DenseParams } from '../params.js';
import type { NormalizedOptimConfig } from './config.js';

export class DenseAdam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  private readonly ops: Ops;
  private readonly params: DenseParams;

  /** attach: moments created by another thread's DenseAdam over the same (shared) parameters. */
  constructor(ops: Ops, params: DenseParams, attach?: { m: Float32Array; v: Float32Array }) {
    this.ops = ops;
    this.params = params;
    if (attach) {
      if (attach.m.length !== params.size || attach.v.length !== params.size) throw new ConfigError(`dense adam: attached moments have ${attach.m.length} floats, the parameters ${params.size}`);
      this.m = attach.m;
      this.v = attach.v;
    } else {
      this.m = ops.allocF32(Math.max(1, params.size)).subarray(0, params.size);
      this.v = ops.allocF32(Math.max(1, params.size)).subarray(0, params.size);
    }
  }

  /** One step on entries [lo, hi) only (the decayed part of the range with weight decay), gradient in grad. */
  stepRange(cfg: NormalizedOptimConfig, t: number, grad: Float32Array, lo: number, hi: number): void {
    const d = this.params.decaySize;
    const w = this.params.data;
    const run = (a: number, b: number, wd: number): void => {
      if (b > a) this.ops.adam(w.subarray(a, b), grad.subarray(a, b), this.m.subarray(a, b), this.v.subarray(a, b), b - a, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, wd, t);
    };
    run(lo, Math.min(hi, d), cfg.weightDecay);
    run(Math.max(lo, d), hi, 0);
  }

  /** One step with the gradient in `grad` (default: params.grad); t is 1-based. */
  step(cfg: NormalizedOptimConfig, t: number, grad: Float32Array = this.params.grad): void {
    if (this.views === null || this.views.grad !== grad) this.views = this.split(grad);
    const v = this.views;
    const d = this.params.decaySize;
    const n = this.params.size;
    if (d > 0) this.ops.adam(v.w[0], v.g[0], v.m[0], v.v[0], d, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weightDecay, t);
    if (n > d) this.ops.adam(v.w[1], v.g[1], v.m[1], v.v[1], n - d, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, 0, t);
  }

  // Views of the decayed / not-decayed regions, made once per gradient buffer (no allocation per step).
  private views: { grad: Float32Array; w: Float32Array[]; g: Float32Array[]; m: Float32Array[]; v: Float32Array[] } | null = null;

  private split(grad: Float32Array): { grad: Float32Array; w: Float32Array[]; g: Float32Array[]; m: Float32Array[]; v: Float32Array[] } {
    const d = this.params.decaySize;
    const n = this.params.size;
    const two = (a: Float32Array): Float32Array[] => [a.subarray(0, d), a.subarray(d, n)];
    return { grad, w: two(this.params.data), g: two(grad), m: two(this.m), v: two(this.v) };
  }

  reset(): void {
    this.m.fill(0);
    this.v.fill(0);
  }
}
