// Inference of an MLP with batch norm and/or dropout on the fused onnxruntime tower, batch norm folded into the
// Linear before it (Mlp.foldedTensors): the fold formula against a float64 evaluation of Linear → BatchNorm, and a
// model trained on planted data scored through the folded tower against today's layer-by-layer path (same ORT
// GEMMs, no tower), including refolds after the weights or statistics change and freeze().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { createGemmProvider } from '../../../src/kernels/index.js';
import type { GemmProvider } from '../../../src/kernels/ops.js';
import { WasmOps } from '../../../src/kernels/wasm.js';
import { BN_EPS } from '../../../src/nn/batch-norm.js';
import type { LayerContext } from '../../../src/nn/layer.js';
import { foldBatchNorm, Mlp, SMALL_BATCH } from '../../../src/nn/mlp.js';
import { DenseParams } from '../../../src/nn/params.js';
import { randn } from './grad-check.js';

test('foldBatchNorm: x·W′ + b′ equals γ(x·W + b − μ)/√(σ² + ε) + β (float64 reference)', () => {
  const rng = new Rng(11);
  const inDim = 5;
  const outDim = 4;
  const w = randn(rng, inDim * outDim);
  const b = randn(rng, outDim);
  const gamma = randn(rng, outDim);
  const beta = randn(rng, outDim);
  const mean = randn(rng, outDim);
  const variance = Float32Array.from(randn(rng, outDim), (v) => v * v + 0.01);
  const wF = new Float32Array(inDim * outDim);
  const bF = new Float32Array(outDim);
  foldBatchNorm(w, b, inDim, outDim, gamma, beta, mean, variance, BN_EPS, wF, bF);
  for (let r = 0; r < 3; r++) {
    const x = randn(rng, inDim);
    for (let j = 0; j < outDim; j++) {
      let z = b[j];
      let zF = bF[j];
      for (let i = 0; i < inDim; i++) {
        z += x[i] * w[i * outDim + j];
        zF += x[i] * wF[i * outDim + j];
      }
      const y = (gamma[j] * (z - mean[j])) / Math.sqrt(variance[j] + BN_EPS) + beta[j];
      assert.ok(Math.abs(zF - y) <= 1e-5 * (1 + Math.abs(y)), `row ${r} col ${j}: folded ${zF} vs ${y}`);
    }
  }
  // No bias: b = 0.
  foldBatchNorm(w, null, inDim, outDim, gamma, beta, mean, variance, BN_EPS, wF, bF);
  for (let j = 0; j < outDim; j++) assert.ok(Math.abs(bF[j] - ((-mean[j] * gamma[j]) / Math.sqrt(variance[j] + BN_EPS) + beta[j])) < 1e-6);
});

const IN = 12;
const MAX_B = 256;

interface Net {
  mlp: Mlp;
  p: DenseParams;
  buf: DenseParams;
  /** Backend scratch for the loss gradient (the WASM backend only takes its own arrays). */
  dOut: Float32Array;
}

function makeNet(ctx: LayerContext, batchNorm: boolean, dropout: number): Net {
  const p = new DenseParams();
  const buf = new DenseParams();
  const mlp = new Mlp(ctx, p, buf, 'mlp', IN, { hidden: [32, 16], outDim: 1, dropout, batchNorm });
  p.allocate((n) => ctx.ops.allocF32(n), new Rng(5));
  buf.allocate((n) => ctx.ops.allocF32(n), new Rng(5));
  return { mlp, p, buf, dOut: ctx.ops.allocF32(MAX_B) };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Largest |a − b| / |b| over the first n probabilities of two logit arrays. */
function maxRelProbDiff(a: Float32Array, b: Float32Array, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const pa = sigmoid(a[i]);
    const pb = sigmoid(b[i]);
    worst = Math.max(worst, Math.abs(pa - pb) / pb);
  }
  return worst;
}

