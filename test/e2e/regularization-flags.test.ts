// Every train flag that changes training, each on its own: it is recorded in the metrics JSON and changes the
// test scores against the same run without it (one flag per run, so a flag that stops reaching the trainer fails
// by name); --patience counted exactly on a validation set whose AUC never improves; bad values exit 2 naming the
// flag; the saved model reproduces train's test metrics through eval. In-process through run() (a spawned node
// adds nothing here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criteoLines, tempDir, writeCriteoSplits } from './cli-helpers.js';
import { bhembedInProcess as bhembed } from './cli-in-process.js';
import { readModelFile } from '../../src/models/model-file.js';

const dir = tempDir();
const data = writeCriteoSplits(dir, { train: 900, valid: 200, test: 200 });
const common = ['--train', data.train, '--valid', data.valid, '--test', data.test, '--format', 'criteo', '--model', 'dnn', '--dim', '4', '--mlp', '16,16', '--epochs', '2', '--batch-size', '64', '--lr', '0.01', '-q'];

let counter = 0;
const BH4 = ['--embedding', 'bh', '--compression', '4'];
async function run(extra: string[], base = common, embedding = BH4): Promise<{ metrics: Record<string, any>; model: string }> {
  const name = `r${counter++}`;
  const model = join(dir, `${name}.bhm`);
  const m = join(dir, `${name}.json`);
  const r = await bhembed(['train', ...base, ...embedding, ...extra, '--out', model, '--metrics', m]);
  assert.equal(r.status, 0, `${extra.join(' ')}: ${r.stderr}`);
  return { metrics: JSON.parse(readFileSync(m, 'utf8')), model };
}

/** flag, its value, and where the metrics JSON records it (train.<key>). */
const FLAGS: Array<[string[], string, unknown]> = [
  [['--dropout', '0.2'], 'dropout', 0.2],
  [['--batch-norm'], 'batchNorm', true],
  [['--l2', '0.001'], 'embeddingL2', 0.001],
  [['--weight-decay', '0.001'], 'weightDecay', 0.001],
  [['--init-std', '0.05'], 'initStd', 0.05],
  [['--embedding-lr', '0.03'], 'embeddingLr', 0.03],
  [['--lr', '0.02'], 'lr', 0.02],
  [['--optimizer', 'adagrad'], 'optimizer', 'adagrad'],
  [['--optimizer', 'sgd'], 'optimizer', 'sgd'],
  [['--batch-size', '32'], 'batchSize', 32],
  [['--seed', '2'], 'seed', 2],
];

test('each training flag alone is recorded and changes the test scores', async () => {
  const plain = await run([]);
  for (const [key] of [['dropout'], ['batchNorm'], ['embeddingL2'], ['weightDecay'], ['embeddingLr']]) assert.equal(plain.metrics.train[key], undefined, `plain run: no ${key}`);
  for (const [flag, key, value] of FLAGS) {
    const r = await run(flag);
    assert.equal(r.metrics.train[key], value, `${flag.join(' ')}: train.${key} in the metrics JSON`);
    assert.notEqual(r.metrics.test.logloss, plain.metrics.test.logloss, `${flag.join(' ')} did not change the test logloss: the flag does not reach training`);
  }
  // --epochs 3: epoch 3 ran (its training loss is recorded); the test scores may be epoch 2's (best validation AUC).
  const three = await run(['--epochs', '3']);
  assert.equal(three.metrics.train.loss.length, 3, `--epochs 3 must train 3 epochs, the metrics show ${three.metrics.train.loss.length}`);
  // Flags of the embedding and the tower change the model itself.
  for (const flag of [['--fusion', 'sum'], ['--bh-strategy', 'skip'], ['--dim', '8'], ['--mlp', '8']]) {
    const r = await run(flag);
    assert.notEqual(r.metrics.test.logloss, plain.metrics.test.logloss, `${flag.join(' ')} did not change the test logloss`);
  }
});

