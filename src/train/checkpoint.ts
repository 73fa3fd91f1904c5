// Save a trained CtrModel as a `.bhm` model file (format in models/model-file.ts; serve/predictor.ts loads it).
// Every tensor the model lists (dense weights, embedding tables, batch-norm running statistics) is stored by name,
// with the normalized model config (index specs and full vocabularies included) in the header.

import type { CtrModel } from '../models/ctr-model.js';
import type { ModelFileMeta, NamedTensor, WeightDtype } from '../models/model-file.js';
import { readModelFile, writeModelFile } from '../models/model-file.js';

export interface SaveModelOptions {
  /** float16 halves the file; predictions then differ slightly from the trained model's. @default 'float32' */
  dtype?: WeightDtype;
}

/** The model's tensors as the file stores them (views, not copies). */
export function modelTensors(model: CtrModel): NamedTensor[] {
  return model.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data }));
}

/**
 * Write `model` atomically to `path`. Returns the file size in bytes.
 * @example
 * saveModel('model.bhm', trainer.model, meta);
 */
export function saveModel(path: string, model: CtrModel, meta: ModelFileMeta, opts: SaveModelOptions = {}): number {
  return writeModelFile(path, model.config, meta, modelTensors(model), { dtype: opts.dtype ?? 'float32' });
}

/** Copy a model file's weights into a model built from the same config (e.g. to resume or fine-tune). */
export function loadModelWeights(path: string, model: CtrModel): ModelFileMeta {
  const file = readModelFile(path);
  model.loadParameters(file.tensors);
  return file.meta as unknown as ModelFileMeta;
}
