// Sample weights beyond the loss: a value's count for full vocabularies and --min-count is its weighted count (a
// row of weight w counts as w rows, so a weighted file and the file with each row repeated w times get the same
// vocabulary), in memory, in a streamed counting pass and on the plan sample; a value seen only in rows of weight 0
// gets no row. See FullVocabBuilder for the rule and why. Batch norm: a weighted training batch's statistics, running
// statistics and gradients are those of the batch with its rows repeated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FullVocabBuilder } from '../../../src/embedding/full.js';
import { HeavyHitters } from '../../../src/data/heavy-hitters.js';
import { loadRunData, planIndexSpecs, type ModelOptions } from '../../../src/experiment/pipeline.js';
import type { FullSpec, HybridSpec } from '../../../src/embedding/config.js';
import { tempDir } from '../../temp-dir.js';
import { trainModel } from '../../../src/experiment/pipeline.js';
import { bhembedInProcess } from '../../e2e/cli-in-process.js';
import { readFileSync } from 'node:fs';
import { Rng } from '../../../src/core/rng.js';
import { meanScale } from '../../../src/core/batch.js';
import { batchBufferOf, gatherRows, shapeOf, type Columns } from '../../../src/data/batches/columns.js';
import { columnsFromRows, type PlainRow } from '../../../src/data/batches/memory.js';
import { createOps } from '../../../src/kernels/index.js';
import { createModel } from '../../../src/models/registry.js';

const id = (k: number): [number, number] => [k, 0];
const hex = (k: number): string => `00000000${k.toString(16).padStart(8, '0')}`;

test('FullVocabBuilder.addRows: each value counts its row\'s weight (multi-valued rows too); min count 1 keeps every value of positive weight', () => {
  const b = new FullVocabBuilder(2);
  // Unweighted first (1 each), then weighted rows: value 1 ends at 1 + 0.5 + 2 = 3.5, value 2 at 0.5, value 3 at 0,
  // value 4 at 2 + 2 = 4 (twice in one row), value 5 at 0.25.
  b.add(Uint32Array.from(id(1)), 1);
  const ids = Uint32Array.from([...id(1), ...id(2), ...id(3), ...id(1), ...id(4), ...id(4), ...id(5)]);
  b.addRows(ids, Uint32Array.from([0, 2, 3, 6, 7]), 4, Float32Array.from([0.5, 0, 2, 0.25]));
  assert.deepEqual(b.build(1).vocab, [hex(4), hex(1), hex(2), hex(5)], 'weighted count descending; weight-0-only value 3 left out');
  assert.deepEqual(b.build(2).vocab, [hex(4), hex(1)]);
  assert.deepEqual(b.build(4).vocab, [hex(4)], 'value 1 weighs 3.5 < 4');
  // Without sample weights addRows is add(): plain counts.
  const u = new FullVocabBuilder(2);
  u.addRows(ids, Uint32Array.from([0, 2, 3, 6, 7]), 4, null);
  assert.deepEqual(u.build(2).vocab, [hex(1), hex(4)]);
  // The cap still drops the counts of a weighted builder.
  const c = new FullVocabBuilder(2, 2);
  c.addRows(ids, null, 4, Float32Array.from([1, 1, 1, 1]));
  assert.equal(c.overflowed, true);
});

test('--min-count and full vocabularies count weights: a weighted file = its rows repeated by weight (memory, stream, plan sample)', async () => {
  const dir = tempDir('wcount-');
  // user u<k> appears in rows of weight k % 4 (0..3): at min count 3 only users of weight 3, and users of weight 1
  // seen 3 times, keep a row; unweighted counting would keep all users seen ≥ 3 times.
  const rows: [number, string, string, number][] = [];
  for (let k = 0; k < 24; k++) for (let r = 0; r < 1 + (k % 3); r++) rows.push([(k + r) % 2, `u${k}`, `a${(k + r) % 5}`, k % 4]);
  const weighted = join(dir, 'w.csv');
  const repeated = join(dir, 'rep.csv');
  writeFileSync(weighted, `y,user,ad,w\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  writeFileSync(repeated, `y,user,ad,w\n${rows.flatMap((r) => Array.from({ length: r[3] }, () => `${r[0]},${r[1]},${r[2]},1`)).join('\n')}\n`);
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ label: 'y', categorical: ['user', 'ad'] }));
  const m: ModelOptions = { arch: 'lr', method: 'full', dim: 4, minCount: 3 } as ModelOptions;
  const vocabs = async (train: string, dataMode: 'memory' | 'stream', planCounts?: 'stream-sample'): Promise<string[][]> => {
    const data = await loadRunData({ format: 'csv', train, schema, weightColumn: 'w', dataMode, fullVocab: planCounts ? 'planned' : true, ...(planCounts ? { planCounts } : {}) });
    return planIndexSpecs(data, m).specs.map((s) => (s as FullSpec).vocab);
  };
  const want = await vocabs(repeated, 'memory');
  assert.ok(want[0].length > 0 && want[0].length < 24, `some users kept, some not: ${want[0].length}`);
  for (const [mode, pc] of [['memory', undefined], ['stream', undefined], ['stream', 'stream-sample']] as const) {
    const got = await vocabs(weighted, mode, pc);
    assert.deepEqual(got.map((v) => [...v].sort()), want.map((v) => [...v].sort()), `${mode} ${pc ?? 'pass'}: the repeated file's vocabulary`);
  }
  // Min count 1: every user of positive weight (k % 4 ≠ 0: 18 of 24), not the 6 seen only with weight 0.
  const data = await loadRunData({ format: 'csv', train: weighted, schema, weightColumn: 'w', dataMode: 'memory' });
  assert.equal((planIndexSpecs(data, { ...m, minCount: 1 }).specs[0] as FullSpec).vocab.length, 18);
});

