// Trainer checkpoints through the library API (TrainerOptions.checkpointEvery/onCheckpoint, fit(…, { resume })): a
// run resumed from a mid-run checkpoint ends with exactly the weights of the uninterrupted run, also when the
// embedding tables' optimizer state lives in row shards (kernels/row-state.ts, forced with a tiny stateShardBytes),
// across the two layouts (a checkpoint of sharded state resumes into a model with the state in the main memory), and
// with 2 threads. The checkpoint carries the optimizer state: resumed with it zeroed, the weights differ.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexSpec } from '../../../src/embedding/config.js';
import type { Columns } from '../../../src/data/batches/columns.js';
import { MemorySource } from '../../../src/data/batches/memory.js';
import { WasmOps } from '../../../src/kernels/wasm.js';
import type { ModelConfig } from '../../../src/models/config.js';
import { Trainer, type TrainerCheckpoint, type TrainerOptions } from '../../../src/train/trainer.js';
import { plantedTask } from './planted-data.js';

const HASH: IndexSpec = { method: 'hash', rows: 50 };
const CONFIG: ModelConfig = { arch: 'deepfm', dim: 8, mlp: [16], numDense: 1, seed: 3, initStd: 0.1, fields: [0, 1, 2, 3].map(() => ({ index: HASH })) };
const task = plantedTask({ seed: 42, nTrain: 3000, nValid: 500, nTest: 500 });

/** Fields of their own dims (one table per width: 4 = the model's, 8 and 2), a DNN. */
const MIXED: ModelConfig = { arch: 'dnn', dim: 4, mlp: [16], numDense: 1, seed: 3, initStd: 0.1, fields: [8, 4, 2, 8].map((dim) => ({ index: HASH, dim })) };

async function trainer(stateShardBytes: number | undefined, opts: TrainerOptions, config = CONFIG): Promise<Trainer> {
  const ops = await WasmOps.create({ initialBytes: 16 << 20, stateShardBytes });
  return Trainer.create(config, { batchSize: 128, epochs: 2, seed: 5, gemm: 'wasm', ops, optim: { lr: 0.01, embeddingOptimizer: 'adam' }, evalEvery: 7, earlyStopping: { patience: 3 }, ...opts });
}

/** Uninterrupted weights, and the checkpoint taken after `at` training rows. */
async function whole(shard: number | undefined, threads: number, at: number, config = CONFIG): Promise<{ params: Float32Array[]; ck: TrainerCheckpoint }> {
  let ck: TrainerCheckpoint | null = null;
  const tr = await trainer(shard, { threads, checkpointEvery: at, onCheckpoint: (c) => void (ck ??= c) }, config);
  try {
    await tr.fit(new MemorySource(task.train, { shuffle: true, seed: 5 }), task.valid);
    assert.ok(ck !== null);
    return { params: tr.model.parameters().map((p) => p.data.slice()), ck };
  } finally {
    await tr.dispose();
  }
}

async function resumed(shard: number | undefined, threads: number, ck: TrainerCheckpoint, config = CONFIG): Promise<Float32Array[]> {
  const tr = await trainer(shard, { threads }, config);
  try {
    await tr.fit(new MemorySource(task.train, { shuffle: true, seed: 5 }), task.valid, { resume: ck });
    return tr.model.parameters().map((p) => p.data.slice());
  } finally {
    await tr.dispose();
  }
}

const same = (a: Float32Array[], b: Float32Array[]): boolean => a.length === b.length && a.every((t, i) => t.length === b[i].length && t.every((v, j) => Object.is(v, b[i][j])));

test('resume from a mid-run checkpoint: the same weights bit for bit, state in the main memory or in row shards, either way across', async () => {
  const plain = await whole(undefined, 1, 1700);
  const sharded = await whole(96, 1, 1700);
  assert.ok(same(plain.params, sharded.params));
  assert.equal(plain.ck.loop.epoch, 0);
  assert.ok(plain.ck.loop.history.length > 0, 'validation history so far is in the checkpoint');
  assert.ok(plain.ck.tensors.some((t) => t.name === 'optim.emb.state2') && plain.ck.tensors.some((t) => t.name.startsWith('best.')));
  // The sharded state was read out of its shards: the checkpoints hold the same tensors.
  plain.ck.tensors.forEach((t, i) => assert.ok(same([t.data], [sharded.ck.tensors[i].data]), t.name));
  assert.ok(same(await resumed(undefined, 1, plain.ck), plain.params), 'plain → plain');
  assert.ok(same(await resumed(96, 1, plain.ck), plain.params), 'plain → sharded');
  assert.ok(same(await resumed(undefined, 1, sharded.ck), plain.params), 'sharded → plain');
  // Without the optimizer state (zeroed moments) the run goes elsewhere: the state is what makes it exact.
  const zeroed: TrainerCheckpoint = { loop: plain.ck.loop, tensors: plain.ck.tensors.map((t) => (t.name.startsWith('optim.') ? { ...t, data: new Float32Array(t.data.length) } : t)) };
  assert.ok(!same(await resumed(undefined, 1, zeroed), plain.params));
});

test('2 threads: resume ends with the weights of the uninterrupted 2-thread run', async () => {
  const w = await whole(undefined, 2, 2200);
  assert.ok(same(await resumed(undefined, 2, w.ck), w.params));
});

