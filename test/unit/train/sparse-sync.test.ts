// Merged sparse updates (train/sparse-sync.ts): with dropout 0 and no batch norm, N threads take the same
// optimizer steps as one thread on the whole batch, so after several steps every embedding row and dense weight
// agrees with the 1-thread run up to float summation order (shard partial sums added in another order).
// Tolerance: |Δ| ≤ 1e-6 absolute on weights of size ~0.1 after 9 steps at lr 0.01 (measured ≤ 6e-8). One Adam
// step moves a weight by up to lr = 1e-2, so rows stepped once per shard, as under Hogwild, differ by ~1e-2 and fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import type { IndexSpec } from '../../../src/embedding/config.js';
import type { ModelConfig } from '../../../src/models/config.js';
import type { SparseOptimizerKind } from '../../../src/nn/optim/config.js';
import type { Columns as Dataset } from '../../../src/data/batches/columns.js';
import { Trainer, type TrainerOptions } from '../../../src/train/trainer.js';
import { plantedTask } from './planted-data.js';

const TOL = 1e-6;
// BH: 6-bit codes in 3-bit blocks (2 rows per value, 8 rows per block): every batch touches a row from many shards.
const BH: IndexSpec = { method: 'bh', codeBits: 6, blockBits: 3, strategy: 'succession', dense: true };
const CONFIG: ModelConfig = {
  arch: 'deepfm', // both tables: 'emb' (dim 8) and the first-order 'linear' (dim 1)
  dim: 8,
  mlp: [32, 16],
  numDense: 1,
  seed: 7,
  initStd: 0.1,
  dropout: 0,
  batchNorm: false,
  fields: [0, 1, 2, 3].map(() => ({ index: BH })),
};
const task = plantedTask({ seed: 11, cards: [40, 60, 30, 50], nTrain: 64 * 8 + 37, nValid: 10, nTest: 10 });

async function train(opts: TrainerOptions, ds: Dataset = task.train): Promise<{ names: string[]; params: Float32Array[]; init: Float32Array[] }> {
  const tr = await Trainer.create(CONFIG, { batchSize: 64, epochs: 1, seed: 5, earlyStopping: false, engine: 'wasm', gemm: 'wasm', ...opts });
  try {
    const ps = tr.model.parameters().filter((p) => p.kind !== 'buffer');
    const init = ps.map((p) => p.data.slice());
    await tr.fit(ds);
    return { names: ps.map((p) => p.name), params: ps.map((p) => p.data.slice()), init };
  } finally {
    await tr.dispose();
  }
}

function maxDiff(a: Float32Array[], b: Float32Array[]): { d: number; at: number } {
  let d = 0;
  let at = -1;
  a.forEach((p, i) =>
    p.forEach((v, j) => {
      const x = Math.abs(v - b[i][j]);
      if (!(x <= d)) {
        d = x;
        at = i;
      }
    }),
  );
  return { d, at };
}

const log: string[] = [];
for (const kind of ['adam', 'adagrad', 'sgd'] as SparseOptimizerKind[]) {
  test(`2 threads (merged) = 1 thread within ${TOL}: ${kind}, l2 and weight decay on; Hogwild is not`, async () => {
    const optim = { lr: 0.01, embeddingOptimizer: kind, embeddingL2: 1e-3, weightDecay: 1e-2 };
    const one = await train({ threads: 1, optim });
    const two = await train({ threads: 2, optim });
    const hog = await train({ threads: 2, optim, sparseSync: 'hogwild' });
    const m = maxDiff(two.params, one.params);
    const h = maxDiff(hog.params, one.params);
    log.push(`${kind}: merged ${m.d.toExponential(1)} (${one.names[m.at] ?? '-'}), hogwild ${h.d.toExponential(1)} (${one.names[h.at]})`);
    assert.ok(m.d <= TOL, `merged: max |Δ| ${m.d} in ${one.names[m.at]}`);
    // The check discriminates: Hogwild's double steps on shared rows are far outside the tolerance.
    assert.ok(h.d > 10 * TOL, `hogwild: max |Δ| ${h.d}`);
    // And the runs really moved every table (a run that trained nothing would agree trivially).
    for (const name of ['emb.table', 'linear.table']) {
      const i = one.names.indexOf(name);
      assert.ok(i >= 0, `parameter ${name}`);
      for (const [run, r] of [['1 thread', one], ['2 threads merged', two]] as const) {
        const moved = maxDiff([r.params[i]], [r.init[i]]).d;
        assert.ok(moved > 100 * TOL, `${run}: ${name} moved by at most ${moved} in training; the comparison above needs trained tables`);
      }
    }
  });
}

