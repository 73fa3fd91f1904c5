// Architecture name → the parts it sums into its logit, and createModel, the one way to build a model from a
// plain ModelConfig. A new architecture adds one file and one line here.

import { createIndexer } from '../embedding/registry.js';
import { normalizeModelConfig, type Arch, type ModelConfig } from './config.js';
import { CtrModel, type ArchParts, type ModelDeps } from './ctr-model.js';
import { DCNV2_PARTS } from './dcnv2.js';
import { DEEPFM_PARTS } from './deepfm.js';
import { DNN_PARTS } from './dnn.js';
import { FM_PARTS } from './fm.js';
import { LR_PARTS } from './lr.js';
import { WDL_PARTS } from './wdl.js';

export const ARCH_PARTS: Record<Arch, ArchParts> = {
  lr: LR_PARTS,
  fm: FM_PARTS,
  dnn: DNN_PARTS,
  wdl: WDL_PARTS,
  deepfm: DEEPFM_PARTS,
  dcnv2: DCNV2_PARTS,
};

/**
 * Build a model from its plain config.
 * @example
 * const ops = await createOps('auto');
 * const model = createModel({ arch: 'deepfm', dim: 8, mlp: [64, 32], fields: [{ index: { method: 'bh', codeBits: 32, blockBits: 8, strategy: 'succession' } }] }, { ops, maxBatch: 512 });
 * const loss = await model.trainStep(batch); const p = await model.predict(batch);
 */
export function createModel(config: ModelConfig, deps: ModelDeps): CtrModel {
  const c = normalizeModelConfig(config);
  const indexers = deps.indexers ?? c.fields.map((f) => createIndexer(f.index));
  return new CtrModel(c, ARCH_PARTS[c.arch], indexers, deps);
}
