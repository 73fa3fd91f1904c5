// Factorization machine second-order term (Rendle 2010): ½ Σ_d ((Σ_f v_f)² − Σ_f v_f²) per sample, over the
// embedding bag's B × (S·dim) output viewed as S vectors of width dim (S = segments per sample).

import type { LayerContext } from './layer.js';

export class FmInteraction {
  readonly numVectors: number;
  readonly dim: number;
  readonly out: Float32Array;
  private readonly ctx: LayerContext;

  constructor(ctx: LayerContext, numVectors: number, dim: number) {
    this.ctx = ctx;
    this.numVectors = numVectors;
    this.dim = dim;
    this.out = ctx.ops.allocF32(ctx.maxBatch);
  }

  forward(x: Float32Array, batch: number): Float32Array {
    this.ctx.ops.fmForward(x, batch, this.numVectors, this.dim, this.out);
    return this.out;
  }

  /** dx += dL/dx for dOut (batch). */
  backward(x: Float32Array, dOut: Float32Array, batch: number, dx: Float32Array): void {
    this.ctx.ops.fmBackward(x, dOut, batch, this.numVectors, this.dim, dx);
  }
}
