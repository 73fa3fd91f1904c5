// The bhembed leg of the peer benchmark: the library's Trainer (src/train/trainer.ts) trained on the same
// samples, hash ids and indexers the peer dump was made from, printing the same ONE JSON line as torch_ctr.py
// and tfjs-peer.ts. bhembed indexes inside its step (hash id → rows), so its timing includes work the peers
// skip; with --threads 2 the timing also includes starting the worker threads.
//
//   node dist/bench/peers/bhembed-peer.js DUMP_DIR [--threads 1|2] [--epochs N] [--batch1 N] [--engine auto|wasm|reference]

import { BatchBuffer } from '../../src/core/batch.js';
import { createIndexer } from '../../src/embedding/registry.js';
import type { OpsKind } from '../../src/kernels/index.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { Dataset } from '../../src/train/dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { PEER_CONFIGS, quickConfig } from './configs.js';
import { logLoss, readMeta, readSplit, rocAuc, type PeerSplit } from './dump.js';
import { buildIndexers, loadCodedData, type CodedData } from './export.js';
import { loadIndexerSource } from './indexers.js';

/** One split as the Trainer's columnar Dataset: per field, each sample's 64-bit hash id (2 u32 words). */
function toDataset(data: CodedData, split: PeerSplit): Dataset {
  const labels = data.labels[split];
  const n = labels.length;
  const fields = data.fieldNames.map((_, f) => {
    const codes = data.codes[split][f];
    const idsF = data.ids[f];
    const ids = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) {
      ids[2 * i] = idsF[2 * codes[i]];
      ids[2 * i + 1] = idsF[2 * codes[i] + 1];
    }
    return { ids };
  });
  return { n, labels, fields };
}

/** Fill batch with samples perm[start, start + count) of a split: each field's hash id, and the label. */
function fillBatch(batch: BatchBuffer, data: CodedData, split: PeerSplit, perm: ArrayLike<number>, start: number, count: number): void {
  const F = data.fieldNames.length;
  const labels = data.labels[split];
  for (let f = 0; f < F; f++) {
    const codes = data.codes[split][f];
    const ids = data.ids[f];
    const out = batch.fields[f].ids;
    for (let j = 0; j < count; j++) {
      const c = codes[perm[start + j]];
      out[2 * j] = ids[2 * c];
      out[2 * j + 1] = ids[2 * c + 1];
    }
  }
  for (let j = 0; j < count; j++) batch.labels[j] = labels[perm[start + j]];
  batch.size = count;
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

  const base = PEER_CONFIGS.find((c) => c.name === meta.export.config);
  if (!base) throw new Error(`${dir}: configuration '${meta.export.config}' is not in bench/peers/configs.ts`);
  const cfg = meta.export.quick ? quickConfig(base) : base;

  const tLoad = performance.now();
  const data = loadCodedData(cfg, meta.export.quick);
  const source = await loadIndexerSource(meta.indexer === 'fallback');
  const indexers = buildIndexers(cfg, data, source);
  // The rows bhembed will compute must be the rows the peers read: check every test sample against the dump.
  const test = readSplit(dir, meta, 'test');
  const S = meta.rowsPerSample;
  {
    const m = test.n;
    const want = new Int32Array(m * S);
    const all = Uint32Array.from({ length: m }, (_, i) => i);
    test.gather(all, 0, m, want);
    const got = new Int32Array(m * 64);
    for (let f = 0; f < meta.fields.length; f++) {
      const fd = meta.fields[f];
      const k = fd.rowsPerValue;
      if (indexers[f].numRows !== fd.numRows || indexers[f].rowsPerValue !== k) throw new Error(`field ${fd.name}: indexer shape differs from the dump`);
      const ids = new Uint32Array(2 * m);
      for (let i = 0; i < m; i++) {
        const c = data.codes.test[f][i];
        ids[2 * i] = data.ids[f][2 * c];
        ids[2 * i + 1] = data.ids[f][2 * c + 1];
      }
      // The model rebuilds its indexer from the spec (vocabulary included): check that one.
      createIndexer(indexers[f].toSpec()).index(ids, m, got, 0);
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
    fields: meta.fields.map((fd, f) => ({ name: fd.name, index: indexers[f].toSpec(), fusion: fd.fusion })),
    initStd: meta.init.embeddingStd,
    seed: meta.seed,
  };
  const trainSet = toDataset(data, 'train');
  const testSet = toDataset(data, 'test');
  const trainer = await Trainer.create(config, {
    batchSize: B,
    epochs,
    seed: meta.seed,
    threads,
    engine,
    earlyStopping: false,
    optim: { lr: meta.lr, embeddingOptimizer: 'adam', beta1: meta.optimizer.beta1, beta2: meta.optimizer.beta2, eps: meta.optimizer.eps },
  });
  const n = trainSet.n;
  const t0 = performance.now();
  const fit = await trainer.fit(trainSet);
  const trainS = (performance.now() - t0) / 1000;
  await trainer.close();

  const m = testSet.n;
  const t1 = performance.now();
  const probs = await trainer.predict(testSet);
  const inferS = (performance.now() - t1) / 1000;
  const k1 = Math.min(batch1, m);
  const F = meta.fields.length;
  const one = new BatchBuffer(1, new Array<boolean>(F).fill(false), 0);
  const all = Uint32Array.from({ length: m }, (_, i) => i);
  const t2 = performance.now();
  for (let i = 0; i < k1; i++) {
    fillBatch(one, data, 'test', all, i, 1);
    await trainer.model.predict(one);
  }
  const infer1S = (performance.now() - t2) / 1000;
  const lastLoss = fit.trainLoss;
  const ops = trainer.ops;

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
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    auc: rocAuc(test.labels, probs),
    logloss: logLoss(test.labels, probs),
    finalTrainLoss: lastLoss,
    loadSeconds: loadS,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
