// The bhembed leg of the peer benchmark: the library's Trainer (src/train/trainer.ts) trained on the same
// samples, hash ids and index specs the peer dump was made from (<split>.ids.u32, index-specs.json), printing the same ONE JSON line as torch_ctr.py
// and tfjs-peer.ts. bhembed indexes inside its step (hash id → rows), so its timing includes work the peers
// skip. With --threads 2 the worker threads start in Trainer.create, before the timed fit() (as PyTorch's thread
// pool exists before its loop); the fit's own start-up (handing the dataset to the workers) is timed, ~0.05 s.
//
// After the fp32 measurements, the trained weights are loaded into a Predictor with precision 'int8' (the library's
// int8 serving path) and timed the same way (*Int8 fields); then the same served model is timed through
// Predictor.predictChunks with --serve-workers threads (default 2; *Workers fields, fp32 and int8). --no-int8
// skips all of that.
//
//   node dist/bench/peers/bhembed-peer.js DUMP_DIR [--threads 1|2] [--epochs N] [--batch1 N] [--engine auto|wasm|reference] [--no-int8] [--serve-workers N]

import { BatchBuffer } from '../../src/core/batch.js';
import { createIndexer } from '../../src/embedding/registry.js';
import type { OpsKind } from '../../src/kernels/index.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { Columns as Dataset } from '../../src/data/batches/columns.js';
import { Trainer } from '../../src/train/trainer.js';
import { readFileSync } from 'node:fs';
import { Predictor } from '../../src/serve/predictor.js';
import type { DataChunk } from '../../src/data/chunk.js';
import type { InferPrecision } from '../../src/kernels/index.js';
import type { ModelFileContents } from '../../src/models/model-file.js';
import { calibrateOnDataset, modelTensors } from '../../src/train/checkpoint.js';
import { batchBufferOf, gatherRows, shapeOf } from '../../src/data/batches/columns.js';
import type { Trainer as TrainerT } from '../../src/train/trainer.js';
import { join } from 'node:path';
import type { IndexSpec } from '../../src/embedding/config.js';
import { logLoss, readMeta, readSplit, rocAuc, type PeerSplit } from './dump.js';

/** One split's hash ids (export.ts: field-major, 2n u32 words per field) as the Trainer's columnar Dataset. */
function readDataset(dir: string, split: PeerSplit, F: number, labels: Float32Array): Dataset {
  const n = labels.length;
  const b = readFileSync(join(dir, `${split}.ids.u32`));
  if (b.byteLength !== F * 8 * n) throw new Error(`${dir}/${split}.ids.u32: expected ${F} × ${n} ids, found ${b.byteLength} bytes`);
  const all = new Uint32Array(b.byteLength / 4);
  new Uint8Array(all.buffer).set(b);
  const fields = Array.from({ length: F }, (_, f) => ({ ids: all.subarray(f * 2 * n, (f + 1) * 2 * n) }));
  return { rows: n, labels, fields };
}

/** Copy sample i of a Dataset into a 1-row batch. */
function fillOne(batch: BatchBuffer, ds: Dataset, i: number): void {
  for (let f = 0; f < ds.fields.length; f++) {
    const src = ds.fields[f].ids;
    const out = batch.fields[f].ids;
    out[0] = src[2 * i];
    out[1] = src[2 * i + 1];
  }
  batch.labels[0] = ds.labels[i];
  batch.size = 1;
}

/**
 * The trained weights served through Predictor (precision 'int8'), timed like Trainer.predict: contiguous batches
 * of B rows gathered from the Dataset, then model.predict. One warm-up batch first (it quantizes the weights and
 * builds the ORT session, which a served model does once at load), as torch_ctr.py warms up its int8 model.
 */
function servedContents(trainer: TrainerT, B: number, engineOps: string): ModelFileContents {
  const meta = { bhembed: 'peer', data: { format: 'peer', fieldNames: [], denseNames: [], reader: {} }, engine: { ops: engineOps, gemm: 'auto' }, evalBatch: B, embedding: { method: 'bh', dim: 0, fields: [] } };
  return { version: 1, createdAt: '', model: trainer.model.config, meta, tensors: modelTensors(trainer.model) };
}

/**
 * Predictor.predictChunks with `workers` threads (each its own model copy, 1 ORT thread) over the test split as
 * one chunk: the same contiguous batches of B rows, scored in parallel. Warm-up: two batches per worker.
 */
