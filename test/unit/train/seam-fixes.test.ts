// What the old data path dropped, on data whose answer is known: libffm value weights carry the signal (the old
// path ignored them: AUC 0.5), a schema's sum pooling of a multi-valued column counts repeats (the old path
// trained it as mean: AUC 0.5), and a worker thread that dies is a runtime failure (exit 1), not a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Rng } from '../../../src/core/rng.js';
import { handleError } from '../../../src/cli/handle-error.js';
import { loadRunData, trainModel, type DataOptions, type ModelOptions } from '../../../src/experiment/pipeline.js';
import { Trainer } from '../../../src/train/trainer.js';
import { BinaryMetrics } from '../../../src/train/metrics.js';
import { readModelFile } from '../../../src/models/model-file.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { tempDir } from '../../temp-dir.js';
import { plantedTask } from './planted-data.js';

const dir = tempDir('seam-fixes-');
const lrFull: ModelOptions = { arch: 'lr', method: 'full', dim: 1, epochs: 3, batchSize: 64, lr: 0.05, optimizer: 'adam', threads: 1, seed: 3 };

/** Label 1 (10 % flipped) when the hidden bit is set; `row(bit)` writes the line that carries it. */
function write(name: string, n: number, seed: number, row: (bit: boolean, rng: Rng) => string, header = ''): string {
  const rng = new Rng(seed);
  const lines: string[] = header ? [header] : [];
  for (let i = 0; i < n; i++) {
    const bit = rng.next() < 0.5;
    const y = rng.next() < 0.1 ? !bit : bit;
    lines.push(row(bit, rng).replace('$y', y ? '1' : '0'));
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function testAuc(data: DataOptions, m: ModelOptions = lrFull): Promise<number> {
  const { metrics } = await trainModel(await loadRunData(data), m);
  return metrics.test?.auc as number;
}

test('libffm: the value weights reach the embedding bag (same id, the value alone tells the label)', async () => {
  // Field 0 is always id 7; its value is 2 when the bit is set, else 0.1. Field 1 is noise.
  const row = (bit: boolean, rng: Rng): string => `$y 0:7:${bit ? 2 : 0.1} 1:${rng.int(10)}:1`;
  const train = write('w-train.ffm', 3000, 1, row);
  const testFile = write('w-test.ffm', 1000, 2, row);
  const out = join(dir, 'w.bhm');
  const { metrics } = await trainModel(await loadRunData({ format: 'libffm', train, test: testFile }), lrFull, { out });
  const auc = metrics.test?.auc as number;
  assert.ok(auc > 0.85, `AUC ${auc}: the values carry the label; ignoring them gives 0.5`);
  // The model file records what its scores depend on: the weights reach the model, libffm pools by sum.
  const file = readModelFile(out);
  const reader = (file.meta.data as { reader: Record<string, unknown> }).reader;
  assert.equal(reader.valueWeights, true, `${out}: meta.data.reader must record valueWeights: true (without it the file reads as a 0.1.0 file, weights 1)`);
  assert.deepEqual((file.model as { fields: { pooling: string }[] }).fields.map((f) => f.pooling), ['sum', 'sum'], 'libffm fields pool by sum, recorded in the model config');
  const scored = async (meta: Record<string, unknown>): Promise<number> => {
    const p = await Predictor.fromContents({ ...file, meta }, out);
    try {
      const m = new BinaryMetrics();
      for await (const b of p.predictFile(testFile)) m.add(b.probs, b.labels);
      return m.result().auc;
    } finally {
      await p.close();
    }
  };
  assert.ok(Math.abs((await scored(file.meta)) - auc) < 1e-9, 'the saved file scores its test set as training did');
  // The same file without the key (as 0.1.0 wrote them): every weight is 1, so field 0 no longer tells the label.
  const old = await scored({ ...file.meta, data: { ...(file.meta.data as object), reader: { ...reader, valueWeights: undefined } } });
  assert.ok(Math.abs(old - 0.5) < 0.05, `a file without valueWeights must be scored with weights 1 (AUC ≈ 0.5), got ${old}`);
});

test('csv: a multi-valued column with "pooling": "sum" trains as sum, "mean" as mean', async () => {
  // The tag is always "t", once when the bit is clear, four times when set: only a sum can tell them apart.
  const row = (bit: boolean, rng: Rng): string => `$y,c${rng.int(10)},${bit ? 't|t|t|t' : 't'}`;
  const train = write('p-train.csv', 3000, 3, row, 'y,c,tags');
  const testFile = write('p-test.csv', 1000, 4, row, 'y,c,tags');
  const schema = (pooling: string): string => {
    const p = join(dir, `schema-${pooling}.json`);
    writeFileSync(p, JSON.stringify({ label: 'y', categorical: ['c'], multi: [{ name: 'tags', separator: '|', pooling }] }));
    return p;
  };
  const out = join(dir, 'p.bhm');
  const sum = (await trainModel(await loadRunData({ format: 'csv', train, test: testFile, schema: schema('sum') }), lrFull, { out })).metrics.test?.auc as number;
  assert.ok(sum > 0.85, `sum pooling: AUC ${sum}`);
  // Recorded in the file's config, so a loaded model pools as it trained.
  assert.deepEqual((readModelFile(out).model as { fields: { pooling: string }[] }).fields.map((f) => f.pooling), ['mean', 'sum'], `${out}: the schema's sum pooling of 'tags'`);
  const p = await Predictor.load(out);
  const m = new BinaryMetrics();
  for await (const b of p.predictFile(testFile)) m.add(b.probs, b.labels);
  await p.close();
  assert.ok(Math.abs(m.result().auc - sum) < 1e-9, `the saved file scores the test set as training did: ${m.result().auc} vs ${sum}`);
  const mean = await testAuc({ format: 'csv', train, test: testFile, schema: schema('mean') });
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean pooling cannot see the repeats: AUC ${mean}`);
});

test('a worker thread that dies mid-training is a runtime failure (exit code 1), not a usage error', async () => {
  const task = plantedTask({ nTrain: 4000, seed: 5 });
  let killed = false;
  const config = { arch: 'lr' as const, numDense: 1, fields: task.cards.map((c) => ({ index: { method: 'hash' as const, rows: c } })) };
  const tr = await Trainer.create(config, {
    threads: 2,
    batchSize: 64,
    earlyStopping: false,
    onStep: (s) => {
      if (s.step === 3 && !killed) {
        killed = true;
        void (tr as unknown as { workers: { worker: Worker }[] }).workers[0].worker.terminate();
      }
    },
  });
  let err: unknown = null;
  await tr.fit(task.train).catch((e: unknown) => (err = e));
  await tr.dispose();
  assert.ok(err !== null, 'fit must fail when a worker dies');
  assert.match((err as Error).message, /worker 1 exited/);
  const saved = process.exitCode;
  const lines: string[] = [];
  handleError(err, { write: (s: string) => lines.push(s), isTTY: false } as never);
  const code = process.exitCode;
  process.exitCode = saved;
  assert.equal(code, 1, `exit code ${String(code)}: ${lines.join('')}`);
  assert.equal(lines.length, 1, 'one line, no stack');
});