test('each data and table flag alone reaches training: recorded where it applies, and the test scores change', async () => {
  const plain = await run([]);
  const differs = (r: { metrics: Record<string, any> }, what: string): void =>
    assert.notEqual(r.metrics.test.logloss, plain.metrics.test.logloss, `${what} did not change the test logloss: the flag does not reach training`);
  const few = await run(['--max-rows', '500']);
  assert.equal(few.metrics.train.rows, 500, `--max-rows 500: trained on ${few.metrics.train.rows} rows`);
  differs(few, '--max-rows 500');
  assert.equal(plain.metrics.train.data.mode, 'memory');
  const stream = await run(['--data-mode', 'stream']);
  assert.equal(stream.metrics.train.data.mode, 'stream', '--data-mode stream: train.data.mode');
  differs(stream, '--data-mode stream');
  // Rows join the buffer one by one, so a buffer smaller than a reader chunk (8192 rows) draws from 50 rows, not
  // from the whole 900-row file (before, whole chunks joined and every buffer size trained the same model here).
  const small = await run(['--data-mode', 'stream', '--shuffle-buffer', '50']);
  assert.equal(small.metrics.train.data.shuffleBuffer, 50, '--shuffle-buffer 50: train.data.shuffleBuffer');
  assert.notEqual(small.metrics.test.logloss, stream.metrics.test.logloss, '--shuffle-buffer 50 trained the same model as the default buffer');
  // --eval-every 320 rows at batch 64: every 5 steps, so the series is at 320, 640, … rows.
  const every = await run(['--eval-every', '320', '--patience', '0']);
  const series = (every.metrics.valid.series as { rows: number }[]).map((p) => p.rows);
  assert.deepEqual(series, [320, 640, 960, 1280, 1600, 1920], `--eval-every 320: validation series at ${series.join(', ')} (2 × 15 steps of 64 rows: every 5 steps)`);
  assert.equal(plain.metrics.valid.series, undefined);
  // The table flags: each changes the plan, so the model.
  const tables: Array<[string[], (r: Record<string, any>, model: string) => void]> = [
    [['--embedding', 'bh', '--compression', '8'], (r) => assert.ok(r.embedding.rows < plain.metrics.embedding.rows, `--compression 8: ${r.embedding.rows} rows, 4× had ${plain.metrics.embedding.rows}`)],
    [['--embedding', 'bh', '--block-bits', '2'], (r) => assert.ok(r.embedding.rows !== plain.metrics.embedding.rows, '--block-bits 2: the rows follow the block length')],
    [['--embedding', 'bh', '--memory-budget', '3KB'], (r) => assert.ok(r.embedding.bytes <= 3072 && r.embedding.bytes >= 0.7 * 3072, `--memory-budget 3KB: ${r.embedding.bytes} bytes`)],
    [['--embedding', 'qr', '--compression', '4'], (r) => assert.equal(r.embedding.method, 'qr')],
  ];
  for (const [flags, check] of tables) {
    const r = await run([], common, flags);
    check(r.metrics, r.model);
    differs(r, flags.join(' '));
  }
  // --code-bits pins S (the planner shortens it for small tables: with --block-bits it is kept as given).
  const t2 = await run([], common, ['--embedding', 'bh', '--block-bits', '2']);
  const s12 = await run([], common, ['--embedding', 'bh', '--block-bits', '2', '--code-bits', '12']);
  const codes = (model: string): number[] => (readModelFile(model).model as { fields: { index: { codeBits: number } }[] }).fields.map((f) => f.index.codeBits);
  assert.deepEqual(codes(s12.model), codes(s12.model).map(() => 12), `--code-bits 12: the fields' code lengths are ${codes(s12.model).join(', ')}`);
  assert.ok(codes(t2.model).every((S) => S !== 12), 'without --code-bits the collision rule picks other lengths');
  assert.notEqual(s12.metrics.test.logloss, t2.metrics.test.logloss, '--code-bits 12 did not change the test logloss');
  const hybrid = await run([], common, ['--embedding', 'hybrid', '--compression', '4']);
  const hot = await run([], common, ['--embedding', 'hybrid', '--compression', '4', '--hot-share', '0.5']);
  assert.notEqual(hot.metrics.test.logloss, hybrid.metrics.test.logloss, '--hot-share 0.5 did not change the hybrid run');
});

