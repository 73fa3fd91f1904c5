// Where bhembed's batch-4096 inference time goes, fp32 vs int8 serving: the whole predict (indexing + gather/sum
// of the embedding rows + tower + sigmoid) on a peer dump's test split (bench/peers/export.ts), against the tower
// alone on the same shapes, the embedding alone (fused inference bag vs index + layout + gather, same batches), and
// the batch gather the Trainer does before. Untrained (seeded) weights: timing only.
//
// With 'int8-static' the model is first calibrated on up to 65,536 test rows (CtrModel.calibrate, not timed), and
// the tower alone gets the input ranges of its own random input (fp32 forward of 512 rows in plain TS).
//
//   node dist/bench/engine/infer-profile.bench.js DUMP_DIR [--precision fp32,int8,int8-static] [--rounds 3] [--workers 1,2] [--infer-threads N]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IndexSpec } from '../../src/embedding/config.js';
import { createGemmProvider, createOps } from '../../src/kernels/index.js';
import type { InferPrecision } from '../../src/kernels/index.js';
import type { ModelConfig } from '../../src/models/config.js';
import { createModel } from '../../src/models/registry.js';
import { batchBufferOf, gatherRows, shapeOf, type Columns as Dataset } from '../../src/data/batches/columns.js';
import { Rng } from '../../src/core/rng.js';
import { readMeta, readSplit } from '../peers/dump.js';
import { Predictor } from '../../src/serve/predictor.js';
import type { DataChunk } from '../../src/data/chunk.js';

