// What every layer is built with: the compute backend, the dense GEMM provider and the largest batch, so that
// layers preallocate their activations once and allocate nothing per batch.

import type { GemmProvider, Ops } from '../kernels/ops.js';

export interface LayerContext {
  ops: Ops;
  gemm: GemmProvider;
  /** Largest batch any forward will see; activations are sized for it. */
  maxBatch: number;
}

/** Run a GEMM that may be synchronous (WASM, reference) or asynchronous (onnxruntime) without an extra tick when sync. */
export function runGemm(
  ctx: LayerContext,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  b: Float32Array,
  beta: number,
  c: Float32Array,
): void | Promise<void> {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    // op(A)·op(B) is empty: C = beta·C.
    const len = m * n;
    if (beta === 0) c.fill(0, 0, len);
    else for (let i = 0; i < len; i++) c[i] *= beta;
    return;
  }
  return ctx.gemm.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
}
