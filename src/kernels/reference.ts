// Plain-TypeScript implementation of every op in ops.ts: straightforward loops, no tricks.
// It is the oracle the WASM kernels are tested against and the baseline the engine benchmark divides by,
// so it must stay obviously correct rather than fast. Conventions that ops.ts leaves open are fixed here
// (and the WASM kernels follow them): see the notes on dropoutMask, batchNormTrain and the optimizers.

import type { BackendName, Ops } from './ops.js';

/**
 * Counter-based uniform in [0, 1) for dropout: element i of the stream keyed by seed.
 * murmur3's fmix32 over (i·0x9E3779B1 + seed·0x85EBCA77), top 24 bits. Shared with the WASM kernel bit for bit.
 */
export function dropoutUniform(seed: number, i: number): number {
  let h = (Math.imul(i, 0x9e3779b1) + Math.imul(seed | 0, 0x85ebca77)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 8) / 16777216;
}

/**
 * The reference backend.
 * @example
 * const ops = new ReferenceOps();
 * const x = ops.allocF32(4); ops.relu(x, x, 4);
 */
export class ReferenceOps implements Ops {
  readonly name: BackendName = 'reference';

  allocF32(n: number): Float32Array {
    return new Float32Array(n);
  }

  allocI32(n: number): Int32Array {
    return new Int32Array(n);
  }