test('batch norm under sample weights: one step\'s loss, gradients and running statistics equal the repeated batch\'s', async () => {
  const rng = new Rng(3);
  const rows: PlainRow[] = Array.from({ length: 40 }, (_, i) => ({
    label: rng.next() < 0.4 ? 1 : 0,
    values: [`a${rng.int(9)}`, `b${rng.int(30)}`],
    dense: [rng.normal()],
    // Weights 0..3, and the first rows 3: an unweighted mean would differ from the weighted one.
    sampleWeight: i < 8 ? 3 : rng.int(4),
  }));
  const dupRows = rows.flatMap((r) => Array.from({ length: r.sampleWeight ?? 1 }, () => ({ ...r, sampleWeight: undefined })));
  const weighted = columnsFromRows(rows);
  const dup = columnsFromRows(dupRows);
  const config = { arch: 'deepfm' as const, dim: 4, mlp: [6, 5], batchNorm: true, numDense: 1, initStd: 0.3, seed: 4, fields: [{ index: { method: 'hash' as const, rows: 7 } }, { index: { method: 'hash' as const, rows: 11 } }] };
  const ops = await createOps('auto');
  const grab = async (c: Columns): Promise<{ loss: number; dense: Float32Array; running: Float32Array[] }> => {
    const model = createModel(config, { ops, maxBatch: dup.rows });
    const b = batchBufferOf(shapeOf(c), c.rows);
    gatherRows(c, null, 0, c.rows, b);
    const loss = await model.forwardBackward(b, { scale: meanScale(b.sampleWeights, b.size), dropoutSeed: 1 });
    const out = { loss, dense: model.params.grad.slice(), running: model.buffers.list().map((p) => p.data.slice()) };
    model.dispose();
    return out;
  };
  const a = await grab(weighted);
  const d = await grab(dup);
  const close = (x: number, z: number, what: string): void => assert.ok(Math.abs(x - z) <= 2e-6 + 1e-4 * Math.abs(z), `${what}: ${x} vs ${z}`);
  close(a.loss, d.loss, 'loss');
  for (let i = 0; i < d.dense.length; i++) close(a.dense[i], d.dense[i], `dense gradient ${i}`);
  assert.equal(a.running.length, 4, 'running mean and variance of 2 batch norms');
  a.running.forEach((r, k) => r.forEach((x, j) => close(x, d.running[k][j], `running statistic ${k}[${j}]`)));
  // Not a test that cannot fail: the running mean moved away from its initial 0.
  assert.ok(a.running[0].some((x) => Math.abs(x) > 1e-3));
});

test('predict --metrics weighs by the training run\'s weight column as eval does, and says so', async () => {
  const dir = tempDir('wpredict-');
  const rng = new Rng(8);
  const line = (): string => {
    const u = rng.int(20);
    return `${rng.next() < (u % 3 === 0 ? 0.7 : 0.2) ? 1 : 0},u${u},a${rng.int(4)},${rng.int(4)}`;
  };
  const train = join(dir, 'train.csv');
  const test = join(dir, 'test.csv');
  writeFileSync(train, `y,user,ad,w\n${Array.from({ length: 200 }, line).join('\n')}\n`);
  writeFileSync(test, `y,user,ad,w\n${Array.from({ length: 150 }, line).join('\n')}\n`);
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ label: 'y', categorical: ['user', 'ad'] }));
  const model = join(dir, 'm.bhm');
  const data = await loadRunData({ format: 'csv', train, schema, weightColumn: 'w' });
  await trainModel(data, { arch: 'lr', method: 'hash', compression: 2, dim: 4, epochs: 2, batchSize: 64, lr: 0.05, optimizer: 'adam', threads: 1, seed: 1, patience: 0 } as ModelOptions, { out: model });
  const ev = await bhembedInProcess(['eval', model, test, '--json', '-q']);
  assert.equal(ev.status, 0, ev.stderr);
  const want = (JSON.parse(ev.stdout) as { results: { auc: number; logloss: number; weight: number }[] }).results[0];
  const mfile = join(dir, 'metrics.json');
  const p = await bhembedInProcess(['predict', model, test, '-o', join(dir, 'p.csv'), '--metrics', mfile]);
  assert.equal(p.status, 0, p.stderr);
  const got = JSON.parse(readFileSync(mfile, 'utf8')) as { auc: number; logloss: number; rows: number; weightColumn: string; weight: number };
  assert.equal(got.auc, want.auc);
  assert.equal(got.logloss, want.logloss);
  assert.equal(got.weightColumn, 'w');
  assert.equal(got.weight, want.weight);
  assert.equal(got.rows, 150);
  assert.match(p.stderr, new RegExp(`predicted 150 rows: AUC ${want.auc.toFixed(4)}  logloss ${want.logloss.toFixed(4)}  \\(weighted by w, total weight ${want.weight}\\)`));
  // Without --metrics the weights are not read, and the summary says its figures are unweighted.
  const q = await bhembedInProcess(['predict', model, test, '-o', join(dir, 'q.csv')]);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stderr, /\(unweighted; --metrics FILE or bhembed eval weigh them by w\)/);
  assert.equal(readFileSync(join(dir, 'q.csv'), 'utf8'), readFileSync(join(dir, 'p.csv'), 'utf8'));
  const bad = await bhembedInProcess(['predict', model, test, '--weight-column', 'w']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--weight-column: weighs the --metrics/);
});