test('3 threads (merged) = 1 thread, reference backend too', async () => {
  const optim = { lr: 0.01, embeddingOptimizer: 'adam' as const, embeddingL2: 1e-3, weightDecay: 1e-2 };
  for (const engine of ['wasm', 'reference'] as const) {
    const gemm = engine;
    const one = await train({ threads: 1, optim, engine, gemm });
    const three = await train({ threads: 3, optim, engine, gemm });
    const m = maxDiff(three.params, one.params);
    log.push(`3 threads ${engine}: merged ${m.d.toExponential(1)}`);
    assert.ok(m.d <= TOL, `${engine}: max |Δ| ${m.d} in ${one.names[m.at]}`);
  }
});

test('multi-valued fields: a shard touching more rows than one exchange round holds (several rounds) still = 1 thread', async () => {
  // A hashed tag field with 5-40 values per row: a shard of 16 rows touches ~300 rows, the exchange carries
  // 16 per round (shardMax · rowsPerSample), so each step merges in ~20 rounds.
  const rng = new Rng(3);
  const n = 32 * 4;
  const offsets = new Int32Array(n + 1);
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = 5 + rng.int(36);
    for (let j = 0; j < k; j++) vals.push(rng.int(100000));
    offsets[i + 1] = vals.length;
  }
  const tags = new Uint32Array(2 * vals.length);
  vals.forEach((v, i) => (tags[2 * i] = v));
  const single = new Uint32Array(2 * n).map((_, i) => (i % 2 === 0 ? rng.int(50) : 0));
  const ds: Dataset = { rows: n, labels: Float32Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0)), fields: [{ ids: tags, offsets }, { ids: single }] };
  const config: ModelConfig = { arch: 'wdl', dim: 4, mlp: [16], seed: 2, initStd: 0.1, fields: [{ index: { method: 'hash', rows: 500 }, pooling: 'mean' }, { index: { method: 'hash', rows: 50 } }] };
  const run = async (threads: number): Promise<Float32Array[]> => {
    const tr = await Trainer.create(config, { threads, batchSize: 32, epochs: 1, seed: 5, earlyStopping: false, engine: 'wasm', gemm: 'wasm', optim: { lr: 0.01, embeddingL2: 1e-3 } });
    try {
      await tr.fit(ds);
      return tr.model.parameters().map((p) => p.data.slice());
    } finally {
      await tr.dispose();
    }
  };
  const one = await run(1);
  const two = await run(2);
  const m = maxDiff(two, one);
  log.push(`multi-round: merged ${m.d.toExponential(1)}`);
  assert.ok(m.d <= TOL, `max |Δ| ${m.d}`);
});

test('merged 2-thread training is deterministic run to run', async () => {
  const optim = { lr: 0.01, embeddingL2: 1e-3 };
  const a = await train({ threads: 2, optim });
  const b = await train({ threads: 2, optim });
  a.params.forEach((p, i) => assert.deepEqual(p, b.params[i], a.names[i]));
});

// Row i of a 1-field dataset whose dense 4-bit BH code cannot hold id 1 << 20: indexing it throws data.parse.
function poisoned(n: number, bad: number): Dataset {
  const ids = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) ids[2 * i] = i % 16;
  ids[2 * bad] = 1 << 20;
  return { rows: n, labels: Float32Array.from({ length: n }, (_, i) => i % 2), fields: [{ ids }] };
}

for (const [where, bad] of [['worker 2', 5], ['the main thread', 0]] as const) {
  test(`3 threads, merged: an error on ${where} reaches fit() as the original error, and workers stop`, async () => {
    // Batch 6 over 3 threads, no shuffle: rows 0-1 on the main thread, 2-3 on worker 1, 4-5 on worker 2.
    const tr = await Trainer.create(
      { arch: 'wdl', dim: 4, mlp: [8], fields: [{ index: { method: 'bh', codeBits: 4, blockBits: 2, strategy: 'succession', dense: true } }] },
      { threads: 3, batchSize: 6, shuffle: false, earlyStopping: false },
    );
    try {
      const before = tr.model.parameters().find((p) => p.name === 'emb.table')?.data.slice();
      await assert.rejects(tr.fit(poisoned(12, bad)), (e: Error & { code?: string }) => e.code === 'data.parse' && /codeBits=4/.test(e.message));
      // The failed step updated no row; the trainer closes and trains again on good data (2 more steps).
      assert.deepEqual(tr.model.parameters().find((p) => p.name === 'emb.table')?.data, before);
      await tr.close();
      const good = poisoned(12, 1);
      good.fields[0].ids[2] = 1;
      const fit = await tr.fit(good);
      assert.equal(fit.steps, 3);
    } finally {
      await tr.dispose();
    }
  });
}

test.after(() => {
  if (log.length > 0) process.stdout.write(`# sparse sync max |Δ| vs 1 thread: ${log.join('; ')}\n`);
});
