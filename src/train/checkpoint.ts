// Save a trained CtrModel as a `.bhm` model file (format in models/model-file.ts; serve/predictor.ts loads it).
// Every tensor the model lists (dense weights, embedding tables, batch-norm running statistics) is stored by name,
// with the normalized model config (index specs and full vocabularies included) in the header, and the deep
// tower's calibrated input ranges (for precision 'int8-static') as one optional extra tensor.

import type { BatchBuffer } from '../core/batch.js';
import type { CtrModel } from '../models/ctr-model.js';
import type { ModelFileMeta, NamedTensor, WeightDtype } from '../models/model-file.js';
import { readModelFile, writeModelFile } from '../models/model-file.js';
import { appendRows, batchBufferOf, shapeOf, type Columns } from '../data/batches/columns.js';
import type { BatchSource } from '../data/batches/source.js';

export interface SaveModelOptions {
  /** float16 halves the file; predictions then differ slightly from the trained model's. @default 'float32' */
  dtype?: WeightDtype;
}

/**
 * The model's tensors as the file stores them (views, not copies), plus the deep tower's calibrated input ranges
 * when the model has them (always float32: they set the 'int8-static' activation scales).
 */
export function modelTensors(model: CtrModel): NamedTensor[] {
  const out: NamedTensor[] = model.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data }));
  const ranges = model.inputRangesTensor();
  if (ranges !== null) out.push({ ...ranges, dtype: 'float32' });
  return out;
}

/** Rows calibrateOnDataset samples at most. */
export const CALIBRATION_ROWS = 65_536;

/**
 * Records the deep tower's input ranges (CtrModel.calibrate) over up to maxRows rows of `ds`, evenly strided
 * over the whole set (row ⌊i·n/k⌋ for i < k, so a time-ordered file is sampled end to end), in batches of the
 * model's maxBatch. Does nothing for a model without a deep tower. The training pipeline runs it on the
 * training set before saving, so every saved model can be served with precision 'int8-static'.
 */
export async function calibrateOnDataset(model: CtrModel, ds: Columns, maxRows = CALIBRATION_ROWS): Promise<void> {
  if (model.mlp === null || ds.rows === 0) return;
  const k = Math.min(ds.rows, maxRows);
  const order = new Int32Array(k);
  for (let i = 0; i < k; i++) order[i] = Math.floor((i * ds.rows) / k);
  const B = model.maxBatch;
  const buf = batchBufferOf(shapeOf(ds), B);
  async function* batches(): AsyncGenerator<BatchBuffer> {
    for (let s = 0; s < k; s += B) {
      buf.size = 0;
      appendRows(ds, order, s, Math.min(B, k - s), buf);
      yield buf;
    }
  }
  await model.calibrate(batches());
}

/**
 * The same for a source that is not held in memory: the first maxRows rows of one pass (a stream cannot be
 * strided without reading it all; a shuffled stream's first rows are spread over its shuffle buffer).
 */
export async function calibrateOnSource(model: CtrModel, src: BatchSource, maxRows = CALIBRATION_ROWS): Promise<void> {
  if (model.mlp === null) return;
  const B = model.maxBatch;
  const buf = batchBufferOf(src.shape, B);
  async function* batches(): AsyncGenerator<BatchBuffer> {
    let done = 0;
    while (done < maxRows) {
      const n = await src.next(buf, Math.min(B, maxRows - done));
      if (n === 0) return;
      done += n;
      yield buf;
    }
  }
  await model.calibrate(batches());
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
