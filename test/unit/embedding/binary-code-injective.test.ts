// BH injectivity over 2^20 codes: distinct codes → distinct row tuples, every row inside its block. Its own file
// (split from binary-code.test.ts) because its loops over 5 × 2^20 codes, instrumented by StrykerJS, outlast any
// per-mutant timeout; the mutation run of embedding/binary-code.ts uses binary-code.test.js, whose per-bit checks
// (flipping code bit i moves exactly its block by 2^position) imply this property for every layout they cover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryCodeIndexer } from '../../../src/embedding/binary-code.js';
import { Rng } from '../../../src/core/rng.js';
import type { BhStrategy } from '../../../src/embedding/config.js';

/**
 * n ≤ 2^20 distinct S-bit codes (S ≥ 20): every bit random, then the 20 bits of v written at 20 distinct random
 * positions below S, so codes differ inside the code and carry random junk above bit S, which must not matter.
 */
function distinctCodes(S: number, n: number, rng: Rng): Uint32Array {
  const positions = rng.shuffle(Array.from({ length: S }, (_, i) => i)).slice(0, 20);
  const ids = new Uint32Array(2 * n);
  for (let v = 0; v < n; v++) {
    let lo = rng.nextU32();
    let hi = rng.nextU32();
    for (let b = 0; b < 20; b++) {
      const p = positions[b];
      const bit = (v >>> b) & 1;
      if (p < 32) lo = bit ? lo | (1 << p) : lo & ~(1 << p);
      else hi = bit ? hi | (1 << (p - 32)) : hi & ~(1 << (p - 32));
    }
    ids[2 * v] = lo >>> 0;
    ids[2 * v + 1] = hi >>> 0;
  }
  return ids;
}

/**
 * Pack (row_k − offset_k) into bits [pos_k, pos_k + width_k) of a 64-bit key per value: injective because each
 * v_k < 2^width_k (checked here, which is also the rows-in-range check) and Σ width_k = S ≤ 64.
 */
function packKeys(out: Int32Array, n: number, widths: Int32Array, offsets: Int32Array): Uint32Array | string {
  const K = widths.length;
  const keys = new Uint32Array(2 * n);
  for (let v = 0; v < n; v++) {
    let lo = 0;
    let hi = 0;
    let pos = 0;
    for (let k = 0; k < K; k++) {
      const w = widths[k];
      const x = out[v * K + k] - offsets[k];
      if (x < 0 || x >>> w !== 0) return `row ${out[v * K + k]} of value ${v} is outside block ${k}`;
      if (pos >= 32) hi |= x << (pos - 32);
      else {
        lo |= x << pos;
        if (pos + w > 32) hi |= x >>> (32 - pos);
      }
      pos += w;
    }
    keys[2 * v] = lo;
    keys[2 * v + 1] = hi;
  }
  return keys;
}

test('row tuples are unique over 2^20 distinct codes, and every row is inside its block', () => {
  const rng = new Rng(11);
  const n = 1 << 20;
  const settings: Array<[number, number, BhStrategy]> = [
    [64, 8, 'succession'],
    [64, 5, 'skip'],
    [40, 7, 'succession'],
    [20, 3, 'skip'],
    [20, 1, 'succession'],
  ];
  for (const [S, t, strategy] of settings) {
    const ix = new BinaryCodeIndexer({ method: 'bh', codeBits: S, blockBits: t, strategy });
    const K = ix.rowsPerValue;
    const ids = distinctCodes(S, n, rng);
    const out = new Int32Array(n * K);
    ix.index(ids, n, out);
    const keys = packKeys(out, n, Int32Array.from(ix.widths), Int32Array.from(ix.offsets));
    if (typeof keys === 'string') assert.fail(`S=${S} t=${t} ${strategy}: ${keys}`);
    new BigUint64Array(keys.buffer).sort();
    let dup = 0;
    for (let v = 1; v < n; v++) if (keys[2 * v] === keys[2 * v - 2] && keys[2 * v + 1] === keys[2 * v - 1]) dup++;
    assert.equal(dup, 0, `S=${S} t=${t} ${strategy}: codes sharing all rows`);
  }
});