async function measureWorkers(contents: ModelFileContents, ds: Dataset, B: number, precision: InferPrecision, workers: number): Promise<{ probs: Float32Array; per4096: number }> {
  const p = await Predictor.fromContents(contents, '<peer>', { precision, workers });
  const chunk = (rows: number): DataChunk => ({ rows, labels: ds.labels.subarray(0, rows), fields: ds.fields.map((f) => ({ ids: f.ids.subarray(0, 2 * rows) })), numDense: 0 });
  const run = async (c: DataChunk, into: Float32Array | null): Promise<void> => {
    async function* one(): AsyncGenerator<DataChunk> {
      yield c;
    }
    for await (const b of p.predictChunks(one())) into?.set(b.probs, b.firstRow);
  };
  await run(chunk(Math.min(ds.rows, 2 * B * workers)), null);
  const probs = new Float32Array(ds.rows);
  const t0 = performance.now();
  await run(chunk(ds.rows), probs);
  const per4096 = ds.rows / ((performance.now() - t0) / 1000);
  await p.close();
  return { probs, per4096 };
}

async function measureInt8(trainer: TrainerT, ds: Dataset, B: number, k1: number, engineOps: string, precision: InferPrecision): Promise<{ probs: Float32Array; per4096: number; per1: number }> {
  const p = await Predictor.fromContents(servedContents(trainer, B, engineOps), '<peer>', { precision });
  const m = ds.rows;
  const batch = batchBufferOf(shapeOf(ds), B);
  const order = Int32Array.from({ length: m }, (_, i) => i);
  gatherRows(ds, order, 0, Math.min(B, m), batch);
  await p.model.predict(batch);
  const probs = new Float32Array(m);
  const t0 = performance.now();
  for (let s = 0; s < m; s += B) {
    const c = Math.min(B, m - s);
    gatherRows(ds, order, s, c, batch);
    probs.set((await p.model.predict(batch)).subarray(0, c), s);
  }
  const per4096 = m / ((performance.now() - t0) / 1000);
  const one = new BatchBuffer(1, new Array<boolean>(ds.fields.length).fill(false), 0);
  const t1 = performance.now();
  for (let i = 0; i < k1; i++) {
    fillOne(one, ds, i);
    await p.model.predict(one);
  }
  const per1 = k1 / ((performance.now() - t1) / 1000);
  return { probs, per4096, per1 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args[0];
  if (!dir) throw new Error('usage: bhembed-peer.js DUMP_DIR [--threads 1|2] [--epochs N] [--batch1 N] [--engine auto|wasm|reference]');
  const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const meta = readMeta(dir);
  const epochs = Number(opt('--epochs') ?? meta.epochs);
  const batch1 = Number(opt('--batch1') ?? 2000);
  const engine = (opt('--engine') ?? 'auto') as OpsKind;
  const threads = Number(opt('--threads') ?? 1);

  const tLoad = performance.now();
  const F = meta.fields.length;
  const specs = JSON.parse(readFileSync(join(dir, 'index-specs.json'), 'utf8')) as IndexSpec[];
  // Labels straight from the file: readSplit would also load the peers' train rows, which bhembed never uses.
  const lb = readFileSync(join(dir, 'train.labels.f32'));
  const trainLabels = new Float32Array(lb.byteLength / 4);
  new Uint8Array(trainLabels.buffer).set(lb);
  const trainSet = readDataset(dir, 'train', F, trainLabels);
  const test = readSplit(dir, meta, 'test');
  const testSet = readDataset(dir, 'test', F, test.labels);
  // The rows bhembed computes from these ids (with the indexers the model builds from the specs) must be the
  // rows the peers read: check every test sample against the dump.
  const S = meta.rowsPerSample;
  {
    const m = test.n;
    const want = new Int32Array(m * S);
    test.gather(Uint32Array.from({ length: m }, (_, i) => i), 0, m, want);
    const got = new Int32Array(m * 64);
    for (let f = 0; f < F; f++) {
      const fd = meta.fields[f];
      const ix = createIndexer(specs[f]);
      const k = fd.rowsPerValue;
      if (ix.numRows !== fd.numRows || ix.rowsPerValue !== k) throw new Error(`field ${fd.name}: indexer shape differs from the dump`);
      ix.index(testSet.fields[f].ids, m, got, 0);
      for (let i = 0; i < m; i++) {
        for (let q = 0; q < k; q++) {
          if (got[i * k + q] !== want[i * S + fd.offset + q]) throw new Error(`field ${fd.name}, test sample ${i}: bhembed row ${got[i * k + q]} ≠ dump row ${want[i * S + fd.offset + q]}`);
        }
      }
    }
  }
  const loadS = (performance.now() - tLoad) / 1000;

  const B = meta.batch;
  const config: ModelConfig = {
    arch: meta.arch,
    dim: meta.dim,
    mlp: meta.mlp,
    fields: meta.fields.map((fd, f) => ({ name: fd.name, index: specs[f], fusion: fd.fusion })),
    initStd: meta.init.embeddingStd,
    seed: meta.seed,
  };
  const trainer = await Trainer.create(config, {
    batchSize: B,
    epochs,
    seed: meta.seed,
    threads,
    engine,
    earlyStopping: false,
    optim: { lr: meta.lr, embeddingOptimizer: 'adam', beta1: meta.optimizer.beta1, beta2: meta.optimizer.beta2, eps: meta.optimizer.eps },
  });
  const n = trainSet.rows;
  const t0 = performance.now();
  const fit = await trainer.fit(trainSet);
  const trainS = (performance.now() - t0) / 1000;
  await trainer.close();

  const m = testSet.rows;
  const t1 = performance.now();
  const probs = await trainer.predict(testSet);
  const inferS = (performance.now() - t1) / 1000;
  const k1 = Math.min(batch1, m);
  const one = new BatchBuffer(1, new Array<boolean>(F).fill(false), 0);
  const t2 = performance.now();
  for (let i = 0; i < k1; i++) {
    fillOne(one, testSet, i);
    await trainer.model.predict(one);
  }
  const infer1S = (performance.now() - t2) / 1000;
  const lastLoss = fit.trainLoss;
  const ops = trainer.ops;
  const peakRss = process.resourceUsage().maxRSS / 1024; // before the int8 model exists
  let int8: Record<string, number | string> = {};
  if (!args.includes('--no-int8')) {
    const r = await measureInt8(trainer, testSet, B, k1, ops.name, 'int8');
    int8 = {
      int8Engine: 'onnxruntime DynamicQuantizeMatMul',
      inferSamplesPerSec4096Int8: r.per4096,
      inferSamplesPerSec1Int8: r.per1,
      aucInt8: rocAuc(test.labels, r.probs),
      loglossInt8: logLoss(test.labels, r.probs),
      peakRssMBInt8: process.resourceUsage().maxRSS / 1024,
    };
    // The same served model on 2 worker threads (Predictor workers: 2), fp32 and int8.
    const workers = Number(opt('--serve-workers') ?? 2);
    if (workers > 1) {
      const contents = servedContents(trainer, B, ops.name);
      const w32 = await measureWorkers(contents, testSet, B, 'fp32', workers);
      const w8 = await measureWorkers(contents, testSet, B, 'int8', workers);
      Object.assign(int8, {
        serveWorkers: workers,
        inferSamplesPerSec4096Workers: w32.per4096,
        inferSamplesPerSec4096Int8Workers: w8.per4096,
        aucInt8Workers: rocAuc(test.labels, w8.probs),
        aucWorkers: rocAuc(test.labels, w32.probs),
      });
    }
    // Static int8: activation ranges calibrated on up to 65,536 training rows, as `bhembed train --out` records them.
    await calibrateOnDataset(trainer.model, trainSet);
    const rs = await measureInt8(trainer, testSet, B, k1, ops.name, 'int8-static');
    Object.assign(int8, {
      inferSamplesPerSec4096Int8Static: rs.per4096,
      inferSamplesPerSec1Int8Static: rs.per1,
      aucInt8Static: rocAuc(test.labels, rs.probs),
      loglossInt8Static: logLoss(test.labels, rs.probs),
    });
    if (workers > 1) {
      const ws = await measureWorkers(servedContents(trainer, B, ops.name), testSet, B, 'int8-static', workers);
      Object.assign(int8, { inferSamplesPerSec4096Int8StaticWorkers: ws.per4096, aucInt8StaticWorkers: rocAuc(test.labels, ws.probs) });
    }
  }

  const out = {
    leg: 'bhembed',
    config: meta.name,
    threads,
    framework: `bhembed Trainer (${ops.name} ops)`,
    embeddingOptimizer: 'lazy Adam (rows touched)',
    epochs,
    trainSamples: n * epochs,
    trainSeconds: trainS,
    trainSamplesPerSec: (n * epochs) / trainS,
    inferSamplesPerSec4096: m / inferS,
    inferSamplesPerSec1: k1 / infer1S,
    peakRssMB: peakRss,
    auc: rocAuc(test.labels, probs),
    logloss: logLoss(test.labels, probs),
    finalTrainLoss: lastLoss,
    loadSeconds: loadS,
    ...int8,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
