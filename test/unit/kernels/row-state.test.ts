// Optimizer state in row shards of their own memories (kernels/row-state.ts): forced with a tiny stateShardBytes so
// a 23-row table spans five shards of 5 rows. The sharded lazy Adam and Adagrad must give the single-memory WASM
// update bit for bit (table and state), on rows on both sides of every shard boundary, and stay within the kernel
// tests' tolerance of the reference backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { stateRowsPerShard } from '../../../src/kernels/row-state.js';
import { WasmOps } from '../../../src/kernels/wasm.js';
import { SparseOptimizer } from '../../../src/nn/optim/sparse.js';
import { normalizeOptim } from '../../../src/nn/optim/config.js';
import { assertClose, assertEqualArrays } from '../../kernels/harness.js';

const NUM_ROWS = 23;
const R = 5; // rows per shard: shards [0,5) [5,10) [10,15) [15,20) [20,23)

test('stateRowsPerShard: whole runs of 16 rows when a shard holds them, at least one row', () => {
  assert.equal(stateRowsPerShard(2 * 6 * 4 * R, 6, 2), R);
  assert.equal(stateRowsPerShard(2 * 16 * 4 * 100, 16, 2), 96);
  assert.equal(stateRowsPerShard(1, 16, 2), 1);
  // A full Criteo Kaggle table (33,762,604 rows incl. OOV rows, dim 16) with Adam: two shards of 3.5 GiB at most.
  const rows = stateRowsPerShard(3.5 * 2 ** 30, 16, 2);
  assert.equal(Math.ceil(33_762_604 / rows), 2);
  assert.ok(rows * 16 * 4 * 2 <= 3.5 * 2 ** 30);
});

for (const dim of [6, 8]) {
  for (const kind of ['adam', 'adagrad'] as const) {
    test(`sharded ${kind} (dim ${dim}) equals the one-memory WASM update bit for bit, and the reference within tolerance`, async () => {
      const arrays = kind === 'adam' ? 2 : 1;
      const sharded = await WasmOps.create({ initialBytes: 1 << 20, stateShardBytes: arrays * dim * 4 * R });
      const plain = await WasmOps.create({ initialBytes: 1 << 20 });
      const ref = new ReferenceOps();
      const cfg = normalizeOptim({ lr: 0.01, embeddingL2: 1e-3, embeddingOptimizer: kind });
      const rng = new Rng(7);
      const init = Float32Array.from({ length: NUM_ROWS * dim }, () => rng.normal());
      const sides = [0, 4, 5, 9, 10, 14, 15, 19, 20, 22]; // both sides of every boundary, first and last row
      const tables = [sharded, plain, ref].map((o) => {
        const t = o.allocF32(NUM_ROWS * dim);
        t.set(init);
        return t;
      });
      const opts = [sharded, plain, ref].map((o) => new SparseOptimizer(o, kind, NUM_ROWS * dim, undefined, dim));
      assert.equal(opts[0].rowState?.numShards, 5);
      assert.equal(opts[1].rowState, null);
      assert.equal(opts[2].rowState, null);
      for (let step = 1; step <= 4; step++) {
        // Rows in scrambled order, a different subset each step (lazy: the others must not move).
        const rows = sides.filter((_, i) => (i + step) % 3 !== 0).reverse();
        if (step === 4) rows.push(1, 12);
        const grad = Float32Array.from({ length: rows.length * dim }, () => rng.normal());
        [sharded, plain, ref].forEach((o, i) => {
          const r = o.allocI32(rows.length);
          r.set(rows);
          const g = o.allocF32(grad.length);
          g.set(grad);
          opts[i].update(tables[i], dim, r, rows.length, g, cfg, step);
        });
        assertEqualArrays(tables[0], tables[1], `${kind} table step ${step}`);
        assertClose(tables[0], tables[2], 1e-5, 1e-5, `${kind} table vs reference step ${step}`);
        for (let a = 0; a < arrays; a++) {
          const st = new Float32Array(NUM_ROWS * dim);
          opts[0].rowState?.read(a, 0, NUM_ROWS, st);
          const one = a === 0 ? opts[1].state1 : opts[1].state2;
          assertEqualArrays(st, one, `${kind} state ${a} step ${step}`);
          assertClose(st, a === 0 ? opts[2].state1 : opts[2].state2, 1e-6, 1e-5, `${kind} state ${a} vs reference step ${step}`);
        }
      }
      // Rows never touched keep their initial weights and zero state.
      for (const r of [2, 3, 6, 7, 8, 11, 13, 16, 17, 18, 21]) {
        for (let j = 0; j < dim; j++) assert.equal(tables[0][r * dim + j], init[r * dim + j]);
      }
      // reset zeroes every shard; write/read round-trips a range across a boundary.
      opts[0].reset();
      const back = new Float32Array(NUM_ROWS * dim).fill(1);
      opts[0].rowState?.read(0, 0, NUM_ROWS, back);
      assert.ok(back.every((v) => v === 0));
      const src = Float32Array.from({ length: 4 * dim }, (_, i) => i + 1);
      opts[0].rowState?.write(arrays - 1, 3, 4, src);
      const got = new Float32Array(4 * dim);
      opts[0].rowState?.read(arrays - 1, 3, 4, got);
      assert.deepEqual(got, src);
    });
  }
}

test('SGD keeps no state: never sharded; a state that fits stays in the main memory', async () => {
  const ops = await WasmOps.create({ initialBytes: 1 << 20 });
  assert.equal(new SparseOptimizer(ops, 'sgd', 64, undefined, 8).rowState, null);
  assert.equal(new SparseOptimizer(ops, 'adam', 64, undefined, 8).rowState, null);
  const tiny = await WasmOps.create({ initialBytes: 1 << 20, stateShardBytes: 64 });
  assert.equal(new SparseOptimizer(tiny, 'sgd', 64, undefined, 8).rowState, null);
  assert.equal(new SparseOptimizer(tiny, 'adagrad', 64, undefined, 8).rowState?.numShards, 8 / 2);
});
