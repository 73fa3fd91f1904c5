// The memory-motivated shapes of the onnxruntime tower: the fp32 inference forward and the training step run a batch
// in equal runs of at most 1024 rows (rows past the first run must land at the right offsets and the step's weight
// gradients must sum over the runs, for shared and ordinary arrays), and the training-step graph lists its output
// nodes last, DX first and the top layer's DW last, which is what makes onnxruntime free each layer's gradient as
// the backward descends (see towerStepModel).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { towerStepModel } from '../../../src/kernels/onnx-encode.js';
import type { TowerLayer } from '../../../src/kernels/ops.js';
import { OrtGemmProvider } from '../../../src/kernels/ort.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { WasmOps } from '../../../src/kernels/wasm.js';

let ops: WasmOps;
let ort: OrtGemmProvider;
const ref = new ReferenceOps();

before(async () => {
  ops = await WasmOps.create({ initialBytes: 16 << 20 });
  ort = await OrtGemmProvider.create({ intraOpNumThreads: 1, inferThreads: 1 });
});

after(async () => {
  await ort.dispose();
});

/** a with every entry set to f() in order (a may live in WASM memory). */
function filled(a: Float32Array, f: () => number): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = f();
  return a;
}

// y = relu?(x·W + b) layer by layer on the reference kernels.
function referenceForward(layers: TowerLayer[], m: number, x: Float32Array, w: Float32Array[], b: Float32Array[]): Float32Array {
  let h = x;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    const y = new Float32Array(m * l.outDim);
    ref.gemm(false, false, m, l.outDim, l.inDim, 1, h, w[i], 0, y);
    for (let r = 0; r < m; r++) for (let j = 0; j < l.outDim; j++) {
      const v = y[r * l.outDim + j] + b[i][j];
      y[r * l.outDim + j] = l.relu && v < 0 ? 0 : v;
    }
    h = y;
  }
  return h;
}

test('fp32 forward over several runs of rows (2500 = 834 + 834 + 832): every row as computed alone and as the reference', () => {
  const layers: TowerLayer[] = [{ inDim: 12, outDim: 20, relu: true }, { inDim: 20, outDim: 3, relu: false }];
  const M = 2500;
  const rng = new Rng(31);
  for (const shared of [false, true]) {
    const alloc = (n: number): Float32Array => (shared ? ops.allocF32(n) : new Float32Array(n));
    const fill = (n: number, f: () => number): Float32Array => filled(alloc(n), f);
    const w = layers.map((l) => fill(l.inDim * l.outDim, () => 0.4 * rng.normal()));
    const b = layers.map((l) => fill(l.outDim, () => rng.normal()));
    const x = fill(M * 12, () => rng.normal());
    const tower = ort.tower(layers, { inputGrad: false, maxBatch: M });
    assert.ok(tower);
    const out = fill(M * 3, () => NaN);
    tower.forward(M, x, w, b, out);
    const expect = referenceForward(layers, M, x, w, b);
    let num = 0;
    let den = 0;
    for (let i = 0; i < expect.length; i++) {
      assert.ok(Number.isFinite(out[i]), `${shared ? 'shared' : 'ordinary'}: out[${i}] written`);
      num += (out[i] - expect[i]) ** 2;
      den += expect[i] ** 2;
    }
    assert.ok(Math.sqrt(num / den) < 1e-5, `${shared ? 'shared' : 'ordinary'}: normwise error ${Math.sqrt(num / den)}`);
    // Rows straddling the run boundaries, forwarded on their own, give the same bits.
    for (const [r0, n] of [[800, 60], [1650, 40], [2490, 10]]) {
      const part = new Float32Array(n * 3);
      tower.forward(n, x.subarray(r0 * 12, (r0 + n) * 12), w, b, part);
      assert.deepEqual([...part], [...out.subarray(r0 * 3, (r0 + n) * 3)], `${shared ? 'shared' : 'ordinary'}: rows ${r0}..${r0 + n}`);
    }
    tower.dispose();
  }
});

function normwise(actual: Float32Array, expect: Float32Array, label: string): void {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expect.length; i++) {
    assert.ok(Number.isFinite(actual[i]), `${label}[${i}] written`);
    num += (actual[i] - expect[i]) ** 2;
    den += expect[i] ** 2;
  }
  assert.ok(Math.sqrt(num / Math.max(den, 1e-30)) < 1e-5, `${label}: normwise error ${Math.sqrt(num / den)}`);
}

