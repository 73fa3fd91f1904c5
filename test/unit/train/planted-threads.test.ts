// DNN and DeepFM learn the planted task on 2 threads (data parallel over worker_threads, Hogwild embedding rows)
// to the same bar as on 1 thread: ≥ 90 % of the Bayes-optimal AUC's distance from 0.5 on held-out rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexSpec } from '../../../src/embedding/config.js';
import type { Arch, ModelConfig } from '../../../src/models/config.js';
import { auc } from '../../../src/train/metrics.js';
import { Trainer } from '../../../src/train/trainer.js';
import { plantedTask } from './planted-data.js';

const BH: IndexSpec = { method: 'bh', codeBits: 7, blockBits: 7, strategy: 'succession', dense: true };
const TASK = { seed: 42, nTrain: 20000, nValid: 4000, nTest: 10000, pairStd: 0.6 };

function config(arch: Arch): ModelConfig {
  return { arch, dim: 8, mlp: [64, 32], numDense: 1, seed: 3, initStd: 0.1, fields: [0, 1, 2, 3].map(() => ({ index: BH, fusion: 'sum' as const })) };
}

for (const arch of ['dnn', 'deepfm'] as const) {
  test(`${arch} on 2 threads reaches ≥ 0.9 × the Bayes-optimal AUC gain on the planted task`, async () => {
    const task = plantedTask(TASK);
    const bayes = auc(task.testProbs, task.test.labels);
    const trainer = await Trainer.create(config(arch), { batchSize: 256, epochs: 10, seed: 5, threads: 2, optim: { lr: 0.01 }, earlyStopping: { patience: 3 } });
    try {
      await trainer.fit(task.train, task.valid);
      const r = await trainer.evaluate(task.test);
      const need = 0.5 + 0.9 * (bayes - 0.5);
      process.stdout.write(`# ${arch} 2 threads: AUC ${r.auc.toFixed(4)}, Bayes ${bayes.toFixed(4)}, need ${need.toFixed(4)}\n`);
      assert.ok(r.auc >= need, `${arch} (2 threads): AUC ${r.auc.toFixed(4)} vs Bayes ${bayes.toFixed(4)} (need ${need.toFixed(4)})`);
    } finally {
      await trainer.close();
    }
  });
}
