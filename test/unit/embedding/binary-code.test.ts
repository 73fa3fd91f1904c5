// BH index maths: block widths and row counts from the definitions, which block each code bit lands in, dense
// ids at the word edges, the configs' errors. Injectivity over 2^20 codes is binary-code-injective.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryCodeIndexer } from '../../../src/embedding/binary-code.js';
import { ConfigError, isBhembedError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { createIndexer } from '../../../src/embedding/registry.js';
import type { BhSpec, BhStrategy } from '../../../src/embedding/config.js';
import { denseCodeBits } from '../../../src/embedding/config.js';

const STRATEGIES: BhStrategy[] = ['succession', 'skip'];

/** Block of code bit i and its position inside the block, straight from the paper's two layouts. */
function place(S: number, t: number, strategy: BhStrategy, i: number): [number, number] {
  const K = Math.ceil(S / t);
  return strategy === 'succession' ? [Math.floor(i / t), i % t] : [i % K, Math.floor(i / K)];
}

/** Widths by counting which bits land in each block. */
function widthsByCounting(S: number, t: number, strategy: BhStrategy): number[] {
  const w = new Array<number>(Math.ceil(S / t)).fill(0);
  for (let i = 0; i < S; i++) w[place(S, t, strategy, i)[0]]++;
  return w;
}

test('widths, offsets and the row-count formula for every (S, t, strategy) that fits int32', () => {
  let checked = 0;
  for (let S = 1; S <= 64; S++) {
    for (let t = 1; t <= 40; t++) {
      for (const strategy of STRATEGIES) {
        const widths = widthsByCounting(S, t, strategy);
        const rows = widths.reduce((a, w) => a + 2 ** w, 0);
        const spec: BhSpec = { method: 'bh', codeBits: S, blockBits: t, strategy };
        if (rows > 2 ** 31 - 1) {
          assert.throws(() => new BinaryCodeIndexer(spec), (e: unknown) => e instanceof ConfigError && /smaller blockBits/.test(e.message));
          continue;
        }
        const ix = new BinaryCodeIndexer(spec);
        assert.equal(ix.rowsPerValue, Math.ceil(S / t));
        assert.deepEqual(ix.widths, widths);
        assert.equal(ix.numRows, rows);
        let off = 0;
        widths.forEach((w, k) => {
          assert.equal(ix.offsets[k], off);
          off += 2 ** w;
        });
        // every block holds at most t bits
        assert.ok(widths.every((w) => w >= 1 && w <= t));
        checked++;
      }
    }
  }
  assert.ok(checked > 3000);
});

test('bit membership: flipping code bit i moves exactly its block by 2^position; bits ≥ S are ignored', () => {
  const rng = new Rng(3);
  const settings: Array<[number, number]> = [[64, 8], [64, 5], [64, 1], [64, 29], [40, 7], [33, 4], [32, 32 - 2], [20, 3], [9, 4], [5, 16], [1, 1]];
  for (const [S, t] of settings) {
    for (const strategy of STRATEGIES) {
      const ix = new BinaryCodeIndexer({ method: 'bh', codeBits: S, blockBits: t, strategy });
      const K = ix.rowsPerValue;
      const n = 64 + 1;
      const ids = new Uint32Array(2 * n);
      ids[0] = rng.nextU32();
      ids[1] = rng.nextU32();
      for (let i = 0; i < 64; i++) {
        ids[2 * (i + 1)] = ids[0];
        ids[2 * (i + 1) + 1] = ids[1];
        // flip bit i
        if (i < 32) ids[2 * (i + 1)] ^= 1 << i;
        else ids[2 * (i + 1) + 1] ^= 1 << (i - 32);
      }
      const out = new Int32Array(n * K);
      ix.index(ids, n, out);
      for (let i = 0; i < 64; i++) {
        for (let k = 0; k < K; k++) {
          const d = out[(i + 1) * K + k] ^ out[k];
          if (i >= S) {
            assert.equal(d, 0, `S=${S} t=${t} ${strategy}: bit ${i} ≥ S changed block ${k}`);
            continue;
          }
          const [block, pos] = place(S, t, strategy, i);
          // rows are offset_k + v_k and offset_k has zeros in the low width_k bits, so XOR isolates v_k
          const dv = (out[(i + 1) * K + k] - ix.offsets[k]) ^ (out[k] - ix.offsets[k]);
          assert.equal(dv, k === block ? 2 ** pos : 0, `S=${S} t=${t} ${strategy}: bit ${i} block ${k} (d=${d})`);
        }
      }
    }
  }
});

test('dense mode: S = bits the largest id needs; ids ≥ 2^S are rejected', () => {
  assert.equal(denseCodeBits(1), 1);
  assert.equal(denseCodeBits(2), 1);
  assert.equal(denseCodeBits(3), 2);
  assert.equal(denseCodeBits(1024), 10);
  assert.equal(denseCodeBits(1025), 11);
  const n = 1000;
  const S = denseCodeBits(n);
  const ix = new BinaryCodeIndexer({ method: 'bh', codeBits: S, blockBits: 4, strategy: 'skip', dense: true });
  const ids = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) ids[2 * i] = i;
  const out = new Int32Array(n * ix.rowsPerValue);
  ix.index(ids, n, out);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(Array.from(out.subarray(i * 3, i * 3 + 3)).join(','));
  assert.equal(seen.size, n);
  ids[2 * 5] = 1024;
  assert.throws(() => ix.index(ids, n, out), (e: unknown) => isBhembedError(e) && /codeBits=10/.test(e.message));
  ids[2 * 5] = 0;
  ids[2 * 5 + 1] = 1;
  assert.throws(() => ix.index(ids, n, out), /codeBits=10/);
});

