// A Predictor loaded with precision 'int8' ranks like the fp32 one: on a generated set whose labels are drawn from
// the fp32 model's own probabilities (so the fp32 AUC is the planted signal), the int8 AUC is within 0.002.
// Also: fp32 stays bit-identical to the model's own predict, and a bad precision is a ConfigError.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import type { DataChunk } from '../../../src/data/chunk.js';
import { createOps } from '../../../src/kernels/index.js';
import type { ModelFileMeta } from '../../../src/models/model-file.js';
import { createModel } from '../../../src/models/registry.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { saveModel } from '../../../src/train/checkpoint.js';
import { BinaryMetrics } from '../../../src/train/metrics.js';
import { csvMeta, spreadDnn } from '../../spread-model.js';
import { tempDir } from '../../temp-dir.js';

const N = 12_000;
const F = 8;
const B = 2048;

function chunkOf(ids: Uint32Array[], labels: Float32Array): DataChunk {
  return { rows: N, labels, fields: ids.map((a) => ({ ids: a })), numDense: 0 };
}

async function* once(c: DataChunk): AsyncGenerator<DataChunk> {
  yield c;
}

async function predictAll(p: Predictor, c: DataChunk): Promise<Float32Array> {
  const out = new Float32Array(N);
  for await (const b of p.predictChunks(once(c))) out.set(b.probs, b.firstRow);
  return out;
}

function auc(probs: Float32Array, labels: Float32Array): number {
  const m = new BinaryMetrics();
  m.add(probs, labels, probs.length);
  return m.result().auc;
}

test('int8 Predictor: AUC within 0.002 of fp32 on labels planted from the fp32 model', async () => {
  const ops = await createOps('auto');
  // Spread the weights (as training would) so the scores carry a real ranking, not a near-constant.
  const rng = new Rng(8);
  const model = spreadDnn(ops, F, B, rng);
  const dir = tempDir('int8-predictor-');
  const path = join(dir, 'm.bhm');
  const meta = csvMeta(F, ops.name, B);
  saveModel(path, model, meta);

  // Hash ids drawn from per-field Zipf-like vocabularies (values repeat, as categorical data does).
  const ids = Array.from({ length: F }, () => new Uint32Array(2 * N));
  for (let f = 0; f < F; f++) {
    for (let r = 0; r < N; r++) {
      const v = Math.floor(Math.exp(rng.next() * Math.log(5000)));
      ids[f][2 * r] = Math.imul(v, 2654435761) >>> 0;
      ids[f][2 * r + 1] = f;
    }
  }
  const p32 = await Predictor.load(path, { precision: 'fp32' });
  const p8 = await Predictor.load(path, { precision: 'int8' });
  assert.equal(p32.precision, 'fp32');
  assert.equal(p8.precision, 'int8');
  const probs32 = await predictAll(p32, chunkOf(ids, new Float32Array(N)));
  const labels = probs32.map((p) => (rng.next() < p ? 1 : 0));
  const c = chunkOf(ids, labels);
  const again32 = await predictAll(p32, c);
  assert.deepEqual(again32, probs32, 'fp32 is deterministic');
  const probs8 = await predictAll(p8, c);
  let maxDiff = 0;
  for (let i = 0; i < N; i++) maxDiff = Math.max(maxDiff, Math.abs(probs8[i] - probs32[i]));
  assert.ok(maxDiff > 0, 'int8 actually ran (scores differ from fp32)');
  const a32 = auc(probs32, labels);
  const a8 = auc(probs8, labels);
  assert.ok(a32 > 0.65, `planted signal: fp32 AUC ${a32}`);
  assert.ok(Math.abs(a8 - a32) <= 0.002, `int8 AUC ${a8} vs fp32 ${a32}`);
  // Scores: probabilities stay close row by row too (a few 1e-2 at most where logits are large).
  assert.ok(maxDiff < 0.05, `max |Δp| ${maxDiff}`);
});

test('Predictor.load rejects an unknown precision with a ConfigError naming the allowed values', async () => {
  await assert.rejects(Predictor.load('/nonexistent.bhm', { precision: 'int4' as 'int8' }), (e: Error) => e.name === 'ConfigError' && /precision/.test(e.message) && /'fp32' \| 'int8'/.test(e.message));
});