// Plain SGD on the BCE loss of a planted nonlinear target, in training mode (batch statistics, dropout masks):
// moves the weights, γ/β and the running statistics away from their initial values.
async function train(net: Net, x: Float32Array, labels: Float32Array, steps: number, seed0: number): Promise<void> {
  const dOut = net.dOut;
  for (let s = 0; s < steps; s++) {
    const y = await net.mlp.forward(x, MAX_B, true, seed0 + s);
    for (let i = 0; i < MAX_B; i++) dOut[i] = (sigmoid(y[i]) - labels[i]) / MAX_B;
    await net.mlp.backward(dOut, MAX_B);
    for (let i = 0; i < net.p.data.length; i++) net.p.data[i] -= 0.5 * net.p.grad[i];
  }
}

async function setup(batchNorm: boolean, dropout: number): Promise<{ fused: Net; plain: Net; x: Float32Array; labels: Float32Array; ort: GemmProvider }> {
  const ops = await WasmOps.create({ initialBytes: 16 << 20 });
  const ort = await createGemmProvider('ort', ops);
  assert.ok(ort.tower, 'the ORT provider offers a fused tower');
  // Today's layer-by-layer path: the same ORT GEMMs, without the tower.
  const noTower: GemmProvider = { name: 'ort', gemm: ort.gemm.bind(ort) };
  const fused = makeNet({ ops, gemm: ort, maxBatch: MAX_B }, batchNorm, dropout);
  const plain = makeNet({ ops, gemm: noTower, maxBatch: MAX_B }, batchNorm, dropout);
  const rng = new Rng(9);
  // Inputs off-centre and scaled, so the running means/variances are far from 0/1.
  const x = ops.allocF32(MAX_B * IN);
  x.set(randn(rng, MAX_B * IN, 2).map((v, i) => v + (i % IN) * 0.3));
  const labels = new Float32Array(MAX_B);
  for (let i = 0; i < MAX_B; i++) {
    const r = x.subarray(i * IN, (i + 1) * IN);
    labels[i] = rng.next() < sigmoid(r[0] * r[1] - r[2] + Math.abs(r[3]) - 2) ? 1 : 0;
  }
  return { fused, plain, x, labels, ort };
}

function copyWeights(from: Net, to: Net): void {
  to.p.data.set(from.p.data);
  to.buf.data.set(from.buf.data);
}

