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

test('IdMap tells apart ids that share one half: same lo with 600 different hi, same hi with 600 different lo', () => {
  const m = new IdMap();
  for (let k = 0; k < 600; k++) {
    m.set(7, k, k);
    m.set(k + 100, 9, 1000 + k);
  }
  assert.equal(m.size, 1200);
  for (let k = 0; k < 600; k++) {
    assert.equal(m.get(7, k), k, `id (lo 7, hi ${k}) must not answer with another id's value that has lo 7`);
    assert.equal(m.get(k + 100, 9), 1000 + k, `id (lo ${k + 100}, hi 9)`);
    assert.equal(m.add(7, k, 1), k + 1, 'add finds the same slot as set');
  }
  assert.equal(m.get(7, 600), -1);
  assert.equal(m.get(99, 9), -1);
});
