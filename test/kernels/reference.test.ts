// The oracle itself: ReferenceOps backward ops against central finite differences of their forward ops, and a
// few hand-computed cases. Everything else in test/kernels trusts these results.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { ReferenceOps } from '../../src/kernels/reference.js';
import { assertClose } from './harness.js';

const ops = new ReferenceOps();
const rng = new Rng(7);
const randn = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * s);

/** Central difference of f with respect to x[i] (x is perturbed in place and restored). */
function numGrad(f: () => number, x: Float32Array, i: number, h = 1e-2): number {
  const old = x[i];
  x[i] = old + h;
  const up = f();
  x[i] = old - h;
  const down = f();
  x[i] = old;
  return (up - down) / (2 * h);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('reference hand-computed cases', () => {
  test('gemm, all transposes of [[1,2],[3,4]]·[[5,6],[7,8]]', () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const aT = Float32Array.from([1, 3, 2, 4]);
    const b = Float32Array.from([5, 6, 7, 8]);
    const bT = Float32Array.from([5, 7, 6, 8]);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const c = Float32Array.from([NaN, NaN, NaN, NaN]);
      ops.gemm(ta, tb, 2, 2, 2, 1, ta ? aT : a, tb ? bT : b, 0, c);
      assert.deepEqual(Array.from(c), [19, 22, 43, 50]);
    }
    const c = Float32Array.from([1, 1, 1, 1]);
    ops.gemm(false, false, 2, 2, 2, 2, a, b, 3, c);
    assert.deepEqual(Array.from(c), [41, 47, 89, 103]);
  });

  test('embedding bag: sum, mean, weights, empty segment', () => {
    const table = Float32Array.from([1, 10, 2, 20, 3, 30]); // 3 rows, dim 2
    const rows = Int32Array.from([0, 2, 2, 1]);
    const offsets = Int32Array.from([0, 3, 3, 4]); // [0,2,2] [] [1]
    const out = new Float32Array(6).fill(NaN);
    ops.embeddingBagForward(table, 2, rows, offsets, 3, null, false, out);
    assert.deepEqual(Array.from(out), [7, 70, 0, 0, 2, 20]);
    ops.embeddingBagForward(table, 2, rows, offsets, 3, Float32Array.from([1, 0.5, 0.5, 2]), true, out);
    assert.deepEqual(Array.from(out), [4 / 3, 40 / 3, 0, 0, 4, 40].map(Math.fround));
    const slot = new Int32Array(3).fill(-1);
    const uniq = new Int32Array(4);
    const grad = new Float32Array(8).fill(NaN);
    const u = ops.embeddingBagBackward(Float32Array.from([1, 2, 5, 5, 3, 4]), 2, rows, offsets, 3, null, false, slot, uniq, grad);
    assert.equal(u, 3);
    assert.deepEqual(Array.from(uniq.subarray(0, 3)), [0, 2, 1]);
    assert.deepEqual(Array.from(grad.subarray(0, 6)), [1, 2, 2, 4, 3, 4]);
    assert.deepEqual(Array.from(slot), [-1, -1, -1]);
  });

  test('lazy Adam: first step moves each touched weight by lr·sign(g); untouched rows unchanged', () => {
    const table = Float32Array.from([1, 1, 1, 1, 1, 1]);
    const m = new Float32Array(6);
    const v = new Float32Array(6);
    ops.sparseAdam(table, m, v, 2, Int32Array.from([2]), 1, Float32Array.from([0.3, -4]), 0.01, 0.9, 0.999, 0, 0, 1);
    assertClose(table, [1, 1, 1, 1, 0.99, 1.01], 1e-7, 0, 'adam step');
    assert.deepEqual(Array.from(m.subarray(0, 4)), [0, 0, 0, 0]);
  });

  test('batchNormTrain: each column comes out with mean β and std |γ|', () => {
    const m = 64;
    const n = 3;
    const x = randn(m * n, 4);
    const gamma = Float32Array.from([2, -1, 0.5]);
    const beta = Float32Array.from([1, 0, -3]);
    const y = new Float32Array(m * n);
    const sm = new Float32Array(n);
    const si = new Float32Array(n);
    ops.batchNormTrain(x, m, n, gamma, beta, new Float32Array(n), new Float32Array(n).fill(1), 0.1, 0, y, sm, si);
    for (let j = 0; j < n; j++) {
      let s = 0;
      let ss = 0;
      for (let i = 0; i < m; i++) s += y[i * n + j];
      for (let i = 0; i < m; i++) ss += (y[i * n + j] - s / m) ** 2;
      assertClose([s / m, Math.sqrt(ss / m)], [beta[j], Math.abs(gamma[j])], 1e-4, 1e-4, `column ${j}`);
    }
  });
});

