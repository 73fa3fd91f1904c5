// Diverged training (a huge learning rate or initial weight scale) is a ConfigError saying where it diverged and
// what to lower; it was 'metrics: score 0 is NaN' from the validation metrics, naming neither training nor a cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexSpec } from '../../../src/embedding/config.js';
import type { ModelConfig } from '../../../src/models/config.js';
import { Trainer } from '../../../src/train/trainer.js';
import { handleError } from '../../../src/cli/handle-error.js';
import { plantedTask } from './planted-data.js';

const HASH: IndexSpec = { method: 'hash', rows: 64 };
const config = (initStd: number, arch: ModelConfig['arch'] = 'dnn'): ModelConfig => ({ arch, dim: 4, mlp: [8], numDense: 1, seed: 3, initStd, fields: [0, 1, 2, 3].map(() => ({ index: HASH, fusion: 'sum' as const })) });
const task = plantedTask({ seed: 7, nTrain: 600, nValid: 200, nTest: 200, numDense: 1 });
const DIVERGED = /^training diverged at epoch 1 step \d+ \((loss (NaN|Infinity|-Infinity)|the model scores NaN)\); lower the learning rate \(lr\) or the initial weight scale \(initStd\)$/;

test('a huge SGD learning rate: fit throws a ConfigError naming the epoch, the step and the cause', async () => {
  const trainer = await Trainer.create(config(0.01), { batchSize: 64, epochs: 2, seed: 1, optim: { lr: 1e30, embeddingOptimizer: 'sgd' } });
  try {
    await assert.rejects(trainer.fit(task.train, task.valid), (e: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(e.name, 'ConfigError');
      assert.match(e.message, DIVERGED);
      assert.equal(e.details?.diverged, true);
      return true;
    });
  } finally {
    await trainer.dispose();
  }
});

test('a huge initial weight scale diverges at the first step (DeepFM: its FM term overflows to NaN)', async () => {
  const trainer = await Trainer.create(config(1e30, 'deepfm'), { batchSize: 64, epochs: 1, seed: 1 });
  try {
    await assert.rejects(trainer.fit(task.train, task.valid), (e: Error) => e.name === 'ConfigError' && DIVERGED.test(e.message) && /step 1 /.test(e.message));
  } finally {
    await trainer.dispose();
  }
});

test('evaluate on NaN weights: the same error, not a metrics error; the CLI words it with its flags', async () => {
  const trainer = await Trainer.create(config(0.01), { batchSize: 64, epochs: 1, seed: 1 });
  try {
    for (const p of trainer.model.parameters()) p.data.fill(NaN);
    let err: unknown;
    await trainer.evaluate(task.test).catch((e: unknown) => (err = e));
    assert.match((err as Error).message, /^training diverged at epoch 1 step 0 \(the model scores NaN\); lower the learning rate/);
    let out = '';
    const before = process.exitCode;
    handleError(err, { write: (s: string) => (out += s) });
    assert.equal(process.exitCode, 2);
    process.exitCode = before;
    assert.equal(out, 'bhembed: training diverged at epoch 1 step 0 (the model scores NaN); lower --lr or --init-std\n');
  } finally {
    await trainer.dispose();
  }
});

test('normal training is not affected', async () => {
  const trainer = await Trainer.create(config(0.01), { batchSize: 64, epochs: 1, seed: 1, optim: { lr: 0.01 } });
  try {
    const r = await trainer.fit(task.train, task.valid);
    assert.ok(Number.isFinite(r.trainLoss) && r.best !== null && r.best.auc > 0.5);
  } finally {
    await trainer.dispose();
  }
});
