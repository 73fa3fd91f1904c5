// Finite-difference checks of every dense layer (Linear, MLP with BN/ReLU/dropout, DCN-v2 cross, FM, BCE) on
// ReferenceOps. Float32 storage, float64 loss; tolerance ATOL/RTOL/EPS from grad-check.ts
// (|a − n| ≤ 2e-4 + 2e-2·max(|a|,|n|), central step 3e-3).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { opsGemmProvider } from '../../../src/kernels/index.js';
import { CrossNetwork } from '../../../src/nn/cross.js';
import { FmInteraction } from '../../../src/nn/fm.js';
import type { LayerContext } from '../../../src/nn/layer.js';
import { Linear } from '../../../src/nn/linear.js';
import { bceWithLogits } from '../../../src/nn/loss.js';
import { Mlp } from '../../../src/nn/mlp.js';
import { DenseParams } from '../../../src/nn/params.js';
import { checkEntries, dot64, randn } from './grad-check.js';

function context(maxBatch: number): LayerContext {
  const ops = new ReferenceOps();
  return { ops, gemm: opsGemmProvider(ops), maxBatch };
}

/** An async GEMM provider (like onnxruntime): the same maths behind a promise. */
function asyncContext(maxBatch: number): LayerContext {
  const ops = new ReferenceOps();
  return { ops, gemm: { name: 'ort', gemm: async (...a: Parameters<ReferenceOps['gemm']>) => ops.gemm(...a) }, maxBatch };
}

test('Linear: dW, db, dx match finite differences (sync and async GEMM)', async () => {
  for (const ctx of [context(3), asyncContext(3)]) {
    const rng = new Rng(1);
    const p = new DenseParams();
    const fc = new Linear(ctx, p, 'fc', 4, 5);
    p.allocate((n) => ctx.ops.allocF32(n), rng);
    const B = 3;
    const x = randn(rng, B * 4);
    const c = randn(rng, B * 5);
    fc.b!.set(randn(rng, 5));
    const loss = async (): Promise<number> => dot64(c, await fc.forward(x, B), B * 5);
    await fc.forward(x, B);
    await fc.backward(x, c, B);
    const dw = fc.dw.slice();
    const db = fc.db!.slice();
    const dx = fc.dx.slice();
    const bad = [
      ...(await checkEntries('W', loss, fc.w, (i) => dw[i], dw.keys())),
      ...(await checkEntries('b', loss, fc.b!, (i) => db[i], db.keys())),
      ...(await checkEntries('x', loss, x, (i) => dx[i], x.keys())),
    ];
    assert.deepEqual(bad, []);
  }
});

test('MLP with batch norm, ReLU and dropout: all parameters and the input', async () => {
  const ctx = context(6);
  const rng = new Rng(2);
  const p = new DenseParams();
  const buf = new DenseParams();
  const mlp = new Mlp(ctx, p, buf, 'mlp', 5, { hidden: [7, 6], outDim: 2, dropout: 0.3, batchNorm: true });
  p.allocate((n) => ctx.ops.allocF32(n), rng);
  buf.allocate((n) => ctx.ops.allocF32(n), rng);
  const B = 6;
  const x = randn(rng, B * 5);
  const c = randn(rng, B * 2);
  const seed = 1234;
  const loss = async (): Promise<number> => dot64(c, await mlp.forward(x, B, true, seed), B * 2);
  await mlp.forward(x, B, true, seed);
  const dx = (await mlp.backward(c.slice(), B)).slice(0, B * 5);
  const dp = p.grad.slice();
  const bad = [
    ...(await checkEntries('params', loss, p.data, (i) => dp[i], dp.keys())),
    ...(await checkEntries('x', loss, x, (i) => dx[i], x.keys())),
  ];
  assert.deepEqual(bad, []);
  // Dropout really drops something, and eval mode is deterministic and different from train mode.
  const yTrain = (await mlp.forward(x, B, true, seed)).slice(0, B * 2);
  const yEval = (await mlp.forward(x, B, false, seed)).slice(0, B * 2);
  assert.notDeepEqual(yTrain, yEval);
});

