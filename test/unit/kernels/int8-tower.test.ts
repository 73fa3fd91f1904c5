// The int8 serving path of the onnxruntime tower (inferPrecision 'int8'): weight quantization maths, the tower
// forward against a plain-TS simulation of the same quantized arithmetic (checks layout, scales, zero points and
// bias wiring), its distance from the fp32 forward, re-quantization when weights change, and the error paths.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { createGemmProvider, createOps, quantizeColumns } from '../../../src/kernels/index.js';
import type { TowerLayer } from '../../../src/kernels/ops.js';
import { OrtGemmProvider } from '../../../src/kernels/ort.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { relErr } from '../../rel-err.js';

const ref = new ReferenceOps();

test('quantizeColumns: symmetric per column, error at most half a step, extremes map to ±qmax', () => {
  const rng = new Rng(11);
  const inDim = 37;
  const outDim = 9;
  const w = new Float32Array(inDim * outDim).map(() => rng.normal() * 0.1);
  for (let i = 0; i < inDim; i++) w[i * outDim + 4] = 0; // an all-zero column
  w[5 * outDim + 2] = -3; // a column dominated by one negative weight
  const { q, scale } = quantizeColumns(w, inDim, outDim, 127);
  for (let j = 0; j < outDim; j++) {
    let m = 0;
    for (let i = 0; i < inDim; i++) m = Math.max(m, Math.abs(w[i * outDim + j]));
    if (j === 4) {
      assert.equal(scale[j], 1);
      for (let i = 0; i < inDim; i++) assert.equal(q[i * outDim + j], 0);
      continue;
    }
    assert.ok(Math.abs(scale[j] - m / 127) <= 1e-7 * m, `column ${j} scale`);
    let hitMax = false;
    for (let i = 0; i < inDim; i++) {
      const v = q[i * outDim + j];
      assert.ok(v >= -127 && v <= 127);
      if (Math.abs(v) === 127) hitMax = true;
      assert.ok(Math.abs(v * scale[j] - w[i * outDim + j]) <= scale[j] * 0.5 + 1e-7, `w[${i},${j}]`);
    }
    assert.ok(hitMax, `column ${j}: the largest |w| maps to ±127`);
  }
  assert.equal(q[5 * outDim + 2], -127);
  const r7 = quantizeColumns(w, inDim, outDim, 63);
  assert.equal(r7.q[5 * outDim + 2], -63);
});

// ONNX DynamicQuantizeLinear: uint8, range always includes 0, zero point rounded half to even.
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The tower with int8 hidden layers exactly as the graph defines it (fp32 logit head), in float64. */
function simulateInt8(layers: TowerLayer[], m: number, x: Float32Array, w: Float32Array[], b: Float32Array[], qmax: number): Float64Array {
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
      let lo = 0;
      let hi = 0;
      for (let k = 0; k < m * l.inDim; k++) {
        lo = Math.min(lo, Math.fround(h[k]));
        hi = Math.max(hi, Math.fround(h[k]));
      }
      const sx = Math.fround((hi - lo) / 255);
      const zp = Math.min(255, Math.max(0, roundHalfEven(-lo / sx)));
      const xq = new Int32Array(m * l.inDim);
      for (let k = 0; k < xq.length; k++) xq[k] = Math.min(255, Math.max(0, roundHalfEven(Math.fround(h[k]) / sx) + zp)) - zp;
      for (let r = 0; r < m; r++) for (let j = 0; j < l.outDim; j++) {
        let acc = 0;
        for (let i = 0; i < l.inDim; i++) acc += xq[r * l.inDim + i] * q[i * l.outDim + j];
        y[r * l.outDim + j] = acc * sx * scale[j] + b[li][j];
      }
    }
    if (l.relu) for (let k = 0; k < y.length; k++) y[k] = Math.max(0, y[k]);
    h = y;
  });
  return h;
}

function fp32Chain(layers: TowerLayer[], m: number, x: Float32Array, w: Float32Array[], b: Float32Array[]): Float32Array {
  let h = x;
  layers.forEach((l, i) => {
    const y = new Float32Array(m * l.outDim);
    ref.gemm(false, false, m, l.outDim, l.inDim, 1, h, w[i], 0, y);
    ref.addRowVector(y, b[i], m, l.outDim);
    if (l.relu) ref.relu(y, y, m * l.outDim);
    h = y;
  });
  return h;
}

function glorot(rng: Rng, layers: TowerLayer[]): { w: Float32Array[]; b: Float32Array[] } {
  const w = layers.map((l) => {
    const lim = Math.sqrt(6 / (l.inDim + l.outDim));
    return new Float32Array(l.inDim * l.outDim).map(() => (rng.next() * 2 - 1) * lim);
  });
  const b = layers.map((l) => new Float32Array(l.outDim).map(() => rng.normal() * 0.05));
  return { w, b };
}

