// Where the multi-threaded Trainer's time goes on the peer benchmark's frappe DNN-BH shape (10 BH fields, 64-bit
// codes in 4-bit blocks, dim 10, MLP 400-400-400, batch 4096, Adam): fit() wall time split into start-up (worker
// threads, shared dataset, first step) and steady-state steps, for 1 thread and 2 threads with merged or Hogwild
// sparse updates. Baseline: 1 thread, same run. Legs run interleaved, --repeats times; the table shows medians.
// Run: node dist/bench/train/threads.bench.js [--quick] [--repeats 3] [--dump DIR] [--rows N] [--legs 1,2m,2h]
//   --dump DIR   train on a peer-benchmark dump's train split (bench/peers/export.ts; e.g. /tmp/bhembed-peers/frappe-dnn-bh)
// Writes bench/results/threads.json.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import type { IndexSpec } from '../../src/embedding/config.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { Columns as Dataset } from '../../src/data/batches/columns.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { machine, printTable, writeJson } from '../engine/timing.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const quick = args.includes('--quick');
const repeats = Number(opt('--repeats') ?? (quick ? 1 : 3));
const dump = opt('--dump');
const B = 4096;

function synthetic(n: number, F: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const labels = new Float32Array(n);
  const fields = Array.from({ length: F }, () => ({ ids: new Uint32Array(2 * n) }));
  for (let r = 0; r < n; r++) {
    let z = -1;
    for (let f = 0; f < F; f++) {
      const v = Math.floor(Math.exp(rng.next() * Math.log(5000)));
      const lo = Math.imul(v, 0x9e3779b1) ^ f;
      fields[f].ids[2 * r] = lo >>> 0;
      fields[f].ids[2 * r + 1] = v;
      z += ((lo & 7) - 3.5) * 0.1;
    }
    labels[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { rows: n, labels, fields };
}

let data: Dataset;
let config: ModelConfig;
if (dump) {
  const meta = JSON.parse(readFileSync(join(dump, 'meta.json'), 'utf8')) as { fields: { name: string; fusion: 'sum' }[]; dim: number; mlp: number[]; seed: number; init: { embeddingStd: number } };
  const specs = JSON.parse(readFileSync(join(dump, 'index-specs.json'), 'utf8')) as IndexSpec[];
  const lb = readFileSync(join(dump, 'train.labels.f32'));
  const labels = new Float32Array(lb.byteLength / 4);
  new Uint8Array(labels.buffer).set(lb);
  const n = Math.min(labels.length, Number(opt('--rows') ?? (quick ? B * 12 : labels.length)));
  const raw = readFileSync(join(dump, 'train.ids.u32'));
  const all = new Uint32Array(raw.byteLength / 4);
  new Uint8Array(all.buffer).set(raw);
  const N = labels.length;
  const F = meta.fields.length;
  // Only the n rows used (fit() copies whole id columns into shared memory for the workers).
  data = { rows: n, labels, fields: Array.from({ length: F }, (_, f) => ({ ids: all.subarray(f * 2 * N, f * 2 * N + 2 * n) })) };
  config = { arch: 'dnn', dim: meta.dim, mlp: meta.mlp, seed: meta.seed, initStd: meta.init.embeddingStd, fields: meta.fields.map((fd, f) => ({ name: fd.name, index: specs[f], fusion: fd.fusion })) };
} else {
  const F = 10;
  data = synthetic(quick ? B * 12 : 202_027, F, 1);
  const bh: IndexSpec = { method: 'bh', codeBits: 64, blockBits: 4, strategy: 'succession', dense: false };
  config = { arch: 'dnn', dim: 10, mlp: [400, 400, 400], initStd: 0.01, fields: Array.from({ length: F }, () => ({ index: bh })) };
}

const ALL: { key: string; label: string; opts: TrainerOptions }[] = [
  { key: '1', label: '1 thread (baseline)', opts: { threads: 1 } },
  { key: '2m', label: '2 threads, merged', opts: { threads: 2, sparseSync: 'merged' } },
  { key: '2h', label: '2 threads, hogwild', opts: { threads: 2, sparseSync: 'hogwild' } },
];
const want = opt('--legs')?.split(',');
const legs = ALL.filter((l) => !want || want.includes(l.key));

interface Run {
  fitS: number;
  startS: number;
  steadySps: number;
  sps: number;
  loss: number;
}

async function runLeg(opts: TrainerOptions): Promise<Run> {
  const tr = await Trainer.create(config, { batchSize: B, epochs: 1, seed: 1, earlyStopping: false, optim: { lr: 1e-3, embeddingOptimizer: 'adam' }, ...opts });
  const t0 = performance.now();
  const fit = await tr.fit(data);
  await tr.dispose();
  return { fitS: fit.seconds, sps: data.rows / fit.seconds, loss: fit.trainLoss, ...timing(t0) };
}

// onStep timestamps of the last fit (set through the trainer options below).
let stepTimes: number[] = [];
function timing(t0: number): { startS: number; steadySps: number } {
  // Start-up: fit() start to the end of step 1 minus one steady step; steady: steps 3 .. last-1 (full batches).
  const k = stepTimes.length;
  if (k < 4) return { startS: NaN, steadySps: NaN };
  const steadyMs = (stepTimes[k - 2] - stepTimes[1]) / (k - 3);
  return { startS: (stepTimes[0] - t0 - steadyMs) / 1000, steadySps: (B * 1000) / steadyMs };
}

const results = new Map<string, Run[]>();
for (let r = 0; r < repeats; r++) {
  for (const leg of legs) {
    stepTimes = [];
    const run = await runLeg({ ...leg.opts, onStep: () => stepTimes.push(performance.now()) });
    results.set(leg.key, [...(results.get(leg.key) ?? []), run]);
    process.stderr.write(`${leg.label}: ${Math.round(run.sps)}/s (steady ${Math.round(run.steadySps)}/s, start-up ${run.startS.toFixed(3)} s)\n`);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Array<Array<string | number>> = [];
const json: Record<string, unknown>[] = [];
const base = median((results.get(legs[0].key) ?? []).map((x) => x.sps));
const baseSteady = median((results.get(legs[0].key) ?? []).map((x) => x.steadySps));
for (const leg of legs) {
  const rs = results.get(leg.key) ?? [];
  const sps = median(rs.map((x) => x.sps));
  const steady = median(rs.map((x) => x.steadySps));
  const start = median(rs.map((x) => x.startS));
  rows.push([leg.label, Math.round(sps), sps / base, Math.round(steady), steady / baseSteady, start, rs[0]?.loss ?? NaN]);
  json.push({ leg: leg.key, label: leg.label, samplesPerSec: sps, ratio: sps / base, steadySamplesPerSec: steady, steadyRatio: steady / baseSteady, startupSeconds: start, runs: rs });
}
printTable(['config', 'fit samples/s', '× 1 thread', 'steady samples/s', '× 1 thread', 'start-up s', 'train loss'], rows);
writeJson('bench/results/threads.json', { machine: machine(), data: dump ?? 'synthetic frappe-shaped', n: data.rows, batch: B, config, repeats, results: json });
