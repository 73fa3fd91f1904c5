// Rows in memory (Columns): gathering shuffled rows (single- and multi-valued fields, dense block) into a reusable
// batch, validation messages, shared copies; and the Trainer end to end on a multi-valued field, on 1 and 2
// threads, with evaluation every k steps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { batchBufferOf, checkColumns as checkDataset, gatherRows, shapeOf, shareColumns as shareDataset, type Columns as Dataset } from '../../../src/data/batches/columns.js';
import { Trainer } from '../../../src/train/trainer.js';

function multiDataset(n: number, seed: number): Dataset {
  // Label = 1 when the bag of tags contains tag 3 or the single-valued field is < 5 (plus 10 % noise).
  const rng = new Rng(seed);
  const labels = new Float32Array(n);
  const single = new Uint32Array(2 * n);
  const offsets = new Int32Array(n + 1);
  const tags: number[] = [];
  const dense = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    single[2 * r] = rng.int(20);
    single[2 * r + 1] = r % 3; // high word used too
    const len = rng.int(4);
    let has3 = false;
    for (let k = 0; k < len; k++) {
      const t = rng.int(12);
      has3 ||= t === 3;
      tags.push(t);
    }
    offsets[r + 1] = tags.length;
    dense[r] = rng.normal();
    const y = has3 || single[2 * r] < 5 ? 1 : 0;
    labels[r] = rng.next() < 0.1 ? 1 - y : y;
  }
  const ids = new Uint32Array(2 * tags.length);
  tags.forEach((t, i) => (ids[2 * i] = t));
  return { rows: n, labels, fields: [{ ids: single }, { ids, offsets }], numDense: 1, dense };
}

test('gatherRows copies rows in the given order, multi-valued fields included', () => {
  const ds = multiDataset(50, 1);
  const out = batchBufferOf(shapeOf(ds), 8);
  const order = Int32Array.from({ length: 50 }, (_, i) => 49 - i);
  gatherRows(ds, order, 3, 7, out);
  assert.equal(out.size, 7);
  const o = ds.fields[1].offsets as Int32Array;
  let v = 0;
  for (let i = 0; i < 7; i++) {
    const r = order[3 + i];
    assert.equal(out.labels[i], ds.labels[r]);
    assert.equal(out.fields[0].ids[2 * i], ds.fields[0].ids[2 * r]);
    assert.equal(out.fields[0].ids[2 * i + 1], ds.fields[0].ids[2 * r + 1]);
    assert.equal(out.dense![i], ds.dense![r]);
    const bo = out.fields[1].offsets as Int32Array;
    assert.equal(bo[i], v);
    for (let k = o[r]; k < o[r + 1]; k++, v++) assert.equal(out.fields[1].ids[2 * v], ds.fields[1].ids[2 * k]);
    assert.equal(bo[i + 1], v);
  }
  const sh = shareDataset(ds);
  assert.ok(sh.labels.buffer instanceof SharedArrayBuffer && sh.fields[1].offsets!.buffer instanceof SharedArrayBuffer);
  assert.deepEqual([...sh.fields[1].ids], [...ds.fields[1].ids]);
});

test('checkColumns names what disagrees', () => {
  const ds = multiDataset(10, 2);
  assert.throws(() => checkDataset(ds, 3, 1), /2 fields, the model has 3/);
  assert.throws(() => checkDataset(ds, 2, 0), /numDense|dense inputs/);
  assert.throws(() => checkDataset({ ...ds, labels: new Float32Array(3) }, 2, 1), /3 labels for 10 rows/);
});

for (const [threads, engine] of [[1, 'auto'], [2, 'auto'], [2, 'reference']] as const) {
  test(`trainer learns a multi-valued field (${threads} thread${threads > 1 ? 's' : ''}, ${engine} backend, eval every 20 steps)`, async () => {
    const train = multiDataset(6000, 3);
    const valid = multiDataset(1500, 4);
    const events: string[] = [];
    let lastDone = 0;
    let stepCalls = 0;
    const tr = await Trainer.create(
      {
        arch: 'wdl',
        dim: 8,
        mlp: [16],
        numDense: 1,
        fields: [
          { index: { method: 'hash', rows: 64 } },
          { index: { method: 'bh', codeBits: 4, blockBits: 2, strategy: 'succession', dense: true }, fusion: 'concat', pooling: 'sum' },
        ],
      },
      { threads, engine, batchSize: 64, epochs: 2, evalEvery: 20, optim: { lr: 0.01 }, earlyStopping: false, onEvent: (e) => events.push(e.type), onStep: (p) => ((lastDone = p.done), stepCalls++) },
    );
    const fit = await tr.fit(train, valid);
    await tr.close();
    assert.equal(fit.steps, 2 * Math.ceil(6000 / 64));
    assert.equal(fit.history.length, Math.floor(fit.steps / 20));
    assert.equal(events.filter((e) => e === 'epoch').length, 2);
    assert.equal(stepCalls, fit.steps);
    assert.equal(lastDone, 6000);
    // Noise-free AUC would be 1; 10 % label noise caps it near 0.9.
    assert.ok(fit.best !== null && fit.best.auc > 0.85, `AUC ${fit.best?.auc}`);
  });
}

test('an error inside a worker thread reaches fit() as the original error, and workers stop', async () => {
  // Row 3 holds an id too wide for the dense BH code; without shuffling it falls in worker 1's shard.
  const n = 8;
  const ids = new Uint32Array(2 * n);
  ids[6] = 1 << 20;
  const ds: Dataset = { rows: n, labels: new Float32Array(n).fill(1, 0, 4), fields: [{ ids }] };
  const tr = await Trainer.create(
    { arch: 'lr', fields: [{ index: { method: 'bh', codeBits: 4, blockBits: 2, strategy: 'succession', dense: true } }] },
    { threads: 2, batchSize: 4, shuffle: false, earlyStopping: false },
  );
  await assert.rejects(tr.fit(ds), (e: Error & { code?: string }) => e.code === 'data.parse' && /codeBits=4/.test(e.message));
  await tr.close();
});
