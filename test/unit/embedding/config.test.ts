// Index specs as plain JSON: every method's spec normalized (defaults filled, unknown keys dropped), every bad key a
// ConfigError whose message, key, value and allowed values name it (model files and CLI JSON report these), the
// int32 row limit at its exact edge, and the BH block widths against their definition bit by bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBhembedError } from '../../../src/core/errors.js';
import { bhBlockWidths, bhNumRows, denseCodeBits, HOT_KEY_BYTES, INDEX_METHODS, MAX_TABLE_ROWS, normalizeIndexSpec } from '../../../src/embedding/config.js';

const HEX = '0123456789abcdef';

/** normalizeIndexSpec(raw, where) must throw a ConfigError with exactly this message and these details. */
function refused(raw: unknown, message: string, details: Record<string, unknown>, where?: string): void {
  assert.throws(
    () => (where === undefined ? normalizeIndexSpec(raw) : normalizeIndexSpec(raw, where)),
    (e: unknown) => {
      assert.ok(isBhembedError(e) && e.code === 'config.invalid', `${JSON.stringify(raw)}: ${String(e)}`);
      assert.equal(e.message, message);
      assert.deepEqual(e.details, details, `${JSON.stringify(raw)}: details`);
      return true;
    },
  );
}

test('the constants: methods in CLI order, 8-byte hot keys, the int32 row limit', () => {
  assert.deepEqual(INDEX_METHODS, ['bh', 'full', 'hash', 'qr', 'dhash', 'hybrid']);
  assert.equal(HOT_KEY_BYTES, 8);
  assert.equal(MAX_TABLE_ROWS, 2 ** 31 - 1);
});

test('every method normalizes: defaults filled, unknown keys dropped', () => {
  assert.deepEqual(normalizeIndexSpec({ method: 'bh', codeBits: 20, blockBits: 5, extra: 1 }), { method: 'bh', codeBits: 20, blockBits: 5, strategy: 'succession', dense: false });
  assert.deepEqual(normalizeIndexSpec({ method: 'bh', codeBits: 64, blockBits: 1, strategy: 'skip', dense: true }), { method: 'bh', codeBits: 64, blockBits: 1, strategy: 'skip', dense: true });
  assert.deepEqual(normalizeIndexSpec({ method: 'bh', codeBits: 1, blockBits: 64, dense: false }), { method: 'bh', codeBits: 1, blockBits: 64, strategy: 'succession', dense: false });
  assert.deepEqual(normalizeIndexSpec({ method: 'full', vocab: [HEX], x: 2 }), { method: 'full', minCount: 1, vocab: [HEX] });
  assert.deepEqual(normalizeIndexSpec({ method: 'full', minCount: 3, vocab: [] }), { method: 'full', minCount: 3, vocab: [] });
  assert.deepEqual(normalizeIndexSpec({ method: 'hash', rows: MAX_TABLE_ROWS, hashes: 3 }), { method: 'hash', rows: MAX_TABLE_ROWS });
  assert.deepEqual(normalizeIndexSpec({ method: 'qr', remainder: 7, quotient: 1 }), { method: 'qr', remainder: 7, quotient: 1 });
  assert.deepEqual(normalizeIndexSpec({ method: 'qr', remainder: MAX_TABLE_ROWS - 5, quotient: 5 }), { method: 'qr', remainder: MAX_TABLE_ROWS - 5, quotient: 5 }, 'qr at exactly the row limit');
  assert.deepEqual(normalizeIndexSpec({ method: 'dhash', rows: 9, hashes: 64 }), { method: 'dhash', rows: 9, hashes: 64 });
  assert.deepEqual(normalizeIndexSpec({ method: 'hybrid', hot: [HEX], codeBits: 8, blockBits: 3, strategy: 'skip', dense: true }), { method: 'hybrid', hot: [HEX], codeBits: 8, blockBits: 3, strategy: 'skip' });
  assert.deepEqual(normalizeIndexSpec({ method: 'hybrid', hot: [], codeBits: 8, blockBits: 3 }), { method: 'hybrid', hot: [], codeBits: 8, blockBits: 3, strategy: 'succession' });
  // cold 'bh' is the default and is left out (files written before cold parts could share rows read the same); dhash keeps only its keys
  assert.deepEqual(normalizeIndexSpec({ method: 'hybrid', hot: [], cold: 'bh', codeBits: 8, blockBits: 3 }), { method: 'hybrid', hot: [], codeBits: 8, blockBits: 3, strategy: 'succession' });
  assert.deepEqual(normalizeIndexSpec({ method: 'hybrid', hot: [HEX], cold: 'dhash', rows: 6, hashes: 2, codeBits: 8 }), { method: 'hybrid', hot: [HEX], cold: 'dhash', rows: 6, hashes: 2 });
  assert.deepEqual(normalizeIndexSpec({ method: 'bh', codeBits: 30, blockBits: 30 }).method, 'bh', '2^30 rows fit');
});

