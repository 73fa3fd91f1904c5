// The fused onnxruntime tower (DenseTower) against the same chain composed from ReferenceOps (gemm, bias,
// ReLU, ReLU backward, row sums): inference and training forward, and the backward (weights, biases, input
// gradient), with caller arrays in WASM shared memory (staged) and in ordinary arrays (in place), activations in
// a private WASM memory or in plain arrays, several batch sizes. Also the private-memory module rewrite.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TowerLayer } from '../../src/kernels/ops.js';
import { OrtGemmProvider } from '../../src/kernels/ort.js';
import { ReferenceOps } from '../../src/kernels/reference.js';
import { loadKernelBytes, privateKernelModule, unsharedKernelBytes, WasmOps } from '../../src/kernels/wasm.js';
import { Rng } from '../../src/core/rng.js';
import { assertNormwiseClose } from './harness.js';

let ops: WasmOps;
let ortPlain: OrtGemmProvider;
let ortPriv: OrtGemmProvider;
const ref = new ReferenceOps();

before(async () => {
  ops = await WasmOps.create({ initialBytes: 16 << 20 });
  ortPlain = await OrtGemmProvider.create({ intraOpNumThreads: 1, inferThreads: 2 });
  const mod = await privateKernelModule();
  ortPriv = await OrtGemmProvider.create({ intraOpNumThreads: 1, privateOps: (bytes) => WasmOps.createPrivate(mod, bytes) });
});

after(async () => {
  await ortPlain.dispose();
  await ortPriv.dispose();
});

interface Expect {
  acts: Float32Array[];
  dw: Float32Array[];
  db: Float32Array[];
  dx: Float32Array;
}

// The chain layer by layer on ReferenceOps (plain loops), as nn/linear.ts + nn/activations.ts compute it.
function referenceChain(layers: TowerLayer[], m: number, x: Float32Array, w: Float32Array[], b: Float32Array[], dOut: Float32Array): Expect {
  const acts: Float32Array[] = [];
  let h = x;
  layers.forEach((l, i) => {
    const y = new Float32Array(m * l.outDim);
    ref.gemm(false, false, m, l.outDim, l.inDim, 1, h, w[i], 0, y);
    ref.addRowVector(y, b[i], m, l.outDim);
    if (l.relu) ref.relu(y, y, m * l.outDim);
    acts.push(y);
    h = y;
  });
  const dw: Float32Array[] = [];
  const db: Float32Array[] = [];
  let g = Float32Array.from(dOut);
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (l.relu) ref.reluBackward(acts[i], g, g, m * l.outDim);
    const a = i === 0 ? x : acts[i - 1];
    dw[i] = new Float32Array(l.inDim * l.outDim);
    ref.gemm(true, false, l.inDim, l.outDim, m, 1, a, g, 0, dw[i]);
    db[i] = new Float32Array(l.outDim);
    ref.sumRows(g, m, l.outDim, db[i], false);
    const gx = new Float32Array(m * l.inDim);
    ref.gemm(false, true, m, l.inDim, l.outDim, 1, g, w[i], 0, gx);
    g = gx;
  }
  return { acts, dw, db, dx: g };
}

