// The run summary prints an undefined AUC (a one-class test or validation set) as 'n/a (one class only)', as
// `bhembed eval` does, not 'AUC NaN'; the metrics JSON keeps it machine-readable (null).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunMetrics } from '../../../src/experiment/report.js';
import { formatRunMetrics, summarizeEmbedding } from '../../../src/experiment/report.js';

function metrics(testAuc: number, validAuc: number): RunMetrics {
  return {
    model: 'dnn',
    embedding: summarizeEmbedding('hash', 4, [{ name: 'a', method: 'hash', rows: 10, fullRows: 50 }], 40),
    train: { rows: 100, epochs: 1, seconds: 1, samplesPerSec: 100, threads: 1, batchSize: 32, lr: 0.01, optimizer: 'adam', seed: 1 },
    valid: { auc: validAuc, logloss: 0.5, rows: 20 },
    test: { auc: testAuc, logloss: 0.25, rows: 30 },
    data: { format: 'criteo', train: 't.txt' },
    createdAt: '',
  };
}

test("a one-class test set prints 'AUC n/a (one class only)'; JSON has null", () => {
  const m = metrics(NaN, 0.75);
  const lines = formatRunMetrics(m);
  assert.equal(lines.find((l) => l.startsWith('test:')), 'test:  AUC n/a (one class only)  logloss 0.2500  (30 rows)');
  assert.equal(lines.find((l) => l.startsWith('valid:')), 'valid: AUC 0.7500  logloss 0.5000  (20 rows)');
  assert.ok(!lines.join('\n').includes('NaN'));
  const json = JSON.parse(JSON.stringify(m)) as RunMetrics;
  assert.equal(json.test?.auc, null);
  // Metrics read back from JSON (null AUC) print the same way.
  assert.deepEqual(formatRunMetrics(json), lines);
  assert.equal(formatRunMetrics(metrics(0.5, NaN)).find((l) => l.startsWith('valid:')), 'valid: AUC n/a (one class only)  logloss 0.5000  (20 rows)');
});
