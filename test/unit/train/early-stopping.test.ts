// Early stopping, counted exactly: a validation set whose rows are all the same input scores every row alike, so
// its AUC is 0.5 at every evaluation and never improves. With patience p, fit() must then stop after exactly
// p + 1 evaluations (the first sets the best, p more without a gain) and restore the first evaluation's weights;
// without early stopping it runs every epoch. (The planted test checks a stop only if one happens.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexSpec } from '../../../src/embedding/config.js';
import type { ModelConfig } from '../../../src/models/config.js';
import type { Columns as Dataset } from '../../../src/data/batches/columns.js';
import { Trainer, type TrainerOptions } from '../../../src/train/trainer.js';
import { plantedTask } from './planted-data.js';

const BH: IndexSpec = { method: 'bh', codeBits: 7, blockBits: 4, strategy: 'succession', dense: true };
const CONFIG: ModelConfig = { arch: 'dnn', dim: 4, mlp: [8], numDense: 1, seed: 3, initStd: 0.1, fields: [0, 1, 2, 3].map(() => ({ index: BH, fusion: 'sum' as const })) };
const task = plantedTask({ seed: 11, nTrain: 600, nValid: 200, nTest: 200 });

/** The validation rows with every input replaced by row 0's: one score for all rows, labels of both classes. */
function flat(ds: Dataset): Dataset {
  const fields = ds.fields.map((f) => {
    const ids = new Uint32Array(f.ids.length);
    for (let r = 0; r < ds.rows; r++) ids.set(f.ids.subarray(0, 2), 2 * r);
    return { ids };
  });
  return { ...ds, fields, dense: new Float32Array(ds.rows * (ds.numDense ?? 0)).fill((ds.dense as Float32Array)[0]) };
}
const flatValid = flat(task.valid);

async function fit(opts: TrainerOptions, valid: Dataset | null = flatValid): Promise<{ fit: Awaited<ReturnType<Trainer['fit']>>; scores: Float32Array }> {
  const trainer = await Trainer.create(CONFIG, { batchSize: 100, epochs: 8, seed: 5, optim: { lr: 0.01 }, ...opts });
  try {
    const r = await trainer.fit(task.train, valid ?? undefined);
    return { fit: r, scores: await trainer.predict(task.test) };
  } finally {
    await trainer.dispose();
  }
}

test('a validation AUC that never improves stops training after exactly patience + 1 evaluations', async () => {
  assert.equal(flatValid.labels.some((y) => y === 0) && flatValid.labels.some((y) => y === 1), true, 'the flat validation set has both classes');
  for (const patience of [1, 2, 3]) {
    const { fit: r } = await fit({ earlyStopping: { patience } });
    assert.deepEqual(r.history.map((h) => h.auc), new Array(r.history.length).fill(0.5), 'every row scores the same, so every AUC is 0.5');
    assert.equal(r.history.length, patience + 1, `patience ${patience}: early stopping must stop after ${patience + 1} evaluations without a gain after the first; it ran ${r.history.length} (of 8 epochs)`);
    assert.equal(r.stoppedEarly, true, `patience ${patience}: stoppedEarly`);
    assert.equal(r.epochs, patience + 1, `patience ${patience}: epochs run`);
    assert.equal(r.steps, 6 * (patience + 1), `patience ${patience}: 6 steps per epoch`);
    assert.equal(r.best?.epoch, 0, 'the first evaluation stays the best (no later AUC is higher)');
  }
});

test('the default patience is 2; earlyStopping: false trains every epoch', async () => {
  const d = await fit({});
  assert.equal(d.fit.history.length, 3, `default patience 2: 3 evaluations, got ${d.fit.history.length}`);
  const off = await fit({ earlyStopping: false });
  assert.equal(off.fit.stoppedEarly, false, 'earlyStopping: false never stops');
  assert.equal(off.fit.epochs, 8, `earlyStopping: false must run all 8 epochs, ran ${off.fit.epochs}`);
  assert.equal(off.fit.history.length, 8, 'validation is still evaluated every epoch');
  const none = await fit({ earlyStopping: { patience: 1 } }, null);
  assert.equal(none.fit.epochs, 8, 'no validation set: no early stopping');
  assert.equal(none.fit.best, null);
  assert.deepEqual(none.fit.history, []);
});

test('minDelta: a gain below it does not count, so a learning model stops like a flat one', async () => {
  const { fit: r } = await fit({ earlyStopping: { patience: 2, minDelta: 1 } }, task.valid);
  assert.equal(r.history.length, 3, `no AUC can beat the first by minDelta = 1, so 3 evaluations; got ${r.history.length}`);
  const gained = await fit({ earlyStopping: { patience: 2, minDelta: 0 } }, task.valid);
  assert.ok(gained.fit.history.length > 3, `with minDelta 0 the planted task's validation AUC improves past the third evaluation (ran ${gained.fit.history.length})`);
});

test('the stopped run keeps the weights of its best (first) evaluation: the scores of a 1-epoch run', async () => {
  const stopped = await fit({ earlyStopping: { patience: 2 } });
  const one = await fit({ epochs: 1 }, null);
  const last = await fit({ epochs: 3, earlyStopping: false });
  assert.deepEqual(stopped.scores, one.scores, 'early stopping must restore the best epoch (1) weights');
  assert.notDeepEqual(last.scores, one.scores, 'epochs 2 and 3 change the weights, so the restore is visible');
});

