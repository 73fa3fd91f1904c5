// IdMap against a plain Map keyed by strings, across growth and ids that differ only in one half.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdMap } from '../../../src/hash/id-map.js';
import { Rng } from '../../../src/core/rng.js';

test('IdMap counts and looks up like a Map', () => {
  const rng = new Rng(4);
  const m = new IdMap(4);
  const ref = new Map<string, number>();
  const pool: Array<[number, number]> = [[0, 0], [0, 1], [1, 0], [0xffffffff, 0xffffffff]];
  for (let i = 0; i < 3000; i++) pool.push([rng.nextU32(), rng.int(4)]);
  for (let i = 0; i < 20000; i++) {
    const [lo, hi] = pool[rng.int(pool.length)];
    const by = 1 + rng.int(3);
    const k = `${lo}:${hi}`;
    ref.set(k, (ref.get(k) ?? 0) + by);
    assert.equal(m.add(lo, hi, by), ref.get(k));
  }
  assert.equal(m.size, ref.size);
  for (const [lo, hi] of pool) assert.equal(m.get(lo, hi), ref.get(`${lo}:${hi}`) ?? -1);
  assert.equal(m.get(12345, 99), -1);
  let seen = 0;
  m.forEach((lo, hi, v) => {
    assert.equal(v, ref.get(`${lo}:${hi}`));
    seen++;
  });
  assert.equal(seen, ref.size);
  m.set(0, 0, 77);
  assert.equal(m.get(0, 0), 77);
});