describe('reference backward ops match finite differences', () => {
  test('bceWithLogits', () => {
    const z = randn(9, 3);
    const y = Float32Array.from({ length: 9 }, (_, i) => i % 2);
    const d = new Float32Array(9);
    ops.bceWithLogits(z, y, 9, d, 1);
    const loss = (): number => ops.bceWithLogits(z, y, 9, new Float32Array(9), 1);
    for (let i = 0; i < 9; i++) assertClose([d[i]], [numGrad(loss, z, i, 1e-3)], 2e-3, 1e-2, `dz ${i}`);
  });

  test('batchNormBackward (dx, dGamma, dBeta)', () => {
    const m = 6;
    const n = 3;
    const x = randn(m * n, 2);
    const gamma = randn(n);
    const beta = randn(n);
    const dy = randn(m * n);
    const fwd = (): number => {
      const yy = new Float32Array(m * n);
      ops.batchNormTrain(x, m, n, gamma, beta, new Float32Array(n), new Float32Array(n), 0.1, 1e-3, yy, new Float32Array(n), new Float32Array(n));
      return dot(yy, dy);
    };
    const sm = new Float32Array(n);
    const si = new Float32Array(n);
    ops.batchNormTrain(x, m, n, gamma, beta, new Float32Array(n), new Float32Array(n), 0.1, 1e-3, new Float32Array(m * n), sm, si);
    const dx = new Float32Array(m * n);
    const dg = new Float32Array(n).fill(0.25); // accumulates onto existing values
    const db = new Float32Array(n).fill(0.25);
    ops.batchNormBackward(x, dy, m, n, gamma, sm, si, dx, dg, db);
    for (let i = 0; i < m * n; i++) assertClose([dx[i]], [numGrad(fwd, x, i, 1e-2)], 5e-3, 2e-2, `dx ${i}`);
    for (let j = 0; j < n; j++) {
      assertClose([dg[j] - 0.25], [numGrad(fwd, gamma, j)], 5e-3, 1e-2, `dGamma ${j}`);
      assertClose([db[j] - 0.25], [numGrad(fwd, beta, j)], 5e-3, 1e-2, `dBeta ${j}`);
    }
  });

  test('fmBackward', () => {
    const b = 2;
    const f = 4;
    const d = 3;
    const x = randn(b * f * d);
    const dOut = randn(b);
    const fwd = (): number => {
      const o = new Float32Array(b);
      ops.fmForward(x, b, f, d, o);
      return dot(o, dOut);
    };
    const dx = new Float32Array(b * f * d);
    ops.fmBackward(x, dOut, b, f, d, dx);
    for (let i = 0; i < x.length; i++) assertClose([dx[i]], [numGrad(fwd, x, i)], 2e-3, 1e-2, `dx ${i}`);
  });

  test('crossBackward', () => {
    const n = 5;
    const x0 = randn(n);
    const u = randn(n);
    const xl = randn(n);
    const dOut = randn(n);
    const fwd = (): number => {
      const o = new Float32Array(n);
      ops.crossForward(x0, u, xl, o, n);
      return dot(o, dOut);
    };
    const dU = new Float32Array(n);
    const dX0 = new Float32Array(n);
    ops.crossBackward(x0, u, dOut, dU, dX0, n);
    for (let i = 0; i < n; i++) {
      assertClose([dU[i]], [numGrad(fwd, u, i)], 2e-3, 1e-2, `dU ${i}`);
      assertClose([dX0[i]], [numGrad(fwd, x0, i)], 2e-3, 1e-2, `dX0 ${i}`);
    }
  });

  for (const mean of [false, true]) {
    test(`embeddingBagBackward and embeddingBagWeightGrad (mean=${mean})`, () => {
      const dim = 3;
      const numRows = 4;
      const table = randn(numRows * dim);
      const rows = Int32Array.from([1, 3, 1, 0, 2, 2, 2]);
      const offsets = Int32Array.from([0, 3, 3, 7]);
      const weights = randn(rows.length);
      const dOut = randn(3 * dim);
      const fwd = (): number => {
        const o = new Float32Array(3 * dim);
        ops.embeddingBagForward(table, dim, rows, offsets, 3, weights, mean, o);
        return dot(o, dOut);
      };
      const slot = new Int32Array(numRows).fill(-1);
      const uniq = new Int32Array(rows.length);
      const grad = new Float32Array(rows.length * dim);
      const u = ops.embeddingBagBackward(dOut, dim, rows, offsets, 3, weights, mean, slot, uniq, grad);
      const dense = new Float32Array(numRows * dim);
      for (let k = 0; k < u; k++) for (let j = 0; j < dim; j++) dense[uniq[k] * dim + j] += grad[k * dim + j];
      for (let i = 0; i < table.length; i++) assertClose([dense[i]], [numGrad(fwd, table, i)], 2e-3, 1e-2, `dTable ${i}`);
      const dW = new Float32Array(rows.length);
      ops.embeddingBagWeightGrad(dOut, table, dim, rows, offsets, 3, mean, dW);
      for (let i = 0; i < rows.length; i++) assertClose([dW[i]], [numGrad(fwd, weights, i)], 2e-3, 1e-2, `dWeights ${i}`);
    });
  }
});
