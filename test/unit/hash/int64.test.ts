// mod64 / divmod64 / mix64 on u32 halves against BigInt arithmetic, including the extreme words and divisors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { divmod64, mix64, mix64Salt, mod64 } from '../../../src/hash/int64.js';
import { Rng } from '../../../src/core/rng.js';

const M64 = (1n << 64n) - 1n;
const big = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);

function cases(rng: Rng): Array<[number, number]> {
  const out: Array<[number, number]> = [[0, 0], [0xffffffff, 0xffffffff], [0xffffffff, 0], [0, 0xffffffff], [1, 0], [0, 1]];
  for (let i = 0; i < 2000; i++) out.push([rng.nextU32(), rng.nextU32()]);
  return out;
}

test('mod64 and divmod64 equal BigInt % and /', () => {
  const rng = new Rng(1);
  const divisors = [1, 2, 3, 7, 1000, 65535, 65536, 65537, 1000003, 2 ** 31 - 1, 2 ** 31];
  for (let i = 0; i < 50; i++) divisors.push(1 + rng.int(2 ** 31 - 1));
  const q = new Uint32Array(2);
  for (const [lo, hi] of cases(rng)) {
    const h = big(lo, hi);
    for (const m of divisors) {
      assert.equal(mod64(lo, hi, m), Number(h % BigInt(m)), `${h} mod ${m}`);
      const r = divmod64(lo, hi, m, q);
      assert.equal(r, Number(h % BigInt(m)));
      assert.equal(big(q[0], q[1]), h / BigInt(m), `${h} / ${m}`);
    }
    assert.equal(mod64(lo, hi, 2 ** 32), lo);
  }
});

test('mix64 is the splitmix64 finalizer of h + seed·γ', () => {
  const rng = new Rng(2);
  const out = new Uint32Array(2);
  for (const [lo, hi] of cases(rng)) {
    for (const seed of [0, 1, 2, 5, 63]) {
      let z = (big(lo, hi) + BigInt(seed) * 0x9e3779b97f4a7c15n) & M64;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
      z ^= z >> 31n;
      const [sLo, sHi] = mix64Salt(seed);
      mix64(lo, hi, sLo, sHi, out, 0);
      assert.equal(big(out[0], out[1]), z);
    }
  }
});
