// Streamed training from a folder of parts against the same rows held in memory: same rows, same distinct counts
// and full vocabularies from the one counting pass, test AUC within noise; the metrics say which mode ran. And
// the distinct counter's memory cap: exact below it, HyperLogLog (said so) above it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { generateCriteo } from '../../../src/data/generate.js';
import { DistinctCounter } from '../../../src/data/distinct.js';
import { loadRunData, needsFullVocab, trainModel, type DataOptions, type ModelOptions } from '../../../src/experiment/pipeline.js';
import { FullVocabBuilder } from '../../../src/embedding/full.js';
import { tempDir } from '../../temp-dir.js';

const dir = tempDir('streaming-');
const CARDS = Array.from({ length: 26 }, (_, f) => 20 + 37 * f);

async function parts(): Promise<{ trainDir: string; testFile: string; all: string }> {
  const all = join(dir, 'all.tsv');
  await generateCriteo({ rows: 8000, out: all, probOut: null, seed: 4, cardinalities: CARDS, signal: 2 });
  const lines = readFileSync(all, 'utf8').trimEnd().split('\n');
  const trainDir = join(dir, 'days');
  mkdirSync(trainDir, { recursive: true });
  // day_2 and day_10 sort naturally (2 before 10); the folder is read in that order.
  ['day_1.tsv', 'day_2.tsv', 'day_10.tsv'].forEach((name, i) => writeFileSync(join(trainDir, name), `${lines.slice(2000 * i, 2000 * (i + 1)).join('\n')}\n`));
  const testFile = join(dir, 'test.tsv');
  writeFileSync(testFile, `${lines.slice(6000).join('\n')}\n`);
  writeFileSync(join(dir, 'train6k.tsv'), `${lines.slice(0, 6000).join('\n')}\n`);
  return { trainDir, testFile, all };
}

const model: ModelOptions = { arch: 'lr', method: 'bh', blockBits: 4, dim: 1, epochs: 2, batchSize: 128, lr: 0.02, optimizer: 'adam', threads: 1, seed: 2 };

test('a folder of parts streamed through a shuffle buffer trains like the same rows in memory', async () => {
  const { trainDir, testFile } = await parts();
  const base: DataOptions = { format: 'criteo', train: trainDir, test: testFile };
  const mem = await loadRunData({ ...base, train: join(dir, 'train6k.tsv'), dataMode: 'memory' });
  const str = await loadRunData({ ...base, dataMode: 'stream', shuffleBuffer: 1000, fullVocab: true });
  assert.equal(mem.train.mode, 'memory');
  assert.equal(str.train.mode, 'stream');
  assert.equal(str.train.columns, null, 'nothing held');
  assert.deepEqual(str.train.files.map((f) => f.split('/').pop()), ['day_1.tsv', 'day_2.tsv', 'day_10.tsv']);
  assert.equal(str.train.rows, 6000);
  assert.deepEqual(str.distinct, mem.distinct, 'one counting pass over the parts counts what the loaded rows hold');
  assert.equal(str.distinctEstimated, false);
  const a = (await trainModel(mem, model)).metrics;
  const b = (await trainModel(str, model)).metrics;
  assert.equal(a.train.data?.mode, 'memory');
  assert.deepEqual(b.train.data, { mode: 'stream', shuffleBuffer: 1000, files: 3, distinctEstimated: false });
  assert.equal(b.train.rows, 6000);
  assert.equal(b.test?.rows, 2000);
  const aucA = a.test?.auc as number;
  const aucB = b.test?.auc as number;
  assert.ok(aucA > 0.7 && aucB > 0.7, `AUC memory ${aucA}, stream ${aucB}`);
  assert.ok(Math.abs(aucA - aucB) < 0.01, `AUC memory ${aucA}, stream ${aucB}`);
  // The full baseline from the counting pass's vocabularies equals the one built from the loaded rows.
  const fa = (await trainModel(mem, { ...model, method: 'full', blockBits: undefined })).metrics;
  const fb = (await trainModel(str, { ...model, method: 'full', blockBits: undefined })).metrics;
  assert.deepEqual(fb.embedding.fields.map((f) => f.rows), fa.embedding.fields.map((f) => f.rows));
});

test('globs and comma lists name the same parts; a glob matching nothing is an error naming it', async () => {
  const { trainDir } = await parts();
  const g = await loadRunData({ format: 'criteo', train: join(trainDir, 'day_*.tsv'), dataMode: 'stream' });
  assert.deepEqual(g.train.files.map((f) => f.split('/').pop()), ['day_1.tsv', 'day_2.tsv', 'day_10.tsv']);
  const c = await loadRunData({ format: 'criteo', train: [join(trainDir, 'day_10.tsv'), join(trainDir, 'day_1.tsv')], dataMode: 'auto' });
  assert.equal(c.train.mode, 'memory', 'small inputs are held in memory under auto');
  assert.equal(c.train.rows, 4000);
  await assert.rejects(loadRunData({ format: 'criteo', train: join(trainDir, 'week_*.tsv') }), /week_\*\.tsv: no file matches/);
});

