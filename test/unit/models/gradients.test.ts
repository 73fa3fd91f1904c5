// Every architecture against finite differences: dense parameters and embedding rows (both tables), with a
// field per index method and fusion mode, multi-valued fields, dense inputs, dropout and batch norm switched on.
// Tolerance: |a − n| ≤ 2e-4 + 2e-2·max(|a|,|n|), central step 1e-3 on float32 storage, loss summed in float64;
// entries whose ±step straddles a ReLU kink may match a one-sided difference instead (at most a third of them).
// Also: every (architecture × method × fusion) trains a step with a finite loss and changes its parameters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import type { IndexSpec } from '../../../src/embedding/config.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { ARCHS, type ModelConfig } from '../../../src/models/config.js';
import { createModel } from '../../../src/models/registry.js';
import { FUSIONS } from '../../../src/nn/embedding-bag.js';
import { randomBatch } from '../nn/grad-check.js';
import { checkModelGradients } from './model-grad-check.js';

const ops = new ReferenceOps();
/** Smaller central step than the layer tests: models have many ReLUs, and a step must not cross a kink. */
const MODEL_EPS = 1e-3;

const SPECS: IndexSpec[] = [
  { method: 'bh', codeBits: 6, blockBits: 2, strategy: 'succession', dense: true },
  { method: 'hash', rows: 11 },
  { method: 'qr', remainder: 5, quotient: 4 },
  { method: 'dhash', rows: 9, hashes: 2 },
  { method: 'bh', codeBits: 16, blockBits: 4, strategy: 'skip' },
  // Full vocabulary of ids 0..39 (ids ≥ 40 fall into the OOV row 0).
  { method: 'full', minCount: 1, vocab: Array.from({ length: 40 }, (_, v) => v.toString(16).padStart(16, '0')) },
];

for (const arch of ARCHS) {
  test(`${arch}: gradients of all dense parameters and embedding rows match finite differences`, async () => {
    const config: ModelConfig = {
      arch,
      dim: 3,
      mlp: [6, 5],
      dropout: 0.2,
      batchNorm: true,
      crossLayers: 2,
      numDense: 2,
      initStd: 0.3,
      seed: 5,
      fields: [
        { index: SPECS[0], fusion: 'sum' },
        { index: SPECS[1], fusion: 'mean', pooling: 'mean' },
        { index: SPECS[2], fusion: 'concat' },
        { index: SPECS[3], fusion: 'weighted', pooling: 'sum' },
        { index: SPECS[4], fusion: 'mean' },
        { index: SPECS[5], fusion: 'sum', pooling: 'sum' },
      ],
    };
    const B = 6;
    const model = createModel(config, { ops, maxBatch: B });
    const rng = new Rng(100 + ARCHS.indexOf(arch));
    // Make the linear tables and block weights non-trivial.
    for (const p of model.parameters()) if (p.kind !== 'buffer') for (let i = 0; i < p.data.length; i++) p.data[i] += 0.2 * rng.normal();
    const batch = randomBatch(rng, B, [{ card: 64 }, { card: 30, maxLen: 3 }, { card: 100 }, { card: 50, maxLen: 2 }, { card: 1000 }, { card: 60, maxLen: 3 }], 2);
    const { bad, kinks, checked } = await checkModelGradients(model, batch, rng, [model.emb, model.lin], { seed: 77, dense: 80, touched: 40, anywhere: 10, eps: MODEL_EPS });
    assert.deepEqual(bad, []);
    // One hidden unit near 0 moves with almost every parameter, so kink entries come in clusters.
    assert.ok(kinks <= checked / 3, `${kinks} of ${checked} entries sit on a ReLU kink`);
    // The names enumerate every tensor once.
    const names = model.parameters().map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(names.includes('emb.table'), arch !== 'lr');
    assert.equal(names.includes('linear.table'), ['lr', 'fm', 'wdl', 'deepfm'].includes(arch));
  });
}

test('every architecture × index method × fusion trains a step (finite loss, parameters move)', async () => {
  const rng = new Rng(3);
  for (const arch of ARCHS) {
    for (const spec of SPECS) {
      for (const fusion of FUSIONS) {
        const model = createModel(
          { arch, dim: 4, mlp: [8], crossLayers: 1, numDense: 1, fields: [{ index: spec, fusion }, { index: SPECS[1], fusion, pooling: 'mean' }] },
          { ops, maxBatch: 8, optim: { lr: 0.01 } },
        );
        const batch = randomBatch(rng, 8, [{ card: 50 }, { card: 20, maxLen: 3 }], 1);
        const before = model.parameters().map((p) => p.data.slice());
        const loss = await model.trainStep(batch);
        assert.ok(Number.isFinite(loss) && loss > 0, `${arch}/${spec.method}/${fusion}: loss ${loss}`);
        const moved = model.parameters().some((p, i) => p.data.some((v, j) => v !== before[i][j]));
        assert.ok(moved, `${arch}/${spec.method}/${fusion}: nothing moved`);
        const probs = await model.predict(batch);
        assert.equal(probs.length, 8);
        assert.ok(probs.every((p) => p > 0 && p < 1));
      }
    }
  }
});

