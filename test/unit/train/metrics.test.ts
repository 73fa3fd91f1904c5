// Exact AUC with ties against a brute-force O(n²) pairwise count, log loss against its definition, and
// streaming (many small chunks, tiny run size) against one-shot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { BinaryMetrics, auc, floatKey, logloss, LOGLOSS_EPS } from '../../../src/train/metrics.js';

function bruteAuc(s: Float32Array, y: Float32Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] <= 0.5) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] > 0.5) continue;
      pairs++;
      if (s[i] > s[j]) wins += 1;
      else if (s[i] === s[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

test('floatKey preserves float32 order, including negatives and ±0', () => {
  const xs = [-Infinity, -3.5, -1e-30, -0, 0, 1e-30, 0.25, 0.5, 1, 7, Infinity];
  for (let i = 1; i < xs.length; i++) {
    const a = floatKey(xs[i - 1]);
    const b = floatKey(xs[i]);
    if (Object.is(xs[i - 1], -0) && xs[i] === 0) assert.equal(a, b);
    else assert.ok(a < b, `${xs[i - 1]} < ${xs[i]}`);
  }
});

test('AUC with heavy ties equals the brute-force pairwise count', () => {
  const rng = new Rng(11);
  for (const [n, levels] of [[500, 5], [800, 50], [300, 100000]] as const) {
    const s = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const lvl = rng.int(levels);
      s[i] = lvl / levels - 0.3; // negative scores too
      y[i] = rng.next() < 0.2 + (0.6 * lvl) / levels ? 1 : 0;
    }
    const want = bruteAuc(s, y);
    // Streaming in uneven pieces with a tiny run size exercises run merging.
    const m = new BinaryMetrics(7);
    let i = 0;
    while (i < n) {
      const k = Math.min(n - i, 1 + rng.int(37));
      m.add(s.subarray(i, i + k), y.subarray(i, i + k), k);
      i += k;
    }
    const got = m.result();
    assert.ok(Math.abs(got.auc - want) < 1e-12, `n=${n} levels=${levels}: ${got.auc} vs ${want}`);
    assert.ok(Math.abs(auc(s, y) - want) < 1e-12);
    assert.equal(got.n, n);
  }
});

test('AUC corner cases: perfect, reversed, all tied, one class', () => {
  assert.equal(auc(new Float32Array([0.1, 0.2, 0.8, 0.9]), new Float32Array([0, 0, 1, 1])), 1);
  assert.equal(auc(new Float32Array([0.9, 0.8, 0.2, 0.1]), new Float32Array([0, 0, 1, 1])), 0);
  assert.equal(auc(new Float32Array([0.5, 0.5, 0.5]), new Float32Array([0, 1, 1])), 0.5);
  assert.ok(Number.isNaN(auc(new Float32Array([0.5, 0.7]), new Float32Array([1, 1]))));
});

test('log loss matches its definition with clipping', () => {
  const p = new Float32Array([0.9, 0.2, 0, 1, 0.5]);
  const y = new Float32Array([1, 0, 1, 0, 1]);
  const clip = (v: number): number => Math.min(Math.max(v, LOGLOSS_EPS), 1 - LOGLOSS_EPS);
  let want = 0;
  for (let i = 0; i < p.length; i++) want -= y[i] > 0.5 ? Math.log(clip(p[i])) : Math.log(1 - clip(p[i]));
  want /= p.length;
  const m = new BinaryMetrics();
  m.add(p, y);
  assert.ok(Math.abs(m.result().logloss - want) < 1e-12);
  m.reset();
  assert.equal(m.count, 0);
});

test('streaming: small chunks (sorted runs merged by size class) give the brute-force AUC and the exact log loss, across result() calls and reset()', () => {
  const rng = new Rng(12);
  const n = 3000;
  const s = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = Math.floor(rng.next() * 40) / 40; // heavy ties, across many runs
    y[i] = rng.next() < 0.3 + 0.5 * s[i] ? 1 : 0;
  }
  const want = bruteAuc(s, y);
  const loss = (k: number): number => {
    let l = 0;
    for (let i = 0; i < k; i++) {
      const p = Math.min(Math.max(s[i], LOGLOSS_EPS), 1 - LOGLOSS_EPS);
      l -= y[i] > 0.5 ? Math.log(p) : Math.log(1 - p);
    }
    return l / k;
  };
  for (const chunk of [1, 2, 3, 7, 64, 1000]) {
    const m = new BinaryMetrics(chunk);
    // uneven add() calls, a result() in the middle (it flushes and collapses the runs), then the rest
    let at = 0;
    for (const size of [1, 5, 17, 500, 977]) {
      m.add(s.subarray(at, at + size), y.subarray(at, at + size));
      at += size;
    }
    const mid = m.result();
    assert.ok(Math.abs(mid.auc - bruteAuc(s.subarray(0, at), y.subarray(0, at))) < 1e-12, `chunk ${chunk}: AUC of the first ${at} rows`);
    m.add(s.subarray(at), y.subarray(at));
    const r = m.result();
    assert.ok(Math.abs(r.auc - want) < 1e-12, `chunk ${chunk}: streamed AUC ${r.auc} vs brute force ${want}`);
    assert.ok(Math.abs(r.logloss - loss(n)) < 1e-12, `chunk ${chunk}: log loss`);
    assert.equal(r.n, n);
    assert.equal(r.positives, y.reduce((a, v) => a + v, 0));
    assert.deepEqual(m.result(), r, `chunk ${chunk}: result() twice gives the same`);
    assert.equal(m.count, n);
    m.reset();
    assert.equal(m.count, 0);
    const e = m.result();
    assert.ok(Number.isNaN(e.auc) && Number.isNaN(e.logloss) && e.n === 0 && e.positives === 0, `chunk ${chunk}: empty after reset`);
    m.add(s.subarray(0, 100), y.subarray(0, 100));
    assert.ok(Math.abs(m.result().auc - bruteAuc(s.subarray(0, 100), y.subarray(0, 100))) < 1e-12, `chunk ${chunk}: after reset only the new rows count`);
  }
});