test('bad specs: the message, key, value and allowed values name what is wrong', () => {
  refused(null, 'index must be an object with a "method" key', { key: 'index' });
  refused([1], 'f.index must be an object with a "method" key', { key: 'f.index' }, 'f.index');
  refused('bh', 'index must be an object with a "method" key', { key: 'index' });
  refused({ method: 'lsh' }, 'index.method must be one of: bh, full, hash, qr, dhash, hybrid; got "lsh"', { key: 'index.method', value: 'lsh', allowed: INDEX_METHODS });
  refused({ method: 'bh', codeBits: 65, blockBits: 4 }, 'index.codeBits must be an integer in [1, 64], got 65', { key: 'index.codeBits', value: 65, allowed: [1, 64] });
  refused({ method: 'bh', codeBits: 0, blockBits: 4 }, 'index.codeBits must be an integer in [1, 64], got 0', { key: 'index.codeBits', value: 0, allowed: [1, 64] });
  refused({ method: 'bh', codeBits: 2.5, blockBits: 4 }, 'index.codeBits must be an integer in [1, 64], got 2.5', { key: 'index.codeBits', value: 2.5, allowed: [1, 64] });
  refused({ method: 'bh', codeBits: '8', blockBits: 4 }, 'index.codeBits must be an integer in [1, 64], got "8"', { key: 'index.codeBits', value: '8', allowed: [1, 64] });
  refused({ method: 'bh', codeBits: 8, blockBits: 0 }, 'index.blockBits must be an integer in [1, 64], got 0', { key: 'index.blockBits', value: 0, allowed: [1, 64] });
  refused({ method: 'bh', codeBits: 8, blockBits: 65 }, 'index.blockBits must be an integer in [1, 64], got 65', { key: 'index.blockBits', value: 65, allowed: [1, 64] });
  refused({ method: 'bh', codeBits: 8, blockBits: 2, strategy: 'sideways' }, 'index.strategy must be one of: succession, skip; got "sideways"', { key: 'index.strategy', value: 'sideways', allowed: ['succession', 'skip'] });
  refused({ method: 'bh', codeBits: 8, blockBits: 2, strategy: 3 }, 'index.strategy must be one of: succession, skip; got 3', { key: 'index.strategy', value: 3, allowed: ['succession', 'skip'] });
  refused({ method: 'bh', codeBits: 8, blockBits: 2, dense: 'yes' }, 'index.dense must be true or false, got "yes"', { key: 'index.dense' });
  refused(
    { method: 'bh', codeBits: 31, blockBits: 31 },
    'index (bh codeBits=31 blockBits=31 succession) needs 2147483648 rows, more than the int32 limit 2147483647; use a smaller blockBits (t ≤ 30 and Σ 2^width_k < 2^31)',
    { key: 'index (bh codeBits=31 blockBits=31 succession)', rows: 2147483648 },
  );
  refused({ method: 'full', vocab: 'x' }, 'index.vocab must be an array of 16-hex-digit hash ids', { key: 'index.vocab' });
  refused({ method: 'full', minCount: 0, vocab: [] }, 'index.minCount must be an integer in [1, 9007199254740991], got 0', { key: 'index.minCount', value: 0, allowed: [1, Number.MAX_SAFE_INTEGER] });
  refused({ method: 'full', vocab: [HEX, 'ABCDEF0123456789'] }, 'index.vocab[1] must be 16 lower-case hex digits, got "ABCDEF0123456789"', { key: 'index.vocab[1]' });
  refused({ method: 'full', vocab: [`${HEX}0`] }, `index.vocab[0] must be 16 lower-case hex digits, got "${HEX}0"`, { key: 'index.vocab[0]' });
  refused({ method: 'full', vocab: [7] }, 'index.vocab[0] must be 16 lower-case hex digits, got 7', { key: 'index.vocab[0]' });
  refused({ method: 'full', vocab: [1234567890123456] }, 'index.vocab[0] must be 16 lower-case hex digits, got 1234567890123456', { key: 'index.vocab[0]' }); // 16 digits, but a number
  refused({ method: 'hash', rows: 0 }, 'index.rows must be an integer in [1, 2147483647], got 0', { key: 'index.rows', value: 0, allowed: [1, MAX_TABLE_ROWS] });
  refused({ method: 'hash', rows: MAX_TABLE_ROWS + 1 }, 'index.rows must be an integer in [1, 2147483647], got 2147483648', { key: 'index.rows', value: MAX_TABLE_ROWS + 1, allowed: [1, MAX_TABLE_ROWS] });
  refused({ method: 'qr', remainder: 0, quotient: 3 }, 'index.remainder must be an integer in [1, 2147483647], got 0', { key: 'index.remainder', value: 0, allowed: [1, MAX_TABLE_ROWS] });
  refused({ method: 'qr', remainder: 3 }, 'index.quotient must be an integer in [1, 2147483647], got undefined', { key: 'index.quotient', value: undefined, allowed: [1, MAX_TABLE_ROWS] });
  refused(
    { method: 'qr', remainder: MAX_TABLE_ROWS - 4, quotient: 5 },
    'index (qr remainder + quotient) needs 2147483648 rows, more than the int32 limit 2147483647; use smaller remainder/quotient',
    { key: 'index (qr remainder + quotient)', rows: 2147483648 },
  );
  refused({ method: 'dhash', rows: 4, hashes: 65 }, 'index.hashes must be an integer in [1, 64], got 65', { key: 'index.hashes', value: 65, allowed: [1, 64] });
  refused({ method: 'dhash', rows: 0, hashes: 2 }, 'index.rows must be an integer in [1, 2147483647], got 0', { key: 'index.rows', value: 0, allowed: [1, MAX_TABLE_ROWS] });
  refused({ method: 'hybrid', hot: {}, codeBits: 8, blockBits: 2 }, 'index.hot must be an array of 16-hex-digit hash ids', { key: 'index.hot' });
  refused({ method: 'hybrid', hot: ['g'.repeat(16)], codeBits: 8, blockBits: 2 }, `index.hot[0] must be 16 lower-case hex digits, got "${'g'.repeat(16)}"`, { key: 'index.hot[0]' });
  refused({ method: 'hybrid', hot: [], cold: 'qr', codeBits: 8, blockBits: 2 }, 'index.cold must be one of: bh, dhash; got "qr"', { key: 'index.cold', value: 'qr', allowed: ['bh', 'dhash'] });
  refused({ method: 'hybrid', hot: [], cold: 'dhash', hashes: 2 }, 'index.rows must be an integer in [1, 2147483647], got undefined', { key: 'index.rows', value: undefined, allowed: [1, 2147483647] });
  refused({ method: 'hybrid', hot: [], cold: 'dhash', rows: 5, hashes: 0 }, 'index.hashes must be an integer in [1, 64], got 0', { key: 'index.hashes', value: 0, allowed: [1, 64] });
  refused({ method: 'hybrid', hot: [HEX], cold: 'dhash', rows: 2147483647, hashes: 2 }, 'index (hybrid hot + dhash rows) needs 2147483648 rows, more than the int32 limit 2147483647; use fewer hot values or fewer rows', { key: 'index (hybrid hot + dhash rows)', rows: 2147483648 });
  refused({ method: 'hybrid', hot: [], codeBits: 80, blockBits: 2 }, 'index.codeBits must be an integer in [1, 64], got 80', { key: 'index.codeBits', value: 80, allowed: [1, 64] });
  refused(
    { method: 'hybrid', hot: [HEX], codeBits: 62, blockBits: 31 },
    'index (hybrid hot + bh rows) needs 4294967297 rows, more than the int32 limit 2147483647; use fewer hot values or a smaller blockBits',
    { key: 'index (hybrid hot + bh rows)', rows: 4294967297 },
  );
});