describe('int8 tower forward', () => {
  let p8: OrtGemmProvider;
  let p32: OrtGemmProvider;
  // A frappe-shaped tower, narrower: embeddings (10 fields × 8) → 64 → 64 → 1.
  const layers: TowerLayer[] = [
    { inDim: 80, outDim: 64, relu: true },
    { inDim: 64, outDim: 64, relu: true },
    { inDim: 64, outDim: 1, relu: false },
  ];
  const m = 300;
  const rng = new Rng(5);
  const { w, b } = glorot(rng, layers);
  const x = new Float32Array(m * 80).map(() => rng.normal() * 0.3);

  before(async () => {
    p8 = await OrtGemmProvider.create({ inferPrecision: 'int8', inferThreads: 1 });
    p32 = await OrtGemmProvider.create({ inferThreads: 1 });
  });
  after(async () => {
    await p8.dispose();
    await p32.dispose();
  });

  test('matches the quantized arithmetic simulated in float64 (normwise 1e-3) and stays within 2% of fp32', () => {
    const t8 = p8.tower(layers, { inputGrad: false, maxBatch: 512 });
    const t32 = p32.tower(layers, { inputGrad: false, maxBatch: 512 });
    assert.ok(t8 && t32);
    const y8 = new Float32Array(m);
    const y32 = new Float32Array(m);
    t8.forward(m, x, w, b, y8);
    t32.forward(m, x, w, b, y32);
    const exact32 = fp32Chain(layers, m, x, w, b);
    assert.ok(relErr(y32, exact32) < 1e-5, 'fp32 tower is the fp32 chain');
    // qmax: 127 on VNNI/AMX/non-x86 CPUs, 63 otherwise; the closer simulation tells which one ran.
    const sims = [127, 63].map((qm) => relErr(y8, simulateInt8(layers, m, x, w, b, qm)));
    const sim = Math.min(...sims);
    // Rounding ties and fp32 accumulation order can flip a quantized activation by one step in later layers,
    // which moves an output by ~1 step of 255 levels: 1e-3 normwise leaves room for a few such flips only.
    assert.ok(sim < 1e-3, `int8 tower vs simulated int8 arithmetic: normwise ${sim}`);
    // Against fp32 (measured 1.9% here): rounding noise is step/√12 per value. Weights: step = max/127 with
    // max = √3·RMS (uniform) → 0.4% of RMS. Hidden activations: range/255 with range ≈ 4·RMS → 0.5%. The input
    // x ~ N(0, σ): range ≈ 8σ over 255 levels → 0.9%. Summed in quadrature over two quantized layers ≈ 1.3%,
    // grown by the layers' gain; 4% leaves room for that and fails a wrong scale or layout (errors of O(100%)).
    const e = relErr(y8, y32);
    assert.ok(e > 0 && e < 0.04, `int8 vs fp32 normwise ${e}`);
  });

  test('re-quantizes when the weights change, and only then gives the same result', () => {
    const t8 = p8.tower(layers, { inputGrad: false, maxBatch: 512 });
    assert.ok(t8);
    const w2 = w.map((a) => Float32Array.from(a));
    const b2 = b.map((a) => Float32Array.from(a));
    const y1 = new Float32Array(m);
    t8.forward(m, x, w2, b2, y1);
    const yAgain = new Float32Array(m);
    t8.forward(m, x, w2, b2, yAgain);
    assert.deepEqual(yAgain, y1, 'same weights, same batch: bit-identical');
    // In-place change of one hidden weight column and of the head's bias (same arrays, as an optimizer does).
    for (let i = 0; i < 64; i++) w2[1][i * 64 + 3] *= -2;
    b2[2][0] += 0.5;
    const y2 = new Float32Array(m);
    t8.forward(m, x, w2, b2, y2);
    const exact = fp32Chain(layers, m, x, w2, b2);
    assert.ok(relErr(y2, exact) < 0.02, 'follows the new weights');
    assert.ok(relErr(y2, y1) > 0.01, 'differs from the old weights');
    t8.dispose();
  });

  test('frozenWeights: quantized once, later weight changes are not looked at (served models)', async () => {
    const pf = await OrtGemmProvider.create({ inferPrecision: 'int8', inferThreads: 1, frozenWeights: true });
    const t = pf.tower(layers, { inputGrad: false, maxBatch: 512 });
    assert.ok(t);
    const w2 = w.map((a) => Float32Array.from(a));
    const y1 = new Float32Array(m);
    t.forward(m, x, w2, b, y1);
    w2[1].fill(0);
    const y2 = new Float32Array(m);
    t.forward(m, x, w2, b, y2);
    assert.deepEqual(y2, y1);
    await pf.dispose();
  });

  test('fp32 provider default is unchanged (inferPrecision fp32)', () => {
    assert.equal(p32.inferPrecision, 'fp32');
    assert.equal(p8.inferPrecision, 'int8');
  });
});

describe('precision option errors', () => {
  test('unknown precision names the key and the allowed values', async () => {
    const ops = await createOps('reference');
    await assert.rejects(
      createGemmProvider('auto', ops, { inferPrecision: 'int4' as 'int8' }),
      (e: Error & { code?: string }) => e.name === 'ConfigError' && /precision/.test(e.message) && /'fp32' \| 'int8'/.test(e.message),
    );
  });

  test("int8 with a non-onnxruntime gemm is a ConfigError, not a silent fp32 fallback", async () => {
    const ops = await createOps('reference');
    await assert.rejects(createGemmProvider('reference', ops, { inferPrecision: 'int8' }), (e: Error) => e.name === 'ConfigError' && /int8/.test(e.message) && /'ort'/.test(e.message));
    await assert.rejects(OrtGemmProvider.create({ inferPrecision: 'int8', forceAsync: true }), (e: Error) => e.name === 'ConfigError' && /int8/.test(e.message));
  });

  test("'auto' with int8 gives an onnxruntime provider with the int8 tower", async () => {
    const ops = await createOps('reference');
    const g = await createGemmProvider('auto', ops, { inferPrecision: 'int8' });
    assert.equal(g.name, 'ort');
    assert.equal((g as OrtGemmProvider).inferPrecision, 'int8');
    await g.dispose?.();
  });
});
