// The baselines' rows against BigInt formulas from docs/index-spec.md, QR's uniqueness on dense ids, and the
// full vocabulary builder (min-count, order, OOV row 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { createIndexer, INDEX_METHODS } from '../../../src/embedding/registry.js';
import { FullIndexer, FullVocabBuilder } from '../../../src/embedding/full.js';
import { QrIndexer } from '../../../src/embedding/qr.js';
import type { IndexSpec } from '../../../src/embedding/config.js';
import { loadReference } from './reference-index.js';
import type { RefSpec } from './reference-index.js';

function randomIds(rng: Rng, n: number): Uint32Array {
  const ids = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) ids[i] = rng.nextU32();
  ids[0] = 0;
  ids[1] = 0;
  ids[2] = 0xffffffff;
  ids[3] = 0xffffffff;
  return ids;
}

test('hash, qr and dhash rows equal the reference formulas on random 64-bit ids', async () => {
  const ref = await loadReference();
  const rng = new Rng(5);
  const n = 3000;
  const ids = randomIds(rng, n);
  const specs: RefSpec[] = [
    { method: 'hash', rows: 1 },
    { method: 'hash', rows: 1000003 },
    { method: 'hash', rows: 2 ** 31 - 1 },
    { method: 'qr', remainder: 1, quotient: 1 },
    { method: 'qr', remainder: 1000, quotient: 999 },
    { method: 'qr', remainder: 2 ** 30, quotient: 2 ** 30 - 1 },
    { method: 'dhash', rows: 65536, hashes: 2 },
    { method: 'dhash', rows: 99991, hashes: 5 },
  ];
  for (const spec of specs) {
    const ix = createIndexer(spec);
    const k = ix.rowsPerValue;
    const out = new Int32Array(n * k + 3);
    ix.index(ids, n, out, 3);
    for (let i = 0; i < n; i++) {
      const h = (BigInt(ids[2 * i + 1]) << 32n) | BigInt(ids[2 * i]);
      const want = ref.rows(spec, h);
      assert.deepEqual(Array.from(out.subarray(3 + i * k, 3 + (i + 1) * k)), want, `${JSON.stringify(spec)} id ${h}`);
      for (const r of want) assert.ok(r >= 0 && r < ix.numRows);
    }
    assert.equal(ix.numRows, ref.numRows(spec));
  }
});

test('QR gives every dense id below m·q its own row pair', () => {
  for (const [m, q] of [[1000, 1000], [37, 4000], [4096, 17]]) {
    const qr = new QrIndexer({ method: 'qr', remainder: m, quotient: q });
    const n = m * q;
    const ids = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) ids[2 * i] = i;
    const out = new Int32Array(2 * n);
    qr.index(ids, n, out);
    const seen = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const r0 = out[2 * i];
      const r1 = out[2 * i + 1] - m;
      assert.ok(r0 >= 0 && r0 < m && r1 >= 0 && r1 < q);
      const key = r1 * m + r0;
      assert.equal(seen[key], 0, `m=${m} q=${q}: id ${i} repeats a pair`);
      seen[key] = 1;
    }
  }
});

test('double hashing: the k rows of an id are not all equal for most ids, and spread over the table', () => {
  const ix = createIndexer({ method: 'dhash', rows: 64, hashes: 2 });
  const rng = new Rng(6);
  const n = 64000;
  const ids = randomIds(rng, n);
  const out = new Int32Array(2 * n);
  ix.index(ids, n, out);
  const hist = new Array<number>(64).fill(0);
  let same = 0;
  for (let i = 0; i < n; i++) {
    hist[out[2 * i]]++;
    hist[out[2 * i + 1]]++;
    if (out[2 * i] === out[2 * i + 1]) same++;
  }
  assert.ok(same < n / 40, `${same} ids with equal rows (≈ n/64 expected)`);
  assert.ok(Math.min(...hist) > 1500 && Math.max(...hist) < 2500, `uneven: ${Math.min(...hist)}..${Math.max(...hist)}`);
});

test('FullVocabBuilder: min-count, count-then-id order, OOV row 0, JSON round trip', () => {
  const b = new FullVocabBuilder(2);
  // id (lo, hi): (5,0)×3, (1,0)×3, (0,7)×1, (9,9)×2 over two batches
  const batch1 = new Uint32Array([5, 0, 1, 0, 0, 7, 9, 9, 5, 0]);
  const batch2 = new Uint32Array([1, 0, 9, 9, 5, 0, 1, 0]);
  b.add(batch1, 5);
  b.add(batch2, 4);
  assert.equal(b.size, 4);
  const spec = b.build(2);
  assert.deepEqual(spec, { method: 'full', minCount: 2, vocab: ['0000000000000001', '0000000000000005', '0000000900000009'] });
  assert.equal(b.build(1).vocab.length, 4);
  assert.equal(b.build(1, 2).vocab.length, 2);
  const ix = createIndexer(JSON.parse(JSON.stringify(spec)));
  assert.ok(ix instanceof FullIndexer);
  assert.equal(ix.numRows, 4);
  const out = new Int32Array(5);
  ix.index(new Uint32Array([1, 0, 5, 0, 9, 9, 0, 7, 123, 456]), 5, out);
  assert.deepEqual(Array.from(out), [1, 2, 3, 0, 0]);
  assert.throws(() => createIndexer({ method: 'full', minCount: 1, vocab: ['0000000000000001', '0000000000000001'] }), /repeats/);
});

test('every registered method builds from its spec and round-trips', () => {
  const specs: Record<string, IndexSpec> = {
    bh: { method: 'bh', codeBits: 64, blockBits: 8, strategy: 'succession' },
    full: { method: 'full', minCount: 1, vocab: ['00000000000000ff'] },
    hash: { method: 'hash', rows: 10 },
    qr: { method: 'qr', remainder: 3, quotient: 4 },
    dhash: { method: 'dhash', rows: 10, hashes: 3 },
    hybrid: { method: 'hybrid', hot: ['00000000000000ff'], codeBits: 12, blockBits: 4, strategy: 'skip' },
  };
  assert.deepEqual([...INDEX_METHODS].sort(), Object.keys(specs).sort());
  for (const m of INDEX_METHODS) {
    const ix = createIndexer(specs[m]);
    assert.equal(ix.method, m);
    const again = createIndexer(JSON.parse(JSON.stringify(ix.toSpec())));
    assert.deepEqual(again.toSpec(), ix.toSpec());
  }
});
