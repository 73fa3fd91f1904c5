// ops.bhRows (BH rows written by a kernel for training layouts) equals BinaryCodeIndexer.index for the succession
// strategy: random 64-bit ids, uniform and uneven block widths, blocks inside the low word, the high word and
// straddling bit 32; WASM and reference backends. And EmbeddingLayout.build gives the same rows as the indexer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { BinaryCodeIndexer } from '../../../src/embedding/binary-code.js';
import { createOps } from '../../../src/kernels/index.js';
import type { Ops } from '../../../src/kernels/ops.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { BatchBuffer } from '../../../src/core/batch.js';
import { EmbeddingLayout } from '../../../src/nn/embedding-bag.js';

const SPECS = [
  { codeBits: 64, blockBits: 4 },
  { codeBits: 64, blockBits: 7 }, // a block straddles bit 32, the last is narrower
  { codeBits: 40, blockBits: 6 },
  { codeBits: 24, blockBits: 5 },
  { codeBits: 35, blockBits: 30 }, // a 30-bit block (2^30 rows), then 5 bits
];

function ids(rng: Rng, n: number): Uint32Array {
  const a = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) a[i] = Math.floor(rng.next() * 2 ** 32) >>> 0;
  return a;
}

for (const kind of ['wasm', 'reference'] as const) {
  test(`bhRows = BinaryCodeIndexer.index, succession (${kind})`, async () => {
    const ops: Ops = kind === 'wasm' ? await createOps('wasm') : new ReferenceOps();
    const rng = new Rng(5);
    for (const sp of SPECS) {
      const ix = new BinaryCodeIndexer({ method: 'bh', codeBits: sp.codeBits, blockBits: sp.blockBits, strategy: 'succession' });
      const K = ix.rowsPerValue;
      const n = 300;
      const raw = ids(rng, n);
      const want = new Int32Array(n * K);
      ix.index(raw, n, want, 0);
      const blocks = ops.allocI32(3 * K);
      let pos = 0;
      for (let k = 0; k < K; k++) {
        blocks[3 * k] = pos;
        blocks[3 * k + 1] = (2 ** ix.widths[k] - 1) | 0;
        blocks[3 * k + 2] = 1000 + ix.offsets[k];
        pos += ix.widths[k];
      }
      const idBuf = ops.allocI32(2 * n);
      idBuf.set(raw);
      // Sample-major with a stride: K rows of this field at offset 3 of a 3 + K + 2 wide sample.
      const P = K + 5;
      const out = ops.allocI32(n * P);
      out.fill(-7);
      ops.bhRows(idBuf, n, blocks, K, out, P, 3);
      for (let b = 0; b < n; b++) {
        for (let k = 0; k < K; k++) assert.equal(out[b * P + 3 + k], 1000 + want[b * K + k], `codeBits ${sp.codeBits}/${sp.blockBits} sample ${b} block ${k}`);
        for (const j of [0, 1, 2, P - 2, P - 1]) assert.equal(out[b * P + j], -7);
      }
      for (const a of [blocks, idBuf, out]) ops.free(a);
    }
  });
}

test('EmbeddingLayout.build: training rows of succession BH fields = the indexer (skip/hash fields unchanged)', async () => {
  const ops = await createOps('wasm');
  const rng = new Rng(8);
  const indexers = [
    new BinaryCodeIndexer({ method: 'bh', codeBits: 64, blockBits: 4, strategy: 'succession' }),
    new BinaryCodeIndexer({ method: 'bh', codeBits: 20, blockBits: 3, strategy: 'skip' }),
    new BinaryCodeIndexer({ method: 'bh', codeBits: 12, blockBits: 4, strategy: 'succession', dense: true }),
  ];
  const B = 50;
  const layout = new EmbeddingLayout(ops, indexers.map((indexer) => ({ indexer, fusion: 'sum' as const, pooling: 'sum' as const })), B);
  const batch = new BatchBuffer(B, [false, false, false], 0);
  batch.size = B;
  for (let f = 0; f < 3; f++) batch.fields[f].ids.set(ids(rng, B));
  for (let i = 0; i < B; i++) {
    batch.fields[2].ids[2 * i] &= 0xfff; // dense 12-bit ids
    batch.fields[2].ids[2 * i + 1] = 0;
  }
  layout.build(batch);
  const P = indexers.reduce((a, ix) => a + ix.rowsPerValue, 0);
  let fo = 0;
  indexers.forEach((ix, f) => {
    const K = ix.rowsPerValue;
    const want = new Int32Array(B * K);
    ix.index(batch.fields[f].ids, B, want, 0);
    for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) assert.equal(layout.rows[b * P + fo + k], layout.rowBase[f] + want[b * K + k], `field ${f} sample ${b} block ${k}`);
    fo += K;
  });
  // A dense id too wide still fails with the indexer's error.
  batch.fields[2].ids[2 * 7] = 1 << 20;
  assert.throws(() => layout.build(batch), /codeBits=12/);
});
