// Shared by the int8 and int8-static Predictor tests: a small BH DNN whose weights are spread (as training would
// spread them) so its scores carry a real ranking, and the model-file meta that lets a Predictor open CSV data.

import { Rng } from '../src/core/rng.js';
import type { Ops } from '../src/kernels/index.js';
import type { CtrModel } from '../src/models/ctr-model.js';
import type { ModelFileMeta } from '../src/models/model-file.js';
import { createModel } from '../src/models/registry.js';

/** A DNN (dim 8, MLP 64-64) over `fields` BH fields named f0…, weights spread with N(0, 0.3²) / N(0, 0.15²) noise. */
export function spreadDnn(ops: Ops, fields: number, maxBatch: number, rng: Rng): CtrModel {
  const config = {
    arch: 'dnn' as const,
    dim: 8,
    mlp: [64, 64],
    seed: 21,
    fields: Array.from({ length: fields }, (_, f) => ({ name: `f${f}`, index: { method: 'bh' as const, codeBits: 16, blockBits: 4, strategy: 'succession' as const } })),
  };
  const model = createModel(config, { ops, maxBatch });
  for (const p of model.parameters()) {
    const s = p.name.includes('emb') ? 0.3 : 0.15;
    for (let i = 0; i < p.data.length; i++) p.data[i] += s * rng.normal();
  }
  return model;
}

/** Model-file meta for spreadDnn's fields read as CSV columns f0…. */
export function csvMeta(fields: number, opsName: string, evalBatch: number): ModelFileMeta {
  return {
    bhembed: 'test',
    data: { format: 'csv', fieldNames: Array.from({ length: fields }, (_, f) => `f${f}`), denseNames: [], reader: {} },
    engine: { ops: opsName, gemm: 'auto' },
    evalBatch,
    embedding: { method: 'bh', dim: 8, fields: [] },
  };
}
