// Binary cross-entropy on logits, the CTR loss. A thin, named wrapper over the backend op so models and the
// trainer agree on the scale convention: gradients are of Σ loss · scale (scale = 1/B for a batch mean).

import type { Ops } from '../kernels/ops.js';

/** Returns Σ_i loss_i over n samples and writes dlogits[i] = scale·(σ(z_i) − y_i). */
export function bceWithLogits(ops: Ops, logits: Float32Array, labels: Float32Array, n: number, dlogits: Float32Array, scale: number): number {
  if (n === 0) return 0;
  return ops.bceWithLogits(logits, labels, n, dlogits, scale);
}
