// Per-field embedding dims (FieldConfig.dim): one table per distinct width, the deep input the tables' outputs side by
// side. Gradients of every table against finite differences (dnn, wdl, dcnv2, every index method and fusion across
// three widths); FM and DeepFM refuse mixed widths naming the fields; the model file of a mixed model is version 2,
// round-trips with the same predictions, and a uniform model's file is unchanged (version 1); the planner's bytes
// are rows × each field's own width, to the byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import type { IndexSpec } from '../../../src/embedding/config.js';
import { planEmbeddings } from '../../../src/embedding/planner.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { normalizeModelConfig, type Arch, type ModelConfig } from '../../../src/models/config.js';
import { decodeModelFile, encodeModelFile } from '../../../src/models/model-file.js';
import { createModel } from '../../../src/models/registry.js';
import { randomBatch } from '../nn/grad-check.js';
import { checkModelGradients } from './model-grad-check.js';

const ops = new ReferenceOps();

const SPECS: IndexSpec[] = [
  { method: 'bh', codeBits: 6, blockBits: 2, strategy: 'succession', dense: true },
  { method: 'hash', rows: 11 },
  { method: 'qr', remainder: 5, quotient: 4 },
  { method: 'dhash', rows: 9, hashes: 2 },
  { method: 'bh', codeBits: 16, blockBits: 4, strategy: 'skip' },
  { method: 'full', minCount: 1, vocab: Array.from({ length: 40 }, (_, v) => v.toString(16).padStart(16, '0')) },
];
const GEN = [{ card: 64 }, { card: 30, maxLen: 3 }, { card: 100 }, { card: 50, maxLen: 2 }, { card: 1000 }, { card: 60, maxLen: 3 }];

/** Six fields over three widths (2, 3 = the model's dim, 5), every method and fusion, two multi-valued. */
function mixedConfig(arch: Arch): ModelConfig {
  return {
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
      { name: 'a', index: SPECS[0], fusion: 'sum', dim: 2 },
      { name: 'b', index: SPECS[1], fusion: 'mean', pooling: 'mean', dim: 5 },
      { name: 'c', index: SPECS[2], fusion: 'concat', dim: 2 },
      { name: 'd', index: SPECS[3], fusion: 'weighted', pooling: 'sum' },
      { name: 'e', index: SPECS[4], fusion: 'weighted', dim: 5 },
      { name: 'f', index: SPECS[5], fusion: 'sum', pooling: 'sum', dim: 3 },
    ],
  };
}

for (const arch of ['dnn', 'wdl', 'dcnv2'] as const) {
  test(`${arch} with fields of dims 2, 3 and 5: gradients of every table and dense parameter match finite differences`, async () => {
    const model = createModel(mixedConfig(arch), { ops, maxBatch: 6 });
    // One table per width, named by width; the deep tower takes Σ_f segments_f · dim_f + dense inputs.
    assert.deepEqual(
      model.embs.map((b) => [b.name, b.dim]),
      [['emb_d2', 2], ['emb_d5', 5], ['emb', 3]],
    );
    assert.deepEqual(model.groups?.fields, [[0, 2], [1, 4], [3, 5]]);
    const K = [3, 1, 2, 2, 4, 1]; // rows per value: bh 6/2, hash, qr, dhash, bh 16/4, full
    const width = 2 * (1 + K[2]) + 5 * 2 + 3 * 2;
    assert.equal(model.params.list().find((p) => p.name === (arch === 'dcnv2' ? 'cross.0.weight' : 'mlp.0.fc.weight'))?.shape.includes(width + 2), true);
    assert.equal(model.emb, null);
    const rng = new Rng(40 + arch.length);
    for (const p of model.parameters()) if (p.kind !== 'buffer') for (let i = 0; i < p.data.length; i++) p.data[i] += 0.2 * rng.normal();
    const batch = randomBatch(rng, 6, GEN, 2);
    const { bad, kinks, checked } = await checkModelGradients(model, batch, rng, [...model.embs, model.lin], { seed: 77, dense: 60, touched: 25, anywhere: 5, eps: 1e-3, requireTouched: true });
    assert.deepEqual(bad, []);
    assert.ok(kinks <= checked / 3, `${kinks} of ${checked} entries sit on a ReLU kink`);
    model.dispose();
  });
}

test('fm and deepfm refuse fields of their own dim, naming the model and the fields; one dim given to every field is that dim', () => {
  for (const arch of ['fm', 'deepfm'] as const) {
    assert.throws(
      () => createModel(mixedConfig(arch), { ops, maxBatch: 4 }),
      (e: Error) =>
        e.name === 'ConfigError' &&
        e.message === `arch '${arch}': the FM term multiplies every pair of field vectors, so all fields need one dim; fields a (dim 2), b (dim 5), c (dim 2), e (dim 5) differ from the model's dim 3 (DeepCTR likewise requires one embedding_dim for FM models); drop their "dim", or use dnn, wdl or dcnv2, which take per-field dims`,
    );
  }
  // Every field 5 wide (one given explicitly equal to the model's): a uniform model of dim 5, as if dim were 5.
  const all5 = normalizeModelConfig({ arch: 'deepfm', dim: 3, fields: [{ index: SPECS[1], dim: 5 }, { index: SPECS[2], dim: 5 }] });
  assert.equal(all5.dim, 5);
  assert.deepEqual(all5.fields.map((f) => f.dim), [undefined, undefined]);
  const same = normalizeModelConfig({ arch: 'dnn', dim: 3, fields: [{ index: SPECS[1], dim: 3 }, { index: SPECS[2], dim: 4 }] });
  assert.deepEqual(same.fields.map((f) => f.dim), [undefined, 4]);
  assert.throws(() => normalizeModelConfig({ arch: 'dnn', fields: [{ index: SPECS[1], dim: 0 }] }), /^ConfigError: fields\[0\]\.dim: must be an integer ≥ 1, got 0$/);
});

