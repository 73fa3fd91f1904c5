// The hot-set counter against a brute-force count on generated Zipf data: exact while the distinct values fit
// (same top-k, same counts, same tie order), and Misra–Gries after that (every estimate within the stated
// undercount, every value heavier than it kept, and the head of the ranking unchanged where the gaps allow).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { HeavyHitters, hotKeyHex } from '../../../src/data/heavy-hitters.js';
import { zipfSampler } from '../../../src/data/zipf.js';

/** n Zipf(1.1) draws over `values` ranks, each rank mapped to a scrambled 64-bit id (hi set too). */
function zipfIds(n: number, values: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  const z = zipfSampler(values, 1.1);
  const ids = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const r = z.sample(rng);
    ids[2 * i] = Math.imul(r + 1, 0x9e3779b1) >>> 0;
    ids[2 * i + 1] = (r * 7919) >>> 0;
  }
  return ids;
}

/** Brute force: every id's count, as [hex, count] sorted by count desc, then 64-bit id asc. */
function bruteForce(ids: Uint32Array, n: number): [string, number][] {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = ids[2 * i + 1].toString(16).padStart(8, '0') + ids[2 * i].toString(16).padStart(8, '0');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

test('exact while the distinct values fit: top-k ids, counts and tie order equal the brute-force count', () => {
  const n = 60000;
  const ids = zipfIds(n, 5000, 3);
  const truth = bruteForce(ids, n);
  const hh = new HeavyHitters({ capacity: 4096, exactLimit: 8192 });
  // in uneven chunks, as a stream delivers them
  for (let at = 0, step = 1; at < n; at += step, step = step * 3 + 1) hh.add(ids.subarray(2 * at), Math.min(step, n - at));
  assert.equal(hh.total, n);
  assert.ok(hh.exact);
  const top = hh.top(truth.length + 10);
  assert.equal(top.counts.length, truth.length);
  assert.equal(top.undercount, 0);
  for (let i = 0; i < truth.length; i++) {
    assert.equal(hotKeyHex(top, i), truth[i][0], `rank ${i}`);
    assert.equal(top.counts[i], truth[i][1], `rank ${i}`);
  }
});

test('sketched (Misra–Gries): estimates within the undercount, heavy values kept, the head ranked as brute force', () => {
  const n = 200000;
  const ids = zipfIds(n, 100000, 5);
  const truth = bruteForce(ids, n);
  assert.ok(truth.length > 20000, `${truth.length} distinct values`);
  const capacity = 500;
  const hh = new HeavyHitters({ capacity, exactLimit: 2 * capacity });
  hh.add(ids, n);
  assert.ok(!hh.exact);
  assert.ok(hh.size <= 2 * capacity);
  const top = hh.top(capacity);
  const d = top.undercount;
  assert.ok(d > 0 && d <= n / (capacity + 1), `undercount ${d} ≤ N/(capacity+1) = ${n / (capacity + 1)}`);
  const est = new Map<string, number>();
  for (let i = 0; i < top.counts.length; i++) est.set(hotKeyHex(top, i), top.counts[i]);
  const trueOf = new Map(truth);
  for (const [k, c] of est) {
    const t = trueOf.get(k) as number;
    assert.ok(c <= t && c >= t - d, `${k}: estimate ${c}, true ${t}, undercount ${d}`);
  }
  // every value heavier than the undercount is still counted
  for (const [k, t] of truth) if (t > d) assert.ok(est.has(k), `${k} (true ${t} > ${d}) kept`);
  // the top k agree wherever the true counts of rank k and k + 1 differ by more than the undercount
  let checked = 0;
  for (let k = 1; k < 200; k++) {
    if (truth[k - 1][1] - truth[k][1] <= d) continue;
    const want = new Set(truth.slice(0, k).map((e) => e[0]));
    for (let i = 0; i < k; i++) assert.ok(want.has(hotKeyHex(top, i)), `top ${k}: rank ${i} is ${hotKeyHex(top, i)}`);
    checked++;
  }
  assert.ok(checked >= 5, `${checked} prefixes checked`);
});

test('bad options are config errors', () => {
  assert.throws(() => new HeavyHitters({ capacity: 0 }), /capacity must be an integer ≥ 1/);
  assert.throws(() => new HeavyHitters({ capacity: 10, exactLimit: 19 }), /exactLimit must be an integer ≥ 2·capacity \(20\)/);
});