function filled(n: number, shared: boolean, rng: Rng, f: () => number = () => rng.normal()): Float32Array {
  const a = shared ? ops.allocF32(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = f();
  return a;
}

const towers: Array<{ name: string; layers: TowerLayer[] }> = [
  { name: 'hidden 9-6 + head 1', layers: [{ inDim: 7, outDim: 9, relu: true }, { inDim: 9, outDim: 6, relu: true }, { inDim: 6, outDim: 1, relu: false }] },
  { name: 'hidden only (relu last)', layers: [{ inDim: 5, outDim: 8, relu: true }, { inDim: 8, outDim: 4, relu: true }] },
  { name: 'single linear', layers: [{ inDim: 3, outDim: 2, relu: false }] },
];

describe('ort tower agrees with the layer-by-layer reference', () => {
  for (const { name, layers } of towers) {
    for (const shared of [false, true]) {
      for (const inputGrad of [true, false]) {
        for (const priv of [true, false]) {
          test(`${name}, ${shared ? 'shared' : 'ordinary'} arrays, inputGrad=${inputGrad}, ${priv ? 'private wasm' : 'plain'} activations`, () => {
            const maxM = 40;
            const tower = (priv ? ortPriv : ortPlain).tower(layers, { inputGrad, maxBatch: maxM });
            assert.ok(tower, 'the synchronous binding offers a tower');
            const rng = new Rng(7);
            const L = layers.length;
            const w = layers.map((l) => filled(l.inDim * l.outDim, shared, rng, () => 0.5 * rng.normal()));
            const b = layers.map((l) => filled(l.outDim, shared, rng));
            const dw = layers.map((l) => filled(l.inDim * l.outDim, shared, rng, () => NaN));
            const db = layers.map((l) => filled(l.outDim, shared, rng, () => NaN));
            const dx = filled(maxM * layers[0].inDim, shared, rng, () => NaN);
            const out = filled(maxM * layers[L - 1].outDim, shared, rng, () => NaN);
            for (const m of [1, 13, maxM]) {
              const x = filled(m * layers[0].inDim, shared, rng);
              const dOut = filled(m * layers[L - 1].outDim, shared, rng);
              const e = referenceChain(layers, m, x, w, b, dOut);
              const last = e.acts[L - 1];
              out.fill(NaN);
              tower.forward(m, x, w, b, out);
              assertNormwiseClose(out.subarray(0, last.length), last, 1e-5, `m=${m} infer out`);
              out.fill(NaN);
              tower.forwardTrain(m, x, w, b, out);
              assertNormwiseClose(out.subarray(0, last.length), last, 1e-5, `m=${m} train out`);
              tower.backward(m, x, w, dOut, dw, db, inputGrad ? dx : null);
              for (let i = 0; i < L; i++) {
                assertNormwiseClose(dw[i], e.dw[i], 1e-5, `m=${m} dW${i}`);
                assertNormwiseClose(db[i], e.db[i], 1e-5, `m=${m} db${i}`);
              }
              if (inputGrad) assertNormwiseClose(dx.subarray(0, e.dx.length), e.dx, 1e-5, `m=${m} dX`);
            }
            assert.throws(() => tower.forward(maxM + 1, new Float32Array((maxM + 1) * layers[0].inDim), w, b, new Float32Array((maxM + 1) * 9)), /maxBatch/);
            tower.dispose();
          });
        }
      }
    }
  }

  test('a relu unit that is exactly zero passes no gradient (y > 0 ? dy : 0)', () => {
    for (const p of [ortPriv, ortPlain]) {
      const layers: TowerLayer[] = [{ inDim: 1, outDim: 2, relu: true }];
      const tower = p.tower(layers, { inputGrad: true, maxBatch: 1 });
      assert.ok(tower);
      // Unit 0: 1·1 − 1 = 0 exactly (ReLU output 0, no gradient); unit 1: 1·2 + 0 = 2.
      const w = [Float32Array.of(1, 2)];
      const b = [Float32Array.of(-1, 0)];
      const x = Float32Array.of(1);
      const out = new Float32Array(2);
      tower.forwardTrain(1, x, w, b, out);
      assert.deepEqual([...out], [0, 2]);
      const dw = [new Float32Array(2)];
      const db = [new Float32Array(2)];
      const dx = new Float32Array(1);
      tower.backward(1, x, w, Float32Array.of(5, 7), dw, db, dx);
      assert.deepEqual([...dw[0]], [0, 7]);
      assert.deepEqual([...db[0]], [0, 7]);
      assert.deepEqual([...dx], [14]);
      tower.dispose();
    }
  });
});

test('trainStep = forward + BCE-with-logits gradient + backward, logits aliasing the extra term', () => {
  const layers: TowerLayer[] = [{ inDim: 6, outDim: 7, relu: true }, { inDim: 7, outDim: 5, relu: true }, { inDim: 5, outDim: 1, relu: false }];
  for (const shared of [false, true]) {
    for (const p of [ortPriv, ortPlain]) {
      const rng = new Rng(9);
      const maxM = 20;
      const tower = p.tower(layers, { inputGrad: true, maxBatch: maxM });
      assert.ok(tower?.trainStep, 'a tower ending in a Linear to 1 offers trainStep');
      const w = layers.map((l) => filled(l.inDim * l.outDim, shared, rng, () => 0.5 * rng.normal()));
      const b = layers.map((l) => filled(l.outDim, shared, rng));
      const dw = layers.map((l) => filled(l.inDim * l.outDim, shared, rng, () => NaN));
      const db = layers.map((l) => filled(l.outDim, shared, rng, () => NaN));
      const dx = filled(maxM * 6, shared, rng, () => NaN);
      for (const m of [1, 17]) {
        const x = filled(m * 6, shared, rng);
        const extra = filled(maxM, shared, rng);
        const labels = filled(maxM, shared, rng, () => (rng.next() < 0.4 ? 1 : 0));
        const scale = 1 / (m + 3);
        // Reference: z = chain(x) + extra; dz = scale·(σ(z) − y); backward from dz.
        const e0 = referenceChain(layers, m, x, w, b, new Float32Array(m));
        const z = Float32Array.from({ length: m }, (_, i) => e0.acts[layers.length - 1][i] + extra[i]);
        const dz = Float32Array.from({ length: m }, (_, i) => scale * (1 / (1 + Math.exp(-z[i])) - labels[i]));
        const e = referenceChain(layers, m, x, w, b, dz);
        tower.trainStep(m, x, w, b, extra, labels, scale, extra, dw, db, dx);
        assertNormwiseClose(extra.subarray(0, m), z, 1e-5, `m=${m} logits`);
        for (let i = 0; i < layers.length; i++) {
          assertNormwiseClose(dw[i], e.dw[i], 1e-4, `m=${m} dW${i}`);
          assertNormwiseClose(db[i], e.db[i], 1e-4, `m=${m} db${i}`);
        }
        assertNormwiseClose(dx.subarray(0, m * 6), e.dx, 1e-4, `m=${m} dX`);
      }
      tower.dispose();
    }
  }
  const relu = ortPlain.tower([{ inDim: 3, outDim: 1, relu: true }], { inputGrad: true, maxBatch: 4 });
  assert.equal(relu?.trainStep, null, 'no trainStep when the last layer has a ReLU');
  relu?.dispose();
});

test('inference: bit-identical across batch sizes and repeated runs; 1 vs 2 intra-op threads agree to rounding', async () => {
  const layers: TowerLayer[] = [{ inDim: 48, outDim: 96, relu: true }, { inDim: 96, outDim: 96, relu: true }, { inDim: 96, outDim: 1, relu: false }];
  const rng = new Rng(12);
  const M = 1500;
  const x = filled(M * 48, false, rng);
  const w = layers.map((l) => filled(l.inDim * l.outDim, false, rng, () => 0.2 * rng.normal()));
  const b = layers.map((l) => filled(l.outDim, false, rng));
  const outs: Float32Array[] = [];
  for (const inferThreads of [1, 2]) {
    const p = await OrtGemmProvider.create({ inferThreads });
    const t = p.tower(layers, { inputGrad: false, maxBatch: M });
    assert.ok(t);
    const all = new Float32Array(M);
    t.forward(M, x, w, b, all);
    const part = new Float32Array(M);
    t.forward(37, x, w, b, part);
    assert.deepEqual([...part.subarray(0, 37)], [...all.subarray(0, 37)], `${inferThreads} threads: 37 rows vs ${M}`);
    const again = new Float32Array(M);
    t.forward(M, x, w, b, again);
    assert.deepEqual([...again], [...all], `${inferThreads} threads: repeated run`);
    outs.push(all);
    await p.dispose();
  }
  // MLAS may split a GEMM differently on 2 threads: the last bits can differ.
  assertNormwiseClose(outs[1], outs[0], 1e-6, '2 vs 1 threads');
});

test('private kernels: the memory import is rewritten to unshared, and the backend uses ordinary memory', async () => {
  const bytes = await loadKernelBytes();
  const priv = unsharedKernelBytes(bytes);
  assert.equal(priv.length, bytes.length);
  let diff = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== priv[i]) diff++;
  assert.equal(diff, 1, 'exactly the limits flag byte changes');
  const p = WasmOps.createPrivate(await privateKernelModule(), 1 << 20);
  const y = p.allocF32(8);
  assert.ok(!(y.buffer instanceof SharedArrayBuffer));
  y.set([1, -2, 0, 3, -1, 2, 0.5, -0.5]);
  const dy = p.allocF32(8);
  dy.fill(4);
  p.reluBackward(y, dy, dy, 8);
  assert.deepEqual([...dy], [4, 0, 0, 4, 0, 4, 4, 0]);
  // Fixed size: past it, allocation throws instead of growing (growth would detach every view).
  assert.throws(() => p.allocF32(1 << 20), /exhausted/);
});
