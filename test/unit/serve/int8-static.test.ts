// Precision 'int8-static' end to end: calibration (Mlp.recordInputRanges against a float64 forward with batch
// norm and dropout; calibrateOnDataset), the ranges in the model file (float32 even in a float16 file; files
// without them still load), a Predictor's AUC against fp32 on labels planted from the fp32 model, a row scored
// alone bit-identical to the same row in a batch of 4096, worker threads, and the errors for uncalibrated files.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Batch } from '../../../src/core/batch.js';
import { Rng } from '../../../src/core/rng.js';
import type { DataChunk } from '../../../src/data/chunk.js';
import { createGemmProvider, createOps } from '../../../src/kernels/index.js';
import { INPUT_RANGES_TENSOR } from '../../../src/models/ctr-model.js';
import { readModelFile, readModelFileHeader, type ModelFileMeta } from '../../../src/models/model-file.js';
import { createModel } from '../../../src/models/registry.js';
import { BN_EPS } from '../../../src/nn/batch-norm.js';
import { Mlp } from '../../../src/nn/mlp.js';
import { DenseParams } from '../../../src/nn/params.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { calibrateOnDataset, saveModel } from '../../../src/train/checkpoint.js';
import type { Columns as Dataset } from '../../../src/data/batches/columns.js';
import { BinaryMetrics } from '../../../src/train/metrics.js';
import { csvMeta, spreadDnn } from '../../spread-model.js';
import { tempDir } from '../../temp-dir.js';

