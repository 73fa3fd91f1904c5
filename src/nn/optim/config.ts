// Optimizer settings as plain JSON (they travel to worker threads and into model-file metadata).

import { TRAINING_DEFAULTS } from '../../core/defaults.js';
import { ConfigError } from '../../core/errors.js';

export type SparseOptimizerKind = 'adam' | 'adagrad' | 'sgd';
export const SPARSE_OPTIMIZERS: readonly SparseOptimizerKind[] = ['adam', 'adagrad', 'sgd'];

export interface OptimConfig {
  /** Dense Adam learning rate. @default 0.001 */
  lr?: number;
  /** L2 weight decay on dense weight matrices (not biases, BN or block weights). @default 0 */
  weightDecay?: number;
  /** Row-wise optimizer for embedding tables. @default 'adam' (lazy Adam) */
  embeddingOptimizer?: SparseOptimizerKind;
  /** Embedding learning rate. @default same as lr */
  embeddingLr?: number;
  /** L2 on the embedding rows a batch touches (g ← g + l2·w). @default 0 */
  embeddingL2?: number;
  /** @default 0.9 */
  beta1?: number;
  /** @default 0.999 */
  beta2?: number;
  /** @default 1e-8 */
  eps?: number;
}

export type NormalizedOptimConfig = Required<OptimConfig>;

export function normalizeOptim(c: OptimConfig = {}): NormalizedOptimConfig {
  const lr = c.lr ?? TRAINING_DEFAULTS.lr;
  const out: NormalizedOptimConfig = {
    lr,
    weightDecay: c.weightDecay ?? 0,
    embeddingOptimizer: c.embeddingOptimizer ?? 'adam',
    embeddingLr: c.embeddingLr ?? lr,
    embeddingL2: c.embeddingL2 ?? 0,
    beta1: c.beta1 ?? 0.9,
    beta2: c.beta2 ?? 0.999,
    eps: c.eps ?? 1e-8,
  };
  if (!SPARSE_OPTIMIZERS.includes(out.embeddingOptimizer)) {
    throw new ConfigError(`embeddingOptimizer: '${String(out.embeddingOptimizer)}' is not one of ${SPARSE_OPTIMIZERS.join(' | ')}`, { key: 'embeddingOptimizer' });
  }
  for (const k of ['lr', 'embeddingLr'] as const) {
    if (!(out[k] > 0) || !Number.isFinite(out[k])) throw new ConfigError(`${k}: must be a positive number, got ${String(out[k])}`, { key: k });
  }
  for (const k of ['weightDecay', 'embeddingL2'] as const) {
    if (!(out[k] >= 0) || !Number.isFinite(out[k])) throw new ConfigError(`${k}: must be ≥ 0, got ${String(out[k])}`, { key: k });
  }
  return out;
}
