// Fully connected layer y = x·W + b with W stored [in × out] (so forward is one GEMM without transposes).
// Gradients are written (not accumulated) by each backward: every parameter is used once per forward.

import type { DenseParams } from './params.js';
import { runGemm, type LayerContext } from './layer.js';

export interface LinearOptions {
  /** @default true */
  bias?: boolean;
  /** Compute dL/dx in backward (false for the first layer on embeddings that need no gradient). @default true */
  inputGrad?: boolean;
  /** Rows of the activation buffers (fewer when a fused DenseTower runs big batches and this layer only small ones). @default maxBatch */
  bufferRows?: number;
}

/**
 * @example
 * const fc = new Linear(ctx, params, 'mlp.0', 32, 16);   // after params.allocate(...)
 * const y = await fc.forward(x, batchSize);
 */
export class Linear {
  readonly inDim: number;
  readonly outDim: number;
  w!: Float32Array;
  dw!: Float32Array;
  b: Float32Array | null = null;
  db: Float32Array | null = null;
  /** maxBatch × outDim activations. */
  readonly out: Float32Array;
  /** maxBatch × inDim input gradient (empty when inputGrad is false). */
  readonly dx: Float32Array;
  private readonly ctx: LayerContext;

  constructor(ctx: LayerContext, params: DenseParams, name: string, inDim: number, outDim: number, opts: LinearOptions = {}) {
    this.ctx = ctx;
    this.inDim = inDim;
    this.outDim = outDim;
    params.add(`${name}.weight`, [inDim, outDim], 'xavier', true, (w, g) => {
      this.w = w;
      this.dw = g;
    });
    if (opts.bias ?? true) {
      params.add(`${name}.bias`, [outDim], 'zeros', false, (w, g) => {
        this.b = w;
        this.db = g;
      });
    }
    const rows = opts.bufferRows ?? ctx.maxBatch;
    this.out = ctx.ops.allocF32(rows * outDim);
    this.dx = ctx.ops.allocF32((opts.inputGrad ?? true) ? rows * inDim : 0);
  }

  async forward(x: Float32Array, batch: number): Promise<Float32Array> {
    const r = runGemm(this.ctx, false, false, batch, this.outDim, this.inDim, 1, x, this.w, 0, this.out);
    if (r) await r;
    if (this.b !== null) this.ctx.ops.addRowVector(this.out, this.b, batch, this.outDim);
    return this.out;
  }

  /** x: the input given to forward; dy: batch × outDim. Writes dw, db and (if enabled) dx. */
  async backward(x: Float32Array, dy: Float32Array, batch: number): Promise<Float32Array> {
    const r1 = runGemm(this.ctx, true, false, this.inDim, this.outDim, batch, 1, x, dy, 0, this.dw);
    if (r1) await r1;
    if (this.db !== null) this.ctx.ops.sumRows(dy, batch, this.outDim, this.db, false);
    if (this.dx.length > 0) {
      const r2 = runGemm(this.ctx, false, true, batch, this.inDim, this.outDim, 1, dy, this.w, 0, this.dx);
      if (r2) await r2;
    }
    return this.dx;
  }
}
