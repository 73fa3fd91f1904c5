// Training throughput (samples/s) of a Criteo-shaped DeepFM — 26 BH fields, 13 dense inputs — for the
// reference backend (the baseline), the WASM backend with the 'auto' GEMM provider, and 2 data-parallel threads.
// Run: node dist/bench/train/train.bench.js [--quick]. Writes bench/results/train.json. Shared machine: noisy.

import { Rng } from '../../src/core/rng.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { Dataset } from '../../src/train/dataset.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { machine, printTable, writeJson } from '../engine/timing.js';

const quick = process.argv.includes('--quick');
const N = quick ? 4096 : 32768;
const FIELDS = 26;
const DENSE = 13;

function synthetic(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const labels = new Float32Array(n);
  const fields = Array.from({ length: FIELDS }, () => ({ ids: new Uint32Array(2 * n) }));
  const dense = new Float32Array(n * DENSE);
  for (let r = 0; r < n; r++) {
    let z = -1;
    for (let f = 0; f < FIELDS; f++) {
      const lo = rng.nextU32();
      fields[f].ids[2 * r] = lo;
      fields[f].ids[2 * r + 1] = rng.nextU32();
      z += ((lo & 7) - 3.5) * 0.1;
    }
    for (let i = 0; i < DENSE; i++) dense[r * DENSE + i] = rng.normal();
    labels[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { n, labels, fields, numDense: DENSE, dense };
}

const config: ModelConfig = {
  arch: 'deepfm',
  dim: 16,
  mlp: [256, 128],
  numDense: DENSE,
  fields: Array.from({ length: FIELDS }, () => ({ index: { method: 'bh' as const, codeBits: 32, blockBits: 8, strategy: 'succession' as const } })),
};

const data = synthetic(N, 1);
const runs: { label: string; opts: TrainerOptions }[] = [
  { label: 'reference, 1 thread', opts: { engine: 'reference', gemm: 'reference' } },
  { label: 'wasm + auto gemm, 1 thread', opts: { engine: 'wasm', gemm: 'auto' } },
  { label: 'wasm + wasm gemm, 1 thread', opts: { engine: 'wasm', gemm: 'wasm' } },
  { label: 'wasm + auto gemm, 2 threads', opts: { engine: 'wasm', gemm: 'auto', threads: 2 } },
];
const rows: Array<Array<string | number>> = [];
const json: Array<Record<string, unknown>> = [];
let base = 0;
for (const r of runs) {
  const tr = await Trainer.create(config, { batchSize: 1024, epochs: 1, earlyStopping: false, optim: { lr: 1e-3 }, ...r.opts });
  const n = r.opts.engine === 'reference' ? Math.min(N, 8192) : N;
  const sub: Dataset = { ...data, n };
  const fit = await tr.fit(sub);
  await tr.close();
  const sps = n / fit.seconds;
  if (base === 0) base = sps;
  rows.push([r.label, Math.round(sps), sps / base, fit.trainLoss]);
  json.push({ label: r.label, ...r.opts, samplesPerSec: sps, ratioVsReference: sps / base, trainLoss: fit.trainLoss, samples: n });
}
printTable(['config', 'samples/s', '× reference', 'train loss'], rows);
writeJson('bench/results/train.json', { machine: machine(), config, batchSize: 1024, results: json });
