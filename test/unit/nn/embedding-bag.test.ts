// The embedding bag for every fusion mode (sum, mean, concat, weighted) with single- and multi-valued fields
// (mean and sum pooling): forward against a direct per-sample computation written from the definitions,
// table and block-weight gradients against finite differences (ATOL/RTOL/EPS of grad-check.ts), and the
// row layout of the shared table (rows of field f start at rowBase[f]).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import type { Batch } from '../../../src/core/batch.js';
import { BinaryCodeIndexer } from '../../../src/embedding/binary-code.js';
import { HashIndexer } from '../../../src/embedding/hashing.js';
import type { Indexer } from '../../../src/embedding/table.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { opsGemmProvider } from '../../../src/kernels/index.js';
import { EmbeddingBag, EmbeddingLayout, FUSIONS, type BagField, type Fusion, type Pooling } from '../../../src/nn/embedding-bag.js';
import { DenseParams } from '../../../src/nn/params.js';
import { checkEntries, dot64, randn, randomBatch } from './grad-check.js';

const ops = new ReferenceOps();

function setup(fusion: Fusion, pooling: Pooling, B: number): { fields: BagField[]; layout: EmbeddingLayout; bag: EmbeddingBag; params: DenseParams; batch: Batch; dim: number } {
  const rng = new Rng(7);
  // Field 0: BH dense codes (K = 3 blocks of 2 bits); field 1: hashing (K = 1), multi-valued; field 2: BH, multi-valued.
  const fields: BagField[] = [
    { indexer: new BinaryCodeIndexer({ method: 'bh', codeBits: 6, blockBits: 2, strategy: 'succession', dense: true }), fusion, pooling },
    { indexer: new HashIndexer({ method: 'hash', rows: 5 }), fusion, pooling },
    { indexer: new BinaryCodeIndexer({ method: 'bh', codeBits: 4, blockBits: 2, strategy: 'skip', dense: true }), fusion, pooling },
  ];
  const dim = 3;
  const layout = new EmbeddingLayout(ops, fields, B);
  const params = new DenseParams();
  const bag = new EmbeddingBag({ ops, gemm: opsGemmProvider(ops), maxBatch: B }, params, 'emb', layout, { dim, initStd: 0.5 });
  params.allocate((n) => ops.allocF32(n), rng);
  bag.allocateTable(rng);
  if (bag.alpha.length > 0) bag.alpha.set(randn(rng, bag.alpha.length).map((v) => 1 + 0.3 * v));
  const batch = randomBatch(rng, B, [{ card: 64 }, { card: 40, maxLen: 3 }, { card: 16, maxLen: 4 }], 0);
  return { fields, layout, bag, params, batch, dim };
}

/** The fused output of one (sample, field) written straight from the definitions. */
function direct(fld: BagField, base: number, blockBase: number, alpha: Float32Array, table: Float32Array, dim: number, batch: Batch, f: number, b: number): number[][] {
  const K = fld.indexer.rowsPerValue;
  const o = batch.fields[f].offsets;
  const lo = o === null ? b : o[b];
  const hi = o === null ? b + 1 : o[b + 1];
  const rows = new Int32Array(Math.max(1, (hi - lo) * K));
  fld.indexer.index(batch.fields[f].ids.subarray(2 * lo, 2 * hi), hi - lo, rows);
  const blocks: number[][] = [];
  for (let k = 0; k < K; k++) {
    // Pool block k over the values.
    const v = new Array(dim).fill(0);
    for (let i = 0; i < hi - lo; i++) for (let j = 0; j < dim; j++) v[j] += table[(base + rows[i * K + k]) * dim + j];
    if (fld.pooling === 'mean' && hi > lo) for (let j = 0; j < dim; j++) v[j] /= hi - lo;
    blocks.push(v);
  }
  if (fld.fusion === 'concat') return blocks;
  const out = new Array(dim).fill(0);
  for (let k = 0; k < K; k++) {
    const w = fld.fusion === 'mean' ? 1 / K : fld.fusion === 'weighted' ? alpha[blockBase + k] : 1;
    for (let j = 0; j < dim; j++) out[j] += w * blocks[k][j];
  }
  return [out];
}

