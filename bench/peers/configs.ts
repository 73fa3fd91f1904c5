// The peer-benchmark configurations, in one list shared by the exporter, the bhembed leg and the harness, so
// every leg reads the same model, data, batch, optimizer, lr and epochs.

import type { BhSpec } from '../../src/embedding/config.js';
import type { PeerArch, PeerMeta } from './dump.js';

export type PeerData = 'frappe' | 'synthetic-criteo';

export interface PeerConfig {
  name: string;
  data: PeerData;
  index: { method: 'full'; minCount: number } | BhSpec;
  arch: PeerArch;
  dim: number;
  mlp: number[];
  batch: number;
  lr: number;
  epochs: number;
  embeddingOptimizer: PeerMeta['optimizer']['embedding'];
  /** Synthetic sets only: rows per split. */
  synthetic?: { train: number; valid: number; test: number };
}

export const FRAPPE_DIR = '/work/shared/data/frappe';

const BH_T4: BhSpec = { method: 'bh', codeBits: 64, blockBits: 4, strategy: 'succession' };
const FULL = { method: 'full', minCount: 1 } as const;
const COMMON = { mlp: [400, 400, 400], batch: 4096, lr: 1e-3, embeddingOptimizer: 'sparse_adam' as const };

export const PEER_CONFIGS: PeerConfig[] = [
  { name: 'frappe-dnn-full', data: 'frappe', index: FULL, arch: 'dnn', dim: 10, epochs: 1, ...COMMON },
  { name: 'frappe-dnn-bh', data: 'frappe', index: BH_T4, arch: 'dnn', dim: 10, epochs: 1, ...COMMON },
  { name: 'frappe-deepfm-bh', data: 'frappe', index: BH_T4, arch: 'deepfm', dim: 10, epochs: 1, ...COMMON },
  {
    name: 'criteo-syn-dnn-full',
    data: 'synthetic-criteo',
    index: FULL,
    arch: 'dnn',
    dim: 16,
    epochs: 1,
    synthetic: { train: 2_000_000, valid: 100_000, test: 200_000 },
    ...COMMON,
  },
  {
    name: 'criteo-syn-dnn-bh',
    data: 'synthetic-criteo',
    index: BH_T4,
    arch: 'dnn',
    dim: 16,
    epochs: 1,
    synthetic: { train: 2_000_000, valid: 100_000, test: 200_000 },
    ...COMMON,
  },
];

/** --quick: the same configurations on a small slice, one epoch. */
export function quickConfig(c: PeerConfig): PeerConfig {
  return {
    ...c,
    epochs: 1,
    synthetic: c.synthetic ? { train: 60_000, valid: 5_000, test: 10_000 } : undefined,
  };
}

/** Row limits per split for --quick on real data. */
export const QUICK_LIMIT = { train: 40_000, valid: 5_000, test: 10_000 };

export const PEER_SEED = 20211101;