test('labels: > 0.5 is positive (0.5 is negative); one class gives NaN AUC but a log loss; NaN scores are refused', () => {
  const m = new BinaryMetrics(4);
  m.add([0.2, 0.9, 0.4], [0.5, 1, 0.51]);
  const r = m.result();
  assert.equal(r.positives, 2, 'labels 1 and 0.51 are positives, 0.5 is not');
  assert.equal(r.auc, 1, 'the negative (label 0.5) scores below both positives');
  const one = new BinaryMetrics(2);
  one.add([0.1, 0.2, 0.3], [1, 1, 1]);
  assert.ok(Number.isNaN(one.result().auc));
  assert.ok(Math.abs(one.result().logloss - -(Math.log(0.1) + Math.log(0.2) + Math.log(0.3)) / 3) < 1e-12);
  const neg = new BinaryMetrics(2);
  neg.add([0.1, 0.2, 0.3], [0, 0, 0]);
  assert.ok(Number.isNaN(neg.result().auc));
  assert.throws(() => new BinaryMetrics().add([0.1, NaN], [0, 1]), /metrics: score 1 is NaN/);
});

test('logloss() of an array (and of its first n rows) is the clipped mean by definition', () => {
  const p = [0.9, 0.2, 0, 1, 0.5, 0.3];
  const y = [1, 0, 1, 0, 1, 1];
  const clip = (v: number): number => Math.min(Math.max(v, LOGLOSS_EPS), 1 - LOGLOSS_EPS);
  const mean = (k: number): number => {
    let l = 0;
    for (let i = 0; i < k; i++) l -= y[i] > 0.5 ? Math.log(clip(p[i])) : Math.log(1 - clip(p[i]));
    return l / k;
  };
  assert.ok(Math.abs(logloss(p, y) - mean(6)) < 1e-12, `${logloss(p, y)} vs ${mean(6)}`);
  assert.ok(Math.abs(logloss(p, y, 4) - mean(4)) < 1e-12);
});

test('BinaryMetrics refuses a chunk outside the integers 1..2^20 and infinite weights, naming the value', () => {
  for (const bad of [0, -1, 1.5, NaN, 1048577]) {
    assert.throws(() => new BinaryMetrics(bad), (e: Error) => e.message === `metrics: chunk must be an integer in [1, 2^20], got ${bad}`, `chunk ${bad}`);
  }
  const big = new BinaryMetrics(1048576); // the largest chunk is allowed and works
  big.add([0.2, 0.7, 0.4], [0, 1, 1]);
  assert.equal(big.result().auc, 1);
  assert.throws(() => new BinaryMetrics().add([0.5, 0.6], [1, 0], 2, [1, Infinity]), (e: Error) => e.message === 'metrics: weight 1 is Infinity; weights must be finite and ≥ 0');
});
