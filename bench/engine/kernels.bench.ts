// Per-op micro-benchmark: every non-GEMM op of the WASM backend against ReferenceOps at CTR-typical sizes
// (batch 2048, hidden 400, 26 fields × dim 16). Run: `npm run build && node dist/bench/engine/kernels.bench.js`.
// Writes bench/results/kernels.json.

import { Rng } from '../../src/core/rng.js';
import type { Ops } from '../../src/kernels/ops.js';
import { ReferenceOps } from '../../src/kernels/reference.js';
import { WasmOps } from '../../src/kernels/wasm.js';
import { machine, printTable, timeIt, writeJson } from './timing.js';

const budget = process.argv.includes('--quick') ? 0.1 : 0.4;
const rng = new Rng(7);
const wasm = await WasmOps.create({ initialBytes: 256 << 20 });
const ref = new ReferenceOps();

const B = 2048;
const H = 400;
const F = 26;
const D = 16;
const N = B * H;
const numRows = 100_000;
const nRows = B * F * 2;

const rand = (n: number, s = 1): Float32Array => {
  const a = wasm.allocF32(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * s;
  return a;
};
const x = rand(N);
const y = rand(N);
const z = rand(N);
const colA = rand(H);
const colB = rand(H);
const colC = rand(H);
const colD = wasm.allocF32(H).fill(1);
const logits = rand(B);
const labels = wasm.allocF32(B);
for (let i = 0; i < B; i++) labels[i] = rng.next() < 0.25 ? 1 : 0;
const fmX = rand(B * F * D);
const fmOut = rand(B);
const fmDx = rand(B * F * D);
const table = rand(numRows * D, 0.01);
const acc = wasm.allocF32(numRows * D).fill(0.1);
// (typed-array .map() would copy out of WASM memory, so fill in place)
const rows = wasm.allocI32(nRows);
for (let i = 0; i < nRows; i++) rows[i] = rng.int(numRows);
const offsets = wasm.allocI32(B * F + 1);
for (let s = 0; s <= B * F; s++) offsets[s] = s * 2;
const bagOut = rand(B * F * D);
const dW = wasm.allocF32(nRows);
const slot = wasm.allocI32(numRows).fill(-1);
const uniq = wasm.allocI32(nRows);
const grad = wasm.allocF32(nRows * D);
const u = wasm.embeddingBagBackward(bagOut, D, rows, offsets, B * F, null, false, slot, uniq, grad);
const dense = rand(H * H);
const denseG = rand(H * H);
const m1 = wasm.allocF32(H * H);
const v1 = wasm.allocF32(H * H);
let step = 1;

const cases: Array<{ op: string; elems: number; run: (o: Ops) => void }> = [
  { op: 'addRowVector', elems: N, run: (o) => o.addRowVector(x, colA, B, H) },
  { op: 'sumRows', elems: N, run: (o) => o.sumRows(x, B, H, colA, false) },
  { op: 'relu', elems: N, run: (o) => o.relu(x, y, N) },
  { op: 'reluBackward', elems: N, run: (o) => o.reluBackward(y, x, z, N) },
  { op: 'sigmoid', elems: N, run: (o) => o.sigmoid(x, z, N) },
  { op: 'mul', elems: N, run: (o) => o.mul(x, y, z, N) },
  { op: 'axpy', elems: N, run: (o) => o.axpy(1e-3, x, z, N) },
  { op: 'dropoutMask', elems: N, run: (o) => o.dropoutMask(z, N, 0.2, 5) },
  { op: 'bceWithLogits', elems: B, run: (o) => void o.bceWithLogits(logits, labels, B, fmOut, 1 / B) },
  { op: 'batchNormTrain', elems: N, run: (o) => o.batchNormTrain(x, B, H, colD, colB, colC, colD, 0.1, 1e-5, y, colA, colB) },
  { op: 'batchNormInfer', elems: N, run: (o) => o.batchNormInfer(x, B, H, colD, colB, colC, colD, 1e-5, y) },
  { op: 'batchNormBackward', elems: N, run: (o) => o.batchNormBackward(x, y, B, H, colD, colC, colD, z, colA, colB) },
  { op: 'fmForward', elems: B * F * D, run: (o) => o.fmForward(fmX, B, F, D, fmOut) },
  { op: 'fmBackward', elems: B * F * D, run: (o) => o.fmBackward(fmX, fmOut, B, F, D, fmDx) },
  { op: 'crossForward', elems: N, run: (o) => o.crossForward(x, y, z, z, N) },
  { op: 'crossBackward', elems: N, run: (o) => o.crossBackward(x, y, z, x, y, N) },
  { op: 'embeddingBagWeightGrad', elems: nRows * D, run: (o) => o.embeddingBagWeightGrad(bagOut, table, D, rows, offsets, B * F, false, dW) },
  { op: 'sparseSgd', elems: u * D, run: (o) => o.sparseSgd(table, D, uniq, u, grad, 1e-3, 1e-6) },
  { op: 'sparseAdagrad', elems: u * D, run: (o) => o.sparseAdagrad(table, acc, D, uniq, u, grad, 1e-3, 1e-6, 1e-8) },
  { op: 'adam (dense)', elems: H * H, run: (o) => o.adam(dense, denseG, m1, v1, H * H, 1e-3, 0.9, 0.999, 1e-8, 0, step++) },
];

const table_: Array<Array<string | number>> = [];
const json: Array<Record<string, unknown>> = [];
for (const c of cases) {
  const r = await timeIt(() => c.run(ref), budget, 3, 50);
  const w = await timeIt(() => c.run(wasm), budget, 3, 500);
  table_.push([c.op, c.elems, r * 1e3, w * 1e3, c.elems / w / 1e6, r / w]);
  json.push({ op: c.op, elems: c.elems, referenceMs: r * 1e3, wasmMs: w * 1e3, wasmMelemsPerSec: c.elems / w / 1e6, vsReference: r / w });
}
console.log(`\nPer-op: WASM SIMD vs reference TS (batch ${B}, hidden ${H}, ${F} fields × dim ${D})`);
printTable(['op', 'elements', 'ref ms', 'wasm ms', 'wasm Melem/s', '× ref'], table_);
const path = new URL('../../../bench/results/kernels.json', import.meta.url);
writeJson(path.pathname, { bench: 'kernels', date: new Date().toISOString(), machine: machine(), config: { B, H, F, D, numRows, budgetSec: budget }, ops: json });
console.log(`\nwrote ${path.pathname}`);
