// Every architecture learns the planted task to at least 90 % of the Bayes-optimal AUC's distance from 0.5
// (the teacher's own probabilities on the 10 000 test rows give the optimum). LR cannot represent the pairwise
// terms (it reaches ≈ 0.83 of the gain on that task, which shows the task needs them), so LR is held to the same
// teacher without pairwise terms. 20 000 training rows, ≤ 10 epochs, WASM backend when available (≈ 2 s/model).
// Also: early stopping restores the best weights.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexSpec } from '../../../src/embedding/config.js';
import { ARCHS, type Arch, type ModelConfig } from '../../../src/models/config.js';
import { auc } from '../../../src/train/metrics.js';
import { Trainer } from '../../../src/train/trainer.js';
import { plantedTask } from './planted-data.js';

// One block of 7 bits: a lossless index for ≤ 128 values, so every model can represent the teacher's per-value terms.
const BH: IndexSpec = { method: 'bh', codeBits: 7, blockBits: 7, strategy: 'succession', dense: true };

function config(arch: Arch, numDense: number): ModelConfig {
  return { arch, dim: 8, mlp: [64, 32], crossLayers: 2, numDense, seed: 3, initStd: 0.1, fields: [0, 1, 2, 3].map(() => ({ index: BH, fusion: 'sum' as const })) };
}

const TASK = { seed: 42, nTrain: 20000, nValid: 4000, nTest: 10000, pairStd: 0.6 };

const results: Record<string, { model: number; bayes: number }> = {};

for (const arch of ARCHS) {
  test(`${arch} reaches ≥ 0.9 × the Bayes-optimal AUC gain on the planted task`, async () => {
    const task = plantedTask({ ...TASK, pairStd: arch === 'lr' ? 0 : TASK.pairStd });
    const bayes = auc(task.testProbs, task.test.labels);
    // DCN-v2's D×D cross matrices overfit 20k rows without a little weight decay.
    const optim = { lr: 0.01, weightDecay: arch === 'dcnv2' ? 1e-3 : 0 };
    const trainer = await Trainer.create(config(arch, 1), { batchSize: 256, epochs: 10, seed: 5, optim, earlyStopping: { patience: 3 } });
    const fit = await trainer.fit(task.train, task.valid);
    const r = await trainer.evaluate(task.test);
    await trainer.close();
    results[arch] = { model: r.auc, bayes };
    assert.ok(fit.best !== null);
    assert.ok(r.auc - 0.5 >= 0.9 * (bayes - 0.5), `${arch}: AUC ${r.auc.toFixed(4)} vs Bayes ${bayes.toFixed(4)} (need ${(0.5 + 0.9 * (bayes - 0.5)).toFixed(4)})`);
  });
}

test('the planted pairwise terms matter: LR stays below 0.9 of the Bayes gain on the full task', async () => {
  const task = plantedTask(TASK);
  const bayes = auc(task.testProbs, task.test.labels);
  const trainer = await Trainer.create(config('lr', 1), { batchSize: 256, epochs: 10, seed: 5, optim: { lr: 0.01 }, earlyStopping: { patience: 3 } });
  await trainer.fit(task.train, task.valid);
  const r = await trainer.evaluate(task.test);
  results['lr (pairwise task)'] = { model: r.auc, bayes };
  assert.ok(r.auc - 0.5 < 0.9 * (bayes - 0.5), `LR ${r.auc} should not reach the bar on a task with interactions`);
});

test('early stopping keeps the best validation weights', async () => {
  const task = plantedTask({ seed: 7, nTrain: 1500, nValid: 1000 });
  // A large learning rate overfits quickly, so validation AUC peaks early.
  const trainer = await Trainer.create(config('dnn', 1), { batchSize: 64, epochs: 12, seed: 1, optim: { lr: 0.05 }, earlyStopping: { patience: 2 } });
  const fit = await trainer.fit(task.train, task.valid);
  const again = await trainer.evaluate(task.valid);
  await trainer.close();
  assert.ok(fit.best !== null);
  const bestAuc = Math.max(...fit.history.map((h) => h.auc));
  assert.equal(fit.best.auc, bestAuc);
  assert.equal(again.auc, bestAuc, 'restored weights reproduce the best validation AUC');
  if (fit.stoppedEarly) assert.ok(fit.epochs < 12);
});

test.after(() => {
  const rows = Object.entries(results).map(([a, r]) => `${a}: ${r.model.toFixed(4)} / Bayes ${r.bayes.toFixed(4)}`);
  if (rows.length > 0) process.stdout.write(`# planted AUC: ${rows.join('; ')}\n`);
});