test('heavy hitters count weights: the same candidates, counts, total and undercount as the rows repeated (through reductions)', () => {
  const rng = new Rng(12);
  const n = 3000;
  // Zipf-ish ids over 200 values, weights 0..3; capacity 8 forces many reductions.
  const ids = new Uint32Array(2 * n);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    ids[2 * i] = Math.floor(200 * rng.next() ** 3);
    w[i] = rng.int(4);
  }
  const rep: number[] = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < w[i]; k++) rep.push(ids[2 * i], 0);
  for (const [capacity, exactLimit] of [[64, 256], [8, 16]]) {
    const a = new HeavyHitters({ capacity, exactLimit });
    a.addRows(ids.subarray(0, 2 * 1000), null, 1000, w.subarray(0, 1000));
    a.addRows(ids.subarray(2 * 1000), null, n - 1000, w.subarray(1000));
    const b = new HeavyHitters({ capacity, exactLimit });
    b.add(Uint32Array.from(rep), rep.length / 2);
    const ta = a.top(capacity);
    const tb = b.top(capacity);
    assert.deepEqual([...ta.lo], [...tb.lo], `capacity ${capacity}: the candidates`);
    assert.deepEqual([...ta.counts], [...tb.counts]);
    assert.equal(ta.total, tb.total);
    assert.equal(ta.undercount, tb.undercount);
    if (capacity === 8) assert.ok(ta.undercount > 0, 'reductions happened');
    else assert.equal(a.exact, true);
  }
});

test('the hybrid hot set counts weights: a weighted file plans the hot keys of its rows repeated (memory and counting pass)', async () => {
  const dir = tempDir('whot-');
  const rng = new Rng(21);
  const rows: string[][] = [];
  // Users 0..399: the most frequent ones (k < 10) carry weight 0 or 1, the others 3, so counting rows and counting
  // weights rank them differently.
  for (let i = 0; i < 3000; i++) {
    const k = Math.floor(400 * rng.next() ** 3);
    rows.push([String(rng.int(2)), `u${k}`, `a${rng.int(5)}`, String(k < 10 ? rng.int(2) : 3)]);
  }
  const weighted = join(dir, 'w.csv');
  const repeated = join(dir, 'rep.csv');
  writeFileSync(weighted, `y,user,ad,w\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  writeFileSync(repeated, `y,user,ad,w\n${rows.flatMap((r) => Array.from({ length: Number(r[3]) }, () => `${r.slice(0, 3).join(',')},1`)).join('\n')}\n`);
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ label: 'y', categorical: ['user', 'ad'] }));
  // hotShare: half of the field's bytes go to hot rows (the planner's own rule keeps none at this size).
  const m = { arch: 'fm', method: 'hybrid', compression: 10, dim: 16, hotShare: 0.5 } as ModelOptions;
  const hot = async (train: string, dataMode: 'memory' | 'stream', weightColumn?: string): Promise<string[]> => {
    const data = await loadRunData({ format: 'csv', train, schema, dataMode, ...(dataMode === 'stream' ? { hotCounts: true, fullVocab: 'planned' as const } : {}), ...(weightColumn ? { weightColumn } : {}) });
    return [...(planIndexSpecs(data, m).specs[0] as HybridSpec).hot];
  };
  const want = await hot(repeated, 'memory', 'w');
  assert.ok(want.length > 0, 'some hot users');
  assert.deepEqual(await hot(weighted, 'memory', 'w'), want);
  assert.deepEqual(await hot(weighted, 'stream', 'w'), want);
  // Not a test that cannot fail: counting rows picks other hot users.
  assert.notDeepEqual(await hot(weighted, 'memory'), want);
});
