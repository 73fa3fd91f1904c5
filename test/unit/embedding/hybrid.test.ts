// The hybrid index is exact (a hot value always gets its own row, once per block; any other value exactly its BH
// rows after the hot ones), checked against the bit-by-bit reference; and the hybrid planner's split holds its
// budget to the byte, keys included, and follows the stated rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { HOT_KEY_BYTES } from '../../../src/embedding/config.js';
import { HybridIndexer } from '../../../src/embedding/hybrid.js';
import { HOT_OVER_MEAN, HOT_PER_BLOCK, planHybridField } from '../../../src/embedding/hybrid-planner.js';
import { bhShapeWithin } from '../../../src/embedding/planner.js';
import { createIndexer } from '../../../src/embedding/registry.js';
import { loadReference } from './reference-index.js';

const hex = (lo: number, hi: number): string => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');

test('hot values get their own row, cold values (new ids included) exactly their BH rows after the hot rows', async () => {
  const ref = await loadReference();
  const rng = new Rng(9);
  const n = 4000;
  const ids = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) ids[i] = rng.nextU32();
  for (const [S, t, strategy, H] of [[20, 4, 'succession', 300], [33, 8, 'skip', 1], [64, 16, 'succession', 0], [7, 3, 'skip', 1000]] as const) {
    // every 4th id is hot (in a shuffled order), the rest are cold
    const hot: string[] = [];
    for (let i = 0; i < n && hot.length < H; i += 4) hot.push(hex(ids[2 * i], ids[2 * i + 1]));
    for (let i = hot.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [hot[i], hot[j]] = [hot[j], hot[i]];
    }
    const spec = { method: 'hybrid' as const, hot, codeBits: S, blockBits: t, strategy };
    const ix = createIndexer(spec) as HybridIndexer;
    const K = Math.ceil(S / t);
    assert.equal(ix.rowsPerValue, K);
    assert.equal(ix.numRows, ref.numRows(spec));
    const out = new Int32Array(n * K + 5);
    ix.index(ids, n, out, 5);
    const hotAt = new Map(hot.map((h, i) => [h, i]));
    for (let i = 0; i < n; i++) {
      const h = (BigInt(ids[2 * i + 1]) << 32n) | BigInt(ids[2 * i]);
      const got = Array.from(out.subarray(5 + i * K, 5 + (i + 1) * K));
      assert.deepEqual(got, ref.rows(spec, h), `${JSON.stringify({ S, t, strategy, H })} id ${h}`);
      const at = hotAt.get(hex(ids[2 * i], ids[2 * i + 1]));
      if (at !== undefined) assert.deepEqual(got, new Array(K).fill(at));
      else for (const r of got) assert.ok(r >= hot.length && r < ix.numRows, `cold row ${r} is a BH row`);
    }
    assert.deepEqual(createIndexer(JSON.parse(JSON.stringify(ix.toSpec()))).toSpec(), ix.toSpec());
  }
  assert.throws(() => new HybridIndexer({ method: 'hybrid', hot: ['0000000000000001', '0000000000000001'], codeBits: 8, blockBits: 4, strategy: 'succession' }), /repeats/);
  assert.throws(() => createIndexer({ method: 'hybrid', hot: ['xyz'], codeBits: 8, blockBits: 4, strategy: 'succession' }), /hot\[0\] must be 16 lower-case hex digits/);
});

/** Zipf-like counts c_i = ⌊N0 / i^s⌋ + 1 over n values. */
function zipfCounts(n: number, s: number, n0: number): { counts: Float64Array; total: number } {
  const counts = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    counts[i] = Math.floor(n0 / (i + 1) ** s) + 1;
    total += counts[i];
  }
  return { counts, total };
}

