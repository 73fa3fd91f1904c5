// Row-wise optimizers touch only the rows a batch used (lazy): touched rows follow the textbook update written
// out here in float64, untouched rows and their state stay bit-identical. Dense Adam applies weight decay to the
// decayed region only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { ReferenceOps } from '../../../src/kernels/reference.js';
import { createOps } from '../../../src/kernels/index.js';
import { DenseAdam } from '../../../src/nn/optim/adam.js';
import { normalizeOptim } from '../../../src/nn/optim/config.js';
import { ADAGRAD_EPS, SparseOptimizer } from '../../../src/nn/optim/sparse.js';
import { DenseParams } from '../../../src/nn/params.js';
import { randn } from './grad-check.js';
import { ConfigError } from '../../../src/core/errors.js';

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
  assert.throws(() => normalizeOptim({ embeddingOptimizer: 'rmsprop' as never }), (e: unknown) => e instanceof ConfigError && (e.details as { key?: string }).key === 'embeddingOptimizer');
  assert.throws(() => normalizeOptim({ lr: -1 }), /lr/);
});

test('sparse optimizers step with embeddingLr: the dense lr does not change an embedding update, embeddingLr does', () => {
  for (const kind of ['sgd', 'adagrad', 'adam'] as const) {
    const after = (lr: number, embeddingLr: number): Float32Array => {
      const rng = new Rng(5);
      const table = randn(rng, 4 * 2);
      const grad = randn(rng, 2 * 2);
      new SparseOptimizer(ops, kind, table.length).update(table, 2, new Int32Array([3, 1]), 2, grad, normalizeOptim({ lr, embeddingLr, embeddingOptimizer: kind }), 1);
      return table;
    };
    assert.deepEqual(after(0.5, 0.01), after(0.001, 0.01), `${kind}: the embedding update must use embeddingLr (0.01), not the dense lr (0.5 vs 0.001 gave different rows)`);
    assert.notDeepEqual(after(0.01, 0.02), after(0.01, 0.01), `${kind}: embeddingLr 0.02 and 0.01 gave the same rows`);
  }
});

