// The regularization/init flags of train and sweep (--dropout, --batch-norm, --l2, --weight-decay, --init-std,
// --embedding-lr): they reach the run (metrics JSON, model file), change the result, and bad values exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bhembed, tempDir, writeCriteoSplits } from './cli-helpers.js';

const dir = tempDir();
const data = writeCriteoSplits(dir, { train: 900, valid: 200, test: 200 });
const common = ['--train', data.train, '--valid', data.valid, '--test', data.test, '--format', 'criteo', '--model', 'dnn', '--dim', '4', '--mlp', '16,16', '--epochs', '2', '--batch-size', '64', '--lr', '0.01', '-q'];

function run(name: string, extra: string[]): { metrics: Record<string, any>; model: string } {
  const model = join(dir, `${name}.bhm`);
  const m = join(dir, `${name}.json`);
  const r = bhembed(['train', ...common, '--embedding', 'bh', '--compression', '4', ...extra, '--out', model, '--metrics', m]);
  assert.equal(r.status, 0, r.stderr);
  return { metrics: JSON.parse(readFileSync(m, 'utf8')), model };
}

test('regularization flags are recorded, change the run, and the saved model reproduces its test metrics', () => {
  const plain = run('plain', []);
  const reg = run('reg', ['--dropout', '0.2', '--batch-norm', '--l2', '0.001', '--weight-decay', '1e-5', '--init-std', '0.05', '--embedding-lr', '0.02', '--patience', '1']);
  const t = reg.metrics.train;
  assert.equal(t.dropout, 0.2);
  assert.equal(t.batchNorm, true);
  assert.equal(t.embeddingL2, 0.001);
  assert.equal(t.weightDecay, 1e-5);
  assert.equal(t.initStd, 0.05);
  assert.equal(t.embeddingLr, 0.02);
  assert.equal(t.patience, 1);
  assert.equal(plain.metrics.train.dropout, undefined);
  assert.notEqual(reg.metrics.test.auc, plain.metrics.test.auc);
  // Batch norm and dropout are in the saved graph: eval (inference mode) gives train's test numbers exactly.
  const e = bhembed(['eval', reg.model, data.test, '--json', '-q']);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.results[0].auc, reg.metrics.test.auc);
  assert.equal(ev.results[0].logloss, reg.metrics.test.logloss);
});

test('bad regularization values are usage errors (exit 2, the flag named)', () => {
  for (const [flag, value] of [
    ['--dropout', '1'],
    ['--dropout', '-0.1'],
    ['--l2', 'x'],
    ['--weight-decay', '-1'],
    ['--init-std', '-0.01'],
    ['--embedding-lr', '0'],
  ]) {
    const r = bhembed(['train', ...common, '--embedding', 'full', flag, value]);
    assert.equal(r.status, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(flag));
  }
});

test('--threads 2 --sparse-sync merged trains as 1 thread does; hogwild differs; a bad mode exits 2', () => {
  const one = run('t1', []);
  const merged = run('t2m', ['--threads', '2']);
  const hog = run('t2h', ['--threads', '2', '--sparse-sync', 'hogwild']);
  assert.equal(merged.metrics.train.sparseSync, 'merged');
  assert.equal(hog.metrics.train.sparseSync, 'hogwild');
  assert.equal(one.metrics.train.sparseSync, undefined);
  // Same optimizer, only the float summation order differs (shards): the scores agree to ~1e-6.
  assert.ok(Math.abs(merged.metrics.test.logloss - one.metrics.test.logloss) < 1e-4, `${merged.metrics.test.logloss} vs ${one.metrics.test.logloss}`);
  assert.ok(Math.abs(merged.metrics.test.auc - one.metrics.test.auc) < 1e-3);
  // Hogwild steps a row once per shard that touched it: a different trajectory.
  assert.ok(Math.abs(hog.metrics.test.logloss - one.metrics.test.logloss) > 1e-4, `${hog.metrics.test.logloss} vs ${one.metrics.test.logloss}`);
  const bad = bhembed(['train', ...common, '--threads', '2', '--sparse-sync', 'locks']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--sparse-sync/);
  assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/);
});
