// Planning without a counting pass: streamed BH/hashed runs with --block-bits or --memory-budget plan on the plan
// sample (the first rows of the stream, trained on as the start of the first epoch), so the training file is read
// once per epoch; rows and skips come from the first epoch. The sample's counts (exact, growing fields) and the
// planner's rule for lower-bound fields (never kept full).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCriteo } from '../../../src/data/generate.js';
import { countPlanSample, forEachSampleRun } from '../../../src/data/plan-sample.js';
import type { DataChunk } from '../../../src/data/chunk.js';
import { planEmbeddings } from '../../../src/embedding/planner.js';
import { loadRunData, planCountsFor, planIndexSpecs, trainModel, type DataOptions, type ModelOptions } from '../../../src/experiment/pipeline.js';
import { tempDir } from '../../temp-dir.js';

const dir = tempDir('plan-sample-');

/** A chunk of single-valued field 0 (ids a[r]) and multi-valued field 1 (values b[r]). */
function chunk(a: number[], b: number[][]): DataChunk {
  const offsets = new Uint32Array(b.length + 1);
  b.forEach((v, r) => (offsets[r + 1] = offsets[r] + v.length));
  const flat = b.flat();
  const ids = (xs: number[]): Uint32Array => Uint32Array.from(xs.flatMap((x) => [x, 7]));
  return { rows: a.length, labels: new Float32Array(a.length), fields: [{ ids: ids(a) }, { ids: ids(flat), offsets }], numDense: 0 };
}

test('the plan sample counts the first rows exactly, across chunks and multi-valued fields, and tells growing fields', () => {
  // field 0 cycles 1,2,3 (complete after 3 rows); field 1 gets a new value on every row
  const rows = Array.from({ length: 10 }, (_, r) => r);
  const chunks = [chunk(rows.slice(0, 4).map((r) => 1 + (r % 3)), rows.slice(0, 4).map((r) => [100 + r, 5])), chunk(rows.slice(4).map((r) => 1 + (r % 3)), rows.slice(4).map((r) => [100 + r]))];
  const s = countPlanSample(chunks, 2, 6);
  assert.equal(s.rows, 6);
  assert.deepEqual(s.distinct, [3, 7], 'field 1: values 100..105 and 5');
  assert.deepEqual(s.growing, [false, true]);
  const seen: number[][] = [[], []];
  forEachSampleRun(chunks, 6, (f, ids, n) => { for (let i = 0; i < n; i++) seen[f].push(ids[2 * i]); }, 3);
  assert.deepEqual(seen, [[1, 2, 3], [103, 5, 104, 105]], 'rows 3..5: the last row of chunk 0, the first two of chunk 1');
});

test('planner: a lower-bound field (counted on a growing sample) is never kept full; the budget error stays finite', () => {
  const fields = [{ name: 'small', cardinality: 10 }, { name: 'big', cardinality: 5000 }];
  const target = { budgetBytes: 4 * 8 * 1000, dim: 8 };
  assert.equal(planEmbeddings(fields, target).fields[0].method, 'full', 'a complete small field fits its share');
  const p = planEmbeddings([{ ...fields[0], lowerBound: true }, fields[1]], target);
  assert.equal(p.fields[0].method, 'bh');
  assert.ok(p.totalBytes <= target.budgetBytes);
  assert.throws(() => planEmbeddings([{ ...fields[0], lowerBound: true }, fields[1]], { budgetBytes: 4 * 8 * 3, dim: 8 }), /raise the budget to at least 128 bytes/);
});

const CARDS = Array.from({ length: 26 }, (_, f) => (f < 13 ? 6 : 400 + 900 * f));