function readDataset(dir: string, F: number, labels: Float32Array): Dataset {
  const n = labels.length;
  const b = readFileSync(join(dir, 'test.ids.u32'));
  const all = new Uint32Array(b.byteLength / 4);
  new Uint8Array(all.buffer).set(b);
  return { rows: n, labels, fields: Array.from({ length: F }, (_, f) => ({ ids: all.subarray(f * 2 * n, (f + 1) * 2 * n) })) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args[0];
  const opt = (n: string): string | undefined => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
  const precisions = (opt('--precision') ?? 'fp32,int8').split(',') as InferPrecision[];
  const rounds = Number(opt('--rounds') ?? 3);
  const inferThreads = opt('--infer-threads') === undefined ? undefined : Number(opt('--infer-threads'));
  const workerCounts = (opt('--workers') ?? '').split(',').filter((x) => x !== '').map(Number);
  const meta = readMeta(dir);
  const F = meta.fields.length;
  const specs = JSON.parse(readFileSync(join(dir, 'index-specs.json'), 'utf8')) as IndexSpec[];
  const test = readSplit(dir, meta, 'test');
  const ds = readDataset(dir, F, test.labels);
  const B = 4096;
  const config: ModelConfig = {
    arch: meta.arch,
    dim: meta.dim,
    mlp: meta.mlp,
    fields: meta.fields.map((fd, f) => ({ name: fd.name, index: specs[f], fusion: fd.fusion })),
    initStd: meta.init.embeddingStd,
    seed: meta.seed,
  };
  const ops = await createOps('auto');
  const batches = Math.ceil(ds.rows / B);
  const buf = batchBufferOf(shapeOf(ds), B);
  const order = Int32Array.from({ length: ds.rows }, (_, i) => i);
  // Gather alone (what Trainer.predict does before each model.predict).
  let tg = performance.now();
  for (let s = 0; s < ds.rows; s += B) gatherRows(ds, order, s, Math.min(B, ds.rows - s), buf);
  tg = performance.now() - tg;
  console.log(`${meta.name}: ${ds.rows} test rows, ${batches} batches of ${B}; ops ${ops.name}; gatherBatch ${(tg / batches).toFixed(2)} ms/batch`);
  // Best round per precision (predict ms/batch, tower-alone ms), for the ratios printed at the end.
  const best = new Map<string, { predict: number; tower: number }>();
  for (const precision of precisions) {
    const gemm = await createGemmProvider('auto', ops, { inferPrecision: precision, inferThreads });
    const model = createModel(config, { ops, gemm, maxBatch: B });
    const layers = [...meta.mlp, 1].map((h, i, a) => ({ inDim: i === 0 ? F * meta.dim : a[i - 1], outDim: h, relu: i < meta.mlp.length }));
    const tower = gemm.tower?.(layers, { inputGrad: false, maxBatch: B });
    const rng = new Rng(3);
    const w = layers.map((l) => new Float32Array(l.inDim * l.outDim).map(() => (rng.next() - 0.5) * 0.1));
    const bb = layers.map((l) => new Float32Array(l.outDim));
    const x = new Float32Array(B * layers[0].inDim).map(() => rng.normal() * 0.05);
    const y = new Float32Array(B);
    let ranges: Float32Array | null = null;
    if (precision === 'int8-static') {
      const cal = batchBufferOf(shapeOf(ds), B);
      const k = Math.min(ds.rows, 65_536);
      await model.calibrate(
        (function* () {
          for (let s = 0; s < k; s += B) {
            gatherRows(ds, order, s, Math.min(B, k - s), cal);
            yield cal;
          }
        })(),
      );
      ranges = towerRanges(layers, x, 512, w, bb);
    }
    for (let r = 0; r < rounds; r++) {
      let tp = 0;
      for (let s = 0; s < ds.rows; s += B) {
        const c = Math.min(B, ds.rows - s);
        gatherRows(ds, order, s, c, buf);
        const t0 = performance.now();
        await model.predict(buf);
        tp += performance.now() - t0;
      }
      let tt = 0;
      if (tower) {
        tower.forward(B, x, w, bb, y, ranges);
        const t0 = performance.now();
        for (let k = 0; k < batches; k++) tower.forward(B, x, w, bb, y, ranges);
        tt = performance.now() - t0;
      }
      // The embedding alone: the fused inference bag against index + layout + gather (the training path).
      let tFused = 0;
      let tGeneral = 0;
      let fusedUsed = false;
      if (model.emb) {
        for (let s = 0; s < ds.rows; s += B) {
          gatherRows(ds, order, s, Math.min(B, ds.rows - s), buf);
          let t0 = performance.now();
          model.layout.build(buf, true);
          fusedUsed = model.layout.fusedActive;
          model.emb.forward();
          tFused += performance.now() - t0;
          t0 = performance.now();
          model.layout.build(buf, false);
          model.emb.forward();
          tGeneral += performance.now() - t0;
        }
        console.log(`  ${precision} round ${r + 1}: embedding ${fusedUsed ? '' : '(fused unavailable) '}fused ${(tFused / batches).toFixed(2)} ms/batch, index+layout+gather ${(tGeneral / batches).toFixed(2)} ms (${(tGeneral / tFused).toFixed(2)}x)`);
      }
      const per = tp / batches;
      const perT = tt / batches;
      const b0 = best.get(precision);
      best.set(precision, { predict: Math.min(b0?.predict ?? Infinity, per), tower: Math.min(b0?.tower ?? Infinity, perT) });
      console.log(`  ${precision} round ${r + 1}: predict ${per.toFixed(2)} ms/batch (${Math.round((ds.rows / tp) * 1000).toLocaleString('en-US')} rows/s incl. partial last batch), tower alone ${perT.toFixed(2)} ms, rest ${(per - perT).toFixed(2)} ms; with gather ${Math.round((ds.rows / (tp + tg)) * 1000).toLocaleString('en-US')} rows/s`);
    }
    // The same model served by Predictor with worker threads (each its own model copy and 1 ORT thread).
    for (const workers of workerCounts) {
      const rangesTensor = model.inputRangesTensor();
      const tensors = [...model.parameters().map((q) => ({ name: q.name, shape: q.shape, data: q.data })), ...(rangesTensor ? [rangesTensor] : [])];
      const contents = { version: 1, createdAt: '', model: model.config, meta: { engine: { ops: ops.name, gemm: 'auto' }, evalBatch: B, data: { format: 'peer', reader: {} } }, tensors };
      const p = await Predictor.fromContents(contents, '<profile>', { precision, workers, inferThreads });
      const chunk = (rows: number): DataChunk => ({ rows, labels: ds.labels.subarray(0, rows), fields: ds.fields.map((f) => ({ ids: f.ids.subarray(0, 2 * rows) })), numDense: 0 });
      const run = async (c: DataChunk): Promise<void> => {
        async function* one(): AsyncGenerator<DataChunk> {
          yield c;
        }
        for await (const b of p.predictChunks(one())) void b;
      };
      await run(chunk(Math.min(ds.rows, 2 * B * workers)));
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        await run(chunk(ds.rows));
        const t = performance.now() - t0;
        console.log(`  ${precision} Predictor workers=${workers} round ${r + 1}: ${(t / batches).toFixed(2)} ms/batch, ${Math.round((ds.rows / t) * 1000).toLocaleString('en-US')} rows/s (predictChunks, batching included)`);
      }
      await p.close();
    }
    tower?.dispose();
    model.dispose?.();
    await gemm.dispose?.();
  }
  // Ratios of the best rounds, each precision against every other one measured in this run.
  for (const [a, ta] of best) {
    for (const [b, tb] of best) {
      if (a === b) continue;
      console.log(`ratio ${a} / ${b}: predict ${(ta.predict / tb.predict).toFixed(2)}x time (${ta.predict.toFixed(2)} vs ${tb.predict.toFixed(2)} ms/batch), tower alone ${(ta.tower / tb.tower).toFixed(2)}x (${ta.tower.toFixed(2)} vs ${tb.tower.toFixed(2)} ms)`);
    }
  }
}

/** Each layer's input min/max over the first `rows` rows of x, by an fp32 forward in plain TS (2 per layer). */
function towerRanges(layers: Array<{ inDim: number; outDim: number; relu: boolean }>, x: Float32Array, rows: number, w: Float32Array[], b: Float32Array[]): Float32Array {
  const out = new Float32Array(2 * layers.length);
  let h = x.subarray(0, rows * layers[0].inDim);
  layers.forEach((l, i) => {
    out[2 * i] = h.reduce((m, v) => Math.min(m, v), Infinity);
    out[2 * i + 1] = h.reduce((m, v) => Math.max(m, v), -Infinity);
    const y = new Float32Array(rows * l.outDim);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < l.outDim; j++) {
        let s = b[i][j];
        for (let k = 0; k < l.inDim; k++) s += h[r * l.inDim + k] * w[i][k * l.outDim + j];
        y[r * l.outDim + j] = l.relu ? Math.max(0, s) : s;
      }
    }
    h = y;
  });
  return out;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