test('the hybrid split holds its budget to the byte (rows and keys) and fills it to within one hot row and key', () => {
  for (const [n, s, budgetRows, rowBytes, strategy] of [[100000, 1.1, 1000, 44, 'succession'], [5000, 0.8, 400, 44, 'skip'], [300, 1.5, 250, 20, 'succession'], [50, 1, 7, 8, 'succession']] as const) {
    const { counts, total } = zipfCounts(n, s, 1e6);
    const budgetBytes = budgetRows * rowBytes + 13; // a budget that is not a whole number of rows
    for (const hotShare of [undefined, 0, 0.5, 0.9]) {
      const p = planHybridField({ cardinality: n, counts, total, budgetBytes, rowBytes, strategy, hotShare });
      const ix = createIndexer({ method: 'hybrid', hot: Array.from({ length: p.hot }, (_, i) => hex(i + 1, 0)), codeBits: p.codeBits, blockBits: p.blockBits, strategy });
      assert.equal(ix.numRows, p.rows);
      assert.equal(p.keyBytes, HOT_KEY_BYTES * p.hot);
      assert.equal(p.bytes, ix.numRows * rowBytes + HOT_KEY_BYTES * p.hot);
      assert.ok(p.bytes <= budgetBytes, `${p.bytes} ≤ ${budgetBytes}`);
      if (p.hot < n) assert.ok(p.bytes > budgetBytes - (rowBytes + HOT_KEY_BYTES), `${p.bytes} fills ${budgetBytes}`);
      let covered = 0;
      for (let i = 0; i < p.hot; i++) covered += counts[i];
      assert.ok(Math.abs(p.hotCoverage - covered / total) < 1e-12);
    }
  }
});

test('the rule: h is hot while c_h ≥ min(M/(16K), 100·M/n_cold); a hot set that costs BH a step is kept only if it carries the rows it costs', () => {
  const rowBytes = 40;
  const per = rowBytes + HOT_KEY_BYTES;
  let kept = 0;
  let dropped = 0;
  for (const [n, s, budgetRows] of [[100000, 1.1, 1000], [20000, 0.7, 3000], [4000, 1.3, 400], [4000, 0.5, 200], [185000, 1.1, 40]] as const) {
    const { counts, total } = zipfCounts(n, s, 1e6);
    const B = budgetRows * rowBytes;
    const p = planHybridField({ cardinality: n, counts, total, budgetBytes: B, rowBytes });
    // the rule's own h, by brute force
    const R = (h: number): number => Math.floor((B - h * per) / rowBytes);
    const none = bhShapeWithin(n, R(0), 'succession') as { rows: number; blocks: number };
    const K = none.blocks;
    assert.ok(K > 1);
    let h = 0;
    let cov = 0;
    const hot = (i: number, c: number): boolean => {
      const m = total - c - counts[i];
      return counts[i] * HOT_PER_BLOCK * K >= m || counts[i] * (n - i - 1) >= HOT_OVER_MEAN * m;
    };
    while (R(h + 1) >= 2 && hot(h, cov)) cov += counts[h++];
    assert.ok(R(h + 1) < 2 || !hot(h, cov), 'the next value fails the rule');
    // either the rule's hot set (and more, from the bytes BH leaves), or BH's no-hot shape with hot values only in the bytes it leaves
    const withRule = bhShapeWithin(n - h, R(h), 'succession') as { rows: number };
    if (p.hot >= h && p.bhRows === withRule.rows) {
      kept++;
      if (withRule.rows < none.rows) {
        const perRow = Math.min(total / (HOT_PER_BLOCK * K), (HOT_OVER_MEAN * total) / n);
        let covNone = 0;
        for (let i = 0; i < Math.floor((B - none.rows * rowBytes) / per); i++) covNone += counts[i];
        assert.ok((p.hotCoverage - covNone / total) * total >= (none.rows - withRule.rows) * perRow - 1e-6);
      }
    } else {
      dropped++;
      assert.equal(p.bhRows, none.rows);
      assert.equal(p.hot, Math.min(n, Math.floor((B - none.rows * rowBytes) / per)));
    }
    assert.ok(p.bytes <= B && p.bytes > B - per);
  }
  assert.ok(kept > 0 && dropped > 0, `both outcomes exercised: kept ${kept}, dropped ${dropped}`);
});
