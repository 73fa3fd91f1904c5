// `npm run bench:engine`: dense GEMM GFLOP/s (onnxruntime at 1 and 2 threads, WASM SIMD), embedding-bag and
// lazy-Adam rows/s, each next to the plain-TypeScript ReferenceOps measured in the same run.
// Writes bench/results/engine.json. Timings are medians; the machine is shared, so expect noise.

import { Rng } from '../../src/core/rng.js';
import { createGemmProvider } from '../../src/kernels/index.js';
import { OrtGemmProvider } from '../../src/kernels/ort.js';
import type { GemmProvider } from '../../src/kernels/ops.js';
import { ReferenceOps } from '../../src/kernels/reference.js';
import { STATE_SHARD_BYTES, WasmOps } from '../../src/kernels/wasm.js';
import { machine, printTable, timeIt, writeJson } from './timing.js';

const quick = process.argv.includes('--quick');
const budget = quick ? 0.2 : 1;
const rng = new Rng(2021);
const wasm = await WasmOps.create({ initialBytes: 512 << 20 });
const ref = new ReferenceOps();

function fillNormal(a: Float32Array, s = 1): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() * s;
  return a;
}

// ---------------- GEMM ----------------
interface GemmShape {
  label: string;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
}
const shapes: GemmShape[] = [
  { label: 'Y = X·Wᵀ (fwd)', transA: false, transB: true, m: 4096, n: 400, k: 400 },
  { label: 'dX = dY·W (bwd)', transA: false, transB: false, m: 4096, n: 400, k: 400 },
  { label: 'dW = dYᵀ·X (grad)', transA: true, transB: false, m: 400, n: 400, k: 4096 },
  { label: 'logit = X·wᵀ (n=1)', transA: false, transB: true, m: 4096, n: 1, k: 400 },
  { label: 'Y = X·Wᵀ (k=16)', transA: false, transB: true, m: 4096, n: 400, k: 16 },
];

const ort1 = await OrtGemmProvider.create({ intraOpNumThreads: 1 });
const ort2 = await OrtGemmProvider.create({ intraOpNumThreads: 2 });
const auto = await createGemmProvider('auto', wasm); // ORT for large shapes, WASM for skinny ones
const providers: Array<{ name: string; threads: number; p: GemmProvider; plain: boolean }> = [
  { name: 'reference (TS)', threads: 1, p: { name: 'reference', gemm: (...a) => ref.gemm(...a) }, plain: false },
  { name: 'wasm simd', threads: 1, p: { name: 'wasm', gemm: (...a) => wasm.gemm(...a) }, plain: false },
  { name: 'ort, shared inputs (copied)', threads: 1, p: ort1, plain: false },
  { name: 'ort, plain arrays', threads: 1, p: ort1, plain: true },
  { name: 'ort, shared inputs (copied)', threads: 2, p: ort2, plain: false },
  { name: "createGemmProvider('auto')", threads: 1, p: auto, plain: false },
];

const gemmRows: Array<Array<string | number>> = [];
const gemmJson: Array<Record<string, unknown>> = [];
for (const s of shapes) {
  const { m, n, k } = s;
  const a = fillNormal(wasm.allocF32(m * k));
  const b = fillNormal(wasm.allocF32(k * n));
  const c = wasm.allocF32(m * n);
  const aPlain = Float32Array.from(a);
  const bPlain = Float32Array.from(b);
  const cPlain = new Float32Array(m * n);
  const flop = 2 * m * n * k;
  let refSec = NaN;
  for (const pr of providers) {
    const isRef = pr.p.name === 'reference';
    const run = pr.plain
      ? () => pr.p.gemm(s.transA, s.transB, m, n, k, 1, aPlain, bPlain, 0, cPlain)
      : () => pr.p.gemm(s.transA, s.transB, m, n, k, 1, a, b, 0, c);
    const sec = await timeIt(run, isRef ? 0 : budget, isRef ? 1 : 3);
    if (isRef) refSec = sec;
    const gflops = flop / sec / 1e9;
    gemmRows.push([s.label, `${m}×${n}×${k}`, `${pr.name} ×${pr.threads}t`, sec * 1e3, gflops, refSec / sec]);
    gemmJson.push({ shape: s, provider: pr.p.name, variant: pr.name, threads: pr.threads, ms: sec * 1e3, gflops, vsReference: refSec / sec });
  }
  for (const x of [a, b, c]) wasm.free(x);
}
await auto.dispose?.();
await ort1.dispose();
await ort2.dispose();

console.log('\nDense GEMM (median per call; ratio = reference time / provider time)');
printTable(['op', 'm×n×k', 'provider', 'ms', 'GFLOP/s', '× ref'], gemmRows);

