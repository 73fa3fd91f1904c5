// Exact AUC with ties against a brute-force O(n²) pairwise count, log loss against its definition, and
// streaming (many small chunks, tiny run size) against one-shot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { BinaryMetrics, auc, floatKey, LOGLOSS_EPS } from '../../../src/train/metrics.js';

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