test('evalEvery counts steps across epochs: evaluations at steps 4, 8, 12 and the stop there', async () => {
  const { fit: r } = await fit({ evalEvery: 4, earlyStopping: { patience: 2 } });
  assert.deepEqual(r.history.map((h) => h.step), [4, 8, 12], 'evaluations every 4 steps (6 steps per epoch)');
  assert.deepEqual(r.history.map((h) => h.epoch), [0, 1, 1]);
  assert.equal(r.steps, 12, `the run must stop at the third evaluation (step 12), stopped at ${r.steps}`);
  assert.equal(r.epochs, 2);
  assert.equal(r.stoppedEarly, true);
});

test('progress: onStep per step (rows done, summed batch loss), onEvent epoch then eval, and the losses they report', async () => {
  const steps: Array<{ epoch: number; step: number; done: number; total: number; loss: number }> = [];
  const events: Array<{ type: string; epoch: number; step: number; trainLoss?: number; auc?: number }> = [];
  const { fit: r } = await fit({ epochs: 2, earlyStopping: false, onStep: (s) => steps.push({ ...s }), onEvent: (e) => events.push({ ...e }) }, task.valid);
  assert.deepEqual(steps.map((s) => s.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'one onStep per optimizer step, 1-based and global');
  assert.deepEqual(steps.slice(0, 6).map((s) => s.done), [100, 200, 300, 400, 500, 600], 'rows of the epoch done');
  assert.ok(steps.every((s) => s.total === 600 && s.loss > 0 && Number.isFinite(s.loss)));
  assert.deepEqual(steps.map((s) => s.epoch), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(events.map((e) => `${e.type}${e.epoch}@${e.step}`), ['epoch0@6', 'eval0@6', 'epoch1@12', 'eval1@12'], 'each epoch ends with its epoch event, then its evaluation');
  const epochLoss = (e: number): number => steps.filter((s) => s.epoch === e).reduce((a, s) => a + s.loss, 0) / 600;
  const meanStepLoss = (e: number): number => steps.filter((s) => s.epoch === e).reduce((a, s) => a + s.loss / 100, 0) / 6;
  for (const e of [0, 1]) {
    assert.ok(Math.abs((events[2 * e].trainLoss as number) - epochLoss(e)) < 1e-9, `epoch ${e}: the epoch event's train loss is the mean row loss`);
    assert.ok(Math.abs((events[2 * e + 1].trainLoss as number) - meanStepLoss(e)) < 1e-9, `epoch ${e}: the eval event's train loss is the mean step loss since the last evaluation`);
    assert.equal(r.history[e].trainLoss, events[2 * e + 1].trainLoss);
    assert.equal(r.history[e].auc, events[2 * e + 1].auc);
  }
  assert.ok(Math.abs(r.trainLoss - epochLoss(1)) < 1e-9, 'FitResult.trainLoss is the last epoch\'s');
  assert.equal(r.best?.auc, Math.max(...r.history.map((h) => h.auc)), 'best is the highest validation AUC');
  assert.ok(r.history[1].auc > r.history[0].auc, 'the planted task improves from epoch 1 to 2 (so best is the last here)');
  assert.equal(r.best?.epoch, 1);
});

test('a one-class validation set (AUC undefined every time) counts as no gain: stops after patience + 1 evaluations', async () => {
  const ones: Dataset = { ...task.valid, labels: new Float32Array(task.valid.rows).fill(1) };
  const { fit: r } = await fit({ earlyStopping: { patience: 1 } }, ones);
  assert.ok(r.history.every((h) => Number.isNaN(h.auc)), 'one class: every validation AUC is NaN');
  assert.equal(r.history.length, 2, `patience 1 on an AUC that is NaN at every evaluation must stop after 2 evaluations; it ran ${r.history.length}`);
  assert.equal(r.best?.epoch, 0, 'the first evaluation stays the best (a NaN does not replace a NaN)');
});

test('fit: shuffle and seed reach the rows\' order; event and result times are seconds since fit began', async () => {
  const t0 = performance.now();
  const events: number[] = [];
  const base = await fit({ epochs: 2, earlyStopping: false, onEvent: (e) => events.push(e.seconds) }, task.valid);
  const wall = (performance.now() - t0) / 1000;
  assert.equal(events.length, 4);
  assert.ok(events.every((s, i) => s >= 0 && s <= wall && (i === 0 || s >= events[i - 1])), `event times ${events.join(', ')} must be seconds since fit began (≤ ${wall} s), in order`);
  assert.ok(base.fit.seconds >= events[3] && base.fit.seconds <= wall, `FitResult.seconds ${base.fit.seconds} (wall ${wall})`);
  const seed6 = await fit({ epochs: 2, earlyStopping: false, seed: 6 }, task.valid);
  assert.notDeepEqual(seed6.scores, base.scores, 'seed 6 must shuffle the rows in another order than seed 5 (the model init is the same)');
  const inOrder = await fit({ epochs: 2, earlyStopping: false, shuffle: false }, task.valid);
  const inOrder6 = await fit({ epochs: 2, earlyStopping: false, shuffle: false, seed: 6 }, task.valid);
  assert.notDeepEqual(inOrder.scores, base.scores, 'shuffle: false must train in file order, not shuffled');
  assert.deepEqual(inOrder6.scores, inOrder.scores, 'shuffle: false: the seed changes nothing (no dropout here)');
});

test('fit: a training or validation set of the wrong shape is a ConfigError naming which', async () => {
  const trainer = await Trainer.create(CONFIG, { batchSize: 100, epochs: 1 });
  try {
    const short = (ds: Dataset): Dataset => ({ ...ds, fields: ds.fields.slice(1) });
    await assert.rejects(trainer.fit(short(task.train)), /^ConfigError: train: 3 fields, the model has 4$/m);
    await assert.rejects(trainer.fit(task.train, short(task.valid)), /^ConfigError: valid: 3 fields, the model has 4$/m);
  } finally {
    await trainer.dispose();
  }
});
