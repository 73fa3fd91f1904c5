// Training throughput (samples/s) and inference throughput at the training batch, per engine configuration,
// against a baseline measured in the same run. Shapes:
//   deepfm  (default) Criteo-shaped DeepFM, 26 BH fields + 13 dense, dim 16, MLP 256-128, batch 1024; baseline:
//           the reference backend
//   frappe  the peer benchmark's frappe DNN-BH shape: 10 BH fields (64-bit codes, 4-bit blocks), dim 10,
//           MLP 400-400-400, batch 4096, Adam; baseline: WASM kernels + WASM GEMM (layer by layer)
//   criteo  the peer benchmark's synthetic-Criteo DNN-BH shape: 26 BH fields, dim 16, otherwise as frappe
// Run: node dist/bench/train/train.bench.js [--quick] [--shape deepfm|frappe|criteo]. Writes bench/results/train[-shape].json.
// Shared machine: noisy; compare rows of one run.

import { Rng } from '../../src/core/rng.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { Columns as Dataset } from '../../src/data/batches/columns.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { machine, printTable, writeJson } from '../engine/timing.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const shape = args.includes('--shape') ? args[args.indexOf('--shape') + 1] : 'deepfm';
if (!['deepfm', 'frappe', 'criteo'].includes(shape)) throw new Error(`--shape: '${shape}' is not one of deepfm | frappe | criteo`);
const peer = shape !== 'deepfm';
const FIELDS = shape === 'frappe' ? 10 : 26;
const DENSE = peer ? 0 : 13;
const BATCH = peer ? 4096 : 1024;
const N = peer ? (quick ? 4096 * 6 : 4096 * 30) : quick ? 4096 : 32768;

function synthetic(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const labels = new Float32Array(n);
  const fields = Array.from({ length: FIELDS }, () => ({ ids: new Uint32Array(2 * n) }));
  const dense = new Float32Array(n * DENSE);
  for (let r = 0; r < n; r++) {
    let z = -1;
    for (let f = 0; f < FIELDS; f++) {
      // Zipf-like vocabulary (~5000 values per field), so rows repeat within a batch as in real CTR data.
      const v = Math.floor(Math.exp(rng.next() * Math.log(5000)));
      const lo = Math.imul(v, 0x9e3779b1) ^ f;
      fields[f].ids[2 * r] = lo >>> 0;
      fields[f].ids[2 * r + 1] = v;
      z += ((lo & 7) - 3.5) * 0.1;
    }
    for (let i = 0; i < DENSE; i++) dense[r * DENSE + i] = rng.normal();
    labels[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { rows: n, labels, fields, numDense: DENSE, dense: DENSE > 0 ? dense : null };
}

const bh = { method: 'bh' as const, codeBits: peer ? 64 : 32, blockBits: peer ? 4 : 8, strategy: 'succession' as const };
const config: ModelConfig = peer
  ? { arch: 'dnn', dim: shape === 'frappe' ? 10 : 16, mlp: [400, 400, 400], fields: Array.from({ length: FIELDS }, () => ({ index: bh })) }
  : { arch: 'deepfm', dim: 16, mlp: [256, 128], numDense: DENSE, fields: Array.from({ length: FIELDS }, () => ({ index: bh })) };

const data = synthetic(N, 1);
const runs: { label: string; opts: TrainerOptions }[] = peer
  ? [
      { label: 'wasm + wasm gemm, 1 thread (baseline)', opts: { engine: 'wasm', gemm: 'wasm' } },
      { label: 'wasm + auto gemm (ORT tower), 1 thread', opts: { engine: 'wasm', gemm: 'auto' } },
      { label: 'wasm + auto gemm, 1 thread, ORT 2 intra-op', opts: { engine: 'wasm', gemm: 'auto', gemmThreads: 2, inferThreads: 2 } },
      { label: 'wasm + auto gemm, 2 threads', opts: { engine: 'wasm', gemm: 'auto', threads: 2 } },
    ]
  : [
      { label: 'reference, 1 thread', opts: { engine: 'reference', gemm: 'reference' } },
      { label: 'wasm + auto gemm, 1 thread', opts: { engine: 'wasm', gemm: 'auto' } },
      { label: 'wasm + wasm gemm, 1 thread', opts: { engine: 'wasm', gemm: 'wasm' } },
      { label: 'wasm + auto gemm, 2 threads', opts: { engine: 'wasm', gemm: 'auto', threads: 2 } },
    ];
const rows: Array<Array<string | number>> = [];
const json: Array<Record<string, unknown>> = [];
let base = 0;
let baseInfer = 0;
for (const r of runs) {
  const tr = await Trainer.create(config, { batchSize: BATCH, epochs: 1, earlyStopping: false, optim: { lr: 1e-3, embeddingOptimizer: 'adam' }, ...r.opts });
  const n = r.opts.engine === 'reference' ? Math.min(N, 8192) : N;
  const sub: Dataset = { ...data, rows: n };
  const fit = await tr.fit(sub);
  await tr.close();
  const t0 = performance.now();
  await tr.predict(sub);
  const inferSps = n / ((performance.now() - t0) / 1000);
  await tr.dispose();
  const sps = n / fit.seconds;
  if (base === 0) {
    base = sps;
    baseInfer = inferSps;
  }
  rows.push([r.label, Math.round(sps), sps / base, Math.round(inferSps), inferSps / baseInfer, fit.trainLoss]);
  json.push({ label: r.label, ...r.opts, samplesPerSec: sps, ratioVsBaseline: sps / base, inferSamplesPerSec: inferSps, inferRatioVsBaseline: inferSps / baseInfer, trainLoss: fit.trainLoss, samples: n });
}
printTable(['config', 'train samples/s', '× baseline', `infer samples/s @${BATCH}`, '× baseline', 'train loss'], rows);
writeJson(`bench/results/train${shape === 'deepfm' ? '' : `-${shape}`}.json`, { machine: machine(), shape, config, batchSize: BATCH, results: json });