test('streamed BH with --block-bits: no counting pass (the file is read once per epoch), rows and skips from the first epoch', async () => {
  const all = join(dir, 'all.tsv');
  await generateCriteo({ rows: 24_500, out: all, probOut: null, seed: 3, cardinalities: CARDS, signal: 2 });
  const lines = readFileSync(all, 'utf8').trimEnd().split('\n');
  const train = join(dir, 'train.tsv');
  const bad = ['x\ty', 'only one column', '2\t1'];
  // three bad lines in the second half, after the plan sample: the first epoch finds them
  writeFileSync(train, `${[...lines.slice(0, 15_000), ...bad, ...lines.slice(15_000, 24_000)].join('\n')}\n`);
  const testFile = join(dir, 'test.tsv');
  writeFileSync(testFile, `${lines.slice(24_000).join('\n')}\n`);
  const m: ModelOptions = { arch: 'lr', method: 'bh', blockBits: 4, dim: 1, epochs: 2, batchSize: 256, lr: 0.02, optimizer: 'adam', threads: 1, seed: 2, patience: 0 };
  assert.equal(planCountsFor(m), 'stream-sample');
  assert.equal(planCountsFor({ ...m, blockBits: undefined, compression: 10 }), 'pass', '--compression counts every value');
  assert.equal(planCountsFor({ ...m, fields: { C3: { dim: 4 } } }), 'stream-sample', 'a per-field dim needs no counts');
  assert.equal(planCountsFor({ ...m, fields: { C3: { dim: 4, method: 'hash', compression: 5 } } }), 'pass', 'a per-field ratio counts every value');
  const opts: DataOptions = { format: 'criteo', train, test: testFile, dataMode: 'stream', shuffleBuffer: 4000, onError: 'skip', planSampleRows: 3000 };
  const data = await loadRunData({ ...opts, planCounts: planCountsFor(m) });
  assert.equal(data.train.rows, null, 'not counted before training');
  assert.deepEqual(data.planCounts.from, 'sample');
  const { metrics } = await trainModel(data, m);
  // 2 epochs = 2 reads of the file: the plan sample's read is the first epoch's (a counting pass would be a third).
  assert.equal(data.train.reads, 2);
  assert.equal(metrics.train.rows, 24_000);
  assert.equal(data.train.rows, 24_000, 'known after the first epoch');
  assert.deepEqual(Object.values(metrics.train.skipped ?? {}).reduce((a, b) => a + b, 0), 3, 'the skips of the first epoch');
  const d = metrics.train.data;
  assert.equal(d?.rowsFrom, 'first epoch');
  assert.equal(d?.planCounts?.sampleRows, 3000);
  const C = (i: number): string => `C${i}`;
  const bigC = Array.from({ length: 13 }, (_, i) => C(14 + i)); // 12k-23k values: growing in 3,000 rows
  assert.ok(bigC.every((n) => d?.planCounts?.growingFields.includes(n)), `growing: ${d?.planCounts?.growingFields.join(',')}`);
  assert.ok(Array.from({ length: 13 }, (_, i) => C(1 + i)).every((n) => !d?.planCounts?.growingFields.includes(n)), 'C1..C13 (6 values) are complete in the sample');
  assert.ok((metrics.test?.auc as number) > 0.6, `test AUC ${metrics.test?.auc}`);

  // A counting pass reads it a third time (planCounts 'pass', what every run did before).
  const counted = await loadRunData({ ...opts, planCounts: 'pass' });
  assert.equal(counted.train.rows, 24_000);
  await trainModel(counted, m);
  assert.equal(counted.train.reads, 3);

  // --memory-budget plans on the same sample in memory and streamed: the same tables; the fields complete in the
  // sample (C1..C13, 6 values and the empty one) stay full with the sample's vocabulary, the growing ones are never full.
  const mb: ModelOptions = { ...m, blockBits: undefined, memoryBudget: 60_000, epochs: 1 };
  const str = await loadRunData({ ...opts, planCounts: 'stream-sample' });
  const mem = await loadRunData({ ...opts, dataMode: 'memory', planCounts: 'sample' });
  const a = planIndexSpecs(str, mb);
  const b = planIndexSpecs(mem, mb);
  assert.deepEqual(a.specs, b.specs);
  const growing = str.planCounts.from === 'sample' ? str.planCounts.growingFields : [];
  a.specs.forEach((sp, f) => {
    const name = str.train.fieldNames[f];
    if (growing.includes(name)) assert.notEqual(sp.method, 'full', name);
    if (f >= 13 && f < 26) assert.ok(sp.method === "full" && sp.vocab.length === str.distinct[f] && str.distinct[f] <= 7, `${name}: ${sp.method} ${str.distinct[f]}`);
  });
  const r = await trainModel(str, mb);
  assert.ok(r.plan !== null && r.plan.totalBytes <= 60_000);
  assert.throws(() => planIndexSpecs(str, { ...m, blockBits: undefined, compression: 10 }), /--compression is a ratio to the full tables/);
});
