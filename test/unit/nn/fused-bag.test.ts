// The fused inference bag (kernels/fused-bag.ts + wasm bh-gather.ts) against the index + layout +
// embeddingBagForward path on the same WASM backend: bit-identical outputs for BH succession and skip, narrow last
// blocks, S < 64, codes straddling the 32-bit halves, dense BH, non-BH fields, every fusion mode it covers, dims
// on both kernel paths; the cases it must leave to the general path (concat, multi-valued, out-of-range dense ids);
// the ordinary-memory output for onnxruntime; a Predictor scoring the same probabilities either way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Batch } from '../../../src/core/batch.js';
import { isBhembedError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import type { BhSpec } from '../../../src/embedding/config.js';
import { BinaryCodeIndexer } from '../../../src/embedding/binary-code.js';
import { DoubleHashIndexer } from '../../../src/embedding/double-hash.js';
import { HashIndexer } from '../../../src/embedding/hashing.js';
import { QrIndexer } from '../../../src/embedding/qr.js';
import type { DataChunk } from '../../../src/data/chunk.js';
import { createOps, opsGemmProvider } from '../../../src/kernels/index.js';
import { privateKernelModule } from '../../../src/kernels/wasm.js';
import { createModel } from '../../../src/models/registry.js';
import { Predictor } from '../../../src/serve/predictor.js';
import type { Ops } from '../../../src/kernels/ops.js';
import { EmbeddingBag, EmbeddingLayout, type BagField, type Fusion } from '../../../src/nn/embedding-bag.js';
import { DenseParams } from '../../../src/nn/params.js';

const bh = (codeBits: number, blockBits: number, strategy: BhSpec['strategy'], dense = false): BinaryCodeIndexer => new BinaryCodeIndexer({ method: 'bh', codeBits, blockBits, strategy, dense });

/** B samples of full 64-bit random ids (dense BH fields: ids below 2^codeBits); multi: field 0 multi-valued. */
function batchFor(rng: Rng, fields: BagField[], B: number, multi = false): Batch {
  const fs = fields.map((f, i) => {
    const n = multi && i === 0 ? 2 * B : B;
    const ids = new Uint32Array(2 * n);
    const spec = f.indexer.toSpec();
    const denseBits = spec.method === 'bh' && spec.dense === true ? spec.codeBits : 0;
    for (let v = 0; v < n; v++) {
      if (denseBits > 0) {
        ids[2 * v] = denseBits >= 32 ? rng.nextU32() : rng.int(2 ** denseBits);
        ids[2 * v + 1] = denseBits > 32 ? rng.int(2 ** Math.min(32, denseBits - 32)) : 0;
      } else {
        ids[2 * v] = rng.nextU32();
        ids[2 * v + 1] = rng.nextU32();
      }
    }
    const offsets = multi && i === 0 ? Int32Array.from({ length: B + 1 }, (_, b) => 2 * b) : null;
    return { ids, offsets };
  });
  return { size: B, labels: new Float32Array(B), fields: fs, dense: null };
}

interface Setup {
  layout: EmbeddingLayout;
  bags: EmbeddingBag[];
}

function setup(ops: Ops, fields: BagField[], dims: number[], maxBatch: number, rng: Rng): Setup {
  const layout = new EmbeddingLayout(ops, fields, maxBatch);
  const params = new DenseParams();
  const ctx = { ops, gemm: opsGemmProvider(ops), maxBatch };
  const bags = dims.map((dim, i) => new EmbeddingBag(ctx, params, `bag${i}`, layout, { dim, initStd: 0.5 }));
  params.allocate((n) => ops.allocF32(n), rng);
  for (const bag of bags) {
    bag.allocateTable(rng);
    if (bag.alpha.length > 0) for (let i = 0; i < bag.alpha.length; i++) bag.alpha[i] = 0.5 + rng.next();
  }
  return { layout, bags };
}

/** Each bag's output through the general path, then through the fused one; both must be bit-identical. */
function compare(s: Setup, batch: Batch, label: string): void {
  const B = batch.size;
  s.layout.build(batch, false);
  assert.equal(s.layout.fusedActive, false);
  const want = s.bags.map((bag) => Float32Array.from(bag.forward().subarray(0, B * bag.width)));
  for (const bag of s.bags) bag.out.fill(NaN);
  s.layout.build(batch, true);
  assert.equal(s.layout.fusedActive, true, `${label}: fused path taken`);
  s.bags.forEach((bag, i) => {
    const got = bag.forward().subarray(0, B * bag.width);
    assert.deepEqual(got, want[i], `${label}: bag dim ${bag.dim}`);
    assert.ok(Number.isNaN(bag.out[B * bag.width]) || B * bag.width === bag.out.length, `${label}: wrote past the batch`);
  });
}

const FIELD_SETS: Array<{ name: string; make: () => BagField['indexer'][] }> = [
  { name: 'succession S=64 t=4 (frappe/criteo shape)', make: () => [bh(64, 4, 'succession'), bh(64, 4, 'succession'), bh(64, 4, 'succession')] },
  { name: 'skip S=64 t=4', make: () => [bh(64, 4, 'skip'), bh(64, 4, 'skip'), bh(64, 4, 'succession')] },
  { name: 'narrow last block, S < 64, straddling codes', make: () => [bh(30, 7, 'succession'), bh(37, 5, 'skip'), bh(45, 8, 'succession'), bh(33, 8, 'skip'), bh(1, 1, 'skip')] },
  // Dense codes of exactly 32 and 64 bits: ids use the whole low word (32) or both words (64).
  { name: 'dense BH at S = 32 and S = 64', make: () => [bh(32, 8, 'succession', true), bh(32, 5, 'skip', true), bh(64, 16, 'succession', true), bh(64, 7, 'skip', true)] },
  { name: 'dense BH mixed with hashed BH and other methods', make: () => [bh(12, 3, 'succession', true), bh(40, 6, 'skip', true), bh(64, 16, 'succession'), new HashIndexer({ method: 'hash', rows: 97 }), new QrIndexer({ method: 'qr', remainder: 11, quotient: 7 }), new DoubleHashIndexer({ method: 'dhash', rows: 50, hashes: 2 })] },
];

test('fused bag = index + layout + gather, bit for bit (sum, mean, weighted, mixed; dims 1..20)', async () => {
  const ops = await createOps('wasm');
  const rng = new Rng(11);
  const fusionSets: Fusion[][] = [['sum'], ['mean'], ['weighted'], ['sum', 'mean', 'weighted']];
  for (const fs of FIELD_SETS) {
    for (const fusions of fusionSets) {
      for (const dims of [[10, 1], [16], [3, 20], [5, 8]]) {
        const fields: BagField[] = fs.make().map((indexer, i) => ({ indexer, fusion: fusions[i % fusions.length], pooling: 'mean' }));
        const s = setup(ops, fields, dims, 150, rng);
        for (const B of [150, 7, 1]) compare(s, batchFor(rng, fields, B), `${fs.name}, fusion ${fusions.join('/')}, dims ${dims.join('/')}, B ${B}`);
      }
    }
  }
});

test('fused bag: concat, multi-valued fields and the reference backend use the general path', async () => {
  const wasm = await createOps('wasm');
  const rng = new Rng(5);
  const concat: BagField[] = [
    { indexer: bh(64, 4, 'succession'), fusion: 'sum', pooling: 'mean' },
    { indexer: bh(64, 8, 'skip'), fusion: 'concat', pooling: 'mean' },
  ];
  const a = setup(wasm, concat, [4], 8, rng);
  a.layout.build(batchFor(rng, concat, 8), true);
  assert.equal(a.layout.fusedActive, false);
  const sum: BagField[] = [
    { indexer: bh(64, 4, 'succession'), fusion: 'sum', pooling: 'mean' },
    { indexer: bh(64, 8, 'skip'), fusion: 'sum', pooling: 'mean' },
  ];
  const b = setup(wasm, sum, [4], 8, rng);
  b.layout.build(batchFor(rng, sum, 8, true), true);
  assert.equal(b.layout.fusedActive, false);
  const { ReferenceOps } = await import('../../../src/kernels/reference.js');
  const c = setup(new ReferenceOps(), sum, [4], 8, rng);
  c.layout.build(batchFor(rng, sum, 8), true);
  assert.equal(c.layout.fusedActive, false);
});

test('fused bag: an out-of-range dense id still throws the indexer error; backward after it is refused', async () => {
  const ops = await createOps('wasm');
  const rng = new Rng(2);
  const fields: BagField[] = [
    { indexer: bh(10, 5, 'succession', true), fusion: 'sum', pooling: 'mean' },
    { indexer: bh(64, 4, 'succession'), fusion: 'sum', pooling: 'mean' },
  ];
  const s = setup(ops, fields, [4], 8, rng);
  const batch = batchFor(rng, fields, 8);
  batch.fields[0].ids[2 * 5] = 1024;
  assert.throws(() => s.layout.build(batch, true), (e: unknown) => isBhembedError(e) && /dense id 1024/.test(e.message));
  batch.fields[0].ids[2 * 5] = 1023;
  s.layout.build(batch, true);
  assert.equal(s.layout.fusedActive, true);
  s.bags[0].forward();
  assert.throws(() => s.bags[0].backward(new Float32Array(8 * s.bags[0].width)), /inference-only/);
});

test('fused bag: forwardPlain (ordinary memory, for onnxruntime) = forward, bit for bit', async () => {
  const ops = await createOps('wasm');
  await privateKernelModule();
  const rng = new Rng(4);
  // The table (843 rows × 6) is under a quarter of the output (2000 × 24): the private copy pays off.
  const indexers = [bh(64, 4, 'succession'), bh(64, 4, 'skip'), bh(30, 7, 'skip'), new HashIndexer({ method: 'hash', rows: 11 })];
  const fields: BagField[] = indexers.map((indexer, i) => ({ indexer, fusion: (['sum', 'mean', 'weighted'] as const)[i % 3], pooling: 'mean' }));
  const s = setup(ops, fields, [6], 2000, rng);
  for (const B of [2000, 1999]) {
    const batch = batchFor(rng, fields, B);
    s.layout.build(batch, true);
    const bag = s.bags[0];
    const shared = Float32Array.from(bag.forward(false).subarray(0, B * bag.width));
    const plain = bag.forward(true);
    assert.ok(!(plain.buffer instanceof SharedArrayBuffer), 'plain output is not in shared memory');
    assert.deepEqual(plain.subarray(0, B * bag.width), shared);
  }
  // A small batch's output is smaller than the table copy would be: shared memory (backend) output.
  s.layout.build(batchFor(rng, fields, 50), true);
  assert.ok(s.bags[0].forward(true).buffer instanceof SharedArrayBuffer);
});

/** Probabilities of every row through predictChunks. */
async function predictAll(p: Predictor, c: DataChunk): Promise<Float32Array> {
  const out = new Float32Array(c.rows);
  async function* once(): AsyncGenerator<DataChunk> {
    yield c;
  }
  for await (const b of p.predictChunks(once())) out.set(b.probs, b.firstRow);
  return out;
}

test('Predictor: fused inference bag gives the probabilities of the index + layout + gather path (fp32, int8; dnn, deepfm with dense inputs)', async () => {
  const ops = await createOps('auto');
  const N = 2500;
  const B = 1024;
  const index = [
    { method: 'bh' as const, codeBits: 64, blockBits: 4, strategy: 'succession' as const },
    { method: 'bh' as const, codeBits: 64, blockBits: 4, strategy: 'skip' as const },
    { method: 'bh' as const, codeBits: 30, blockBits: 7, strategy: 'skip' as const },
    { method: 'hash' as const, rows: 11 },
  ];
  for (const [arch, numDense] of [['dnn', 0], ['deepfm', 2]] as const) {
    const config = { arch, dim: 8, mlp: [32, 32], seed: 5, numDense, fields: index.map((ix, f) => ({ name: `f${f}`, index: ix, fusion: (['sum', 'mean', 'weighted', 'sum'] as const)[f] })) };
    const model = createModel(config, { ops, maxBatch: B });
    const rng = new Rng(6);
    for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.2 * rng.normal();
    const chunk: DataChunk = {
      rows: N,
      labels: new Float32Array(N),
      fields: index.map(() => ({ ids: new Uint32Array(2 * N).map(() => rng.nextU32()) })),
      dense: numDense > 0 ? new Float32Array(N * numDense).map(() => rng.normal()) : undefined,
      numDense,
    };
    const contents = { version: 1, createdAt: '', model: model.config, meta: { engine: { ops: ops.name, gemm: 'auto' }, evalBatch: B, data: { format: 'peer', reader: {} } }, tensors: model.parameters().map((q) => ({ name: q.name, shape: q.shape, data: q.data })) };
    for (const precision of ['fp32', 'int8'] as const) {
      const p = await Predictor.fromContents(contents as never, '<test>', { precision });
      // Count the batches whose embeddings went to the tower in ordinary memory (dnn only: deepfm's FM needs them in WASM).
      let plainBatches = 0;
      const fb = p.model.layout.fused;
      if (fb !== null) {
        const orig = fb.forwardPlain.bind(fb);
        fb.forwardPlain = (...a) => {
          const o = orig(...a);
          if (o !== null) plainBatches++;
          return o;
        };
      }
      const fused = await predictAll(p, chunk);
      if (ops.name === 'wasm') {
        assert.equal(p.model.layout.fusedActive, true, `${arch} ${precision}: fused path taken`);
        if (arch === 'dnn' && p.model.mlp?.infersOnTower(B)) assert.equal(plainBatches, 2, `${arch} ${precision}: the two full batches skip the copy`);
        else assert.equal(plainBatches, 0);
      }
      (p.model.layout as unknown as { fusedBag: null }).fusedBag = null;
      const general = await predictAll(p, chunk);
      assert.equal(p.model.layout.fusedActive, false);
      assert.deepEqual(fused, general, `${arch} ${precision}`);
      await p.close();
    }
    model.dispose();
  }
});