test('batch norm + dropout, trained: the folded fused tower gives the layer-by-layer probabilities (≤ 1e-5 relative)', async () => {
  const { fused, plain, x, labels, ort } = await setup(true, 0.2);
  assert.equal(fused.mlp.canTrainStep, false, 'batch norm / dropout still train layer by layer');
  await train(fused, x, labels, 60, 100);
  // The fold is not trivial: the running statistics moved far from (0, 1), γ/β from (1, 0).
  const stats = fused.buf.list();
  const runVar = stats.find((s) => s.name === 'mlp.0.bn.running_var')?.data as Float32Array;
  const runMean = stats.find((s) => s.name === 'mlp.0.bn.running_mean')?.data as Float32Array;
  assert.ok(runVar.some((v) => Math.abs(v - 1) > 0.5) && runMean.some((m) => Math.abs(m) > 0.5), 'running statistics moved');
  copyWeights(fused, plain);

  // Why 1e-5: both paths evaluate the same real function in fp32. They differ only in rounding: the fold rounds
  // W·s once per weight where the layer-by-layer path rounds z, z − μ, ·γ/σ and + β per activation, and the
  // fused graph sums its GEMMs in its own order; each is a few float32 ulps (~1e-7 relative) per layer, which two
  // hidden layers and a sigmoid keep well under 1e-5.
  const B = 200;
  assert.ok(B > SMALL_BATCH && fused.mlp.infersOnTower(B) && !plain.mlp.infersOnTower(B));
  const yF = (await fused.mlp.forward(x, B, false, 0)).slice(0, B);
  const yP = (await plain.mlp.forward(x, B, false, 0)).slice(0, B);
  const d = maxRelProbDiff(yF, yP, B);
  assert.ok(d <= 1e-5, `max relative probability difference ${d}`);
  // The two are different arithmetic (proof the fused path ran), and the trained model separates the labels.
  assert.notDeepEqual(yF, yP);
  let hit = 0;
  for (let i = 0; i < B; i++) hit += (yF[i] > 0 ? 1 : 0) === labels[i] ? 1 : 0;
  assert.ok(hit / B > 0.6, `trained accuracy ${hit / B}`);
  // Repeated inference is deterministic (the cached fold is reused).
  assert.deepEqual((await fused.mlp.forward(x, B, false, 0)).slice(0, B), yF);

  // Training more changes weights and statistics: the next inference refolds.
  await train(fused, x, labels, 3, 500);
  copyWeights(fused, plain);
  const yF2 = (await fused.mlp.forward(x, B, false, 0)).slice(0, B);
  const yP2 = (await plain.mlp.forward(x, B, false, 0)).slice(0, B);
  assert.notDeepEqual(yF2, yF);
  assert.ok(maxRelProbDiff(yF2, yP2, B) <= 1e-5, 'refolded after training steps');
  // A running statistic alone (no weight change) also triggers a refold.
  runVar[3] *= 4;
  (plain.buf.list().find((s) => s.name === 'mlp.0.bn.running_var')?.data as Float32Array)[3] *= 4;
  const yF3 = (await fused.mlp.forward(x, B, false, 0)).slice(0, B);
  const yP3 = (await plain.mlp.forward(x, B, false, 0)).slice(0, B);
  assert.notDeepEqual(yF3, yF2);
  assert.ok(maxRelProbDiff(yF3, yP3, B) <= 1e-5, 'refolded after a running-variance change');

  // freeze(): the next forward still checks the sources, then its fold is final (what a loaded Predictor promises).
  fused.mlp.freeze();
  runVar[3] /= 4;
  const yF4 = (await fused.mlp.forward(x, B, false, 0)).slice(0, B);
  assert.notDeepEqual(yF4, yF3, 'a change made before the first frozen forward is folded');
  runVar[3] *= 4;
  assert.deepEqual((await fused.mlp.forward(x, B, false, 0)).slice(0, B), yF4, 'frozen: later changes are not seen');
  runVar[3] /= 4;
  // Small batches still run layer by layer, with the live statistics.
  const ySmallF = (await fused.mlp.forward(x, SMALL_BATCH, false, 0)).slice(0, SMALL_BATCH);
  (plain.buf.list().find((s) => s.name === 'mlp.0.bn.running_var')?.data as Float32Array)[3] /= 4;
  const ySmallP = (await plain.mlp.forward(x, SMALL_BATCH, false, 0)).slice(0, SMALL_BATCH);
  assert.deepEqual(ySmallF, ySmallP);
  fused.mlp.dispose();
  await ort.dispose?.();
});

test('dropout only: inference runs the fused tower on the live weights, equal to layer by layer', async () => {
  const { fused, plain, x, labels, ort } = await setup(false, 0.2);
  assert.equal(fused.mlp.canTrainStep, false);
  await train(fused, x, labels, 20, 7);
  copyWeights(fused, plain);
  const B = 64;
  assert.ok(fused.mlp.infersOnTower(B));
  const yF = (await fused.mlp.forward(x, B, false, 0)).slice(0, B);
  const yP = (await plain.mlp.forward(x, B, false, 0)).slice(0, B);
  assert.ok(maxRelProbDiff(yF, yP, B) <= 1e-5);
  // No fold to cache: a weight change is seen at once.
  fused.p.data[0] += 1;
  plain.p.data[0] += 1;
  const yF2 = (await fused.mlp.forward(x, B, false, 0)).slice(0, B);
  assert.notDeepEqual(yF2, yF);
  assert.ok(maxRelProbDiff(yF2, (await plain.mlp.forward(x, B, false, 0)).slice(0, B), B) <= 1e-5);
  fused.mlp.dispose();
  await ort.dispose?.();
});
