// DCN-v2 cross network (Wang et al., WWW 2021, eq. 1): x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l, full-rank W_l.
// Keeps every x_l and u_l of the batch for the backward pass.

import type { LayerContext } from './layer.js';
import { runGemm } from './layer.js';
import type { DenseParams } from './params.js';

export class CrossNetwork {
  readonly width: number;
  readonly layers: number;
  private readonly w: Float32Array[] = [];
  private readonly dw: Float32Array[] = [];
  private readonly b: Float32Array[] = [];
  private readonly db: Float32Array[] = [];
  /** xs[0] is the input (set in forward), xs[l+1] the output of layer l. */
  private readonly xs: Float32Array[] = [];
  private readonly us: Float32Array[] = [];
  private readonly dU: Float32Array;
  private readonly dX0: Float32Array;
  private readonly dA: Float32Array;
  private readonly dB: Float32Array;
  private readonly ctx: LayerContext;

  constructor(ctx: LayerContext, params: DenseParams, name: string, width: number, layers: number) {
    this.ctx = ctx;
    this.width = width;
    this.layers = layers;
    const n = ctx.maxBatch * width;
    this.xs.push(new Float32Array(0));
    for (let l = 0; l < layers; l++) {
      params.add(`${name}.${l}.weight`, [width, width], 'xavier', true, (w, g) => {
        this.w[l] = w;
        this.dw[l] = g;
      });
      params.add(`${name}.${l}.bias`, [width], 'zeros', false, (w, g) => {
        this.b[l] = w;
        this.db[l] = g;
      });
      this.xs.push(ctx.ops.allocF32(n));
      this.us.push(ctx.ops.allocF32(n));
    }
    this.dU = ctx.ops.allocF32(n);
    this.dX0 = ctx.ops.allocF32(n);
    this.dA = ctx.ops.allocF32(n);
    this.dB = ctx.ops.allocF32(n);
  }

  async forward(x0: Float32Array, batch: number): Promise<Float32Array> {
    const { ops } = this.ctx;
    const D = this.width;
    this.xs[0] = x0;
    for (let l = 0; l < this.layers; l++) {
      const u = this.us[l];
      const r = runGemm(this.ctx, false, false, batch, D, D, 1, this.xs[l], this.w[l], 0, u);
      if (r) await r;
      ops.addRowVector(u, this.b[l], batch, D);
      ops.crossForward(x0, u, this.xs[l], this.xs[l + 1], batch * D);
    }
    return this.xs[this.layers];
  }

  /** Returns dL/dx0 (a buffer of this layer). dOut is not modified. */
  async backward(dOut: Float32Array, batch: number): Promise<Float32Array> {
    const { ops } = this.ctx;
    const D = this.width;
    const n = batch * D;
    if (this.layers === 0) return dOut;
    this.dX0.fill(0, 0, n);
    let d = dOut;
    for (let l = this.layers - 1; l >= 0; l--) {
      ops.crossBackward(this.xs[0], this.us[l], d, this.dU, this.dX0, n);
      const r1 = runGemm(this.ctx, true, false, D, D, batch, 1, this.xs[l], this.dU, 0, this.dw[l]);
      if (r1) await r1;
      ops.sumRows(this.dU, batch, D, this.db[l], false);
      // dX_l = dOut (identity path) + dU·W_lᵀ
      const next = d === this.dA ? this.dB : this.dA;
      next.set(d.subarray(0, n));
      const r2 = runGemm(this.ctx, false, true, batch, D, D, 1, this.dU, this.w[l], 1, next);
      if (r2) await r2;
      d = next;
    }
    // x0 also enters every layer as x_0 = xs[0]: total gradient = identity-path gradient + Σ ⊙-path terms.
    ops.axpy(1, d, this.dX0, n);
    return this.dX0;
  }
}
