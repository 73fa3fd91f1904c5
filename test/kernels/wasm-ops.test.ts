// Every op of the WASM backend against ReferenceOps on fresh seeded inputs: odd sizes (not multiples of 4),
// duplicate rows, empty segments, mean and weighted bags. Outputs are NaN-poisoned before each call so a
// kernel that skips an element fails. Tolerances are explicit per op.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ReferenceOps } from '../../src/kernels/reference.js';
import { WasmOps } from '../../src/kernels/wasm.js';
import { Twins, assertClose, assertEqualArrays, assertNormwiseClose } from './harness.js';

const ref = new ReferenceOps();
let ops: WasmOps;
const SIZES = [1, 3, 4, 7, 33, 1001];

before(async () => {
  ops = await WasmOps.create({ initialBytes: 8 << 20 });
});

describe('wasm gemm', () => {
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [5, 7, 3],
    [37, 29, 301],
    [64, 64, 64],
    [130, 9, 257],
    [3, 1030, 5],
    [129, 33, 520],
    [1, 37, 301], // m = 1: matrix-vector paths
    [300, 1, 77], // n = 1
    [1, 1, 9],
  ];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`transA=${transA} transB=${transB}`, () => {
        const tw = new Twins(ops, 11);
        for (const [m, n, k] of shapes) {
          const a = tw.f32(m * k);
          const b = tw.f32(k * n);
          for (const [alpha, beta] of [[1, 0], [0.7, 0.3], [-2, 1]]) {
            const c = beta === 0 ? tw.poisoned(m * n) : tw.f32(m * n);
            ops.gemm(transA, transB, m, n, k, alpha, a.t, b.t, beta, c.t);
            ref.gemm(transA, transB, m, n, k, alpha, a.r, b.r, beta, c.r);
            assertNormwiseClose(c.t, c.r, 1e-5, `gemm ${m}x${n}x${k} a=${alpha} b=${beta}`);
          }
        }
      });
    }
  }
  test('layer forward (no transposes): each row of C is bit-identical whatever the batch size m', () => {
    const tw = new Twins(ops, 13);
    for (const [n, k] of [[1, 7], [1, 300], [3, 5], [37, 600], [400, 416]]) {
      const M = 11;
      const x = tw.f32(M * k);
      const w = tw.f32(k * n);
      const full = ops.allocF32(M * n);
      ops.gemm(false, false, M, n, k, 1, x.t, w.t, 0, full);
      for (const [start, m] of [[0, 1], [4, 1], [10, 1], [2, 2], [5, 3], [3, 8]]) {
        const part = ops.allocF32(m * n);
        ops.gemm(false, false, m, n, k, 1, x.t.subarray(start * k, (start + m) * k), w.t, 0, part);
        assertEqualArrays(part, full.subarray(start * n, (start + m) * n), `rows ${start}..${start + m} of ${M}, n=${n} k=${k}`);
      }
    }
  });

  test('k = 0 gives beta·C (and zeros for beta = 0, NaN included)', () => {
    const tw = new Twins(ops, 12);
    const c = tw.f32(6);
    ops.gemm(false, false, 2, 3, 0, 1, ops.allocF32(1), ops.allocF32(1), 0.5, c.t);
    ref.gemm(false, false, 2, 3, 0, 1, new Float32Array(1), new Float32Array(1), 0.5, c.r);
    assertClose(c.t, c.r, 0, 0, 'k0');
    const z = tw.poisoned(6);
    ops.gemm(false, false, 2, 3, 0, 1, ops.allocF32(1), ops.allocF32(1), 0, z.t);
    assertEqualArrays(z.t, [0, 0, 0, 0, 0, 0], 'k0 beta0');
  });
});

