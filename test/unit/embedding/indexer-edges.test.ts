// The edges of the baseline indexers that their vector tests do not reach: no indexer writes past the n values it
// was asked for (the rest of the caller's output keeps its contents), toSpec() hands out copies, a repeated id is a
// ConfigError naming its position, FullVocabBuilder's order (count descending, then id ascending by high word, then
// low word) and its minCount check, and the registry's unknown-method error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBhembedError } from '../../../src/core/errors.js';
import type { IndexSpec } from '../../../src/embedding/config.js';
import { FullIndexer, FullVocabBuilder } from '../../../src/embedding/full.js';
import { HybridIndexer } from '../../../src/embedding/hybrid.js';
import { createIndexer, INDEX_METHODS, isIndexMethod } from '../../../src/embedding/registry.js';

const A = '00000001000000aa';
const B = '0000000200000001';

test('every indexer writes exactly n · rowsPerValue rows at outOffset and nothing after them', () => {
  const specs: IndexSpec[] = [
    { method: 'hash', rows: 7 },
    { method: 'dhash', rows: 11, hashes: 3 },
    { method: 'full', minCount: 1, vocab: [A, B] },
    { method: 'hybrid', hot: [A], codeBits: 8, blockBits: 3, strategy: 'succession' },
    { method: 'qr', remainder: 5, quotient: 3 },
    { method: 'bh', codeBits: 10, blockBits: 4, strategy: 'skip', dense: false },
  ];
  const ids = Uint32Array.of(0xaa, 1, 1, 2, 0x12345678, 0x9abcdef0, 5, 0);
  for (const spec of specs) {
    const ix = createIndexer(spec);
    const K = ix.rowsPerValue;
    const out = new Int32Array(2 + 4 * K + 8).fill(-7);
    ix.index(ids, 3, out, 2);
    assert.deepEqual(Array.from(out.subarray(0, 2)), [-7, -7], `${spec.method}: nothing before outOffset`);
    assert.ok(out.subarray(2, 2 + 3 * K).every((r) => r >= 0 && r < ix.numRows), `${spec.method}: rows in range`);
    assert.ok(out.subarray(2 + 3 * K).every((r) => r === -7), `${spec.method}: nothing written past the 3 values asked for (${Array.from(out.subarray(2 + 3 * K)).join(',')})`);
  }
});

test('toSpec() returns copies: changing one does not change the indexer', () => {
  const full = new FullIndexer({ method: 'full', minCount: 1, vocab: [A, B] });
  (full.toSpec() as { vocab: string[] }).vocab.push('ffffffffffffffff');
  assert.deepEqual((full.toSpec() as { vocab: string[] }).vocab, [A, B]);
  const hy = new HybridIndexer({ method: 'hybrid', hot: [A], codeBits: 8, blockBits: 3, strategy: 'succession' });
  (hy.toSpec() as { hot: string[] }).hot.push(B);
  assert.deepEqual((hy.toSpec() as { hot: string[] }).hot, [A]);
});

test('a repeated id in full\'s vocab or hybrid\'s hot list is a ConfigError naming its position', () => {
  const says = (make: () => unknown, message: string, key: string): void =>
    assert.throws(make, (e: unknown) => isBhembedError(e) && e.code === 'config.invalid' && e.message === message && e.details.key === key);
  says(() => new FullIndexer({ method: 'full', minCount: 1, vocab: [A, B, A] }), `index.vocab[2] repeats hash id ${A}; each id may appear once`, 'index.vocab[2]');
  says(() => new HybridIndexer({ method: 'hybrid', hot: [B, B], codeBits: 8, blockBits: 3, strategy: 'skip' }), `index.hot[1] repeats hash id ${B}; each id may appear once`, 'index.hot[1]');
});

test('FullVocabBuilder: count descending, ties by high word then low word ascending; minCount and maxSize', () => {
  const b = new FullVocabBuilder(4);
  // (lo, hi) pairs: counts 3 for X; 2 each for three ids that tie (ordered by hi, then lo); 1 for Z.
  const X = [9, 9];
  const t1 = [5, 1];
  const t2 = [3, 2];
  const t3 = [4, 2];
  const Z = [1, 0];
  const add = (...pairs: number[][]): void => b.add(Uint32Array.from(pairs.flat()), pairs.length);
  add(t3, X, t2, Z, t1, X);
  add(t2, t1, X, t3);
  const hex = ([lo, hi]: number[]): string => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  assert.equal(b.size, 5);
  assert.deepEqual(b.build().vocab, [X, t1, t2, t3, Z].map(hex));
  assert.deepEqual(b.build(2).vocab, [X, t1, t2, t3].map(hex), 'minCount 2 drops the id seen once');
  assert.deepEqual(b.build(1, 2).vocab, [X, t1].map(hex), 'maxSize 2 keeps the two most frequent');
  assert.equal(b.build(3).minCount, 3);
  for (const bad of [0, 1.5]) {
    assert.throws(() => b.build(bad), (e: unknown) => isBhembedError(e) && e.message === `minCount must be an integer ≥ 1, got ${bad}` && e.details.key === 'minCount' && e.details.value === bad);
  }
});

test('registry: every method builds; an unknown one is the ConfigError that lists them', () => {
  for (const m of INDEX_METHODS) assert.equal(isIndexMethod(m), true, m);
  assert.equal(isIndexMethod('lsh'), false);
  assert.throws(() => createIndexer({ method: 'lsh' } as unknown as IndexSpec), (e: unknown) => isBhembedError(e) && e.message === 'index.method must be one of: bh, full, hash, qr, dhash, hybrid; got "lsh"');
  assert.throws(() => createIndexer(null as unknown as IndexSpec), (e: unknown) => isBhembedError(e) && e.message === 'index must be an object with a "method" key');
});
