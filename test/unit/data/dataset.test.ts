// loadDataset (concatenated chunks, multi-valued offsets rebased) and countDistinct (exact against a Set of the
// tokens, minCount, HyperLogLog within a few percent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { loadDataset } from '../../../src/data/dataset.js';
import { DistinctCounter, countDistinct } from '../../../src/data/distinct.js';
import { openReader } from '../../../src/data/open.js';
import { collect, flatten, tmpFile } from './helpers.js';

test('loadDataset: one columnar block equal to the concatenated chunks (single and multi-valued)', async () => {
  const rng = new Rng(2);
  const lines = Array.from({ length: 333 }, (_, i) => {
    const toks = Array.from({ length: 1 + rng.int(4) }, () => `${rng.int(3)}:${rng.int(100)}:1`);
    return `${i % 2} ${toks.join(' ')}`;
  });
  const path = tmpFile(lines.join('\n'));
  const chunks = await collect(await openReader('libffm', path, { chunkRows: 40 }));
  assert.equal(chunks.length, 9);
  const ds = await loadDataset('libffm', path, { chunkRows: 40 });
  assert.equal(ds.rows, 333);
  assert.equal(ds.numFields, 3);
  assert.deepEqual(flatten([ds]), flatten(chunks));
  const off = ds.fields[0].offsets as Uint32Array;
  assert.equal(off.length, 334);
  assert.equal(off[333] * 2, ds.fields[0].ids.length);
});

test('countDistinct: exact counts equal the distinct tokens per field; minCount; approx within 3%', async () => {
  const rng = new Rng(8);
  const rows: string[][] = [];
  for (let i = 0; i < 30000; i++) rows.push([String(i % 2), `a${rng.int(5)}`, `b${rng.int(20000)}`, i < 10 ? `c${i % 3}` : 'c9']);
  const path = tmpFile(['y,a,b,c', ...rows.map((r) => r.join(','))].join('\n'));
  const reader = await openReader('csv', path, { schema: { label: 'y', categorical: ['a', 'b', 'c'] }, chunkRows: 4096 });
  const want = [1, 2, 3].map((k) => new Set(rows.map((r) => r[k])).size);
  const res = await countDistinct(reader, { minCount: 2 });
  assert.deepEqual(res.distinct, want);
  assert.equal(res.rows, 30000);
  // c: c0 ×4, c1 ×3, c2 ×3, c9 ×29990 → all ≥ 2; b: values seen at least twice
  const countsB = new Map<string, number>();
  for (const r of rows) countsB.set(r[2], (countsB.get(r[2]) ?? 0) + 1);
  assert.deepEqual(res.frequent, [5, [...countsB.values()].filter((c) => c >= 2).length, 4]);
  const approx = await countDistinct(reader, { method: 'approx' });
  assert.equal(approx.approx, true);
  approx.distinct.forEach((d, f) => assert.ok(Math.abs(d - want[f]) <= 0.03 * want[f] + 1, `field ${f}: ${d} vs ${want[f]}`));
  assert.throws(() => new DistinctCounter(['x'], { method: 'bloom' as never }), { name: 'ConfigError' });
});