test('bhBlockWidths and bhNumRows follow the definitions (succession: k·t …; skip: bits k, k + K, …)', () => {
  for (let S = 1; S <= 64; S++) {
    for (let t = 1; t <= S + 1; t++) {
      const K = Math.ceil(S / t);
      for (const strategy of ['succession', 'skip'] as const) {
        // Count each block's code bits straight from the definition.
        const want = new Array<number>(K).fill(0);
        for (let i = 0; i < S; i++) want[strategy === 'succession' ? Math.floor(i / t) : i % K]++;
        const w = bhBlockWidths(S, t, strategy);
        assert.deepEqual(w, want, `S ${S}, t ${t}, ${strategy}`);
        assert.equal(bhNumRows(S, t, strategy), want.reduce((a, x) => a + 2 ** x, 0), `rows of S ${S}, t ${t}, ${strategy}`);
      }
    }
  }
});

test('denseCodeBits: the bits ids 0 … n − 1 need (at least 1); a non-positive or fractional count is refused', () => {
  for (let n = 1; n <= 4100; n++) assert.equal(denseCodeBits(n), Math.max(1, Math.ceil(Math.log2(n))), `n = ${n}`);
  assert.equal(denseCodeBits(2 ** 40), 40);
  assert.equal(denseCodeBits(2 ** 40 + 1), 41);
  for (const n of [0, -3, 2.5, NaN]) {
    assert.throws(() => denseCodeBits(n), (e: unknown) => isBhembedError(e) && e.message === `cardinality must be a positive integer, got ${n}` && e.details.key === 'cardinality' && Object.is(e.details.value, n));
  }
});
