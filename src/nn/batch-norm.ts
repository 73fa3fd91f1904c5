// Batch normalization over the batch dimension of a batch × width activation (Ioffe & Szegedy 2015).
// γ/β are dense parameters (no weight decay); running mean/variance are buffers saved with the model but never
// touched by the optimizer. In data-parallel training each worker normalizes its own shard (no sync BN).

import type { DenseParams } from './params.js';
import type { LayerContext } from './layer.js';

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

export class BatchNorm {
  readonly width: number;
  gamma!: Float32Array;
  beta!: Float32Array;
  dGamma!: Float32Array;
  dBeta!: Float32Array;
  runMean!: Float32Array;
  runVar!: Float32Array;
  readonly out: Float32Array;
  readonly dx: Float32Array;
  private readonly saveMean: Float32Array;
  private readonly saveInvStd: Float32Array;
  private readonly ctx: LayerContext;
  private usedRunning = false;

  constructor(ctx: LayerContext, params: DenseParams, buffers: DenseParams, name: string, width: number) {
    this.ctx = ctx;
    this.width = width;
    params.add(`${name}.gamma`, [width], 'ones', false, (w, g) => {
      this.gamma = w;
      this.dGamma = g;
    });
    params.add(`${name}.beta`, [width], 'zeros', false, (w, g) => {
      this.beta = w;
      this.dBeta = g;
    });
    buffers.add(`${name}.running_mean`, [width], 'zeros', false, (w) => {
      this.runMean = w;
    });
    buffers.add(`${name}.running_var`, [width], 'ones', false, (w) => {
      this.runVar = w;
    });
    this.out = ctx.ops.allocF32(ctx.maxBatch * width);
    this.dx = ctx.ops.allocF32(ctx.maxBatch * width);
    this.saveMean = ctx.ops.allocF32(width);
    this.saveInvStd = ctx.ops.allocF32(width);
  }

  forward(x: Float32Array, batch: number, train: boolean): Float32Array {
    const { ops } = this.ctx;
    // One sample has no batch variance: normalize with the running statistics instead.
    this.usedRunning = !(train && batch > 1);
    if (!this.usedRunning) {
      ops.batchNormTrain(x, batch, this.width, this.gamma, this.beta, this.runMean, this.runVar, BN_MOMENTUM, BN_EPS, this.out, this.saveMean, this.saveInvStd);
    } else {
      ops.batchNormInfer(x, batch, this.width, this.gamma, this.beta, this.runMean, this.runVar, BN_EPS, this.out);
      for (let j = 0; j < this.width; j++) {
        this.saveMean[j] = this.runMean[j];
        this.saveInvStd[j] = 1 / Math.sqrt(this.runVar[j] + BN_EPS);
      }
    }
    return this.out;
  }

  /** Writes dGamma/dBeta (overwrites) and returns dx. */
  backward(x: Float32Array, dy: Float32Array, batch: number): Float32Array {
    this.dGamma.fill(0);
    this.dBeta.fill(0);
    if (this.usedRunning) {
      // The forward was a fixed affine map (running statistics): y = γ·(x − μ)·s + β.
      const n = this.width;
      for (let i = 0; i < batch; i++) {
        for (let j = 0; j < n; j++) {
          const g = dy[i * n + j];
          const xhat = (x[i * n + j] - this.saveMean[j]) * this.saveInvStd[j];
          this.dGamma[j] += g * xhat;
          this.dBeta[j] += g;
          this.dx[i * n + j] = g * this.gamma[j] * this.saveInvStd[j];
        }
      }
      return this.dx;
    }
    this.ctx.ops.batchNormBackward(x, dy, batch, this.width, this.gamma, this.saveMean, this.saveInvStd, this.dx, this.dGamma, this.dBeta);
    return this.dx;
  }
}