// ---------------- embedding bag + lazy Adam ----------------
const numRows = 1 << 20;
const dim = 16;
const batch = 2048;
const fields = 26;
const rowsPerValue = 4; // e.g. BH with 4 sub-rows per id, fused by sum
const nSeg = batch * fields;
const nRows = nSeg * rowsPerValue;
const table = fillNormal(wasm.allocF32(numRows * dim), 0.01);
const adamM = wasm.allocF32(numRows * dim);
const adamV = wasm.allocF32(numRows * dim);
const rows = wasm.allocI32(nRows);
const offsets = wasm.allocI32(nSeg + 1);
// Skewed row popularity (as hashed CTR ids are): row = ⌊numRows · u³⌋.
for (let i = 0; i < nRows; i++) rows[i] = Math.min(numRows - 1, Math.floor(numRows * rng.next() ** 3));
for (let s = 0; s <= nSeg; s++) offsets[s] = s * rowsPerValue;
const out = wasm.allocF32(nSeg * dim);
const dOut = fillNormal(wasm.allocF32(nSeg * dim));
const slot = wasm.allocI32(numRows).fill(-1);
const uniq = wasm.allocI32(nRows);
const grad = wasm.allocF32(nRows * dim);
let u = wasm.embeddingBagBackward(dOut, dim, rows, offsets, nSeg, null, false, slot, uniq, grad);

const embRows: Array<Array<string | number>> = [];
const embJson: Array<Record<string, unknown>> = [];
let step = 1;
const cases: Array<{ op: string; count: number; run: (o: WasmOps | ReferenceOps) => void }> = [
  { op: 'embeddingBagForward (sum)', count: nRows, run: (o) => o.embeddingBagForward(table, dim, rows, offsets, nSeg, null, false, out) },
  { op: 'embeddingBagBackward (merge dups)', count: nRows, run: (o) => void (u = o.embeddingBagBackward(dOut, dim, rows, offsets, nSeg, null, false, slot, uniq, grad)) },
  { op: 'sparseAdam (lazy, unique rows)', count: u, run: (o) => o.sparseAdam(table, adamM, adamV, dim, uniq, u, grad, 1e-3, 0.9, 0.999, 1e-8, 1e-6, step++) },
];
for (const cse of cases) {
  const refSec = await timeIt(() => cse.run(ref), budget / 2, 2, 20);
  const wSec = await timeIt(() => cse.run(wasm), budget, 3);
  embRows.push([cse.op, cse.count, 'reference (TS)', refSec * 1e3, cse.count / refSec, 1]);
  embRows.push([cse.op, cse.count, 'wasm simd', wSec * 1e3, cse.count / wSec, refSec / wSec]);
  embJson.push({ op: cse.op, rowsPerCall: cse.count, referenceMs: refSec * 1e3, wasmMs: wSec * 1e3, referenceRowsPerSec: cse.count / refSec, wasmRowsPerSec: cse.count / wSec, vsReference: refSec / wSec });
}
console.log(`\nEmbedding bag and lazy Adam (table ${numRows}×${dim}, ${batch}×${fields} bags of ${rowsPerValue} rows, ${u} unique rows)`);
printTable(['op', 'rows/call', 'backend', 'ms', 'rows/s', '× ref'], embRows);

// Lazy Adam with m and v in row shards of their own memories (kernels/row-state.ts: what a table whose state does
// not fit next to it in 4 GiB uses), against the one-memory kernel; interleaved, medians of 5 alternations.
wasm.stateShardBytes = numRows * dim * 4; // m + v = 2 × this: two shards
const shardedState = wasm.rowState(numRows, dim, 2);
wasm.stateShardBytes = STATE_SHARD_BYTES;
if (shardedState === null) throw new Error('engine bench: expected sharded optimizer state');
const oneMem: number[] = [];
const inShards: number[] = [];
for (let i = 0; i < 5; i++) {
  oneMem.push(await timeIt(() => wasm.sparseAdam(table, adamM, adamV, dim, uniq, u, grad, 1e-3, 0.9, 0.999, 1e-8, 1e-6, step++), budget / 5, 3));
  inShards.push(await timeIt(() => shardedState.adam(table, uniq, u, grad, 1e-3, 0.9, 0.999, 1e-8, 1e-6, step++), budget / 5, 3));
}
const median = (x: number[]): number => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const shardRatio = median(oneMem) / median(inShards);
console.log(`sparseAdam, state in ${shardedState.numShards} row shards: ${(median(inShards) * 1e3).toFixed(2)} ms (${(u / median(inShards) / 1e6).toFixed(2)}M rows/s), ${shardRatio.toFixed(2)}× the one-memory kernel's speed (${(median(oneMem) * 1e3).toFixed(2)} ms)`);
embJson.push({ op: 'sparseAdam, state in row shards', shards: shardedState.numShards, rowsPerCall: u, wasmMs: median(inShards) * 1e3, oneMemoryMs: median(oneMem) * 1e3, vsOneMemory: shardRatio });

const path = new URL('../../../bench/results/engine.json', import.meta.url);
writeJson(path.pathname, {
  bench: 'engine',
  date: new Date().toISOString(),
  machine: machine(),
  config: { quick, budgetSec: budget, gemmShapes: shapes, embedding: { numRows, dim, batch, fields, rowsPerValue, uniqueRows: u } },
  gemm: gemmJson,
  embedding: embJson,
});
console.log(`\nwrote ${path.pathname}`);
