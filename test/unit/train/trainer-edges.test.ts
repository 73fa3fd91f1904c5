// Trainer control flow at its edges, in-process and small: publishing every N rows, a checkpoint taken before the
// first evaluation, the best weights restored from a checkpoint, a checkpoint from before sample weights (no
// epochWeight), a batch whose sample weights are all 0, and idle workers released after fit() with 2 threads.

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
// 1000 rows: 7 batches of 128 and one of 104 per epoch.
const task = plantedTask({ seed: 42, nTrain: 1000, nValid: 300, nTest: 10 });

async function trainer(opts: TrainerOptions): Promise<Trainer> {
  const ops = await WasmOps.create({ initialBytes: 16 << 20 });
  return Trainer.create(CONFIG, { batchSize: 128, epochs: 1, seed: 5, gemm: 'wasm', ops, optim: { lr: 0.01, embeddingOptimizer: 'adam' }, evalEvery: 2, earlyStopping: { patience: 50 }, ...opts });
}

const params = (t: Trainer): Float32Array[] => t.model.parameters().map((p) => p.data.slice());
const same = (a: Float32Array[], b: Float32Array[]): boolean => a.length === b.length && a.every((t, i) => t.length === b[i].length && t.every((v, j) => Object.is(v, b[i][j])));

test('publishEvery: onPublish gets the row count each time a multiple of N is crossed (and never without publishEvery)', async () => {
  const seen: number[] = [];
  const tr = await trainer({ epochs: 2, evalEvery: 0, earlyStopping: false, publishEvery: 300, onPublish: (rows) => void seen.push(rows) });
  const none: number[] = [];
  const off = await trainer({ epochs: 1, evalEvery: 0, earlyStopping: false, onPublish: (rows) => void none.push(rows) });
  try {
    await tr.fit(new MemorySource(task.train, { shuffle: false }));
    await off.fit(new MemorySource(task.train, { shuffle: false }));
  } finally {
    await Promise.all([tr.dispose(), off.dispose()]);
  }
  // Rows after each step: 128, 256, …, 896, 1000 in epoch 0, then 1128, …, 1896, 2000; a publish where ⌊rows/300⌋ grows.
  const expected: number[] = [];
  let before = 0;
  for (let e = 0; e < 2; e++) {
    for (let done = 0; done < 1000; ) {
      const count = Math.min(128, 1000 - done);
      done += count;
      const rows = before + count;
      if (Math.floor(rows / 300) > Math.floor(before / 300)) expected.push(rows);
      before = rows;
    }
  }
  assert.deepEqual(expected, [384, 640, 1000, 1256, 1512, 1896]);
  assert.deepEqual(seen, expected);
  assert.deepEqual(none, [], 'no publishEvery: onPublish is never called');
});

test('a checkpoint before the first evaluation holds no best weights; one after it holds the best evaluation and its weights; the best weights are restored on resume', async () => {
  const cks: TrainerCheckpoint[] = [];
  const a = await trainer({ checkpointEvery: 128, onCheckpoint: (c) => void cks.push(c) });
  try {
    await a.fit(new MemorySource(task.train, { shuffle: false }), task.valid);
  } finally {
    await a.dispose();
  }
  const [first, second, third] = cks;
  // step 1: no evaluation yet (every 2 steps)
  assert.equal(first.loop.step, 1);
  assert.equal(first.loop.hasBest, false);
  assert.equal(first.loop.best, null);
  assert.deepEqual(first.loop.history, []);
  assert.equal(first.tensors.filter((t) => t.name.startsWith('best.')).length, 0, 'no best weights before the first evaluation');
  // step 2: evaluated, the first evaluation is the best; its weights are this step's weights
  assert.equal(second.loop.step, 2);
  assert.equal(second.loop.hasBest, true);
  assert.equal(second.loop.history.length, 1);
  assert.equal(second.loop.best?.step, 2);
  const names = second.tensors.filter((t) => !t.name.startsWith('best.') && !t.name.startsWith('optim.')).map((t) => t.name);
  assert.ok(names.length > 0);
  for (const n of names) {
    const w = second.tensors.find((t) => t.name === n) as TrainerCheckpoint['tensors'][number];
    const b = second.tensors.find((t) => t.name === `best.${n}`) as TrainerCheckpoint['tensors'][number];
    assert.ok(b !== undefined && same([b.data], [w.data]), `best.${n} is the weights at the best evaluation`);
  }
  assert.equal(third.loop.step, 3);

  // Resume from step 3 with best weights that no later evaluation can beat (AUC 2): the run must end with exactly
  // the checkpoint's best weights, which only the checkpoint holds (marker values).
  const marker = (name: string, len: number): Float32Array => Float32Array.from({ length: len }, (_, i) => (name.length + i) / 1024);
  const planted: TrainerCheckpoint = {
    loop: { ...third.loop, best: { ...(third.loop.best as NonNullable<TrainerCheckpoint['loop']['best']>), auc: 2 } },
    tensors: third.tensors.map((t) => (t.name.startsWith('best.') ? { ...t, data: marker(t.name, t.data.length) } : t)),
  };
  const b = await trainer({});
  try {
    const r = await b.fit(new MemorySource(task.train, { shuffle: false }), task.valid, { resume: planted });
    assert.equal(r.best?.auc, 2, 'no later evaluation beat the checkpoint’s best');
    assert.ok(r.history.length > third.loop.history.length, 'the resumed run evaluated again');
    const want = b.model.parameters().map((p) => marker(`best.${p.name}`, p.data.length));
    assert.ok(same(params(b), want), "the resumed run ends with the checkpoint's best weights");
  } finally {
    await b.dispose();
  }

  // Resumed from the real checkpoint, later evaluations beat its best: the new best weights are the run's own
  // copy, the caller's checkpoint keeps its tensors.
  const kept = third.tensors.map((t) => t.data.slice());
  const d = await trainer({});
  try {
    const r = await d.fit(new MemorySource(task.train, { shuffle: false }), task.valid, { resume: third });
    assert.ok((r.best?.step ?? 0) > third.loop.step, 'a later evaluation was the best');
    assert.ok(same(third.tensors.map((t) => t.data), kept), "the checkpoint's tensors are unchanged by the resumed run");
  } finally {
    await d.dispose();
  }

  // A checkpoint that says it has best weights but lacks one, or has one of the wrong size: a clear error.
  const name = third.tensors.find((t) => t.name.startsWith('best.'))?.name as string;
  const lacking: TrainerCheckpoint = { loop: third.loop, tensors: third.tensors.filter((t) => t.name !== name) };
  const short: TrainerCheckpoint = { loop: third.loop, tensors: third.tensors.map((t) => (t.name === name ? { ...t, data: t.data.subarray(1) } : t)) };
  for (const bad of [lacking, short]) {
    const c = await trainer({});
    try {
      await assert.rejects(c.fit(new MemorySource(task.train, { shuffle: false }), task.valid, { resume: bad }), (e: Error) => e.message === `resume: the checkpoint lacks the best weights of '${name.slice('best.'.length)}'`);
    } finally {
      await c.dispose();
    }
  }
});

