// The fused onnxruntime tower (DenseTower) against the same chain composed from ReferenceOps (gemm, bias,
// ReLU, ReLU backward, row sums): inference and training forward, and the backward (weights, biases, input
// gradient), with arrays in WASM shared memory (staged) and in ordinary arrays (in place), several batch sizes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TowerLayer } from '../../src/kernels/ops.js';
import { OrtGemmProvider } from '../../src/kernels/ort.js';
import { ReferenceOps } from '../../src/kernels/reference.js';
import { WasmOps } from '../../src/kernels/wasm.js';
import { Rng } from '../../src/core/rng.js';
import { assertNormwiseClose } from './harness.js';

let ops: WasmOps;
let ort: OrtGemmProvider;
const ref = new ReferenceOps();

before(async () => {
  ops = await WasmOps.create({ initialBytes: 16 << 20 });
  ort = await OrtGemmProvider.create({ intraOpNumThreads: 1, inferThreads: 2 });
});

after(async () => {
  await ort.dispose();
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
        test(`${name}, ${shared ? 'shared' : 'ordinary'} arrays, inputGrad=${inputGrad}`, () => {
          const tower = ort.tower(layers, { inputGrad });
          assert.ok(tower, 'the synchronous binding offers a tower');
          const rng = new Rng(7);
          const L = layers.length;
          const maxM = 40;
          const w = layers.map((l) => filled(l.inDim * l.outDim, shared, rng, () => 0.5 * rng.normal()));
          const b = layers.map((l) => filled(l.outDim, shared, rng));
          const acts = layers.map((l) => filled(maxM * l.outDim, shared, rng, () => NaN));
          const dw = layers.map((l) => filled(l.inDim * l.outDim, shared, rng, () => NaN));
          const db = layers.map((l) => filled(l.outDim, shared, rng, () => NaN));
          const dx = filled(maxM * layers[0].inDim, shared, rng, () => NaN);
          const out = filled(maxM * layers[L - 1].outDim, shared, rng, () => NaN);
          for (const m of [1, 13, maxM]) {
            const x = filled(m * layers[0].inDim, shared, rng);
            const dOut = filled(m * layers[L - 1].outDim, shared, rng);
            const e = referenceChain(layers, m, x, w, b, dOut);
            tower.forward(m, x, w, b, out);
            assertNormwiseClose(out.subarray(0, e.acts[L - 1].length), e.acts[L - 1], 1e-5, `m=${m} infer out`);
            tower.forwardTrain(m, x, w, b, acts);
            for (let i = 0; i < L; i++) assertNormwiseClose(acts[i].subarray(0, e.acts[i].length), e.acts[i], 1e-5, `m=${m} act ${i}`);
            tower.backward(m, x, acts, w, dOut, dw, db, inputGrad ? dx : null);
            for (let i = 0; i < L; i++) {
              assertNormwiseClose(dw[i], e.dw[i], 1e-5, `m=${m} dW${i}`);
              assertNormwiseClose(db[i], e.db[i], 1e-5, `m=${m} db${i}`);
            }
            if (inputGrad) assertNormwiseClose(dx.subarray(0, e.dx.length), e.dx, 1e-5, `m=${m} dX`);
          }
        });
      }
    }
  }

  test('a relu unit that is exactly zero passes no gradient (y > 0 ? dy : 0)', () => {
    const layers: TowerLayer[] = [{ inDim: 1, outDim: 2, relu: true }];
    const tower = ort.tower(layers, { inputGrad: true });
    assert.ok(tower);
    // Unit 0: 1·1 − 1 = 0 exactly (ReLU output 0, no gradient); unit 1: 1·2 + 0 = 2.
    const w = [Float32Array.of(1, 2)];
    const b = [Float32Array.of(-1, 0)];
    const x = Float32Array.of(1);
    const acts = [new Float32Array(2)];
    tower.forwardTrain(1, x, w, b, acts);
    assert.deepEqual([...acts[0]], [0, 2]);
    const dw = [new Float32Array(2)];
    const db = [new Float32Array(2)];
    const dx = new Float32Array(1);
    tower.backward(1, x, acts, w, Float32Array.of(5, 7), dw, db, dx);
    assert.deepEqual([...dw[0]], [0, 7]);
    assert.deepEqual([...db[0]], [0, 7]);
    assert.deepEqual([...dx], [14]);
  });
});
