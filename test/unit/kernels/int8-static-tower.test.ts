// The 'int8-static' onnxruntime tower: activation scale/zero-point maths, the forward against a plain-TS float64
// simulation of the same fixed-scale arithmetic (QuantizeLinear, integer GEMM, dequantize with bias, ReLU, fp32
// head), that a row's output is bit-identical alone and in any batch, and the missing-ranges error.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { activationQuant, quantizeColumns } from '../../../src/kernels/index.js';
import type { TowerLayer } from '../../../src/kernels/ops.js';
import { OrtGemmProvider } from '../../../src/kernels/ort.js';
import { relErr } from '../../rel-err.js';

test('activationQuant: ReLU ranges get zero point 0, signed ranges an exact zero, degenerate ranges scale 1', () => {
  const relu = activationQuant(0, 5.1);
  assert.equal(relu.zeroPoint, 0);
  assert.equal(relu.scale, Math.fround(5.1 / 255));
  // [−1, 3]: 4/255 per level; 0 sits at level round(1 / (4/255)) = round(63.75) = 64.
  const signed = activationQuant(-1, 3);
  assert.equal(signed.scale, Math.fround(4 / 255));
  assert.equal(signed.zeroPoint, 64);
  // A range that excludes 0 is widened to include it (so 0 is exact): [2, 5] → [0, 5]; [−4, −1] → [−4, 0].
  assert.deepEqual(activationQuant(2, 5), activationQuant(0, 5));
  assert.deepEqual(activationQuant(-4, -1), { scale: Math.fround(4 / 255), zeroPoint: 255 });
  assert.deepEqual(activationQuant(0, 0), { scale: 1, zeroPoint: 0 });
  assert.deepEqual(activationQuant(Infinity, -Infinity), { scale: 1, zeroPoint: 0 });
});

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const quant = (v: number, s: number, z: number): number => Math.min(255, Math.max(0, roundHalfEven(v / s) + z));

/** The static-int8 tower as the graph defines it (fp32 head, layers ≥ 16 wide quantized), in float64. */
function simulateStatic(layers: TowerLayer[], m: number, x: Float32Array, w: Float32Array[], b: Float32Array[], ranges: Float32Array, qmax: number): Float64Array {
  let h = Float64Array.from(x);
  layers.forEach((l, li) => {
    const y = new Float64Array(m * l.outDim);
    if (l.outDim < 16) {
      for (let r = 0; r < m; r++) for (let j = 0; j < l.outDim; j++) {
        let s = b[li][j];
        for (let i = 0; i < l.inDim; i++) s += h[r * l.inDim + i] * w[li][i * l.outDim + j];
        y[r * l.outDim + j] = s;
      }
    } else {
      const { q, scale } = quantizeColumns(w[li], l.inDim, l.outDim, qmax);
      const { scale: sx, zeroPoint: zx } = activationQuant(ranges[2 * li], ranges[2 * li + 1]);
      for (let r = 0; r < m; r++) for (let j = 0; j < l.outDim; j++) {
        let acc = 0;
        for (let i = 0; i < l.inDim; i++) acc += (quant(Math.fround(h[r * l.inDim + i]), sx, zx) - zx) * q[i * l.outDim + j];
        y[r * l.outDim + j] = acc * sx * scale[j] + b[li][j];
      }
    }
    if (l.relu) for (let k = 0; k < y.length; k++) y[k] = Math.max(0, y[k]);
    h = y;
  });
  return h;
}