test('save/load round trip through parameters(): same predictions', async () => {
  const cfg: ModelConfig = { arch: 'deepfm', dim: 4, mlp: [8], batchNorm: true, fields: [{ index: SPECS[0] }, { index: SPECS[2], fusion: 'weighted' }], numDense: 1 };
  const a = createModel(cfg, { ops, maxBatch: 16 });
  const rng = new Rng(8);
  const batch = randomBatch(rng, 16, [{ card: 64 }, { card: 100 }], 1);
  for (let i = 0; i < 3; i++) await a.trainStep(batch);
  const saved = a.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data.slice() }));
  const b = createModel({ ...cfg, seed: 99 }, { ops, maxBatch: 16 });
  b.loadParameters(saved);
  assert.deepEqual([...(await b.predict(batch))], [...(await a.predict(batch))]);
  assert.throws(() => b.loadParameters(saved.slice(1)), /missing/);
});

test('config errors name the key and the allowed values', () => {
  const f = [{ index: SPECS[1] }];
  assert.throws(() => createModel({ arch: 'xgb' as never, fields: f }, { ops }), /arch: 'xgb' is not one of lr \| fm \| dnn \| wdl \| deepfm \| dcnv2/);
  assert.throws(() => createModel({ arch: 'dnn', fields: [{ index: SPECS[1], fusion: 'max' as never }] }, { ops }), /fields\[0\]\.fusion/);
  assert.throws(() => createModel({ arch: 'dnn', dim: 0, fields: f }, { ops }), /dim/);
  assert.throws(() => createModel({ arch: 'dnn', fields: [] }, { ops }), /fields/);
});

test('steady state: no backend allocation per batch (train steps and predict, varying batch sizes)', async () => {
  class CountingOps extends ReferenceOps {
    allocs = 0;
    override allocF32(n: number): Float32Array {
      this.allocs++;
      return super.allocF32(n);
    }
    override allocI32(n: number): Int32Array {
      this.allocs++;
      return super.allocI32(n);
    }
  }
  const cops = new CountingOps();
  for (const arch of ARCHS) {
    const model = createModel(
      { arch, dim: 4, mlp: [8], batchNorm: true, dropout: 0.1, crossLayers: 1, numDense: 2, fields: [{ index: SPECS[0], fusion: 'weighted' }, { index: SPECS[1], pooling: 'mean' }, { index: SPECS[2], fusion: 'concat' }] },
      { ops: cops, maxBatch: 16 },
    );
    const rng = new Rng(4);
    const batches = [16, 3, 16, 9, 1, 16, 7].map((B) => randomBatch(rng, B, [{ card: 64 }, { card: 30, maxLen: 3 }, { card: 100 }], 2));
    // Warm-up: the first step creates the Adam state; the longest multi-valued batch sets the row capacity.
    for (const b of batches) await model.trainStep(b);
    await model.predict(batches[0]);
    const before = cops.allocs;
    for (let rep = 0; rep < 3; rep++) {
      for (const b of batches) {
        await model.trainStep(b);
        await model.predict(b);
      }
    }
    assert.equal(cops.allocs - before, 0, `${arch}: ${cops.allocs - before} allocations in steady state`);
  }
});

test('dispose() returns every backend array the model allocated (growth included)', async () => {
  class LedgerOps extends ReferenceOps {
    readonly live = new Set<Float32Array | Int32Array>();
    override allocF32(n: number): Float32Array {
      const a = super.allocF32(n);
      this.live.add(a);
      return a;
    }
    override allocI32(n: number): Int32Array {
      const a = super.allocI32(n);
      this.live.add(a);
      return a;
    }
    override free(a: Float32Array | Int32Array): void {
      assert.ok(this.live.delete(a), 'free of an array that is not live');
    }
  }
  const lops = new LedgerOps();
  const model = createModel({ arch: 'deepfm', dim: 4, mlp: [8], fields: [{ index: SPECS[1], pooling: 'mean', fusion: 'weighted' }] }, { ops: lops, maxBatch: 4 });
  const rng = new Rng(12);
  // Up to 40 values per sample: the row buffers grow (and free the old ones) several times.
  for (const maxLen of [1, 10, 40]) await model.trainStep(randomBatch(rng, 4, [{ card: 30, maxLen }], 0));
  assert.ok(lops.live.size > 0);
  model.dispose();
  assert.equal(lops.live.size, 0);
});
