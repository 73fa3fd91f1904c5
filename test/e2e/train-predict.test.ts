// train → model file → predict/eval/inspect through the CLI: the loaded model reproduces the training run's test
// metrics exactly, the metrics JSON has the promised shape, and float16 files stay close. train, eval and inspect
// run in-process (run() from cli/main.ts); predict runs in a spawned bhembed, so every model is also loaded and
// scored by a fresh process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bhembed, tempDir, writeCriteoSplits } from './cli-helpers.js';
import { bhembedInProcess } from './cli-in-process.js';

const dir = tempDir();
const data = writeCriteoSplits(dir, { train: 1200, valid: 300, test: 300 });
const common = ['--format', 'criteo', '--dim', '4', '--epochs', '2', '--batch-size', '64', '--lr', '0.01', '-q'];

async function trainRun(name: string, extra: string[]): Promise<{ model: string; metrics: Record<string, any> }> {
  const model = join(dir, `${name}.bhm`);
  const metricsPath = join(dir, `${name}.json`);
  const r = await bhembedInProcess(['train', '--train', data.train, '--valid', data.valid, '--test', data.test, ...common, ...extra, '--out', model, '--metrics', metricsPath]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /test: +AUC/);
  return { model, metrics: JSON.parse(readFileSync(metricsPath, 'utf8')) };
}

for (const [name, extra] of [
  ['deepfm-bh', ['--model', 'deepfm', '--mlp', '16', '--embedding', 'bh', '--block-bits', '3']],
  ['dcnv2-qr', ['--model', 'dcnv2', '--mlp', '16', '--embedding', 'qr', '--compression', '3']],
  ['wdl-full', ['--model', 'wdl', '--mlp', '16', '--embedding', 'full']],
] as const) {
  test(`${name}: predict and eval on the test file reproduce train's test metrics exactly`, async () => {
    const { model, metrics } = await trainRun(name, [...extra]);
    // Metrics JSON shape.
    for (const k of ['method', 'rows', 'params', 'bytes', 'fullRows', 'compression']) assert.ok(k in metrics.embedding, `embedding.${k}`);
    for (const k of ['rows', 'epochs', 'seconds', 'samplesPerSec', 'threads']) assert.ok(k in metrics.train, `train.${k}`);
    assert.equal(metrics.train.rows, 1200);
    assert.equal(metrics.embedding.compression, metrics.embedding.fullRows / metrics.embedding.rows);
    assert.ok(metrics.test.auc > 0.6, `planted signal learned: test AUC ${metrics.test.auc}`);

    const pm = join(dir, `${name}-predict.json`);
    const preds = join(dir, `${name}.csv`);
    const p = bhembed(['predict', model, data.test, '--output', preds, '--metrics', pm, '-q']);
    assert.equal(p.status, 0, p.stderr);
    const got = JSON.parse(readFileSync(pm, 'utf8'));
    assert.equal(got.rows, 300);
    assert.equal(got.auc, metrics.test.auc);
    assert.equal(got.logloss, metrics.test.logloss);
    const lines = readFileSync(preds, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'row,label,probability');
    assert.equal(lines.length, 301);
    for (const l of lines.slice(1)) {
      const pr = Number(l.split(',')[2]);
      assert.ok(pr > 0 && pr < 1);
    }

    const e = await bhembedInProcess(['eval', model, data.valid, data.test, '--json', '-q']);
    assert.equal(e.status, 0, e.stderr);
    const ev = JSON.parse(e.stdout);
    assert.equal(ev.results[1].auc, metrics.test.auc);
    assert.equal(ev.results[1].logloss, metrics.test.logloss);
    assert.equal(ev.results[0].auc, metrics.valid.auc);

    const ins = await bhembedInProcess(['inspect', model, '--json']);
    assert.equal(ins.status, 0, ins.stderr);
    const s = JSON.parse(ins.stdout);
    assert.equal(s.embedding.rows, metrics.embedding.rows);
    assert.equal(s.embedding.fullRows, metrics.embedding.fullRows);
    assert.equal(s.file.bytes, statSync(model).size);
    assert.equal(s.fields.length, 39);
  });
}

test('jsonl output; float16 files halve the weights and predict within half precision of float32', async () => {
  const half = await trainRun('f16', ['--model', 'fm', '--embedding', 'hash', '--compression', '2', '--dtype', 'float16']);
  const full = await trainRun('f32', ['--model', 'fm', '--embedding', 'hash', '--compression', '2']);
  const tensorBytes = async (m: string): Promise<number> => JSON.parse((await bhembedInProcess(['inspect', m, '--json'])).stdout).tensors.bytes;
  assert.equal((await tensorBytes(half.model)) * 2, await tensorBytes(full.model));
  const predict = (m: string): { row: number; label: number; probability: number }[] => {
    const p = bhembed(['predict', m, data.test, '--output-format', 'jsonl', '-q']);
    assert.equal(p.status, 0, p.stderr);
    return p.stdout.trim().split('\n').map((l) => JSON.parse(l));
  };
  const p16 = predict(half.model);
  const p32 = predict(full.model);
  assert.equal(p16.length, 300);
  assert.deepEqual(Object.keys(p16[0]), ['row', 'label', 'probability']);
  let maxDiff = 0;
  p16.forEach((r, i) => {
    assert.equal(r.row, i);
    assert.equal(r.label, p32[i].label);
    maxDiff = Math.max(maxDiff, Math.abs(r.probability - p32[i].probability));
  });
  assert.ok(maxDiff < 0.01, `float16 predictions differ by ${maxDiff}`);
  assert.match((await bhembedInProcess(['inspect', half.model])).stdout, /float16 weights/);
});

test('without a terminal, progress is plain log lines on stderr and the summary is on stdout', () => {
  const r = bhembed(['train', '--train', data.train, '--valid', data.valid, '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '--epochs', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stderr.includes('\x1b') && !r.stderr.includes('\r'), 'no terminal control codes');
  assert.match(r.stderr, /^epoch 1\/2, train loss [\d.]+, valid AUC [\d.]+ logloss [\d.]+, \d+s elapsed$/m);
  assert.match(r.stderr, /^epoch 2\/2, /m);
  assert.match(r.stdout, /^model lr, embedding hash: \d+ rows/m);
  assert.doesNotMatch(r.stdout, /^epoch/m);
});
