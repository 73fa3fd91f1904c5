// Where one training step and one predict batch spend their time, per stage, for the peer benchmark's model
// shape (frappe-like DNN-BH: 10 fields, BH 64-bit codes in 4-bit blocks = 16 rows per value, dim 10, MLP
// 400-400-400, batch 4096, Adam) on the WASM backend with the 'auto' GEMM provider (ORT fused tower).
// Stages are timed by wrapping the model's own methods, so the numbers are the library's code paths.
// Run: node dist/bench/train/stages.bench.js [--quick] [--fields 10] [--dim 10] [--batch 4096] [--infer-threads N].
// Writes bench/results/stages.json.

import { Rng } from '../../src/core/rng.js';
import { createGemmProvider, createOps } from '../../src/kernels/index.js';
import type { ModelConfig } from '../../src/models/config.js';
import { createModel } from '../../src/models/registry.js';
import { batchBufferOf, gatherRows, shapeOf, type Columns as Dataset } from '../../src/data/batches/columns.js';
import { machine, printTable, writeJson } from '../engine/timing.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const quick = args.includes('--quick');
const FIELDS = opt('--fields', 10);
const DIM = opt('--dim', 10);
const B = opt('--batch', 4096);
const STEPS = quick ? 6 : 20;
const INFER_THREADS = opt('--infer-threads', 0);

function synthetic(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const labels = new Float32Array(n);
  const fields = Array.from({ length: FIELDS }, () => ({ ids: new Uint32Array(2 * n) }));
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < FIELDS; f++) {
      // Zipf-ish vocabulary of ~5000 values per field.
      const v = Math.floor(Math.exp(rng.next() * Math.log(5000)));
      fields[f].ids[2 * r] = Math.imul(v, 0x9e3779b1) ^ f;
      fields[f].ids[2 * r + 1] = v;
    }
    labels[r] = rng.next() < 0.3 ? 1 : 0;
  }
  return { rows: n, labels, fields };
}

const config: ModelConfig = {
  arch: 'dnn',
  dim: DIM,
  mlp: [400, 400, 400],
  fields: Array.from({ length: FIELDS }, () => ({ index: { method: 'bh' as const, codeBits: 64, blockBits: 4, strategy: 'succession' as const } })),
};

const ops = await createOps('wasm');
const gemm = await createGemmProvider('auto', ops, INFER_THREADS > 0 ? { inferThreads: INFER_THREADS } : {});
const model = createModel(config, { ops, gemm, maxBatch: B, optim: { lr: 1e-3, embeddingOptimizer: 'adam' } });
const data = synthetic(B * 4, 1);
const batch = batchBufferOf(shapeOf(data), B);
const order = Int32Array.from({ length: data.rows }, (_, i) => i);

const acc = new Map<string, number>();
function wrap<T extends object>(obj: T, key: keyof T & string, label: string): void {
  const f = (obj as Record<string, unknown>)[key] as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[key] = (...a: unknown[]): unknown => {
    const t0 = performance.now();
    const r = f.apply(obj, a);
    if (r instanceof Promise) return r.then((v) => (acc.set(label, (acc.get(label) ?? 0) + performance.now() - t0), v));
    acc.set(label, (acc.get(label) ?? 0) + performance.now() - t0);
    return r;
  };
}
wrap(model.layout, 'build', 'index + layout (build)');
if (model.emb) {
  wrap(model.emb, 'forward', 'embedding forward');
  wrap(model.emb, 'backward', 'embedding backward');
}
if (model.mlp) {
  wrap(model.mlp, 'forward', 'mlp forward');
  wrap(model.mlp, 'backward', 'mlp backward');
  wrap(model.mlp, 'trainStep', 'mlp fused step (forward + loss grad + backward)');
}
wrap(model, 'applySparse', 'sparse Adam (rows)');
wrap(model, 'applyDense', 'dense Adam');

async function trainSteps(n: number): Promise<number> {
  const t0 = performance.now();
  for (let s = 0; s < n; s++) {
    const g0 = performance.now();
    gatherRows(data, order, (s * B) % data.rows, B, batch);
    acc.set('gather batch', (acc.get('gather batch') ?? 0) + performance.now() - g0);
    await model.trainStep(batch);
  }
  return performance.now() - t0;
}

async function predictBatches(n: number): Promise<number> {
  const t0 = performance.now();
  for (let s = 0; s < n; s++) {
    const g0 = performance.now();
    gatherRows(data, order, (s * B) % data.rows, B, batch);
    acc.set('gather batch', (acc.get('gather batch') ?? 0) + performance.now() - g0);
    await model.predict(batch);
  }
  return performance.now() - t0;
}

const rows: Array<Array<string | number>> = [];
const json: Record<string, unknown> = {};
for (const [what, run] of [
  ['train step', trainSteps],
  ['predict batch', predictBatches],
] as const) {
  await run(2);
  acc.clear();
  const total = await run(STEPS);
  let covered = 0;
  const stages: Record<string, number> = {};
  for (const [k, v] of acc) {
    rows.push([`${what}: ${k}`, v / STEPS, (100 * v) / total]);
    stages[k] = v / STEPS;
    covered += v;
  }
  rows.push([`${what}: other`, (total - covered) / STEPS, (100 * (total - covered)) / total]);
  rows.push([`${what}: TOTAL (samples/s ${Math.round((B * STEPS * 1000) / total)})`, total / STEPS, 100]);
  json[what] = { msPerBatch: total / STEPS, samplesPerSec: (B * STEPS * 1000) / total, stagesMs: stages };
}
printTable(['stage', 'ms / batch', '%'], rows);
writeJson('bench/results/stages.json', { machine: machine(), config, batch: B, inferThreads: INFER_THREADS || 'default', gemm: gemm.name, tower: model.mlp !== null && gemm.tower !== undefined, results: json });
await gemm.dispose?.();