describe('int8-static tower forward', () => {
  let ps: OrtGemmProvider;
  let p32: OrtGemmProvider;
  const layers: TowerLayer[] = [
    { inDim: 80, outDim: 64, relu: true },
    { inDim: 64, outDim: 64, relu: true },
    { inDim: 64, outDim: 1, relu: false },
  ];
  const m = 300;
  const rng = new Rng(9);
  const w = layers.map((l) => {
    const lim = Math.sqrt(6 / (l.inDim + l.outDim));
    return new Float32Array(l.inDim * l.outDim).map(() => (rng.next() * 2 - 1) * lim);
  });
  const b = layers.map((l) => new Float32Array(l.outDim).map(() => rng.normal() * 0.05));
  const x = new Float32Array(m * 80).map(() => rng.normal() * 0.3);
  let ranges: Float32Array;
  let y32: Float32Array;

  before(async () => {
    ps = await OrtGemmProvider.create({ inferPrecision: 'int8-static', inferThreads: 1 });
    p32 = await OrtGemmProvider.create({ inferThreads: 1 });
    // Calibrate by hand: each layer's input min/max over the batch, from the fp32 chain.
    ranges = new Float32Array(2 * layers.length);
    let h: Float64Array = Float64Array.from(x);
    layers.forEach((l, li) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of h) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      ranges[2 * li] = lo;
      ranges[2 * li + 1] = hi;
      const y = new Float64Array(m * l.outDim);
      for (let r = 0; r < m; r++) for (let j = 0; j < l.outDim; j++) {
        let s = b[li][j];
        for (let i = 0; i < l.inDim; i++) s += h[r * l.inDim + i] * w[li][i * l.outDim + j];
        y[r * l.outDim + j] = l.relu ? Math.max(0, s) : s;
      }
      h = y;
    });
    const t32 = p32.tower(layers, { inputGrad: false, maxBatch: 4096 });
    assert.ok(t32);
    y32 = new Float32Array(m);
    t32.forward(m, x, w, b, y32);
  });
  after(async () => {
    await ps.dispose();
    await p32.dispose();
  });

  test('matches the fixed-scale quantized arithmetic simulated in float64, and stays close to fp32', () => {
    const t = ps.tower(layers, { inputGrad: false, maxBatch: 4096 });
    assert.ok(t);
    assert.equal(t.precision, 'int8-static');
    const y = new Float32Array(m);
    t.forward(m, x, w, b, y, ranges);
    const sim = Math.min(...[127, 63].map((qm) => relErr(y, simulateStatic(layers, m, x, w, b, ranges, qm))));
    // Measured 1.5e-7 (float32 rounding of the scales and the head): every quantized level matches. One level off
    // anywhere would move an output by ~1/255 of a range (≥ 1e-4 normwise).
    assert.ok(sim < 1e-5, `int8-static tower vs simulated arithmetic: normwise ${sim}`);
    const e = relErr(y, y32);
    assert.ok(e > 0 && e < 0.04, `int8-static vs fp32 normwise ${e}`);
    t.dispose();
  });

  test("a row's output does not depend on its batch: alone, in pairs and among 4096 rows, bit for bit", () => {
    const t = ps.tower(layers, { inputGrad: false, maxBatch: 4096 });
    assert.ok(t);
    // 4096 rows: the first 300 are x, the rest other rows (different ranges of values per batch).
    const M = 4096;
    const big = new Float32Array(M * 80).map(() => rng.normal() * 0.6);
    big.set(x);
    const yBig = new Float32Array(M);
    t.forward(M, big, w, b, yBig, ranges);
    const one = new Float32Array(1);
    for (let r = 0; r < m; r++) {
      t.forward(1, x.subarray(r * 80, (r + 1) * 80), w, b, one, ranges);
      assert.equal(one[0], yBig[r], `row ${r} alone`);
    }
    const two = new Float32Array(2);
    t.forward(2, x.subarray(10 * 80, 12 * 80), w, b, two, ranges);
    assert.deepEqual(Array.from(two), [yBig[10], yBig[11]]);
    const y300 = new Float32Array(m);
    t.forward(m, x, w, b, y300, ranges);
    assert.deepEqual(y300, yBig.subarray(0, m));
    t.dispose();
  });

  test('without input ranges (or too few) forward is a ConfigError naming the precision', () => {
    const t = ps.tower(layers, { inputGrad: false, maxBatch: 512 });
    assert.ok(t);
    const y = new Float32Array(m);
    assert.throws(() => t.forward(m, x, w, b, y), (e: Error) => e.name === 'ConfigError' && /int8-static/.test(e.message) && /range/.test(e.message));
    assert.throws(() => t.forward(m, x, w, b, y, new Float32Array(2)), (e: Error) => e.name === 'ConfigError');
    t.dispose();
  });

  test('new ranges rebuild the graph (not frozen): other scales, other outputs', () => {
    const t = ps.tower(layers, { inputGrad: false, maxBatch: 512 });
    assert.ok(t);
    const y1 = new Float32Array(m);
    t.forward(m, x, w, b, y1, ranges);
    const wide = ranges.map((v) => v * 4);
    const y2 = new Float32Array(m);
    t.forward(m, x, w, b, y2, wide);
    assert.notDeepEqual(y2, y1);
    const sim = Math.min(relErr(y2, simulateStatic(layers, m, x, w, b, wide, 127)), relErr(y2, simulateStatic(layers, m, x, w, b, wide, 63)));
    assert.ok(sim < 1e-5, `vs simulated ${sim}, old ${relErr(y1, simulateStatic(layers, m, x, w, b, ranges, 127))}`);
    t.dispose();
  });
});