test('normalizeOptim: the documented defaults, embeddingLr defaults to lr, and each bad value names its key', () => {
  assert.deepEqual(normalizeOptim(), { lr: 1e-3, weightDecay: 0, embeddingOptimizer: 'adam', embeddingLr: 1e-3, embeddingL2: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  assert.equal(normalizeOptim({ lr: 0.3 }).embeddingLr, 0.3, 'embeddingLr defaults to lr');
  assert.equal(normalizeOptim({ lr: 0.3, embeddingLr: 0.02 }).embeddingLr, 0.02);
  const given = { lr: 0.2, weightDecay: 0.1, embeddingOptimizer: 'sgd' as const, embeddingLr: 0.4, embeddingL2: 0.05, beta1: 0.5, beta2: 0.6, eps: 0.7 };
  assert.deepEqual(normalizeOptim(given), given, 'given values are kept');
  assert.deepEqual(normalizeOptim({ weightDecay: 0, embeddingL2: 0 }).weightDecay, 0, '0 is a valid decay');
  for (const [key, value, rule] of [
    ['lr', 0, /positive/],
    ['lr', NaN, /positive/],
    ['lr', Infinity, /positive/],
    ['embeddingLr', -0.1, /positive/],
    ['embeddingLr', Infinity, /positive/],
    ['weightDecay', -1e-9, /≥ 0/],
    ['weightDecay', Infinity, /≥ 0/],
    ['embeddingL2', -1, /≥ 0/],
    ['embeddingL2', NaN, /≥ 0/],
  ] as const) {
    assert.throws(
      () => normalizeOptim({ [key]: value }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${key}: must be`) && rule.test(e.message) && (e.details as { key?: string }).key === key,
      `${key} = ${value} must be rejected naming ${key}`,
    );
  }
});

for (const backend of ['reference', 'wasm'] as const) test(`dense Adam (${backend}): three steps follow the Adam formula with L2 weight decay on the decayed region only; stepRange over two halves is the same step`, async () => {
  const ops = backend === 'wasm' ? await createOps('wasm') : new ReferenceOps();
  const build = (): { p: DenseParams; adam: DenseAdam } => {
    const p = new DenseParams();
    p.add('w', [3, 2], 'normal', true, () => undefined);
    p.add('b', [3], 'normal', false, () => undefined);
    p.allocate((n) => ops.allocF32(n), new Rng(9));
    return { p, adam: new DenseAdam(ops, p) };
  };
  const { p, adam } = build();
  const split = build();
  const cfg = normalizeOptim({ lr: 0.05, weightDecay: 0.3, beta1: 0.8, beta2: 0.9, eps: 1e-3 });
  const w = Float64Array.from(p.data);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  const rng = new Rng(4);
  for (let t = 1; t <= 3; t++) {
    const g = randn(rng, w.length);
    p.grad.set(g);
    adam.step(cfg, t);
    split.p.grad.set(g);
    split.adam.stepRange(cfg, t, split.p.grad, 0, 4);
    split.adam.stepRange(cfg, t, split.p.grad, 4, w.length);
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] + (i < p.decaySize ? cfg.weightDecay * w[i] : 0);
      m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * gi;
      v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * gi * gi;
      w[i] -= (cfg.lr * m[i]) / (1 - cfg.beta1 ** t) / (Math.sqrt(v[i] / (1 - cfg.beta2 ** t)) + cfg.eps);
      assert.ok(Math.abs(p.data[i] - w[i]) < 1e-5, `step ${t}, weight ${i} (${i < p.decaySize ? 'decayed' : 'not decayed'}): ${p.data[i]} vs Adam ${w[i]}`);
      assert.equal(split.p.data[i], p.data[i], `step ${t}, weight ${i}: stepRange over [0, 4) and [4, ${w.length}) differs from step`);
    }
  }
  adam.reset();
  assert.ok(adam.m.every((x) => x === 0) && adam.v.every((x) => x === 0), 'reset zeroes the moments');
  assert.throws(() => new DenseAdam(ops, p, { m: new Float32Array(2), v: new Float32Array(9) }), /dense adam: attached moments have 2 floats, the parameters 9/);
  assert.throws(() => new DenseAdam(ops, p, { m: new Float32Array(9), v: new Float32Array(2) }), /dense adam: attached moments/, 'a wrong second moment is refused too');
  const shared = new DenseAdam(ops, p, { m: adam.m, v: adam.v });
  assert.equal(shared.m, adam.m, 'attached moments are used, not copied');
});

test('sparse optimizer state: sized per kind, attach checked, reset zeroes, u = 0 is a no-op', () => {
  const sizes = { sgd: [0, 0], adagrad: [12, 0], adam: [12, 12] } as const;
  for (const kind of ['sgd', 'adagrad', 'adam'] as const) {
    const opt = new SparseOptimizer(ops, kind, 12);
    assert.deepEqual([opt.state1.length, opt.state2.length], sizes[kind], `${kind} state sizes`);
    assert.equal(opt.tableSize, 12);
    assert.equal(opt.kind, kind);
    const table = Float32Array.from({ length: 12 }, (_, i) => i);
    opt.update(table, 3, new Int32Array([1]), 0, new Float32Array(3).fill(1), normalizeOptim({ embeddingOptimizer: kind }), 1);
    assert.deepEqual(Array.from(table), Array.from({ length: 12 }, (_, i) => i), `${kind}: u = 0 changes nothing`);
    opt.update(table, 3, new Int32Array([1]), 1, new Float32Array(3).fill(1), normalizeOptim({ embeddingOptimizer: kind }), 1);
    if (kind !== 'sgd') {
      assert.ok(opt.state1.some((x) => x !== 0));
      opt.reset();
      assert.ok(opt.state1.every((x) => x === 0) && opt.state2.every((x) => x === 0), `${kind}: reset zeroes the state`);
    }
    const [n1, n2] = sizes[kind];
    const attach = { state1: new Float32Array(n1), state2: new Float32Array(n2) };
    assert.equal(new SparseOptimizer(ops, kind, 12, attach).state1, attach.state1, `${kind}: attached state is used`);
    assert.throws(() => new SparseOptimizer(ops, kind, 12, { state1: new Float32Array(n1 + 1), state2: new Float32Array(n2) }), new RegExp(`attached state does not match ${kind} for 12 floats`));
    assert.throws(() => new SparseOptimizer(ops, kind, 12, { state1: new Float32Array(n1), state2: new Float32Array(n2 + 1) }), /attached state does not match/);
  }
});