test('--patience n stops after n epochs without a validation gain; 0 trains every epoch', async () => {
  // Every validation row has the same inputs: one score for all, so the validation AUC is 0.5 at every epoch.
  const row = criteoLines(1, 9)[0].split('\t').slice(1).join('\t');
  const flat = join(dir, 'flat-valid.txt');
  writeFileSync(flat, Array.from({ length: 100 }, (_, i) => `${i % 2}\t${row}`).join('\n') + '\n');
  const base = common.map((a, i) => (common[i - 1] === '--valid' ? flat : common[i - 1] === '--epochs' ? '6' : a));
  for (const [patience, epochs] of [['1', 2], ['3', 4], ['0', 6]] as const) {
    const r = await run(['--patience', patience], base);
    assert.equal(r.metrics.train.patience, Number(patience));
    assert.equal(r.metrics.valid.auc, 0.5);
    assert.equal(r.metrics.train.epochs, epochs, `--patience ${patience} on a validation AUC that never improves must run ${epochs} of 6 epochs, ran ${r.metrics.train.epochs}`);
  }
});

test('the saved model reproduces train\'s test metrics through eval (batch norm and dropout in the saved graph)', async () => {
  const reg = await run(['--dropout', '0.2', '--batch-norm', '--l2', '0.001', '--weight-decay', '1e-5', '--init-std', '0.05', '--embedding-lr', '0.02']);
  const out = join(dir, 'eval.json');
  const e = await bhembed(['eval', reg.model, data.test, '--metrics', out, '-q']);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(ev.results[0].auc, reg.metrics.test.auc);
  assert.equal(ev.results[0].logloss, reg.metrics.test.logloss);
});

test('bad regularization values are usage errors (exit 2, the flag named)', async () => {
  for (const [flag, value] of [
    ['--dropout', '1'],
    ['--dropout', '-0.1'],
    ['--l2', 'x'],
    ['--weight-decay', '-1'],
    ['--init-std', '-0.01'],
    ['--embedding-lr', '0'],
    ['--patience', '-1'],
  ]) {
    const r = await bhembed(['train', ...common, '--embedding', 'full', flag, value]);
    assert.equal(r.status, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(flag));
  }
});

test('--threads 2 --sparse-sync merged trains as 1 thread does; hogwild differs; a bad mode exits 2', async () => {
  const one = await run([]);
  const merged = await run(['--threads', '2']);
  const hog = await run(['--threads', '2', '--sparse-sync', 'hogwild']);
  assert.equal(merged.metrics.train.sparseSync, 'merged');
  assert.equal(hog.metrics.train.sparseSync, 'hogwild');
  assert.equal(one.metrics.train.sparseSync, undefined);
  // Same optimizer, only the float summation order differs (shards): the scores agree to ~1e-6.
  assert.ok(Math.abs(merged.metrics.test.logloss - one.metrics.test.logloss) < 1e-4, `${merged.metrics.test.logloss} vs ${one.metrics.test.logloss}`);
  assert.ok(Math.abs(merged.metrics.test.auc - one.metrics.test.auc) < 1e-3);
  // Hogwild steps a row once per shard that touched it: a different trajectory.
  assert.ok(Math.abs(hog.metrics.test.logloss - one.metrics.test.logloss) > 1e-4, `${hog.metrics.test.logloss} vs ${one.metrics.test.logloss}`);
  const bad = await bhembed(['train', ...common, '--threads', '2', '--sparse-sync', 'locks']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--sparse-sync/);
  assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/);
});