describe('wasm elementwise, bias, loss', () => {
  test('addRowVector, sumRows', () => {
    const tw = new Twins(ops, 21);
    for (const n of SIZES) {
      for (const m of [1, 5]) {
        const y = tw.f32(m * n);
        const v = tw.f32(n);
        ops.addRowVector(y.t, v.t, m, n);
        ref.addRowVector(y.r, v.r, m, n);
        assertClose(y.t, y.r, 1e-6, 1e-6, `addRowVector ${m}x${n}`);
        const out = tw.poisoned(n);
        ops.sumRows(y.t, m, n, out.t, false);
        ref.sumRows(y.r, m, n, out.r, false);
        assertClose(out.t, out.r, 1e-5, 1e-5, `sumRows ${m}x${n}`);
        ops.sumRows(y.t, m, n, out.t, true);
        ref.sumRows(y.r, m, n, out.r, true);
        assertClose(out.t, out.r, 1e-5, 1e-5, `sumRows acc ${m}x${n}`);
      }
    }
  });

  test('relu (NaN → 0, in place), reluBackward, sigmoid, mul, axpy', () => {
    const tw = new Twins(ops, 22);
    for (const n of SIZES) {
      const x = tw.f32(n, (i) => (i % 7 === 5 ? NaN : i % 11 === 2 ? 0 : tw.rng.normal() * 30));
      const y = tw.poisoned(n);
      ops.relu(x.t, y.t, n);
      ref.relu(x.r, y.r, n);
      assertEqualArrays(y.t, y.r, `relu ${n}`);
      const dy = tw.f32(n);
      const dx = tw.poisoned(n);
      ops.reluBackward(y.t, dy.t, dx.t, n);
      ref.reluBackward(y.r, dy.r, dx.r, n);
      assertEqualArrays(dx.t, dx.r, `reluBackward ${n}`);
      const z = tw.f32(n, () => tw.rng.normal() * 30);
      ops.relu(z.t, z.t, n);
      ref.relu(z.r, z.r, n);
      assertEqualArrays(z.t, z.r, `relu in place ${n}`);
      const s = tw.f32(n, () => tw.rng.normal() * 40);
      const sy = tw.poisoned(n);
      ops.sigmoid(s.t, sy.t, n);
      ref.sigmoid(s.r, sy.r, n);
      assertClose(sy.t, sy.r, 1e-7, 1e-6, `sigmoid ${n}`);
      const a = tw.f32(n);
      const b = tw.f32(n);
      const o = tw.poisoned(n);
      ops.mul(a.t, b.t, o.t, n);
      ref.mul(a.r, b.r, o.r, n);
      assertEqualArrays(o.t, o.r, `mul ${n}`);
      ops.axpy(-0.37, a.t, b.t, n);
      ref.axpy(-0.37, a.r, b.r, n);
      assertClose(b.t, b.r, 1e-6, 1e-6, `axpy ${n}`);
    }
  });

  test('dropoutMask matches the reference stream bit for bit', () => {
    const tw = new Twins(ops, 23);
    for (const n of SIZES) {
      for (const p of [0, 0.3, 0.5, 0.9, 1]) {
        for (const seed of [0, 7, -5, 123456789]) {
          const m = tw.poisoned(n);
          ops.dropoutMask(m.t, n, p, seed);
          ref.dropoutMask(m.r, n, p, seed);
          assertEqualArrays(m.t, m.r, `dropout n=${n} p=${p} seed=${seed}`);
        }
      }
    }
    // The kept fraction is about 1 − p.
    const big = ops.allocF32(100000);
    ops.dropoutMask(big, big.length, 0.3, 42);
    const kept = big.reduce((s, v) => s + (v > 0 ? 1 : 0), 0) / big.length;
    assert.ok(Math.abs(kept - 0.7) < 0.01, `kept ${kept}`);
  });

  test('bceWithLogits: loss sum and dlogits', () => {
    const tw = new Twins(ops, 24);
    for (const n of SIZES) {
      const z = tw.f32(n, () => tw.rng.normal() * 20);
      const y = tw.f32(n, () => (tw.rng.next() < 0.3 ? 1 : 0));
      const d = tw.poisoned(n);
      const lt = ops.bceWithLogits(z.t, y.t, n, d.t, 1 / n);
      const lr = ref.bceWithLogits(z.r, y.r, n, d.r, 1 / n);
      assertClose([lt], [lr], 1e-9, 1e-9, `bce loss ${n}`);
      assertClose(d.t, d.r, 1e-8, 1e-6, `bce dlogits ${n}`);
    }
  });

  test('crossForward, crossBackward', () => {
    const tw = new Twins(ops, 25);
    for (const n of SIZES) {
      const x0 = tw.f32(n);
      const u = tw.f32(n);
      const xl = tw.f32(n);
      const out = tw.poisoned(n);
      ops.crossForward(x0.t, u.t, xl.t, out.t, n);
      ref.crossForward(x0.r, u.r, xl.r, out.r, n);
      assertClose(out.t, out.r, 1e-6, 1e-6, `crossForward ${n}`);
      const dOut = tw.f32(n);
      const dU = tw.poisoned(n);
      const dX0 = tw.f32(n);
      ops.crossBackward(x0.t, u.t, dOut.t, dU.t, dX0.t, n);
      ref.crossBackward(x0.r, u.r, dOut.r, dU.r, dX0.r, n);
      assertClose(dU.t, dU.r, 1e-6, 1e-6, `crossBackward dU ${n}`);
      assertClose(dX0.t, dX0.r, 1e-6, 1e-6, `crossBackward dX0 ${n}`);
    }
  });
});

