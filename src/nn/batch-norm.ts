// Batch normalization over the batch dimension of a batch × width activation (Ioffe & Szegedy 2015).
// γ/β are dense parameters (no weight decay); running mean/variance are buffers saved with the model but never
// touched by the optimizer. In data-parallel training each worker normalizes its own shard (no sync BN).
// Sample weights (a weighted training batch): the batch statistics, the running statistics and the gradient are
// those of the batch with each row repeated w times (a row of weight 0 is normalized but shapes nothing).

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
  /** The training batch's sample weights (null: each row 1), set by the tower before a training forward. */
  sampleWeights: Float32Array | null = null;
  private weightSum = 0;

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
    const sw = train ? this.sampleWeights : null;
    this.usedRunning = !(train && (sw === null ? batch > 1 : positiveRows(sw, batch) > 1));
    this.weightSum = 0;
    if (!this.usedRunning && sw !== null) this.weightedTrain(x, batch, sw);
    else if (!this.usedRunning) {
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
    if (this.weightSum > 0) {
      this.weightedBackward(x, dy, batch, this.sampleWeights as Float32Array);
      return this.dx;
    }
    this.ctx.ops.batchNormBackward(x, dy, batch, this.width, this.gamma, this.saveMean, this.saveInvStd, this.dx, this.dGamma, this.dBeta);
    return this.dx;
  }

  /**
   * batchNormTrain over rows weighted w_i (W = Σ w): μ = Σ w·x / W, σ² = Σ w·(x − μ)² / W; the running variance takes
   * the unbiased σ²·W / (W − 1) as the unweighted kernel does with m rows (W ≤ 1: σ²).
   */
  private weightedTrain(x: Float32Array, m: number, w: Float32Array): void {
    const n = this.width;
    let W = 0;
    for (let i = 0; i < m; i++) W += w[i];
    this.weightSum = W;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += w[i] * x[i * n + j];
      const mu = s / W;
      let ss = 0;
      for (let i = 0; i < m; i++) {
        const d = x[i * n + j] - mu;
        ss += w[i] * d * d;
      }
      const variance = ss / W;
      const inv = 1 / Math.sqrt(variance + BN_EPS);
      for (let i = 0; i < m; i++) this.out[i * n + j] = this.gamma[j] * (x[i * n + j] - mu) * inv + this.beta[j];
      this.saveMean[j] = mu;
      this.saveInvStd[j] = inv;
      const unbiased = W > 1 ? ss / (W - 1) : variance;
      this.runMean[j] = (1 - BN_MOMENTUM) * this.runMean[j] + BN_MOMENTUM * mu;
      this.runVar[j] = (1 - BN_MOMENTUM) * this.runVar[j] + BN_MOMENTUM * unbiased;
    }
  }

  /**
   * The gradient of weightedTrain. dy_i already carries its row's weight (the loss is Σ w·bce), so with x̂ the
   * normalized input: dx_i = γ·s·(dy_i − (w_i/W)·Σ dy − x̂_i·(w_i/W)·Σ dy·x̂), the repeated rows' gradients summed.
   */
  private weightedBackward(x: Float32Array, dy: Float32Array, m: number, w: Float32Array): void {
    const n = this.width;
    const W = this.weightSum;
    for (let j = 0; j < n; j++) {
      const mu = this.saveMean[j];
      const inv = this.saveInvStd[j];
      let sumDy = 0;
      let sumDyXhat = 0;
      for (let i = 0; i < m; i++) {
        const g = dy[i * n + j];
        sumDy += g;
        sumDyXhat += g * (x[i * n + j] - mu) * inv;
      }
      this.dGamma[j] = sumDyXhat;
      this.dBeta[j] = sumDy;
      const k = this.gamma[j] * inv;
      for (let i = 0; i < m; i++) {
        const xhat = (x[i * n + j] - mu) * inv;
        const f = w[i] / W;
        this.dx[i * n + j] = k * (dy[i * n + j] - f * sumDy - xhat * f * sumDyXhat);
      }
    }
  }
}

/** Rows of positive weight among the first m. */
function positiveRows(w: Float32Array, m: number): number {
  let k = 0;
  for (let i = 0; i < m && k < 2; i++) if (w[i] > 0) k++;
  return k;
}