test('trainStep over several runs of rows (2500 = 834 + 834 + 832) = forwardTrain + BCE gradient + backward on the whole batch', () => {
  const layers: TowerLayer[] = [{ inDim: 12, outDim: 20, relu: true }, { inDim: 20, outDim: 8, relu: true }, { inDim: 8, outDim: 1, relu: false }];
  const M = 2500;
  const rng = new Rng(41);
  for (const shared of [false, true]) {
    const alloc = (n: number): Float32Array => (shared ? ops.allocF32(n) : new Float32Array(n));
    const fill = (n: number, f: () => number): Float32Array => filled(alloc(n), f);
    const w = layers.map((l) => fill(l.inDim * l.outDim, () => 0.4 * rng.normal()));
    const b = layers.map((l) => fill(l.outDim, () => rng.normal()));
    const x = fill(M * 12, () => rng.normal());
    const extra = fill(M, () => 0.5 * rng.normal());
    const labels = fill(M, () => (rng.next() < 0.3 ? 1 : 0));
    const scale = 1 / M;
    const tower = ort.tower(layers, { inputGrad: true, maxBatch: M });
    assert.ok(tower?.trainStep);
    // Expected: the layer-by-layer training path on the whole batch in one run each.
    const h = new Float32Array(M);
    tower.forwardTrain(M, x, w, b, h);
    const z = Float32Array.from(h, (v, i) => v + extra[i]);
    const dz = Float32Array.from(z, (v, i) => scale * (1 / (1 + Math.exp(-v)) - labels[i]));
    const edw = layers.map((l) => new Float32Array(l.inDim * l.outDim));
    const edb = layers.map((l) => new Float32Array(l.outDim));
    const edx = new Float32Array(M * 12);
    tower.backward(M, x, w, dz, edw, edb, edx);
    const dw = layers.map((l) => fill(l.inDim * l.outDim, () => NaN));
    const db = layers.map((l) => fill(l.outDim, () => NaN));
    const dx = fill(M * 12, () => NaN);
    const logits = fill(M, () => NaN);
    tower.trainStep(M, x, w, b, extra, labels, scale, logits, dw, db, dx);
    const tag = shared ? 'shared' : 'ordinary';
    normwise(logits, z, `${tag} logits`);
    for (let i = 0; i < layers.length; i++) {
      normwise(dw[i], edw[i], `${tag} dW${i}`);
      normwise(db[i], edb[i], `${tag} db${i}`);
    }
    normwise(dx, edx, `${tag} dX`);
    // A second step overwrites (does not accumulate into) the gradients.
    tower.trainStep(M, x, w, b, extra, labels, scale, logits, dw, db, dx);
    normwise(dw[0], edw[0], `${tag} dW0, second step`);
    tower.dispose();
  }
});

test('towerStepModel: forward and backward intermediates first, then the outputs DX, DB0, DW0, …, DB_{L−1}, DW_{L−1}', () => {
  const layers = [{ inDim: 5, outDim: 7, relu: true }, { inDim: 7, outDim: 6, relu: true }, { inDim: 6, outDim: 4, relu: true }, { inDim: 4, outDim: 1, relu: false }];
  const text = Buffer.from(towerStepModel(layers, true)).toString('latin1');
  // Node names are stored as length-prefixed strings; find each node's name (tag 0x1a = NodeProto.name, field 3).
  const at = (name: string): number => {
    const i = text.indexOf(`\x1a${String.fromCharCode(name.length)}${name}`);
    assert.ok(i >= 0, `node ${name} present`);
    return i;
  };
  const leaves = ['dx0', 'db0', 'dw0', 'db1', 'dw1', 'db2', 'dw2', 'db3', 'dw3'].map(at);
  for (let i = 1; i < leaves.length; i++) assert.ok(leaves[i - 1] < leaves[i], `output node ${i} after ${i - 1}`);
  for (const inner of ['gemm0', 'gemm3', 'mask0', 'relugrad0', 'dx1', 'dx3']) assert.ok(at(inner) < leaves[0], `${inner} before the output nodes`);
  // Without inputGrad there is no DX node and the order of the rest is the same.
  const noDx = Buffer.from(towerStepModel(layers, false)).toString('latin1');
  assert.equal(noDx.indexOf('\x1a\x03dx0'), -1);
  assert.ok(noDx.indexOf('\x1a\x03db0') < noDx.indexOf('\x1a\x03dw3'));
});

test("the binding's per-run output copies do not pile up: ArrayBuffer memory stays bounded over 60 steps (~80 MB of copies)", () => {
  // Each step returns DX (1024 × 256) and DW (256 × 256, 256 × 1) as fresh copies, ~1.3 MB. Left to V8's external
  // memory accounting they reach tens of MB before a collection; the provider collects the young generation every
  // few MB of copies (ort.ts noteReturned), so the growth stays within a few collections' worth.
  const layers: TowerLayer[] = [{ inDim: 256, outDim: 256, relu: true }, { inDim: 256, outDim: 1, relu: false }];
  const M = 1024;
  const rng = new Rng(43);
  const fill = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n }, f);
  const w = layers.map((l) => fill(l.inDim * l.outDim, () => 0.05 * rng.normal()));
  const b = layers.map((l) => fill(l.outDim, () => 0));
  const x = fill(M * 256, () => rng.normal());
  const extra = new Float32Array(M);
  const labels = fill(M, () => (rng.next() < 0.3 ? 1 : 0));
  const tower = ort.tower(layers, { inputGrad: true, maxBatch: M });
  assert.ok(tower?.trainStep);
  const logits = new Float32Array(M);
  const dw = layers.map((l) => new Float32Array(l.inDim * l.outDim));
  const db = layers.map((l) => new Float32Array(l.outDim));
  const dx = new Float32Array(M * 256);
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  for (let s = 0; s < 60; s++) {
    tower.trainStep(M, x, w, b, extra, labels, 1 / M, logits, dw, db, dx);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }
  tower.dispose();
  assert.ok(dx.some((v) => v !== 0), 'the step wrote DX');
  assert.ok(peak < 12 * 1024 * 1024, `ArrayBuffer growth over 60 steps peaked at ${(peak / 1048576).toFixed(1)} MB`);
});
