// Training with the embedding tables' optimizer state in row shards (kernels/row-state.ts), forced with a tiny
// stateShardBytes: one and two threads (the workers attach to the shard memories) end with exactly the weights of
// the same run with the state in the main memory, for a DeepFM (emb + linear tables) under lazy Adam and Adagrad.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexSpec } from '../../../src/embedding/config.js';
import { stateRowsPerShard } from '../../../src/kernels/row-state.js';
import { WasmOps } from '../../../src/kernels/wasm.js';
import type { ModelConfig } from '../../../src/models/config.js';
import { Trainer, type TrainerOptions } from '../../../src/train/trainer.js';
import { plantedTask } from './planted-data.js';

const HASH: IndexSpec = { method: 'hash', rows: 50 };
const CONFIG: ModelConfig = { arch: 'deepfm', dim: 8, mlp: [16], numDense: 1, seed: 3, initStd: 0.1, fields: [0, 1, 2, 3].map(() => ({ index: HASH })) };
const task = plantedTask({ seed: 42, nTrain: 3000, nValid: 500, nTest: 500 });

async function run(stateShardBytes: number | undefined, opts: TrainerOptions): Promise<{ params: Float32Array[]; shards: number[] }> {
  const ops = await WasmOps.create({ initialBytes: 16 << 20, stateShardBytes });
  const tr = await Trainer.create(CONFIG, { batchSize: 128, epochs: 2, seed: 5, earlyStopping: false, gemm: 'wasm', ops, ...opts });
  try {
    await tr.fit(task.train);
    const state = tr.model.sharedState().sparseState;
    const shards = ['emb', 'linear'].map((k) => state[k].rows?.shards.length ?? 0);
    return { params: tr.model.parameters().map((p) => p.data.slice()), shards };
  } finally {
    await tr.close();
  }
}

for (const embeddingOptimizer of ['adam', 'adagrad'] as const) {
  for (const threads of [1, 2]) {
    test(`${embeddingOptimizer}, ${threads} thread(s): sharded optimizer state trains to the same weights bit for bit`, async () => {
      const optim = { lr: 0.01, embeddingOptimizer };
      const one = await run(undefined, { threads, optim });
      // 200 table rows (4 fields × 50) in shards of 96 bytes: 1 (Adam) or 3 (Adagrad) rows at dim 8, 12 or 16 at dim 1.
      const sharded = await run(96, { threads, optim });
      assert.deepEqual(one.shards, [0, 0]);
      const perRow = embeddingOptimizer === 'adam' ? 2 : 1;
      assert.deepEqual(sharded.shards, [Math.ceil(200 / stateRowsPerShard(96, 8, perRow)), Math.ceil(200 / stateRowsPerShard(96, 1, perRow))]);
      assert.ok(sharded.shards.every((n) => n >= 8));
      assert.equal(one.params.length, sharded.params.length);
      one.params.forEach((p, i) => assert.deepEqual(sharded.params[i], p, `tensor ${i}`));
      // It trained: the embedding table moved from its initialization.
      const fresh = await Trainer.create(CONFIG, { batchSize: 128, engine: 'wasm', gemm: 'wasm' });
      const t0 = fresh.model.parameters().find((p) => p.name === 'emb.table')?.data;
      const t1 = sharded.params[fresh.model.parameters().findIndex((p) => p.name === 'emb.table')];
      assert.ok(t0 !== undefined && t1.some((v, j) => v !== t0[j]));
      await fresh.dispose();
    });
  }
}