  /** Garbage collection does the work. */
  free(_a: Float32Array | Int32Array): void {}

  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[p * m + i] : a[i * k + p];
          const bv = transB ? b[j * k + p] : b[p * n + j];
          s += av * bv;
        }
        c[i * n + j] = beta === 0 ? alpha * s : alpha * s + beta * c[i * n + j];
      }
    }
  }

  addRowVector(y: Float32Array, v: Float32Array, m: number, n: number): void {
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] += v[j];
  }

  sumRows(x: Float32Array, m: number, n: number, out: Float32Array, accumulate: boolean): void {
    for (let j = 0; j < n; j++) {
      let s = accumulate ? out[j] : 0;
      for (let i = 0; i < m; i++) s += x[i * n + j];
      out[j] = s;
    }
  }

  relu(x: Float32Array, y: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
  }

  reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
  }

  sigmoid(x: Float32Array, y: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const z = x[i];
      // Two branches so that exp never overflows.
      if (z >= 0) y[i] = 1 / (1 + Math.exp(-z));
      else {
        const e = Math.exp(z);
        y[i] = e / (1 + e);
      }
    }
  }

  mul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
  }

  axpy(alpha: number, x: Float32Array, y: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) y[i] += alpha * x[i];
  }

  /** Keeps element i when dropoutUniform(seed, i) ≥ p. p ≥ 1 drops everything. */
  dropoutMask(mask: Float32Array, n: number, p: number, seed: number): void {
    const keep = p >= 1 ? 0 : Math.fround(1 / (1 - p));
    for (let i = 0; i < n; i++) mask[i] = dropoutUniform(seed, i) >= p ? keep : 0;
  }

  bceWithLogits(logits: Float32Array, labels: Float32Array, n: number, dlogits: Float32Array, scale: number): number {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = logits[i];
      const y = labels[i];
      // max(z,0) − z·y + log(1 + e^−|z|)
      total += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      const s = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
      dlogits[i] = scale * (s - y);
    }
    return total;
  }

  /**
   * Normalizes with the biased batch variance; running stats follow PyTorch:
   * run ← (1 − momentum)·run + momentum·batch, with the unbiased variance (m/(m−1)) for runVar (biased when m = 1).
   */
  batchNormTrain(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, momentum: number, eps: number, y: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += x[i * n + j];
      const mu = s / m;
      let ss = 0;
      for (let i = 0; i < m; i++) {
        const d = x[i * n + j] - mu;
        ss += d * d;
      }
      const variance = ss / m;
      const inv = 1 / Math.sqrt(variance + eps);
      for (let i = 0; i < m; i++) y[i * n + j] = gamma[j] * (x[i * n + j] - mu) * inv + beta[j];
      saveMean[j] = mu;
      saveInvStd[j] = inv;
      const unbiased = m > 1 ? (ss / (m - 1)) : variance;
      runMean[j] = (1 - momentum) * runMean[j] + momentum * mu;
      runVar[j] = (1 - momentum) * runVar[j] + momentum * unbiased;
    }
  }

  batchNormInfer(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, eps: number, y: Float32Array): void {
    for (let j = 0; j < n; j++) {
      const inv = 1 / Math.sqrt(runVar[j] + eps);
      for (let i = 0; i < m; i++) y[i * n + j] = gamma[j] * (x[i * n + j] - runMean[j]) * inv + beta[j];
    }
  }

  batchNormBackward(x: Float32Array, dy: Float32Array, m: number, n: number, gamma: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void {
    for (let j = 0; j < n; j++) {
      const mu = saveMean[j];
      const inv = saveInvStd[j];
      let sumDy = 0;
      let sumDyXhat = 0;
      for (let i = 0; i < m; i++) {
        const g = dy[i * n + j];
        sumDy += g;
        sumDyXhat += g * (x[i * n + j] - mu) * inv;
      }
      // dx = γ·inv/m · (m·dy − Σdy − x̂·Σ(dy·x̂))
      const c = (gamma[j] * inv) / m;
      for (let i = 0; i < m; i++) {
        const xhat = (x[i * n + j] - mu) * inv;
        dx[i * n + j] = c * (m * dy[i * n + j] - sumDy - xhat * sumDyXhat);
      }
      dGamma[j] += sumDyXhat;
      dBeta[j] += sumDy;
    }
  }

  embeddingBagForward(table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, out: Float32Array): void {
    for (let s = 0; s < nSeg; s++) {
      const lo = offsets[s];
      const hi = offsets[s + 1];
      const o = s * dim;
      for (let j = 0; j < dim; j++) out[o + j] = 0;
      for (let i = lo; i < hi; i++) {
        const w = weights === null ? 1 : weights[i];
        const r = rows[i] * dim;
        for (let j = 0; j < dim; j++) out[o + j] += w * table[r + j];
      }
      if (mean && hi > lo) {
        const inv = 1 / (hi - lo);
        for (let j = 0; j < dim; j++) out[o + j] *= inv;
      }
    }
  }

  embeddingBagBackward(dOut: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, slot: Int32Array, uniqueRows: Int32Array, gradRows: Float32Array): number {
    let u = 0;
    for (let s = 0; s < nSeg; s++) {
      const lo = offsets[s];
      const hi = offsets[s + 1];
      const segScale = mean && hi > lo ? 1 / (hi - lo) : 1;
      for (let i = lo; i < hi; i++) {
        const r = rows[i];
        let k = slot[r];
        if (k < 0) {
          k = u++;
          slot[r] = k;
          uniqueRows[k] = r;
          for (let j = 0; j < dim; j++) gradRows[k * dim + j] = 0;
        }
        const w = (weights === null ? 1 : weights[i]) * segScale;
        for (let j = 0; j < dim; j++) gradRows[k * dim + j] += w * dOut[s * dim + j];
      }
    }
    for (let k = 0; k < u; k++) slot[uniqueRows[k]] = -1;
    return u;
  }

  embeddingBagWeightGrad(dOut: Float32Array, table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, mean: boolean, dWeights: Float32Array): void {
    for (let s = 0; s < nSeg; s++) {
      const lo = offsets[s];
      const hi = offsets[s + 1];
      const segScale = mean && hi > lo ? 1 / (hi - lo) : 1;
      for (let i = lo; i < hi; i++) {
        const r = rows[i] * dim;
        let d = 0;
        for (let j = 0; j < dim; j++) d += dOut[s * dim + j] * table[r + j];
        dWeights[i] = d * segScale;
      }
    }
  }

  bhRows(ids: Int32Array, n: number, blocks: Int32Array, K: number, out: Int32Array, outStride: number, outOffset: number): void {
    for (let b = 0; b < n; b++) {
      const lo = ids[2 * b] >>> 0;
      const hi = ids[2 * b + 1] >>> 0;
      for (let k = 0; k < K; k++) {
        const s = blocks[3 * k];
        // The 32 code bits starting at bit s (JS shifts count mod 32, so s = 0 and s ≥ 32 are their own cases).
        const bits = s === 0 ? lo : s >= 32 ? hi >>> (s - 32) : (lo >>> s) | (hi << (32 - s));
        out[b * outStride + outOffset + k] = blocks[3 * k + 2] + ((bits & blocks[3 * k + 1]) >>> 0);
      }
    }
  }

  sparseGradMerge(dim: number, rows: Int32Array, grad: Float32Array, u: number, mod: number, rem: number, slot: Int32Array, outRows: Int32Array, outGrad: Float32Array, count: number): number {
    for (let k = 0; k < u; k++) {
      const r = rows[k];
      if (mod > 1 && (r >> 4) % mod !== rem) continue;
      let s = slot[r];
      if (s < 0) {
        s = count++;
        slot[r] = s;
        outRows[s] = r;
        for (let j = 0; j < dim; j++) outGrad[s * dim + j] = grad[k * dim + j];
      } else for (let j = 0; j < dim; j++) outGrad[s * dim + j] += grad[k * dim + j];
    }
    return count;
  }

  sparseSgd(table: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number): void {
    for (let k = 0; k < u; k++) {
      const r = rows[k] * dim;
      for (let j = 0; j < dim; j++) {
        const g = grad[k * dim + j] + l2 * table[r + j];
        table[r + j] -= lr * g;
      }
    }
  }

  sparseAdagrad(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void {
    for (let k = 0; k < u; k++) {
      const r = rows[k] * dim;
      for (let j = 0; j < dim; j++) {
        const g = grad[k * dim + j] + l2 * table[r + j];
        acc[r + j] += g * g;
        table[r + j] -= (lr * g) / (Math.sqrt(acc[r + j]) + eps);
      }
    }
  }

  /** Bias correction: m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t); w −= lr·m̂/(√v̂ + eps). */
  sparseAdam(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void {
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2 = 1 - Math.pow(beta2, step);
    for (let k = 0; k < u; k++) {
      const r = rows[k] * dim;
      for (let j = 0; j < dim; j++) {
        const g = grad[k * dim + j] + l2 * table[r + j];
        m[r + j] = beta1 * m[r + j] + (1 - beta1) * g;
        v[r + j] = beta2 * v[r + j] + (1 - beta2) * g * g;
        table[r + j] -= (lr * (m[r + j] / bc1)) / (Math.sqrt(v[r + j] / bc2) + eps);
      }
    }
  }

  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number, eps: number, wd: number, step: number): void {
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2 = 1 - Math.pow(beta2, step);
    for (let i = 0; i < n; i++) {
      const gi = g[i] + wd * w[i];
      m[i] = beta1 * m[i] + (1 - beta1) * gi;
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
      w[i] -= (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
    }
  }

  fmForward(x: Float32Array, b: number, f: number, d: number, out: Float32Array): void {
    for (let i = 0; i < b; i++) {
      let total = 0;
      for (let k = 0; k < d; k++) {
        let s = 0;
        let sq = 0;
        for (let j = 0; j < f; j++) {
          const t = x[(i * f + j) * d + k];
          s += t;
          sq += t * t;
        }
        total += s * s - sq;
      }
      out[i] = 0.5 * total;
    }
  }

  fmBackward(x: Float32Array, dOut: Float32Array, b: number, f: number, d: number, dx: Float32Array): void {
    for (let i = 0; i < b; i++) {
      for (let k = 0; k < d; k++) {
        let s = 0;
        for (let j = 0; j < f; j++) s += x[(i * f + j) * d + k];
        for (let j = 0; j < f; j++) {
          const idx = (i * f + j) * d + k;
          dx[idx] += dOut[i] * (s - x[idx]);
        }
      }
    }
  }

  crossForward(x0: Float32Array, u: Float32Array, xl: Float32Array, out: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = x0[i] * u[i] + xl[i];
  }

  crossBackward(x0: Float32Array, u: Float32Array, dOut: Float32Array, dU: Float32Array, dX0: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const g = dOut[i];
      const ui = u[i]; // read before dU is written, so dU may alias u
      dU[i] = g * x0[i];
      dX0[i] += g * ui;
    }
  }
}
