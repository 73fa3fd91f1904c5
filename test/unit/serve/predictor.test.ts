// Predictor: a saved model loads to the same predictions, and how rows arrive in chunks never changes the batches
// (so the probabilities are bit-identical to the trained model's own batched predict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BatchBuffer } from '../../../src/core/batch.js';
import { Rng } from '../../../src/core/rng.js';
import type { DataChunk } from '../../../src/data/chunk.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import type { ModelFileMeta } from '../../../src/models/model-file.js';
import { readModelFile } from '../../../src/models/model-file.js';
import { createModel } from '../../../src/models/registry.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { saveModel } from '../../../src/train/checkpoint.js';
import { tempDir } from '../../temp-dir.js';

const N = 157;
const B = 16;

/** One chunk of N rows: field 0 single-valued, field 1 multi-valued (0–3 values), 2 dense inputs. */
function makeRows(): DataChunk {
  const rng = new Rng(3);
  const f0 = new Uint32Array(2 * N);
  const offs = new Uint32Array(N + 1);
  const vals: number[] = [];
  for (let r = 0; r < N; r++) {
    f0[2 * r] = rng.int(50);
    f0[2 * r + 1] = rng.nextU32();
    const k = rng.int(4);
    for (let j = 0; j < k; j++) vals.push(rng.nextU32(), rng.int(3));
    offs[r + 1] = vals.length / 2;
  }
  const dense = new Float32Array(2 * N).map(() => rng.normal());
  const labels = new Float32Array(N).map(() => (rng.next() < 0.3 ? 1 : 0));
  return { rows: N, labels, fields: [{ ids: f0 }, { ids: Uint32Array.from(vals), offsets: offs }], dense, numDense: 2 };
}

/** Rows [a, b) of a chunk as a chunk of their own. */
function slice(c: DataChunk, a: number, b: number): DataChunk {
  const o = c.fields[1].offsets as Uint32Array;
  return {
    rows: b - a,
    labels: c.labels.slice(a, b),
    fields: [
      { ids: c.fields[0].ids.slice(2 * a, 2 * b) },
      { ids: c.fields[1].ids.slice(2 * o[a], 2 * o[b]), offsets: o.slice(a, b + 1).map((x) => x - o[a]) },
    ],
    dense: (c.dense as Float32Array).slice(2 * a, 2 * b),
    numDense: 2,
  };
}

test('loaded model predicts exactly like the saved one, whatever the chunking', async () => {
  const ops = new ReferenceOps();
  const config = {
    arch: 'deepfm' as const,
    dim: 4,
    mlp: [8],
    numDense: 2,
    seed: 5,
    fields: [
      { name: 'a', index: { method: 'bh' as const, codeBits: 12, blockBits: 3, strategy: 'skip' as const } },
      { name: 'tags', index: { method: 'qr' as const, remainder: 7, quotient: 5 } },
    ],
  };
  const model = createModel(config, { ops, maxBatch: B });
  // Perturb the weights so the test does not pass on an untrained (near-constant) model.
  const rng = new Rng(9);
  for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.3 * rng.normal();

  const rows = makeRows();
  // Reference: the model's own predict on contiguous batches of B rows.
  const expected = new Float32Array(N);
  const buf = new BatchBuffer(B, [false, true], 2);
  for (let s = 0; s < N; s += B) {
    const part = slice(rows, s, Math.min(N, s + B));
    buf.size = part.rows;
    buf.labels.set(part.labels);
    buf.fields[0].ids.set(part.fields[0].ids);
    const o = part.fields[1].offsets as Uint32Array;
    buf.reserveValues(1, o[part.rows]).set(part.fields[1].ids);
    (buf.fields[1].offsets as Int32Array).set(Int32Array.from(o));
    (buf.dense as Float32Array).set(part.dense as Float32Array);
    expected.set(await model.predict(buf), s);
  }

  const dir = tempDir('predictor-');
  const path = join(dir, 'm.bhm');
  const meta: ModelFileMeta = {
    bhembed: 'test',
    data: { format: 'csv', fieldNames: ['a', 'tags'], denseNames: ['x', 'y'], reader: {} },
    engine: { ops: 'reference', gemm: 'reference' },
    evalBatch: B,
    embedding: { method: 'bh', dim: 4, fields: [] },
  };
  saveModel(path, model, meta);
  const p = await Predictor.load(path);
  assert.equal(p.evalBatch, B);
  assert.deepEqual(p.config, model.config);
  assert.deepEqual(readModelFile(path).meta, meta);

  const cuts: number[][] = [[N], [1, 5, 40, 41, 100, N], [7, 14, 21, 28, 35, 70, 150, N], Array.from({ length: N }, (_, i) => i + 1)];
  for (const ends of cuts) {
    async function* chunks(): AsyncGenerator<DataChunk> {
      let a = 0;
      for (const b of ends) {
        yield slice(rows, a, b);
        a = b;
      }
    }
    const got = new Float32Array(N);
    const labels = new Float32Array(N);
    let batches = 0;
    for await (const b of p.predictChunks(chunks())) {
      assert.equal(b.firstRow, batches * B);
      assert.equal(b.probs.length, Math.min(B, N - b.firstRow));
      got.set(b.probs, b.firstRow);
      labels.set(b.labels, b.firstRow);
      batches++;
    }
    assert.equal(batches, Math.ceil(N / B));
    assert.deepEqual(Array.from(got), Array.from(expected), `chunks ending at ${ends.slice(0, 8).join(',')}…`);
    assert.deepEqual(Array.from(labels), Array.from(rows.labels));
  }
  assert.ok(new Set(Array.from(expected)).size > N / 2, 'predictions vary');
});

test('a model file whose config is not a valid model is a CheckpointError', async () => {
  const { encodeModelFile, decodeModelFile } = await import('../../../src/models/model-file.js');
  const bytes = encodeModelFile({ arch: 'transformer', fields: [] }, { evalBatch: 4 }, []);
  await assert.rejects(Predictor.fromContents(decodeModelFile(bytes), 'x.bhm', { ops: 'reference', gemm: 'reference' }), (e: Error & { code?: string }) => {
    assert.equal(e.name, 'CheckpointError');
    assert.match(e.message, /^x\.bhm: the model file's contents do not describe a valid model: arch: 'transformer'/);
    return true;
  });
});
