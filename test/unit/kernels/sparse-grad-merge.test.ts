// sparseGradMerge (the owner-side merge of the N-thread sparse update): WASM and reference both equal a plain
// Map-based sum computed here, for several shards, owner partitions (runs of 16 rows, ⌊r/16⌋ mod N) and dims
// with a SIMD tail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { createOps } from '../../../src/kernels/index.js';
import type { Ops } from '../../../src/kernels/ops.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';

const NUM_ROWS = 300;

for (const kind of ['wasm', 'reference'] as const) {
  for (const dim of [1, 4, 10]) {
    test(`sparseGradMerge (${kind}, dim ${dim}): owned rows summed over shards in order, slots left set`, async () => {
      const ops: Ops = kind === 'wasm' ? await createOps('wasm') : new ReferenceOps();
      const rng = new Rng(dim);
      for (const N of [1, 2, 3]) {
        // Three shards, each with distinct rows (as embeddingBagBackward leaves them), overlapping each other.
        const shards = [0, 1, 2].map(() => {
          const set = new Set<number>();
          const u = 50 + rng.int(100);
          while (set.size < u) set.add(rng.int(NUM_ROWS));
          const rows = ops.allocI32(u);
          rows.set([...set]);
          const grad = ops.allocF32(u * dim);
          for (let i = 0; i < grad.length; i++) grad[i] = rng.normal();
          return { rows, grad, u };
        });
        for (let rem = 0; rem < N; rem++) {
          const want = new Map<number, number[]>();
          for (const s of shards) {
            for (let k = 0; k < s.u; k++) {
              const r = s.rows[k];
              if (Math.floor(r / 16) % N !== rem) continue;
              const g = Array.from(s.grad.subarray(k * dim, (k + 1) * dim));
              const cur = want.get(r);
              if (cur) for (let j = 0; j < dim; j++) cur[j] = Math.fround(cur[j] + g[j]);
              else want.set(r, g);
            }
          }
          const slot = ops.allocI32(NUM_ROWS);
          slot.fill(-1);
          const outRows = ops.allocI32(NUM_ROWS);
          const outGrad = ops.allocF32(NUM_ROWS * dim);
          let count = 0;
          for (const s of shards) count = ops.sparseGradMerge(dim, s.rows, s.grad, s.u, N, rem, slot, outRows, outGrad, count);
          assert.equal(count, want.size);
          // First-seen order: the Map's insertion order.
          assert.deepEqual(Array.from(outRows.subarray(0, count)), [...want.keys()]);
          [...want.values()].forEach((g, i) => assert.deepEqual(Array.from(outGrad.subarray(i * dim, (i + 1) * dim)), g, `row ${outRows[i]}`));
          for (let r = 0; r < NUM_ROWS; r++) assert.equal(slot[r], want.has(r) ? [...want.keys()].indexOf(r) : -1);
          for (const a of [slot, outRows, outGrad]) ops.free(a);
        }
        for (const s of shards) {
          ops.free(s.rows);
          ops.free(s.grad);
        }
      }
    });
  }
}