test('Predictor workers: the same batches scored on 2 threads give the same probabilities, in input order', async () => {
  const ops = await createOps('auto');
  const config = {
    arch: 'dnn' as const,
    dim: 4,
    mlp: [32, 32],
    seed: 3,
    fields: Array.from({ length: 3 }, (_, f) => ({ name: `f${f}`, index: { method: 'bh' as const, codeBits: 12, blockBits: 3, strategy: 'succession' as const } })),
  };
  const model = createModel(config, { ops, maxBatch: 64 });
  const rng = new Rng(4);
  for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.2 * rng.normal();
  const path = join(tempDir('pool-'), 'm.bhm');
  const meta: ModelFileMeta = {
    bhembed: 'test',
    data: { format: 'csv', fieldNames: ['f0', 'f1', 'f2'], denseNames: [], reader: {} },
    engine: { ops: ops.name, gemm: 'auto' },
    evalBatch: 64,
    embedding: { method: 'bh', dim: 4, fields: [] },
  };
  saveModel(path, model, meta);
  const n = 1000; // 15 full batches and a partial one
  const mk = (a: number, b: number): DataChunk => {
    const r = new Rng(77);
    const ids = Array.from({ length: 3 }, () => new Uint32Array(2 * n).map(() => r.int(300)));
    return { rows: b - a, labels: new Float32Array(b - a).map((_, i) => (a + i) % 2), fields: ids.map((x) => ({ ids: x.slice(2 * a, 2 * b) })), numDense: 0 };
  };
  for (const precision of ['fp32', 'int8'] as const) {
    const one = await Predictor.load(path, { precision, inferThreads: 1 });
    const two = await Predictor.load(path, { precision, inferThreads: 1, workers: 2 });
    assert.equal(two.workers, 2);
    const collect = async (p: Predictor): Promise<{ probs: Float32Array; labels: Float32Array }> => {
      const probs = new Float32Array(n);
      const labels = new Float32Array(n);
      // Rows arrive in uneven chunks; batches must still be rows [64k, 64k + 64).
      async function* chunks(): AsyncGenerator<DataChunk> {
        let a = 0;
        for (const b of [5, 200, 201, 650, n]) {
          yield mk(a, b);
          a = b;
        }
      }
      let expectFirst = 0;
      for await (const b of p.predictChunks(chunks())) {
        assert.equal(b.firstRow, expectFirst);
        expectFirst += b.probs.length;
        probs.set(b.probs, b.firstRow);
        labels.set(b.labels, b.firstRow);
      }
      assert.equal(expectFirst, n);
      return { probs, labels };
    };
    const a = await collect(one);
    const b = await collect(two);
    assert.deepEqual(b.probs, a.probs, `${precision}: workers 2 = workers 1`);
    assert.deepEqual(b.labels, a.labels);
    await one.close();
    await two.close();
  }
  await assert.rejects(Predictor.load(path, { workers: 0 }), (e: Error) => e.name === 'ConfigError' && /workers/.test(e.message));
});

test('int8 on a model without a quantizable tower (no hidden layers) is a ConfigError, not a silent fp32', async () => {
  const ops = await createOps('auto');
  const dir = tempDir('int8-none-');
  const fields = [{ name: 'a', index: { method: 'bh' as const, codeBits: 12, blockBits: 3, strategy: 'succession' as const } }];
  // (Batch norm and dropout no longer refuse int8: they fold into the tower, see test/unit/nn/mlp-fold.test.ts.)
  const cases: Array<[string, { arch: 'fm' | 'dnn'; mlp?: number[] }]> = [
    ['fm', { arch: 'fm' }],
    ['dnn-no-hidden', { arch: 'dnn', mlp: [] }],
  ];
  for (const [name, extra] of cases) {
    const model = createModel({ dim: 4, seed: 1, fields, ...extra }, { ops, maxBatch: 32 });
    const path = join(dir, `${name}.bhm`);
    saveModel(path, model, { bhembed: 'test', data: { format: 'csv', fieldNames: ['a'], denseNames: [], reader: {} }, engine: { ops: ops.name, gemm: 'auto' }, evalBatch: 32, embedding: { method: 'bh', dim: 4, fields: [] } });
    await assert.rejects(Predictor.load(path, { precision: 'int8' }), (e: Error) => e.name === 'ConfigError' && /precision 'int8'/.test(e.message) && /use precision 'fp32'/.test(e.message), name);
    const p = await Predictor.load(path);
    assert.equal(p.precision, 'fp32');
    await p.close();
  }
});