for (const fusion of FUSIONS) {
  for (const pooling of ['mean', 'sum'] as const) {
    test(`embedding bag, fusion ${fusion}, pooling ${pooling}: forward and gradients`, async () => {
      const B = 5;
      const { fields, layout, bag, params, batch, dim } = setup(fusion, pooling, B);
      assert.deepEqual(layout.rowBase, [0, fields[0].indexer.numRows, fields[0].indexer.numRows + 5]);
      layout.build(batch);
      const out = bag.forward().slice(0, B * bag.width);
      const segs = fusion === 'concat' ? 3 + 1 + 2 : 3;
      assert.equal(layout.segPerSample, segs);
      assert.equal(bag.width, segs * dim);
      let p = 0;
      for (let b = 0; b < B; b++) {
        for (let f = 0; f < fields.length; f++) {
          for (const v of direct(fields[f], layout.rowBase[f], layout.blockBase[f], bag.alpha, bag.table, dim, batch, f, b)) {
            for (let j = 0; j < dim; j++, p++) assert.ok(Math.abs(out[p] - v[j]) < 1e-5, `sample ${b} field ${f}: ${out[p]} vs ${v[j]}`);
          }
        }
      }
      const rng = new Rng(9);
      const c = randn(rng, B * bag.width);
      const loss = (): number => {
        layout.build(batch);
        return dot64(c, bag.forward(), B * bag.width);
      };
      loss();
      bag.backward(c);
      // Dense gradient per table entry from the unique rows (rows not touched must have zero gradient).
      const g = new Float32Array(bag.table.length);
      for (let k = 0; k < bag.nUnique; k++) for (let j = 0; j < dim; j++) g[bag.uniqueRows[k] * dim + j] = bag.gradRows[k * dim + j];
      assert.equal(new Set(bag.uniqueRows.subarray(0, bag.nUnique)).size, bag.nUnique, 'unique rows are distinct');
      const bad = await checkEntries('table', loss, bag.table, (i) => g[i], g.keys());
      if (fusion === 'weighted') {
        assert.equal(layout.numBlocks, 3 + 1 + 2);
        const da = bag.dAlpha.slice();
        bad.push(...(await checkEntries('alpha', loss, bag.alpha, (i) => da[i], da.keys())));
        assert.equal(params.list()[0].name, 'emb.block_weights');
      }
      assert.deepEqual(bad, []);
    });
  }
}

test('layout: sum fusion of single-valued fields passes no weights; capacity grows for long multi-valued batches', () => {
  const idx: Indexer = new HashIndexer({ method: 'hash', rows: 7 });
  const layout = new EmbeddingLayout(ops, [{ indexer: idx, fusion: 'sum', pooling: 'sum' }], 4);
  const ids = new Uint32Array(8).map((_, i) => (i % 2 === 0 ? i : 0));
  layout.build({ size: 4, labels: new Float32Array(4), fields: [{ ids, offsets: null }], dense: null });
  assert.equal(layout.useWeights, false);
  assert.equal(layout.nRows, 4);
  const cap = layout.capacity;
  const n = 50;
  const many = new Uint32Array(2 * n);
  layout.build({ size: 2, labels: new Float32Array(2), fields: [{ ids: many, offsets: new Int32Array([0, 20, n]) }], dense: null });
  assert.ok(layout.capacity >= n && layout.capacity > cap);
  assert.deepEqual([...layout.offsets.subarray(0, 3)], [0, 20, 50]);
});

test('single-valued fast layout equals the general layout (the same batch given with length-1 offsets)', () => {
  const rng = new Rng(11);
  for (const fusion of ['sum', 'mean', 'weighted'] as Fusion[]) {
    const fields: BagField[] = [
      { indexer: new BinaryCodeIndexer({ method: 'bh', codeBits: 6, blockBits: 2, strategy: 'succession', dense: true }), fusion, pooling: 'sum' },
      { indexer: new HashIndexer({ method: 'hash', rows: 5 }), fusion, pooling: 'sum' },
      { indexer: new BinaryCodeIndexer({ method: 'bh', codeBits: 4, blockBits: 2, strategy: 'skip', dense: true }), fusion, pooling: 'sum' },
    ];
    const B = 9;
    const single: Batch = { size: B, labels: new Float32Array(B), dense: null, fields: fields.map(() => ({ ids: new Uint32Array(2 * B), offsets: null })) };
    for (const f of single.fields) for (let i = 0; i < B; i++) f.ids[2 * i] = rng.int(16);
    const multi: Batch = { ...single, fields: single.fields.map((f) => ({ ids: f.ids, offsets: Int32Array.from({ length: B + 1 }, (_, i) => i) })) };
    const fast = new EmbeddingLayout(ops, fields, B);
    const general = new EmbeddingLayout(ops, fields, B);
    fast.build(single);
    general.build(multi);
    assert.equal(fast.nRows, general.nRows);
    assert.equal(fast.nSeg, general.nSeg);
    assert.equal(fast.useWeights, general.useWeights, fusion);
    assert.deepEqual([...fast.rows.subarray(0, fast.nRows)], [...general.rows.subarray(0, general.nRows)]);
    assert.deepEqual([...fast.offsets.subarray(0, fast.nSeg + 1)], [...general.offsets.subarray(0, general.nSeg + 1)]);
    if (fast.useWeights) assert.deepEqual([...fast.baseWeights.subarray(0, fast.nRows)], [...general.baseWeights.subarray(0, general.nRows)]);
    if (fast.numBlocks > 0) assert.deepEqual([...fast.blockOf.subarray(0, fast.nRows)], [...general.blockOf.subarray(0, general.nRows)]);
  }
});
