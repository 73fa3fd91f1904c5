// The MLP on the fused onnxruntime tower (no batch norm, no dropout): finite-difference gradients of every
// parameter and the input, and agreement with the layer-by-layer path on the WASM backend (shared memory, as the
// trainer uses it). Same tolerances as layers.test.ts (grad-check.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { createGemmProvider, opsGemmProvider } from '../../../src/kernels/index.js';
import { WasmOps } from '../../../src/kernels/wasm.js';
import type { LayerContext } from '../../../src/nn/layer.js';
import { Mlp, SMALL_BATCH } from '../../../src/nn/mlp.js';
import { DenseParams } from '../../../src/nn/params.js';
import { assertNormwiseClose } from '../../kernels/harness.js';
import { checkEntries, dot64, randn } from './grad-check.js';

test('MLP on the ORT tower: gradients match finite differences and the layer-by-layer WASM path', async () => {
  const ops = await WasmOps.create({ initialBytes: 16 << 20 });
  const ort = await createGemmProvider('ort', ops);
  assert.ok(ort.tower, 'the ORT provider offers a fused tower');
  const B = 5;
  const make = (ctx: LayerContext): { mlp: Mlp; p: DenseParams } => {
    const p = new DenseParams();
    const buf = new DenseParams();
    const mlp = new Mlp(ctx, p, buf, 'mlp', 4, { hidden: [6, 5], outDim: 1, dropout: 0, batchNorm: false });
    p.allocate((n) => ctx.ops.allocF32(n), new Rng(3));
    buf.allocate((n) => ctx.ops.allocF32(n), new Rng(3));
    return { mlp, p };
  };
  const fused = make({ ops, gemm: ort, maxBatch: 16 });
  const plain = make({ ops, gemm: opsGemmProvider(ops), maxBatch: 16 });
  const rng = new Rng(4);
  const x = ops.allocF32(16 * 4);
  x.set(randn(rng, 16 * 4));
  const c = ops.allocF32(16);
  c.set(randn(rng, B));

  // Fused vs layer by layer: outputs, parameter gradients, input gradient.
  const yF = (await fused.mlp.forward(x, B, true, 0)).slice(0, B);
  const yP = (await plain.mlp.forward(x, B, true, 0)).slice(0, B);
  assertNormwiseClose(yF, yP, 1e-5, 'forward');
  const dxF = (await fused.mlp.backward(c, B)).slice(0, B * 4);
  const dxP = (await plain.mlp.backward(c, B)).slice(0, B * 4);
  assertNormwiseClose(dxF, dxP, 1e-5, 'dx');
  assertNormwiseClose(fused.p.grad, plain.p.grad, 1e-5, 'param grads');
  // Inference: a small batch runs layer by layer (SMALL_BATCH), a larger one through the tower.
  assert.ok(B <= SMALL_BATCH);
  const yEval = (await fused.mlp.forward(x, B, false, 0)).slice(0, B);
  assertNormwiseClose(yEval, yP, 1e-5, 'small-batch inference forward');
  const B2 = 16;
  assert.ok(B2 > SMALL_BATCH);
  const yBigF = (await fused.mlp.forward(x, B2, false, 0)).slice(0, B2);
  const yBigP = (await plain.mlp.forward(x, B2, false, 0)).slice(0, B2);
  assertNormwiseClose(yBigF, yBigP, 1e-5, 'tower inference forward');

  // Finite differences on the fused path itself.
  const loss = async (): Promise<number> => dot64(c, await fused.mlp.forward(x, B, true, 0), B);
  await fused.mlp.forward(x, B, true, 0);
  const dx = (await fused.mlp.backward(c, B)).slice(0, B * 4);
  const dp = fused.p.grad.slice();
  const bad = [
    ...(await checkEntries('params', loss, fused.p.data, (i) => dp[i], dp.keys())),
    ...(await checkEntries('x', loss, x.subarray(0, B * 4), (i) => dx[i], dx.keys())),
  ];
  assert.deepEqual(bad, []);
  await ort.dispose?.();
});

test('CtrModel: the fused training step (ORT tower) gives the layer-by-layer loss, dense gradients and embedding rows', async () => {
  const { createModel } = await import('../../../src/models/registry.js');
  const { randomBatch } = await import('./grad-check.js');
  const ops = await WasmOps.create({ initialBytes: 32 << 20 });
  const ort = await createGemmProvider('ort', ops);
  for (const arch of ['dnn', 'deepfm', 'wdl'] as const) {
    const config = {
      arch,
      dim: 3,
      mlp: [8, 6],
      numDense: 2,
      fields: [{ index: { method: 'bh' as const, codeBits: 8, blockBits: 2, strategy: 'succession' as const } }, { index: { method: 'hash' as const, rows: 7 } }],
    };
    const fused = createModel(config, { ops, gemm: ort, maxBatch: 16 });
    const plain = createModel(config, { ops, gemm: opsGemmProvider(ops), maxBatch: 16 });
    assert.ok(fused.mlp?.canTrainStep, `${arch}: fused step available`);
    const batch = randomBatch(new Rng(5), 13, [{ card: 30 }, { card: 20 }], 2);
    const lf = await fused.forwardBackward(batch, { dropoutSeed: 1 });
    const lp = await plain.forwardBackward(batch, { dropoutSeed: 1 });
    assert.ok(Math.abs(lf - lp) <= 1e-5 * Math.abs(lp), `${arch}: loss ${lf} vs ${lp}`);
    assertNormwiseClose(fused.params.grad, plain.params.grad, 1e-4, `${arch}: dense grads`);
    const emb = (m: typeof fused): Float32Array => (m.emb as NonNullable<typeof m.emb>).gradRows.slice(0, (m.emb as NonNullable<typeof m.emb>).nUnique * 3);
    assert.equal(fused.emb?.nUnique, plain.emb?.nUnique);
    assertNormwiseClose(emb(fused), emb(plain), 1e-4, `${arch}: embedding rows`);
    fused.dispose();
    plain.dispose();
  }
  await ort.dispose?.();
});
