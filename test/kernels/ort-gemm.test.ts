// onnxruntime GEMM against the WASM GEMM and the reference: every transpose combination, alpha/beta cases,
// inputs in WASM shared memory (copied by the provider) and in ordinary arrays (written in place), both the
// synchronous binding path and the public async API. Agreement is normwise relative error < 1e-5.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createGemmProvider } from '../../src/kernels/index.js';
import { OrtGemmProvider } from '../../src/kernels/ort.js';
import { ReferenceOps } from '../../src/kernels/reference.js';
import { WasmOps } from '../../src/kernels/wasm.js';
import { Twins, assertNormwiseClose } from './harness.js';

let ops: WasmOps;
let ortSync: OrtGemmProvider;
let ortAsync: OrtGemmProvider;
const ref = new ReferenceOps();

before(async () => {
  ops = await WasmOps.create({ initialBytes: 16 << 20 });
  ortSync = await OrtGemmProvider.create({ intraOpNumThreads: 1 });
  ortAsync = await OrtGemmProvider.create({ intraOpNumThreads: 1, forceAsync: true });
});

after(async () => {
  await ortSync.dispose();
  await ortAsync.dispose();
});

const shapes: Array<[number, number, number]> = [
  [1, 1, 1],
  [7, 5, 3],
  [37, 29, 301],
  [130, 64, 257],
  [256, 1, 400],
  [1, 50, 130],
];

describe('ort gemm agrees with wasm gemm', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`transA=${transA} transB=${transB}`, async () => {
        assert.equal(ortSync.sync, true, 'the synchronous binding path loads');
        assert.equal(ortAsync.sync, false);
        const tw = new Twins(ops, 61);
        for (const [m, n, k] of shapes) {
          const a = tw.f32(m * k);
          const b = tw.f32(k * n);
          for (const [alpha, beta] of [[1, 0], [0.5, 0], [1.5, -0.5]]) {
            const start = beta === 0 ? () => NaN : () => tw.rng.normal();
            const cw = tw.f32(m * n, start); // WASM memory: ORT copies in and out
            const co = tw.f32(m * n, (i) => cw.t[i]); // .r is an ordinary array: ORT may write in place
            const ca = tw.f32(m * n, (i) => cw.t[i]);
            ops.gemm(transA, transB, m, n, k, alpha, a.t, b.t, beta, cw.t);
            const tag = `${m}x${n}x${k} alpha=${alpha} beta=${beta}`;
            assert.equal(ortSync.gemm(transA, transB, m, n, k, alpha, a.t, b.t, beta, co.t), undefined);
            assertNormwiseClose(co.t, cw.t, 1e-5, `ort(shared) vs wasm ${tag}`);
            ortSync.gemm(transA, transB, m, n, k, alpha, a.r, b.r, beta, co.r);
            assertNormwiseClose(co.r, cw.t, 1e-5, `ort(plain) vs wasm ${tag}`);
            await ortAsync.gemm(transA, transB, m, n, k, alpha, a.t, b.t, beta, ca.t);
            assertNormwiseClose(ca.t, cw.t, 1e-5, `ort(async) vs wasm ${tag}`);
            ref.gemm(transA, transB, m, n, k, alpha, a.r, b.r, beta, ca.r);
            assertNormwiseClose(co.r, ca.r, 1e-5, `ort vs reference ${tag}`);
          }
        }
      });
    }
  }

  test('C longer than m×n: only the first m·n entries change', () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([1, 0, 0, 1]);
    const c = new Float32Array(6).fill(9);
    ortSync.gemm(false, false, 2, 2, 2, 1, a, b, 0, c);
    assert.deepEqual(Array.from(c), [1, 2, 3, 4, 9, 9]);
  });

  test('k = 0 gives beta·C', () => {
    const c = Float32Array.from([NaN, 2]);
    ortSync.gemm(false, false, 1, 2, 0, 1, new Float32Array(0), new Float32Array(0), 0, c);
    assert.deepEqual(Array.from(c), [0, 0]);
  });

  test("createGemmProvider('auto') picks ort in Node; 'wasm' wraps the backend", async () => {
    const auto = await createGemmProvider('auto', ops);
    assert.equal(auto.name, process.env.BHEMBED_ENGINE === undefined || process.env.BHEMBED_ENGINE === 'auto' ? 'ort' : process.env.BHEMBED_ENGINE);
    // Skinny shapes go to the WASM kernel, large ones to ORT: both agree with the reference.
    const tw = new Twins(ops, 62);
    for (const [m, n, k] of [[300, 2, 40], [64, 96, 128], [200, 100, 16]] as const) {
      const a = tw.f32(m * k);
      const b = tw.f32(n * k);
      const c = tw.poisoned(m * n);
      const r = new Float32Array(m * n);
      assert.equal(auto.gemm(false, true, m, n, k, 1, a.t, b.t, 0, c.t), undefined);
      ref.gemm(false, true, m, n, k, 1, a.r, b.r, 0, r);
      assertNormwiseClose(c.t, r, 1e-5, `auto ${m}x${n}x${k}`);
    }
    await auto.dispose?.();
    const w = await createGemmProvider('wasm', ops);
    assert.equal(w.name, 'wasm');
    await assert.rejects(createGemmProvider('wasm', ref), /needs the wasm backend/);
  });
});