test('Mlp.recordInputRanges: every layer input min/max as float64 inference computes it (batch norm, dropout skipped)', async () => {
  const ops = await createOps('auto');
  const gemm = await createGemmProvider('auto', ops);
  const ctx = { ops, gemm, maxBatch: 64 };
  const IN = 12;
  const p = new DenseParams();
  const buf = new DenseParams();
  const mlp = new Mlp(ctx, p, buf, 'mlp', IN, { hidden: [32, 16], outDim: 1, dropout: 0.3, batchNorm: true });
  const rng = new Rng(3);
  p.allocate((n) => ops.allocF32(n), rng);
  buf.allocate((n) => ops.allocF32(n), rng);
  // Non-trivial batch-norm statistics and affine parameters.
  for (const t of [...p.list(), ...buf.list()]) {
    if (t.name.endsWith('running_var') || t.name.endsWith('runVar') || t.name.includes('var')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + rng.next();
    else for (let i = 0; i < t.data.length; i++) t.data[i] += 0.3 * rng.normal();
  }
  const rows = 150; // three slices of maxBatch 64
  const x = new Float32Array(rows * IN).map(() => rng.normal());
  const ranges = new Float32Array(6).fill(0);
  for (let i = 0; i < 3; i++) [ranges[2 * i], ranges[2 * i + 1]] = [Infinity, -Infinity];
  await mlp.recordInputRanges(x, rows, ranges);
  // float64 reference from the named tensors.
  const byName = new Map([...p.list(), ...buf.list()].map((t) => [t.name, t.data]));
  const get = (n: string): Float32Array => {
    const hit = [...byName.keys()].find((k) => k.startsWith(n));
    assert.ok(hit !== undefined, `tensor ${n}`);
    return byName.get(hit) as Float32Array;
  };
  let h = Array.from(x);
  const expect: number[] = [];
  const dims = [IN, 32, 16];
  for (let l = 0; l < 2; l++) {
    expect.push(Math.min(...h), Math.max(...h));
    const w = get(`mlp.${l}.fc.weight`);
    const b = get(`mlp.${l}.fc.bias`);
    const [gamma, beta, mean, variance] = ['gamma', 'beta', 'running_mean', 'running_var'].map((k) => byName.get(`mlp.${l}.bn.${k}`) as Float32Array);
    assert.ok(gamma && beta && mean && variance, `bn tensors of layer ${l}: ${[...byName.keys()].join(', ')}`);
    const [di, dout] = [dims[l], dims[l + 1]];
    const y: number[] = new Array(rows * dout);
    for (let r = 0; r < rows; r++) for (let j = 0; j < dout; j++) {
      let z = b[j];
      for (let i = 0; i < di; i++) z += h[r * di + i] * w[i * dout + j];
      z = (gamma[j] * (z - mean[j])) / Math.sqrt(variance[j] + BN_EPS) + beta[j];
      y[r * dout + j] = Math.max(0, z);
    }
    h = y;
  }
  expect.push(Math.min(...h), Math.max(...h));
  for (let k = 0; k < 6; k++) assert.ok(Math.abs(ranges[k] - expect[k]) <= 1e-4 * (1 + Math.abs(expect[k])), `range[${k}] ${ranges[k]} vs ${expect[k]}`);
  assert.equal(ranges[0] < 0, true, 'the first input (signed) keeps its negative minimum');
  assert.equal(ranges[2], 0, 'a ReLU output range starts at 0 (some unit is off)');
});

const F = 8;
const B = 4096;
const N = 12_000;

function zipfIds(rng: Rng, n: number): Uint32Array[] {
  const ids = Array.from({ length: F }, () => new Uint32Array(2 * n));
  for (let f = 0; f < F; f++) {
    for (let r = 0; r < n; r++) {
      const v = Math.floor(Math.exp(rng.next() * Math.log(5000)));
      ids[f][2 * r] = Math.imul(v, 2654435761) >>> 0;
      ids[f][2 * r + 1] = f;
    }
  }
  return ids;
}

async function* once(c: DataChunk): AsyncGenerator<DataChunk> {
  yield c;
}

async function predictAll(p: Predictor, ids: Uint32Array[], labels: Float32Array): Promise<Float32Array> {
  const out = new Float32Array(N);
  for await (const b of p.predictChunks(once({ rows: N, labels, fields: ids.map((a) => ({ ids: a })), numDense: 0 }))) out.set(b.probs, b.firstRow);
  return out;
}

function auc(probs: Float32Array, labels: Float32Array): number {
  const m = new BinaryMetrics();
  m.add(probs, labels, probs.length);
  return m.result().auc;
}

const meta: ModelFileMeta = csvMeta(F, 'wasm', B);

test('int8-static Predictor: AUC within 0.002 of fp32, rows alone = rows in a batch of 4096, workers, file handling', async (t) => {
  const ops = await createOps('auto');
  const rng = new Rng(8);
  const model = spreadDnn(ops, F, B, rng);
  const dir = tempDir('int8-static-');
  const plainPath = join(dir, 'uncalibrated.bhm');
  saveModel(plainPath, model, { ...meta, engine: { ops: ops.name, gemm: 'auto' } });
  // Calibration rows: a separate draw from the same distribution as the scored rows.
  const calN = 20_000;
  const calDs: Dataset = { rows: calN, labels: new Float32Array(calN), fields: zipfIds(rng, calN).map((ids) => ({ ids })) };
  await calibrateOnDataset(model, calDs);
  const ranges = model.inputRangesTensor();
  assert.ok(ranges !== null);
  assert.deepEqual(ranges.shape, [3, 2]);
  const path = join(dir, 'calibrated.bhm');
  saveModel(path, model, { ...meta, engine: { ops: ops.name, gemm: 'auto' } });
  const half = join(dir, 'half.bhm');
  saveModel(half, model, { ...meta, engine: { ops: ops.name, gemm: 'auto' } }, { dtype: 'float16' });
  model.dispose();

  // The file: the ranges tensor is there (float32 even in a float16 file); the uncalibrated file has none.
  const entry = readModelFileHeader(half).header.tensors.find((e) => e.name === INPUT_RANGES_TENSOR);
  assert.equal(entry?.dtype, 'float32');
  assert.deepEqual(readModelFile(path).tensors.find((x) => x.name === INPUT_RANGES_TENSOR)?.data, ranges.data);
  assert.equal(readModelFile(plainPath).tensors.some((x) => x.name === INPUT_RANGES_TENSOR), false);

  const ids = zipfIds(rng, N);
  const p32 = await Predictor.load(path, { precision: 'fp32' });
  const pS = await Predictor.load(path, { precision: 'int8-static' });
  const p8 = await Predictor.load(path, { precision: 'int8' });
  assert.equal(pS.precision, 'int8-static');
  const probs32 = await predictAll(p32, ids, new Float32Array(N));
  const labels = probs32.map((p) => (rng.next() < p ? 1 : 0));
  const probsS = await predictAll(pS, ids, labels);
  const probs8 = await predictAll(p8, ids, labels);
  let maxDiff = 0;
  let maxDiff8 = 0;
  for (let i = 0; i < N; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(probsS[i] - probs32[i]));
    maxDiff8 = Math.max(maxDiff8, Math.abs(probs8[i] - probs32[i]));
  }
  const [a32, aS, a8] = [auc(probs32, labels), auc(probsS, labels), auc(probs8, labels)];
  t.diagnostic(`AUC fp32 ${a32.toFixed(5)} int8 ${a8.toFixed(5)} int8-static ${aS.toFixed(5)} (Δ ${(aS - a32).toExponential(2)}); max |Δp| int8 ${maxDiff8.toExponential(2)} int8-static ${maxDiff.toExponential(2)}`);
  assert.ok(a32 > 0.65, `planted signal: fp32 AUC ${a32}`);
  assert.ok(maxDiff > 0, 'int8-static actually ran');
  assert.ok(Math.abs(aS - a32) <= 0.002, `int8-static AUC ${aS} vs fp32 ${a32}`);
  assert.ok(maxDiff < 0.05, `max |Δp| ${maxDiff}`);

  // A row scored alone (and in small batches, which fp32 and int8 run layer by layer) gets the bits it got among
  // the 4096 rows of its batch.
  const one = (r: number, n = 1): Batch => ({ size: n, labels: new Float32Array(n), dense: null, fields: ids.map((a) => ({ ids: a.slice(2 * r, 2 * (r + n)), offsets: null })) });
  for (const r of [0, 1, 2, 17, 999, 4095, 4096, 8191, 11_999, ...Array.from({ length: 200 }, () => rng.int(N))]) {
    const p = await pS.model.predict(one(r));
    assert.equal(p[0], probsS[r], `row ${r} alone`);
  }
  for (const [r, n] of [[5, 3], [100, 8], [200, 9], [3000, 1096]]) {
    const p = await pS.model.predict(one(r, n));
    assert.deepEqual(p, probsS.subarray(r, r + n), `rows ${r}..${r + n}`);
  }

  // Worker threads load the ranges from the file contents too.
  const pW = await Predictor.load(path, { precision: 'int8-static', workers: 2 });
  assert.deepEqual(await predictAll(pW, ids, labels), probsS);
  await pW.close();

  // A file without ranges: ConfigError pointing at 'int8' or retraining; fp32 and int8 still load it.
  await assert.rejects(Predictor.load(plainPath, { precision: 'int8-static' }), (e: Error) => e.name === 'ConfigError' && /no calibrated activation ranges/.test(e.message) && /'int8'/.test(e.message) && /retrain/.test(e.message));
  const old32 = await Predictor.load(plainPath);
  assert.deepEqual(await predictAll(old32, ids, labels), probs32);
  await old32.close();
  // … unless calibration rows are given: the same rows as above give the same ranges, hence the same scores.
  const calBatches = (function* (): Generator<Batch> {
    for (let s = 0; s < calN; s += B) {
      const n = Math.min(B, calN - s);
      yield { size: n, labels: new Float32Array(n), dense: null, fields: calDs.fields.map((f) => ({ ids: (f.ids as Uint32Array).slice(2 * s, 2 * (s + n)), offsets: null })) };
    }
  })();
  const pC = await Predictor.load(plainPath, { precision: 'int8-static', calibration: calBatches, workers: 2 });
  assert.deepEqual(await predictAll(pC, ids, labels), probsS);
  await pC.close();
  for (const p of [p32, pS, p8]) await p.close();
});

