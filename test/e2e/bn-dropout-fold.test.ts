// A model trained with --batch-norm --dropout through the real CLI: predict/eval fp32 reproduce the training run's
// test metrics exactly (the run's own evaluation scored through the same folded tower), and --precision int8,
// which used to refuse such models, now serves them with an AUC within 0.002 of fp32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bhembed, tempDir, writeCriteoSplits } from './cli-helpers.js';

const dir = tempDir();
const data = writeCriteoSplits(dir, { train: 3000, valid: 200, test: 4000 });

test('batch norm + dropout model: fp32 predict/eval = training metrics, int8 AUC within 0.002 of fp32', () => {
  const model = join(dir, 'bn.bhm');
  const metricsPath = join(dir, 'train.json');
  const t = bhembed(['train', '--train', data.train, '--test', data.test, '--format', 'criteo', '--model', 'dnn', '--embedding', 'bh', '--compression', '4', '--dim', '8', '--mlp', '64,64', '--batch-norm', '--dropout', '0.2', '--epochs', '2', '--batch-size', '256', '--lr', '0.01', '-q', '--out', model, '--metrics', metricsPath]);
  assert.equal(t.status, 0, t.stderr);
  const trained = JSON.parse(readFileSync(metricsPath, 'utf8'));
  assert.equal(trained.train.batchNorm, true);
  assert.equal(trained.train.dropout, 0.2);
  assert.ok(trained.test.auc > 0.6, `the planted signal is learned: AUC ${trained.test.auc}`);

  const predict = (precision: string): { m: Record<string, any>; probs: number[] } => {
    const out = join(dir, `p-${precision}.csv`);
    const m = join(dir, `p-${precision}.json`);
    const r = bhembed(['predict', model, data.test, '--precision', precision, '--output', out, '--metrics', m, '-q']);
    assert.equal(r.status, 0, r.stderr);
    const probs = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
    return { m: JSON.parse(readFileSync(m, 'utf8')), probs };
  };
  const p32 = predict('fp32');
  assert.equal(p32.m.auc, trained.test.auc, 'fp32 predict reproduces the training run exactly');
  assert.equal(p32.m.logloss, trained.test.logloss);
  const e = bhembed(['eval', model, data.test, '--json', '-q']);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout).results[0];
  assert.equal(ev.auc, trained.test.auc, 'fp32 eval reproduces the training run exactly');
  assert.equal(ev.logloss, trained.test.logloss);

  const p8 = predict('int8');
  assert.equal(p8.m.precision, 'int8');
  assert.equal(p8.probs.length, 4000);
  let maxDiff = 0;
  for (let i = 0; i < p32.probs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p8.probs[i] - p32.probs[i]));
  assert.ok(maxDiff > 0 && maxDiff < 0.05, `int8 scores close to fp32, not identical: max |Δp| ${maxDiff}`);
  assert.ok(Math.abs(p8.m.auc - p32.m.auc) <= 0.002, `AUC int8 ${p8.m.auc} vs fp32 ${p32.m.auc}`);
});
