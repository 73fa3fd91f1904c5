// Row-wise optimizers touch only the rows a batch used (lazy): touched rows follow the textbook update written
// out here in float64, untouched rows and their state stay bit-identical. Dense Adam applies weight decay to the
// decayed region only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { DenseAdam } from '../../../src/nn/optim/adam.js';
import { normalizeOptim } from '../../../src/nn/optim/config.js';
import { ADAGRAD_EPS, SparseOptimizer } from '../../../src/nn/optim/sparse.js';
import { DenseParams } from '../../../src/nn/params.js';
import { randn } from './grad-check.js';

const ops = new ReferenceOps();

for (const kind of ['sgd', 'adagrad', 'adam'] as const) {
  test(`sparse ${kind}: touched rows updated by the formula, others untouched`, () => {
    const rng = new Rng(21);
    const rowsN = 10;
    const dim = 3;
    const table = randn(rng, rowsN * dim);
    const cfg = normalizeOptim({ lr: 0.05, embeddingOptimizer: kind, embeddingL2: 0.1 });
    const opt = new SparseOptimizer(ops, kind, table.length);
    const w = Float64Array.from(table);
    const s1 = new Float64Array(table.length);
    const s2 = new Float64Array(table.length);
    for (let t = 1; t <= 3; t++) {
      const rows = new Int32Array([2, 7, 4]);
      const u = t === 2 ? 2 : 3; // step 2 touches only rows 2 and 7
      const grad = randn(rng, u * dim);
      const before = table.slice();
      const s1Before = opt.state1.slice();
      opt.update(table, dim, rows, u, grad, cfg, t);
      for (let k = 0; k < u; k++) {
        for (let j = 0; j < dim; j++) {
          const i = rows[k] * dim + j;
          const g = grad[k * dim + j] + cfg.embeddingL2 * w[i];
          if (kind === 'sgd') w[i] -= cfg.embeddingLr * g;
          else if (kind === 'adagrad') {
            s1[i] += g * g;
            w[i] -= (cfg.embeddingLr * g) / (Math.sqrt(s1[i]) + ADAGRAD_EPS);
          } else {
            s1[i] = cfg.beta1 * s1[i] + (1 - cfg.beta1) * g;
            s2[i] = cfg.beta2 * s2[i] + (1 - cfg.beta2) * g * g;
            w[i] -= (cfg.embeddingLr * s1[i]) / (1 - cfg.beta1 ** t) / (Math.sqrt(s2[i] / (1 - cfg.beta2 ** t)) + cfg.eps);
          }
        }
      }
      const touched = new Set(Array.from(rows.subarray(0, u)));
      for (let r = 0; r < rowsN; r++) {
        for (let j = 0; j < dim; j++) {
          const i = r * dim + j;
          if (touched.has(r)) assert.ok(Math.abs(table[i] - w[i]) < 1e-5, `${kind} t=${t} row ${r}: ${table[i]} vs ${w[i]}`);
          else {
            assert.equal(table[i], before[i]);
            if (opt.state1.length > 0) assert.equal(opt.state1[i], s1Before[i]);
          }
        }
      }
    }
  });
}

test('dense Adam: weight decay reaches decayed tensors only', () => {
  const p = new DenseParams();
  let w!: Float32Array;
  let b!: Float32Array;
  p.add('fc.bias', [2], 'ones', false, (x) => (b = x));
  p.add('fc.weight', [2, 1], 'ones', true, (x) => (w = x));
  p.allocate((n) => ops.allocF32(n), new Rng(1));
  assert.equal(p.decaySize, 2);
  assert.equal(p.list()[0].name, 'fc.bias');
  p.grad.fill(0);
  const adam = new DenseAdam(ops, p);
  adam.step(normalizeOptim({ lr: 0.1, weightDecay: 0.5 }), 1);
  // Zero gradient: only weight decay moves weights (by lr on the first step, sign of w); biases stay.
  assert.ok(Math.abs(w[0] - 0.9) < 1e-6);
  assert.equal(b[0], 1);
});

test('optimizer config validation names the key', () => {
  assert.throws(() => normalizeOptim({ embeddingOptimizer: 'rmsprop' as never }), /embeddingOptimizer.*adam \| adagrad \| sgd/);
  assert.throws(() => normalizeOptim({ lr: -1 }), /lr/);
});