test("a checkpoint from before sample weights (no epochWeight) resumes with the epoch's row count as its weight; the next epoch starts from 0", async () => {
  let ck: TrainerCheckpoint | null = null;
  const epochLosses = (into: number[]): TrainerOptions['onEvent'] => (e) => void (e.type === 'epoch' && into.push(e.trainLoss as number));
  const wholeLosses: number[] = [];
  const a = await trainer({ epochs: 2, evalEvery: 0, earlyStopping: false, onEvent: epochLosses(wholeLosses), checkpointEvery: 500, onCheckpoint: (c) => void (ck ??= c) });
  let whole: Awaited<ReturnType<Trainer['fit']>>;
  try {
    whole = await a.fit(new MemorySource(task.train, { shuffle: false }));
  } finally {
    await a.dispose();
  }
  const c = ck as unknown as TrainerCheckpoint;
  // in epoch 0 (after 512 rows), so the resumed run finishes epoch 0 and then runs all of epoch 1
  assert.equal(c.loop.epoch, 0);
  assert.equal(c.loop.epochWeight, c.loop.epochRows);
  const old: TrainerCheckpoint = { loop: { ...c.loop }, tensors: c.tensors };
  delete old.loop.epochWeight;
  const losses: number[] = [];
  const b = await trainer({ epochs: 2, evalEvery: 0, earlyStopping: false, onEvent: epochLosses(losses) });
  try {
    const r = await b.fit(new MemorySource(task.train, { shuffle: false }), undefined, { resume: old });
    assert.equal(wholeLosses.length, 2);
    assert.ok(wholeLosses.every(Number.isFinite));
    assert.deepEqual(losses, wholeLosses, "each epoch's mean train loss as in the uninterrupted run");
    assert.equal(r.trainLoss, whole.trainLoss);
  } finally {
    await b.dispose();
  }
});

test('a batch whose sample weights are all 0 adds 0 to the mean loss between evaluations (not 0/0)', async () => {
  const sw = new Float32Array(task.train.rows).fill(1);
  sw.fill(0, 0, 128); // the first batch weighs nothing
  const data: Columns = { ...task.train, sampleWeights: sw };
  const losses: number[] = [];
  const tr = await trainer({ evalEvery: 2, onStep: (s) => void losses.push(s.loss) });
  let r: Awaited<ReturnType<Trainer['fit']>>;
  try {
    r = await tr.fit(new MemorySource(data, { shuffle: false }), task.valid);
  } finally {
    await tr.dispose();
  }
  assert.equal(losses[0], 0, 'Σ w·loss of a batch of weight 0');
  assert.ok(losses[1] > 0);
  // evaluation 1 after steps 1-2: the mean of 0 (weight 0) and step 2's loss per weight (128 rows of weight 1)
  assert.equal(r.history[0].trainLoss, (0 + losses[1] / 128) / 2);
  assert.equal(r.history[1].trainLoss, (losses[2] / 128 + losses[3] / 128) / 2);
  // the epoch's loss is over its weight: 1000 rows less the 128 of weight 0
  assert.equal(r.trainLoss, losses.reduce((s, l) => s + l, 0) / (1000 - 128));
});

test('2 threads: the workers keep the process alive while fit() trains and are released (unref) when it returns', async () => {
  const ports = (): number => process.getActiveResourcesInfo().filter((x) => x === 'MessagePort').length;
  const idle0 = ports();
  let during = -1;
  const tr = await trainer({ threads: 2, evalEvery: 0, earlyStopping: false, onStep: () => void (during = Math.max(during, ports())) });
  try {
    const idle1 = ports();
    await tr.fit(new MemorySource(task.train, { shuffle: false }));
    assert.ok(during > idle1, `while training the workers are referenced (${during} ports vs ${idle1} idle)`);
    assert.equal(ports(), idle1, 'after fit() the idle workers are unreferenced again');
    assert.equal(idle1, idle0, 'idle workers hold the process no more than before they existed');
  } finally {
    await tr.dispose();
  }
});