test('invalid configs throw ConfigError naming the key and the allowed values', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ method: 'bh', codeBits: 0, blockBits: 4, strategy: 'skip' }, /codeBits must be an integer in \[1, 64\]/],
    [{ method: 'bh', codeBits: 65, blockBits: 4, strategy: 'skip' }, /codeBits must be an integer in \[1, 64\]/],
    [{ method: 'bh', codeBits: 64, blockBits: 0, strategy: 'skip' }, /blockBits must be an integer/],
    [{ method: 'bh', codeBits: 64, blockBits: 2.5, strategy: 'skip' }, /blockBits must be an integer/],
    [{ method: 'bh', codeBits: 64, blockBits: 4, strategy: 'zigzag' }, /strategy must be one of: succession, skip/],
    [{ method: 'bh', codeBits: 64, blockBits: 40, strategy: 'skip' }, /int32 limit.*smaller blockBits/],
    [{ method: 'bh', codeBits: 64, blockBits: 30, strategy: 'succession' }, /int32 limit/],
    [{ method: 'hash', rows: 0 }, /rows must be an integer/],
    [{ method: 'qr', remainder: 2 ** 31 - 1, quotient: 5 }, /int32 limit/],
    [{ method: 'dhash', rows: 10, hashes: 0 }, /hashes must be an integer/],
    [{ method: 'full', minCount: 1, vocab: ['xyz'] }, /vocab\[0\] must be 16 lower-case hex digits/],
    [{ method: 'lsh' }, /method must be one of: bh, full, hash, qr, dhash/],
    [null, /must be an object/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(
      () => createIndexer(spec as BhSpec),
      (e: unknown) => e instanceof ConfigError && e.code === 'config.invalid' && re.test(e.message),
      JSON.stringify(spec),
    );
  }
  // the largest legal t for S = 64 still works
  assert.equal(new BinaryCodeIndexer({ method: 'bh', codeBits: 64, blockBits: 29, strategy: 'succession' }).numRows, 2 ** 29 * 2 + 2 ** 6);
});

test('toSpec round-trips through JSON', () => {
  const ix = createIndexer({ method: 'bh', codeBits: 48, blockBits: 6, strategy: 'skip' });
  const again = createIndexer(JSON.parse(JSON.stringify(ix.toSpec())));
  assert.deepEqual(again.toSpec(), { method: 'bh', codeBits: 48, blockBits: 6, strategy: 'skip', dense: false });
  assert.equal(again.numRows, ix.numRows);
});

test('dense mode at the word edges: S = 31, 32, 33, 63, 64 accept every id below 2^S (same rows as hashed mode) and reject 2^S', () => {
  const pow = (k: number): [number, number] => (k < 32 ? [2 ** k, 0] : [0, 2 ** (k - 32)]);
  for (const S of [31, 32, 33, 63, 64]) {
    for (const strategy of STRATEGIES) {
      const spec: BhSpec = { method: 'bh', codeBits: S, blockBits: 8, strategy };
      const dense = new BinaryCodeIndexer({ ...spec, dense: true });
      const hashed = new BinaryCodeIndexer(spec);
      // the largest ids that fit: 2^S − 1 and a few with the top code bit set
      const fit: Array<[number, number]> = [
        [0, 0],
        [1, 0],
        S >= 32 ? [0xffffffff, S === 64 ? 0xffffffff : 2 ** (S - 32) - 1] : [2 ** S - 1, 0],
        S > 32 ? [12345, 2 ** (S - 33)] : [2 ** (S - 1) + 7, 0],
      ];
      const ids = Uint32Array.from(fit.flat());
      const got = new Int32Array(fit.length * dense.rowsPerValue);
      const want = new Int32Array(fit.length * dense.rowsPerValue);
      assert.doesNotThrow(() => dense.index(ids, fit.length, got), `dense S=${S} ${strategy}: ids below 2^${S} must be accepted`);
      hashed.index(ids, fit.length, want);
      assert.deepEqual(got, want, `dense S=${S} ${strategy}: an id below 2^S is its own code`);
      if (S < 64) {
        const over = Uint32Array.from(pow(S));
        assert.throws(() => dense.index(over, 1, got), (e: unknown) => isBhembedError(e) && e.message.includes(`dense id ${2n ** BigInt(S)}`) && e.message.includes(`codeBits=${S}`), `dense S=${S}: id 2^${S} must be rejected`);
      }
    }
  }
});