test('int8-static: rows alone = rows in a batch for deepfm, wdl, batch norm + dropout, and dense inputs', async () => {
  const ops = await createOps('auto');
  const n = 1024;
  const cases: Array<Record<string, unknown>> = [{ arch: 'deepfm' }, { arch: 'wdl' }, { arch: 'dnn', batchNorm: true, dropout: 0.2 }, { arch: 'dnn', numDense: 3 }];
  for (const extra of cases) {
    const config = { dim: 8, mlp: [32, 32], seed: 2, fields: Array.from({ length: 4 }, (_, f) => ({ name: `f${f}`, index: { method: 'bh' as const, codeBits: 12, blockBits: 3, strategy: 'succession' as const } })), arch: 'dnn' as const, ...extra };
    const model = createModel(config, { ops, maxBatch: n });
    const rng = new Rng(1);
    for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.2 * rng.normal();
    const nd = (extra.numDense as number | undefined) ?? 0;
    const ids = Array.from({ length: 4 }, () => new Uint32Array(2 * n).map(() => rng.int(3000)));
    const dense = nd > 0 ? new Float32Array(n * nd).map(() => rng.normal()) : null;
    const batch = (r: number, k: number): Batch => ({ size: k, labels: new Float32Array(k), dense: dense ? dense.slice(r * nd, (r + k) * nd) : null, fields: ids.map((a) => ({ ids: a.slice(2 * r, 2 * (r + k)), offsets: null })) });
    await model.calibrate([batch(0, n)]);
    const ranges = model.inputRangesTensor();
    assert.ok(ranges !== null);
    const tensors = [...model.parameters().map((q) => ({ name: q.name, shape: q.shape, data: q.data })), ranges];
    const p = await Predictor.fromContents({ version: 1, createdAt: '', model: model.config, meta: { ...meta, evalBatch: n }, tensors }, '<mem>', { precision: 'int8-static' });
    const all = (await p.model.predict(batch(0, n))).slice();
    for (let r = 0; r < 60; r++) assert.equal((await p.model.predict(batch(r, 1)))[0], all[r], `${JSON.stringify(extra)} row ${r}`);
    await p.close();
    model.dispose();
  }
});