test('model file: a mixed-dim model is format version 2 and loads with the same predictions; a uniform one stays version 1', async () => {
  const config = mixedConfig('wdl');
  const model = createModel(config, { ops, maxBatch: 16, optim: { lr: 0.05 } });
  const rng = new Rng(9);
  for (let s = 0; s < 3; s++) await model.trainStep(randomBatch(rng, 16, GEN, 2));
  const batch = randomBatch(rng, 16, GEN, 2);
  const want = (await model.predict(batch)).slice();
  const tensors = model.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data.slice() }));
  assert.deepEqual(
    tensors.filter((t) => t.name.endsWith('.table')).map((t) => `${t.name} [${t.shape.join(', ')}]`),
    // a: bh 6/2 dense (3 blocks × 4) + c: qr 5 + 4 | b: hash 11 + e: bh 16/4 skip (4 × 16) | d: dhash 9 + f: 40 + OOV
    ['emb_d2.table [21, 2]', 'emb_d5.table [75, 5]', 'emb.table [50, 3]', 'linear.table [146, 1]'],
  );
  const bytes = encodeModelFile(model.config, { bhembed: 'test' }, tensors);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true), 2);
  const file = decodeModelFile(bytes, 'm.bhm');
  assert.equal(file.version, 2);
  const back = createModel(file.model as ModelConfig, { ops, maxBatch: 16 });
  back.loadParameters(file.tensors);
  assert.deepEqual(Array.from(await back.predict(batch)), Array.from(want));
  // Loading into a model of other widths fails naming the tensor.
  const other = createModel({ ...config, fields: config.fields.map((f) => ({ ...f, dim: f.name === 'b' ? 4 : f.dim })) }, { ops, maxBatch: 16 });
  assert.throws(() => other.loadParameters(file.tensors), /load: tensor 'mlp\.0\.fc\.weight' has 144 values, the model needs 138/);
  const uniform = createModel({ ...config, fields: config.fields.map((f) => ({ ...f, dim: undefined })) }, { ops, maxBatch: 4 });
  const u = encodeModelFile(uniform.config, {}, uniform.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data })));
  assert.equal(new DataView(u.buffer, u.byteOffset).getUint32(4, true), 1);
  assert.equal(JSON.stringify(uniform.config).includes('"dim":3'), true);
  assert.equal((uniform.config.fields as { dim?: number }[]).every((f) => !('dim' in f)), true);
  for (const m of [model, back, other, uniform]) m.dispose();
});

test('planner: a field of its own width costs rows × that width; the budget is met to the byte and uniform plans are unchanged', () => {
  const fields = [
    { name: 'hour', cardinality: 24, dim: 4 },
    { name: 'user', cardinality: 200_000, dim: 32 },
    { name: 'item', cardinality: 50_000 },
    { name: 'site', cardinality: 3_000, dim: 8 },
  ];
  const budget = 1_000_003;
  const plan = planEmbeddings(fields, { budgetBytes: budget, dim: 16 });
  const width = [4, 32, 16, 8];
  plan.fields.forEach((f, i) => {
    assert.equal(f.dim, width[i]);
    assert.equal(f.bytes, f.rows * width[i] * 4, `${f.field}: bytes = rows × dim × 4`);
  });
  assert.equal(plan.totalBytes, plan.fields.reduce((a, f) => a + f.rows * width[plan.fields.indexOf(f)] * 4, 0));
  assert.ok(plan.totalBytes <= budget, `${plan.totalBytes} ≤ ${budget}`);
  // Water-filling in bytes: the small fields stay full, and the compressed ones split the bytes left equally, so
  // 'user' (32 wide) gets half the rows of 'item' (16 wide): ⌊(⌊budget / 16⌋ − 25·1 − 3001·2) / 2⌋ units of 4 floats.
  assert.deepEqual(plan.fields.map((f) => f.method), ['full', 'bh', 'bh', 'full']);
  const units = Math.floor((Math.floor(budget / 16) - 25 - 3001 * 2) / 2);
  assert.deepEqual(plan.fields.map((f) => f.budgetRows), [25, Math.floor(units / 8), Math.floor(units / 4), 3001]);
  // Every field given the target's own width plans exactly as without per-field widths.
  const plain = planEmbeddings(fields.map(({ name, cardinality }) => ({ name, cardinality })), { compression: 50, dim: 16 });
  const same = planEmbeddings(fields.map(({ name, cardinality }) => ({ name, cardinality, dim: 16 })), { compression: 50, dim: 16 });
  assert.deepEqual(same, plain);
});
