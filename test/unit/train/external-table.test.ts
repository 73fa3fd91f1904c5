// Training with the embedding tables OUTSIDE the WASM memory (kernels/external-table.ts), forced with
// heapTableBytes 0: per step the batch's rows are copied into a compact working table and the optimizer copies rows
// and state in and out. With 1 and 2 threads (workers attach to the outside table) and each row-wise optimizer, a
// DeepFM (emb + linear tables; BH, hashed and weighted-fusion fields) ends with exactly the weights and test
// predictions of the same run with the tables in the WASM memory. A mid-run checkpoint resumes to the same weights
// (either layout into either), a model file written and read in small pieces predicts the same, and a table larger
// than the machine's memory is refused with one clear line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isBhembedError } from '../../../src/core/errors.js';
import { MemorySource } from '../../../src/data/batches/memory.js';
import { WasmOps } from '../../../src/kernels/wasm.js';
import type { ModelConfig } from '../../../src/models/config.js';
import { readModelFile, writeModelFile } from '../../../src/models/model-file.js';
import { createModel } from '../../../src/models/registry.js';
import { modelTensors } from '../../../src/train/checkpoint.js';
import { Trainer, type TrainerCheckpoint, type TrainerOptions } from '../../../src/train/trainer.js';
import { tempDir } from '../../temp-dir.js';
import { plantedTask } from './planted-data.js';

const CONFIG: ModelConfig = {
  arch: 'deepfm',
  dim: 8,
  mlp: [16],
  numDense: 1,
  seed: 3,
  initStd: 0.1,
  fields: [
    { index: { method: 'bh', codeBits: 8, blockBits: 2, strategy: 'succession' } },
    { index: { method: 'hash', rows: 50 } },
    { index: { method: 'hash', rows: 40 }, fusion: 'weighted' },
    { index: { method: 'bh', codeBits: 8, blockBits: 3, strategy: 'skip' } },
  ],
};
const task = plantedTask({ seed: 42, nTrain: 2000, nValid: 300, nTest: 400 });

export async function externalRun(heapTableBytes: number | undefined, opts: TrainerOptions): Promise<{ params: Float32Array[]; preds: Float32Array; external: boolean[] }> {
  const ops = await WasmOps.create({ initialBytes: 16 << 20, heapTableBytes });
  const tr = await Trainer.create(CONFIG, { batchSize: 128, epochs: 2, seed: 5, earlyStopping: false, gemm: 'wasm', ops, ...opts });
  try {
    await tr.fit(task.train);
    const external = [tr.model.emb?.external === true, tr.model.lin?.external === true];
    return { params: tr.model.parameters().map((p) => p.data.slice()), preds: await tr.predict(task.test), external };
  } finally {
    await tr.dispose();
  }
}

for (const embeddingOptimizer of ['adam', 'adagrad', 'sgd'] as const) {
  for (const threads of [1, 2]) {
    test(`${embeddingOptimizer}, ${threads} thread(s): tables outside WASM memory train to the same weights and predictions bit for bit`, async () => {
      const optim = { lr: 0.01, embeddingLr: embeddingOptimizer === 'sgd' ? 0.5 : 0.02, embeddingOptimizer };
      const inside = await externalRun(undefined, { threads, optim });
      const outside = await externalRun(0, { threads, optim });
      assert.deepEqual(inside.external, [false, false]);
      assert.deepEqual(outside.external, [true, true]);
      assert.equal(inside.params.length, outside.params.length);
      inside.params.forEach((p, i) => assert.deepEqual(outside.params[i], p, `tensor ${i}`));
      assert.deepEqual(outside.preds, inside.preds);
      // It learned (the planted task is far from chance after two epochs).
      const mean = inside.preds.reduce((a, b) => a + b, 0) / inside.preds.length;
      assert.ok(inside.preds.some((p) => Math.abs(p - mean) > 0.2));
    });
  }
}