test('fields of their own dims: every table and its optimizer state resume bit for bit (1 thread, state in row shards; 2 threads)', async () => {
  const one = await whole(96, 1, 1700, MIXED);
  const names = one.ck.tensors.map((t) => t.name);
  for (const t of ['emb_d8', 'emb', 'emb_d2']) assert.ok(names.includes(`optim.${t}.state2`) && names.includes(`best.${t}.table`), `${t} in the checkpoint`);
  assert.ok(same(await resumed(96, 1, one.ck, MIXED), one.params));
  const two = await whole(undefined, 2, 2200, MIXED);
  assert.ok(same(await resumed(undefined, 2, two.ck, MIXED), two.params));
  // The two tables of dim 8 and 2 learned: they moved away from their initialization.
  const fresh = await trainer(undefined, {}, MIXED);
  const init = fresh.model.parameters().map((p) => ({ name: p.name, data: p.data.slice() }));
  await fresh.dispose();
  for (const name of ['emb_d8.table', 'emb_d2.table']) {
    const i = init.findIndex((p) => p.name === name);
    assert.ok(!same([init[i].data], [one.params[i]]), `${name} trained`);
  }
});

/** Rows [a, b) of single-valued Columns (the planted task's). */
function rowsOf(c: Columns, a: number, b: number): Columns {
  const nd = c.numDense ?? 0;
  return {
    rows: b - a,
    labels: c.labels.subarray(a, b),
    fields: c.fields.map((f) => ({ ids: f.ids.subarray(2 * a, 2 * b), offsets: null, weights: null })),
    numDense: nd,
    dense: nd > 0 ? (c.dense as Float32Array).subarray(a * nd, b * nd) : null,
  };
}

test('continued training (--init-from a checkpoint): day 1 then day 2 from its final checkpoint equals one run over both, bit for bit (in order)', async () => {
  const opts: TrainerOptions = { epochs: 1, earlyStopping: false, evalEvery: 0 };
  const both = await trainer(undefined, opts);
  const day1 = await trainer(undefined, opts);
  const day2 = await trainer(undefined, opts);
  try {
    assert.ok(task.train.fields.every((f) => (f.offsets ?? null) === null));
    await both.fit(new MemorySource(task.train, { shuffle: false }));
    // 1536 = 12 batches of 128: day 1 ends on a batch boundary, as the one run's batches do.
    await day1.fit(new MemorySource(rowsOf(task.train, 0, 1536), { shuffle: false }));
    const ck = day1.finalCheckpoint();
    assert.ok(ck !== null && ck.loop.done && ck.loop.step === 12);
    day2.model.loadParameters(ck.tensors);
    day2.model.loadOptimizerTensors(ck.tensors);
    day2.startAtStep(ck.loop.step);
    await day2.fit(new MemorySource(rowsOf(task.train, 1536, task.train.rows), { shuffle: false }));
    const p = (t: Trainer): Float32Array[] => t.model.parameters().map((x) => x.data.slice());
    assert.ok(same(p(day2), p(both)));
    // Without the optimizer state and step (a model file's weights only) it is another run.
    const fresh = await trainer(undefined, opts);
    fresh.model.loadParameters(ck.tensors);
    await fresh.fit(new MemorySource(rowsOf(task.train, 1536, task.train.rows), { shuffle: false }));
    assert.ok(!same(p(fresh), p(both)));
    await fresh.dispose();
  } finally {
    await Promise.all([both.dispose(), day1.dispose(), day2.dispose()]);
  }
});

test("a resumed run returns the uninterrupted run's result (steps, epochs, train loss, best, history); a final checkpoint resumes to its stored result without training; no final checkpoint before fit()", async () => {
  const strip = (r: Awaited<ReturnType<Trainer['fit']>>): unknown => ({ ...r, seconds: 0 });
  let ck: TrainerCheckpoint | null = null;
  // the checkpoint in the last epoch (3000 rows per epoch): the resumed epoch's loss and rows must carry on
  const a = await trainer(undefined, { threads: 1, checkpointEvery: 4500, onCheckpoint: (c) => void (ck ??= c) });
  assert.equal(a.finalCheckpoint(), null, 'no final checkpoint before fit()');
  let whole: Awaited<ReturnType<Trainer['fit']>>;
  let last: TrainerCheckpoint;
  try {
    whole = await a.fit(new MemorySource(task.train, { shuffle: true, seed: 5 }), task.valid);
    last = a.finalCheckpoint() as TrainerCheckpoint;
  } finally {
    await a.dispose();
  }
  assert.ok(ck !== null && (ck as TrainerCheckpoint).loop.epoch === 1 && last.loop.done && Number.isFinite(whole.trainLoss));
  const b = await trainer(undefined, { threads: 1 });
  try {
    const again = await b.fit(new MemorySource(task.train, { shuffle: true, seed: 5 }), task.valid, { resume: ck });
    assert.deepEqual(strip(again), strip(whole), 'resumed from the mid-run checkpoint');
    const params = b.model.parameters().map((p) => p.data.slice());
    const done = await b.fit(new MemorySource(task.train, { shuffle: true, seed: 5 }), task.valid, { resume: last });
    assert.deepEqual(strip(done), strip(whole), 'resumed from the final checkpoint: its stored result');
    assert.ok(same(b.model.parameters().map((p) => p.data.slice()), params), 'a final checkpoint trains nothing more');
  } finally {
    await b.dispose();
  }
});