describe('wasm batch norm and FM', () => {
  test('batchNormTrain / Infer / Backward', () => {
    const tw = new Twins(ops, 31);
    for (const n of [1, 3, 4, 13, 64]) {
      for (const m of [1, 2, 7, 130]) {
        const x = tw.f32(m * n, () => tw.rng.normal() * 3 + 5);
        const gamma = tw.f32(n);
        const beta = tw.f32(n);
        const rm = tw.f32(n);
        const rv = tw.f32(n, () => 0.5 + tw.rng.next());
        const y = tw.poisoned(m * n);
        const sm = tw.poisoned(n);
        const si = tw.poisoned(n);
        ops.batchNormTrain(x.t, m, n, gamma.t, beta.t, rm.t, rv.t, 0.1, 1e-5, y.t, sm.t, si.t);
        ref.batchNormTrain(x.r, m, n, gamma.r, beta.r, rm.r, rv.r, 0.1, 1e-5, y.r, sm.r, si.r);
        const tag = `${m}x${n}`;
        assertClose(sm.t, sm.r, 1e-5, 1e-5, `bn saveMean ${tag}`);
        assertClose(si.t, si.r, 1e-4, 1e-4, `bn saveInvStd ${tag}`);
        assertClose(y.t, y.r, 1e-3, 1e-4, `bn y ${tag}`);
        assertClose(rm.t, rm.r, 1e-5, 1e-5, `bn runMean ${tag}`);
        assertClose(rv.t, rv.r, 1e-4, 1e-4, `bn runVar ${tag}`);
        const yi = tw.poisoned(m * n);
        ops.batchNormInfer(x.t, m, n, gamma.t, beta.t, rm.t, rv.t, 1e-5, yi.t);
        ref.batchNormInfer(x.r, m, n, gamma.r, beta.r, rm.r, rv.r, 1e-5, yi.r);
        assertClose(yi.t, yi.r, 1e-4, 1e-4, `bn infer ${tag}`);
        const dy = tw.f32(m * n);
        const dx = tw.poisoned(m * n);
        const dg = tw.f32(n);
        const db = tw.f32(n);
        // Backward from the reference's saved stats on both sides, so only the backward kernel is compared.
        sm.t.set(sm.r);
        si.t.set(si.r);
        ops.batchNormBackward(x.t, dy.t, m, n, gamma.t, sm.t, si.t, dx.t, dg.t, db.t);
        ref.batchNormBackward(x.r, dy.r, m, n, gamma.r, sm.r, si.r, dx.r, dg.r, db.r);
        assertClose(dx.t, dx.r, 1e-3, 1e-3, `bn dx ${tag}`);
        assertClose(dg.t, dg.r, 1e-4, 1e-4, `bn dGamma ${tag}`);
        assertClose(db.t, db.r, 1e-4, 1e-4, `bn dBeta ${tag}`);
      }
    }
  });

  test('fmForward, fmBackward', () => {
    const tw = new Twins(ops, 32);
    for (const [b, f, d] of [[1, 1, 1], [3, 2, 3], [5, 7, 4], [9, 13, 18], [2, 39, 16]]) {
      const x = tw.f32(b * f * d);
      const out = tw.poisoned(b);
      ops.fmForward(x.t, b, f, d, out.t);
      ref.fmForward(x.r, b, f, d, out.r);
      assertClose(out.t, out.r, 1e-4, 1e-5, `fmForward ${b}x${f}x${d}`);
      const dOut = tw.f32(b);
      const dx = tw.f32(b * f * d);
      ops.fmBackward(x.t, dOut.t, b, f, d, dx.t);
      ref.fmBackward(x.r, dOut.r, b, f, d, dx.r);
      assertClose(dx.t, dx.r, 1e-5, 1e-5, `fmBackward ${b}x${f}x${d}`);
    }
  });
});

