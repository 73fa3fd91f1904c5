// One set of training defaults for the library and the CLI (experiment/defaults.ts): trainModel with only the options
// a CLI run gives as flags trains the model `bhembed train` trains with no flags (they differed: fusion sum vs weighted, mlp [256, 128]
// vs [128, 64], patience 0 vs 2), and the run summary says which epoch early stopping kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../src/cli/main.js';
import { loadRunData, trainModel } from '../../../src/experiment/pipeline.js';
import { TRAINING_DEFAULTS } from '../../../src/experiment/defaults.js';
import { formatRunMetrics, type RunMetrics } from '../../../src/experiment/report.js';
import { criteoLines, tempDir } from '../../e2e/cli-helpers.js';

const dir = tempDir('bhembed-defaults-');
const lines = criteoLines(600, 11);
const train = join(dir, 'train.tsv');
const valid = join(dir, 'valid.tsv');
writeFileSync(train, `${lines.slice(0, 400).join('\n')}\n`);
writeFileSync(valid, `${lines.slice(400).join('\n')}\n`);

test('trainModel given only what the CLI run gives as flags = bhembed train: same config, same valid AUC', async () => {
  const data = await loadRunData({ format: 'criteo', train, valid });
  // arch, dim, batchSize, lr, optimizer, threads and seed come from TRAINING_DEFAULTS (they were required: a missing
  // batchSize failed with 'batchSize: must be a positive integer, got NaN').
  const lib = await trainModel(data, { method: 'hash', compression: 2, epochs: 3 });
  assert.equal(lib.config.arch, TRAINING_DEFAULTS.arch);
  assert.equal(lib.metrics.train.batchSize, TRAINING_DEFAULTS.batchSize);
  assert.equal(lib.metrics.train.lr, TRAINING_DEFAULTS.lr);
  assert.deepEqual(lib.config.mlp, [...TRAINING_DEFAULTS.mlp]);
  assert.ok(lib.config.fields.every((f) => f.fusion === TRAINING_DEFAULTS.fusion));
  assert.equal(lib.metrics.train.patience, TRAINING_DEFAULTS.patience);
  const out = join(dir, 'cli.json');
  await run(['node', 'bhembed', 'train', '--train', train, '--valid', valid, '--format', 'criteo', '--embedding', 'hash', '--compression', '2', '--epochs', '3', '--metrics', out, '-q']);
  const cli = JSON.parse(readFileSync(out, 'utf8')) as RunMetrics;
  assert.equal(cli.valid?.auc, lib.metrics.valid?.auc);
  assert.equal(cli.valid?.logloss, lib.metrics.valid?.logloss);
  assert.equal(cli.train.keptEpoch, lib.metrics.train.keptEpoch);
});

test('the summary and the metrics JSON say which epoch early stopping kept', () => {
  const base = { model: 'dnn', embedding: { method: 'bh', rows: 10, params: 160, bytes: 640, fullRows: 100, compression: 10, dim: 16, fields: [] }, data: { format: 'criteo', train: 't' }, createdAt: '' };
  const m = (train: Partial<RunMetrics['train']>): RunMetrics => ({ ...base, train: { rows: 5, epochs: 5, seconds: 1, samplesPerSec: 5, threads: 1, batchSize: 1, lr: 1, optimizer: 'adam', seed: 1, patience: 2, ...train } });
  assert.ok(formatRunMetrics(m({ keptEpoch: 3, stoppedEarly: true })).includes("stopped early after epoch 5 (no validation AUC gain for 2 epochs); kept the weights of epoch 3, the best validation AUC: the scores below and the model file are epoch 3's"));
  assert.ok(formatRunMetrics(m({ keptEpoch: 4, stoppedEarly: false })).includes("kept the weights of epoch 4, the best validation AUC: the scores below and the model file are epoch 4's"));
  assert.equal(formatRunMetrics(m({ keptEpoch: 5, stoppedEarly: false })).filter((l) => l.includes('kept')).length, 0, 'the last epoch kept: nothing to say');
});