test('distinct counting: exact under the memory cap, HyperLogLog past it, and said so', () => {
  const n = 200_000;
  const ids = new Uint32Array(2 * n);
  const rng = new Rng(8); // 64-bit random ids stand for XXH64 hashes (no repeats at this size)
  for (let i = 0; i < 2 * n; i++) ids[i] = rng.nextU32();
  const chunk = { rows: n, labels: new Float32Array(n), fields: [{ ids }], numDense: 0 };
  const exact = new DistinctCounter(['f'], { method: 'auto', exactCapBytes: 64 * 2 ** 20 });
  exact.add(chunk);
  assert.deepEqual([exact.result().distinct[0], exact.result().approx], [n, false]);
  const capped = new DistinctCounter(['f'], { method: 'auto', exactCapBytes: 1 << 20 });
  capped.add({ ...chunk, rows: n / 2, fields: [{ ids: ids.subarray(0, n) }] });
  capped.add({ ...chunk, rows: n / 2, fields: [{ ids: ids.subarray(n) }] });
  const r = capped.result();
  assert.equal(r.approx, true);
  assert.ok(Math.abs(r.distinct[0] - n) / n < 0.03, `estimate ${r.distinct[0]} of ${n}`);
});

test('--eval-every: a validation series at every so many training rows, streamed', async () => {
  const { trainDir, testFile } = await parts();
  const data = await loadRunData({ format: 'criteo', train: trainDir, valid: testFile, dataMode: 'stream', shuffleBuffer: 1000 });
  // patience 0: every evaluation of both epochs (early stopping would end the series where the AUC stops rising).
  const { metrics } = await trainModel(data, { ...model, evalEveryRows: 1024, patience: 0 });
  const series = metrics.valid?.series ?? [];
  // 6000 rows in batches of 128: 47 steps per epoch, an evaluation every 8 steps (1024 rows), 2 epochs → 11.
  assert.deepEqual(series.map((p) => p.rows), Array.from({ length: 11 }, (_, i) => 1024 * (i + 1)));
  assert.ok(series.every((p) => p.auc > 0.5 && Number.isFinite(p.logloss)));
  assert.ok(series[series.length - 1].logloss < series[0].logloss, 'the validation loss falls as the stream goes');
});

test('--compression on streamed data: the planner keeps small fields full from the counting pass, as in memory', async () => {
  const { trainDir, testFile } = await parts();
  const base: DataOptions = { format: 'criteo', train: trainDir, test: testFile };
  const m: ModelOptions = { ...model, blockBits: undefined, compression: 4 };
  const mem = await loadRunData({ ...base, train: join(dir, 'train6k.tsv'), dataMode: 'memory' });
  const str = await loadRunData({ ...base, dataMode: 'stream', shuffleBuffer: 1000, fullVocab: needsFullVocab(m) });
  const a = (await trainModel(mem, m)).metrics.embedding.fields;
  const b = (await trainModel(str, m)).metrics.embedding.fields;
  assert.ok(b.some((f) => f.method === 'full') && b.some((f) => f.method !== 'full'), `some fields kept full: ${b.map((f) => f.method).join(',')}`);
  assert.deepEqual(b.map((f) => [f.method, f.rows]), a.map((f) => [f.method, f.rows]), 'the same plan, rows included');
  // A field the plan keeps full but whose vocabulary outgrew the cap of a 'planned' pass: one clear error naming it.
  const small = await loadRunData({ ...base, dataMode: 'stream', fullVocab: 'planned' });
  const c1 = small.train.fieldNames.indexOf('C1');
  (small.fullVocab as FullVocabBuilder[])[c1] = overflowed();
  await assert.rejects(trainModel(small, m), (e: Error) => /^field C1: the plan keeps its table full \(\d+ values\), but streamed data keeps vocabularies only for fields of at most 262144 values/.test(e.message));
  assert.equal(needsFullVocab({ method: 'bh', blockBits: 4 }), false, '--block-bits plans no full tables');
  assert.equal(needsFullVocab({ method: 'full' }), true);
});

function overflowed(): FullVocabBuilder {
  const b = new FullVocabBuilder(4, 2);
  b.add(new Uint32Array([1, 0, 2, 0, 3, 0]), 3);
  assert.equal(b.overflowed, true);
  assert.equal(b.size, 0, 'counts dropped');
  assert.throws(() => b.build(), /more than 2 distinct values/);
  return b;
}