describe('wasm embedding bag and optimizers', () => {
  const cases: Array<{ dim: number; nSeg: number; maxLen: number; numRows: number }> = [
    { dim: 1, nSeg: 6, maxLen: 3, numRows: 4 },
    { dim: 3, nSeg: 17, maxLen: 5, numRows: 9 },
    { dim: 4, nSeg: 10, maxLen: 2, numRows: 50 }, // mostly distinct rows,
    { dim: 16, nSeg: 40, maxLen: 4, numRows: 30 },
    { dim: 33, nSeg: 25, maxLen: 6, numRows: 12 },
  ];

  for (const c of cases) {
    for (const mean of [false, true]) {
      for (const weighted of [false, true]) {
        test(`bag dim=${c.dim} nSeg=${c.nSeg} mean=${mean} weighted=${weighted}`, () => {
          const tw = new Twins(ops, 41 + c.dim * 7 + (mean ? 1 : 0) + (weighted ? 2 : 0));
          const { offsets, rows } = tw.bags(c.nSeg, c.maxLen, c.numRows);
          if (rows.length > c.numRows) assert.ok(new Set(rows).size < rows.length, 'case has duplicate rows');
          assert.ok(offsets.some((o, s) => s > 0 && o === offsets[s - 1]), 'case has an empty segment');
          const table = tw.f32(c.numRows * c.dim);
          const off = tw.i32(offsets);
          const rw = tw.i32(rows);
          const w = weighted ? tw.f32(rows.length) : null;
          const out = tw.poisoned(c.nSeg * c.dim);
          ops.embeddingBagForward(table.t, c.dim, rw.t, off.t, c.nSeg, w?.t ?? null, mean, out.t);
          ref.embeddingBagForward(table.r, c.dim, rw.r, off.r, c.nSeg, w?.r ?? null, mean, out.r);
          assertClose(out.t, out.r, 1e-5, 1e-5, 'bag forward');

          const dOut = tw.f32(c.nSeg * c.dim);
          const slot = tw.i32(new Array<number>(c.numRows).fill(-1));
          const uniq = tw.i32(new Array<number>(rows.length).fill(-7));
          const grad = tw.poisoned(rows.length * c.dim);
          const ut = ops.embeddingBagBackward(dOut.t, c.dim, rw.t, off.t, c.nSeg, w?.t ?? null, mean, slot.t, uniq.t, grad.t);
          const ur = ref.embeddingBagBackward(dOut.r, c.dim, rw.r, off.r, c.nSeg, w?.r ?? null, mean, slot.r, uniq.r, grad.r);
          assert.equal(ut, ur);
          assert.equal(ut, new Set(rows).size);
          assertEqualArrays(uniq.t, uniq.r, 'uniqueRows', ut);
          assertClose(grad.t, grad.r, 1e-5, 1e-5, 'gradRows', ut * c.dim);
          assert.ok(slot.t.every((v) => v === -1), 'slot left all −1');

          const dW = tw.poisoned(rows.length);
          ops.embeddingBagWeightGrad(dOut.t, table.t, c.dim, rw.t, off.t, c.nSeg, mean, dW.t);
          ref.embeddingBagWeightGrad(dOut.r, table.r, c.dim, rw.r, off.r, c.nSeg, mean, dW.r);
          assertClose(dW.t, dW.r, 1e-5, 1e-5, 'weight grad');

          // Three optimizer steps on the touched rows, each from the same start on both sides.
          for (let step = 1; step <= 3; step++) {
            ops.sparseSgd(table.t, c.dim, uniq.t, ut, grad.t, 0.05, 1e-3);
            ref.sparseSgd(table.r, c.dim, uniq.r, ur, grad.r, 0.05, 1e-3);
            assertClose(table.t, table.r, 1e-6, 1e-5, `sgd step ${step}`);
          }
          const acc = tw.f32(c.numRows * c.dim, () => tw.rng.next());
          const m1 = tw.f32(c.numRows * c.dim, () => 0);
          const v1 = tw.f32(c.numRows * c.dim, () => 0);
          for (let step = 1; step <= 3; step++) {
            ops.sparseAdagrad(table.t, acc.t, c.dim, uniq.t, ut, grad.t, 0.05, 1e-3, 1e-8);
            ref.sparseAdagrad(table.r, acc.r, c.dim, uniq.r, ur, grad.r, 0.05, 1e-3, 1e-8);
            assertClose(acc.t, acc.r, 1e-6, 1e-5, `adagrad acc step ${step}`);
            assertClose(table.t, table.r, 1e-6, 1e-5, `adagrad step ${step}`);
            ops.sparseAdam(table.t, m1.t, v1.t, c.dim, uniq.t, ut, grad.t, 0.01, 0.9, 0.999, 1e-8, 1e-4, step);
            ref.sparseAdam(table.r, m1.r, v1.r, c.dim, uniq.r, ur, grad.r, 0.01, 0.9, 0.999, 1e-8, 1e-4, step);
            assertClose(m1.t, m1.r, 1e-6, 1e-5, `adam m step ${step}`);
            assertClose(v1.t, v1.r, 1e-6, 1e-5, `adam v step ${step}`);
            assertClose(table.t, table.r, 1e-5, 1e-5, `adam step ${step}`);
          }
          // Untouched rows keep zero moments (lazy Adam).
          const touched = new Set(rows);
          for (let r = 0; r < c.numRows; r++) {
            if (!touched.has(r)) for (let j = 0; j < c.dim; j++) assert.equal(m1.t[r * c.dim + j], 0);
          }
        });
      }
    }
  }

  test('dense adam', () => {
    const tw = new Twins(ops, 51);
    for (const n of SIZES) {
      const w = tw.f32(n);
      const m = tw.f32(n, () => 0);
      const v = tw.f32(n, () => 0);
      for (let step = 1; step <= 4; step++) {
        const g = tw.f32(n);
        ops.adam(w.t, g.t, m.t, v.t, n, 1e-3, 0.9, 0.999, 1e-8, 1e-2, step);
        ref.adam(w.r, g.r, m.r, v.r, n, 1e-3, 0.9, 0.999, 1e-8, 1e-2, step);
        assertClose(m.t, m.r, 1e-6, 1e-5, `adam m ${n}`);
        assertClose(v.t, v.r, 1e-6, 1e-5, `adam v ${n}`);
        assertClose(w.t, w.r, 1e-6, 1e-5, `adam w ${n} step ${step}`);
      }
    }
  });
});