test('MLP with batch norm on a batch of one uses running statistics and still has exact gradients', async () => {
  const ctx = context(1);
  const rng = new Rng(3);
  const p = new DenseParams();
  const buf = new DenseParams();
  const mlp = new Mlp(ctx, p, buf, 'mlp', 3, { hidden: [4], outDim: 1, dropout: 0, batchNorm: true });
  p.allocate((n) => ctx.ops.allocF32(n), rng);
  buf.allocate((n) => ctx.ops.allocF32(n), rng);
  const x = randn(rng, 3);
  const c = new Float32Array([1]);
  const loss = async (): Promise<number> => dot64(c, await mlp.forward(x, 1, true, 0), 1);
  await mlp.forward(x, 1, true, 0);
  const dx = (await mlp.backward(c.slice(), 1)).slice(0, 3);
  const dp = p.grad.slice();
  const bad = [...(await checkEntries('params', loss, p.data, (i) => dp[i], dp.keys())), ...(await checkEntries('x', loss, x, (i) => dx[i], x.keys()))];
  assert.deepEqual(bad, []);
});

test('DCN-v2 cross network (3 layers): W, b and x0', async () => {
  const ctx = context(4);
  const rng = new Rng(4);
  const p = new DenseParams();
  const D = 5;
  const cross = new CrossNetwork(ctx, p, 'cross', D, 3);
  p.allocate((n) => ctx.ops.allocF32(n), rng);
  for (let i = 0; i < p.data.length; i++) p.data[i] *= 0.5;
  const B = 4;
  const x = randn(rng, B * D, 0.7);
  const c = randn(rng, B * D);
  const loss = async (): Promise<number> => dot64(c, await cross.forward(x, B), B * D);
  await cross.forward(x, B);
  const dx = (await cross.backward(c, B)).slice(0, B * D);
  const dp = p.grad.slice();
  const bad = [...(await checkEntries('params', loss, p.data, (i) => dp[i], dp.keys())), ...(await checkEntries('x0', loss, x, (i) => dx[i], x.keys()))];
  assert.deepEqual(bad, []);
  // One layer is x1 = x0 ⊙ (x0·W + b) + x0: check against a direct computation.
  const p1 = new DenseParams();
  const one = new CrossNetwork(ctx, p1, 'c1', D, 1);
  p1.allocate((n) => ctx.ops.allocF32(n), rng);
  p1.data.set(randn(rng, p1.size));
  const W = p1.list()[0].data;
  const bias = p1.list()[1].data;
  const y1 = await one.forward(x, B);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < D; j++) {
      let u = bias[j];
      for (let k = 0; k < D; k++) u += x[b * D + k] * W[k * D + j];
      const want = x[b * D + j] * u + x[b * D + j];
      assert.ok(Math.abs(y1[b * D + j] - want) < 1e-4, `cross forward ${b},${j}`);
    }
  }
});

test('FM interaction: value equals Σ_{i<j} ⟨v_i, v_j⟩ and gradient matches', async () => {
  const ctx = context(3);
  const rng = new Rng(5);
  const F = 4;
  const d = 3;
  const fm = new FmInteraction(ctx, F, d);
  const B = 3;
  const x = randn(rng, B * F * d);
  const out = fm.forward(x, B);
  for (let b = 0; b < B; b++) {
    let want = 0;
    for (let i = 0; i < F; i++) for (let j = i + 1; j < F; j++) for (let k = 0; k < d; k++) want += x[(b * F + i) * d + k] * x[(b * F + j) * d + k];
    assert.ok(Math.abs(out[b] - want) < 1e-5);
  }
  const c = randn(rng, B);
  const dx = new Float32Array(B * F * d);
  fm.backward(x, c, B, dx);
  const loss = (): number => dot64(c, fm.forward(x, B), B);
  assert.deepEqual(await checkEntries('x', loss, x, (i) => dx[i], x.keys()), []);
});

test('BCE with logits: value and gradient (scale 1/B)', async () => {
  const ops = new ReferenceOps();
  const rng = new Rng(6);
  const n = 8;
  const z = randn(rng, n, 3);
  const y = new Float32Array(n).map((_, i) => i % 2);
  const dz = new Float32Array(n);
  const total = bceWithLogits(ops, z, y, n, dz, 1 / n);
  let want = 0;
  for (let i = 0; i < n; i++) want += -(y[i] * Math.log(1 / (1 + Math.exp(-z[i]))) + (1 - y[i]) * Math.log(1 - 1 / (1 + Math.exp(-z[i]))));
  assert.ok(Math.abs(total - want) < 1e-9 * n + 1e-6);
  const scratch = new Float32Array(n);
  const loss = (): number => bceWithLogits(ops, z, y, n, scratch, 1) / n;
  assert.deepEqual(await checkEntries('z', loss, z, (i) => dz[i], z.keys()), []);
});
