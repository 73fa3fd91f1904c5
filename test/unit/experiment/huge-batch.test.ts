// A batch size far above the training rows (--batch-size 1048576 on 3,000 rows) trains with buffers sized for the
// rows, not the batch (it reserved ~6 GiB), and gives exactly the results of a batch of all the rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRunData, trainModel } from '../../../src/experiment/pipeline.js';
import type { ModelOptions } from '../../../src/experiment/pipeline.js';
import { readModelFile } from '../../../src/models/model-file.js';
import { criteoLines } from '../../e2e/cli-helpers.js';
import { tempDir } from '../../temp-dir.js';

const dir = tempDir('bhembed-huge-batch-');
const train = join(dir, 'train.txt');
const testFile = join(dir, 'test.txt');
writeFileSync(train, `${criteoLines(3000, 1).join('\n')}\n`);
writeFileSync(testFile, `${criteoLines(500, 3).join('\n')}\n`);

const base: ModelOptions = { arch: 'deepfm', method: 'hash', compression: 2, dim: 4, mlp: [16], epochs: 2, batchSize: 3000, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1, engine: 'reference' };

test('batch size 1048576 on 3,000 rows: modest memory, same metrics as a batch of 3,000', async () => {
  const data = await loadRunData({ format: 'criteo', train, test: testFile });
  let peak = 0;
  const sample = (): void => void (peak = Math.max(peak, process.memoryUsage().arrayBuffers));
  const before = process.memoryUsage().arrayBuffers;
  const out = join(dir, 'huge.bhm');
  const huge = await trainModel(data, { ...base, batchSize: 1 << 20 }, { out, onProgress: sample });
  sample();
  // Float32 buffers for 2^20 rows × 39 fields × dim 4 alone are 640 MB; the rows need a few MB.
  assert.ok(peak - before < 200 * 2 ** 20, `array buffers grew by ${((peak - before) / 2 ** 20).toFixed(0)} MiB`);
  const exact = await trainModel(data, base);
  assert.equal(huge.metrics.test?.auc, exact.metrics.test?.auc);
  assert.equal(huge.metrics.test?.logloss, exact.metrics.test?.logloss);
  assert.deepEqual(huge.metrics.train.loss, exact.metrics.train.loss);
  assert.equal(huge.metrics.train.batchSize, 3000);
  // The model file's prediction batch is the clamped one too, so predict/eval do not reserve it either.
  assert.equal((readModelFile(out).meta as { evalBatch: number }).evalBatch, 3000);
});