async function trainer(heapTableBytes: number | undefined, opts: TrainerOptions): Promise<Trainer> {
  const ops = await WasmOps.create({ initialBytes: 16 << 20, heapTableBytes });
  return Trainer.create(CONFIG, { batchSize: 128, epochs: 2, seed: 5, gemm: 'wasm', ops, optim: { lr: 0.01, embeddingOptimizer: 'adam' }, evalEvery: 5, earlyStopping: { patience: 3 }, ...opts });
}

const same = (a: Float32Array[], b: Float32Array[]): boolean => a.length === b.length && a.every((t, i) => t.length === b[i].length && t.every((v, j) => Object.is(v, b[i][j])));

test('resume from a mid-run checkpoint with the tables outside WASM memory: the uninterrupted weights bit for bit, either layout into either', async () => {
  const run = async (heap: number | undefined, resume?: TrainerCheckpoint): Promise<{ params: Float32Array[]; ck: TrainerCheckpoint | null }> => {
    let ck: TrainerCheckpoint | null = null;
    const tr = await trainer(heap, resume ? {} : { checkpointEvery: 1300, onCheckpoint: (c) => void (ck ??= c) });
    try {
      await tr.fit(new MemorySource(task.train, { shuffle: true, seed: 5 }), task.valid, resume ? { resume } : {});
      assert.equal(tr.model.emb?.external, heap === 0);
      return { params: tr.model.parameters().map((p) => p.data.slice()), ck };
    } finally {
      await tr.dispose();
    }
  };
  const inside = await run(undefined);
  const outside = await run(0);
  assert.ok(same(inside.params, outside.params));
  const ckIn = inside.ck as TrainerCheckpoint;
  const ckOut = outside.ck as TrainerCheckpoint;
  assert.ok(ckOut.tensors.some((t) => t.name === 'optim.emb.state2') && ckOut.tensors.some((t) => t.name.startsWith('best.')));
  ckIn.tensors.forEach((t, i) => assert.ok(same([t.data], [ckOut.tensors[i].data]), t.name));
  assert.ok(same((await run(0, ckOut)).params, inside.params), 'outside → outside');
  assert.ok(same((await run(0, ckIn)).params, inside.params), 'inside → outside');
  assert.ok(same((await run(undefined, ckOut)).params, inside.params), 'outside → inside');
});

test('a model with its tables outside WASM memory: its file, written and read in 4 KiB pieces, loads into an outside model that predicts the same', async () => {
  const a = await trainer(0, { epochs: 1, earlyStopping: false, evalEvery: 0 });
  const b = await trainer(0, { epochs: 1 });
  try {
    await a.fit(task.train);
    const path = join(tempDir(), 'outside.bhm');
    writeModelFile(path, a.model.config, { note: 'outside' }, modelTensors(a.model), { pieceBytes: 4096 });
    const file = readModelFile(path, { pieceBytes: 4096 });
    assert.ok(b.model.emb?.external && b.model.lin?.external);
    b.model.loadParameters(file.tensors);
    assert.ok(same(b.model.parameters().map((p) => p.data), a.model.parameters().map((p) => p.data)));
    const want = await a.predict(task.test);
    assert.deepEqual(await b.predict(task.test), want);
  } finally {
    await Promise.all([a.dispose(), b.dispose()]);
  }
});

test('a table larger than the machine can hold is refused with one line naming its size (no 4 GiB refusal below that)', async () => {
  const ops = await WasmOps.create({ initialBytes: 16 << 20 });
  // 2e9 rows × dim 64 = 477 GiB: far beyond any wasm32 memory, and beyond this machine's RAM.
  const cfg: ModelConfig = { arch: 'dnn', dim: 64, mlp: [4], seed: 1, fields: [{ index: { method: 'hash', rows: 2e9 } }] };
  assert.throws(
    () => createModel(cfg, { ops, maxBatch: 8 }),
    (e: unknown) => isBhembedError(e) && e.code === 'config.invalid' && /emb: a table of 2000000000 rows × dim 64: 476\.84 GiB could not be allocated .*machine's memory is the limit/.test(e.message) && !e.message.includes('\n'),
  );
});
