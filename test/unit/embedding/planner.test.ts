// The planner keeps its promises: total memory within the target, small fields full, S minimal under the
// collision rule, t maximal under each field's share, and baselines at exactly the BH rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { planEmbeddings } from '../../../src/embedding/planner.js';
import type { PlanField } from '../../../src/embedding/planner.js';
import { createIndexer } from '../../../src/embedding/registry.js';
import { ConfigError } from '../../../src/core/errors.js';

function criteoLike(rng: Rng): PlanField[] {
  const fields: PlanField[] = [];
  for (let i = 0; i < 26; i++) fields.push({ name: `C${i + 1}`, cardinality: Math.max(1, Math.floor(10 ** (1 + rng.next() * 6.5))) });
  return fields;
}

test('byte budgets and compression targets are met; every plan builds', () => {
  const rng = new Rng(8);
  for (let trial = 0; trial < 40; trial++) {
    const fields = criteoLike(rng);
    const dim = [4, 16, 64][trial % 3];
    const strategy = trial % 2 === 0 ? 'succession' : 'skip';
    const fullBytes = fields.reduce((a, f) => a + (f.cardinality + 1) * dim * 4, 0);
    const byBytes = trial % 4 >= 2;
    const compression = [2, 10, 100, 1000][trial % 4];
    const budgetBytes = Math.floor(fullBytes / (5 + rng.int(500)));
    const plan = planEmbeddings(fields, byBytes ? { budgetBytes, dim, strategy } : { compression, dim, strategy });
    assert.equal(plan.fullBytes, fullBytes);
    assert.ok(plan.totalRows <= plan.budgetRows);
    if (byBytes) assert.ok(plan.totalBytes <= budgetBytes, `${plan.totalBytes} > ${budgetBytes}`);
    else assert.ok(plan.compression >= compression, `compression ${plan.compression} < ${compression}`);
    assert.equal(plan.totalRows, plan.fields.reduce((a, f) => a + f.rows, 0));
    for (const f of plan.fields) {
      if (f.method === 'full') {
        assert.equal(f.rows, f.cardinality + 1);
        continue;
      }
      const bh = f.bh!;
      const ix = createIndexer(bh);
      assert.equal(ix.numRows, f.rows);
      assert.ok(Math.abs(f.compression - f.fullRows / f.rows) < 1e-9);
      // S: smallest with n²/2^(S+1) ≤ 0.001·n (unless the share forced it lower)
      const n = f.cardinality;
      const ok = (S: number): boolean => (n * n) / 2 ** (S + 1) <= 0.001 * n;
      if (2 * bh.codeBits < f.budgetRows && bh.codeBits < 64) assert.ok(ok(bh.codeBits) && (bh.codeBits === 1 || !ok(bh.codeBits - 1)), `${f.field}: S=${bh.codeBits}`);
      // t: no larger t fits into the rows the whole plan leaves unused
      const leftover = plan.budgetRows - plan.totalRows;
      for (let t = bh.blockBits + 1; t <= bh.codeBits; t++) {
        const K = Math.ceil(bh.codeBits / t);
        const widths = Array.from({ length: K }, (_, k) => (strategy === 'succession' ? Math.min(t, bh.codeBits - k * t) : Math.ceil((bh.codeBits - k) / K)));
        const rows = widths.reduce((a, w) => a + 2 ** w, 0);
        assert.ok(rows <= f.rows || rows - f.rows > leftover, `${f.field}: t=${t} would still fit (${rows} rows, ${leftover} unused, ${JSON.stringify(bh)} ${f.rows})`);
      }
      const alt = f.alternatives!;
      assert.equal(alt.hash.spec.rows, f.rows);
      assert.equal(alt.qr.spec.remainder + alt.qr.spec.quotient, f.rows);
      assert.equal(alt.dhash.spec.rows, f.rows);
      for (const a of [alt.hash, alt.qr, alt.dhash]) assert.equal(createIndexer(a.spec).numRows, f.rows);
    }
  }
});

test('small fields stay full; dense ids use the bits the largest id needs and have no collisions', () => {
  const fields = [{ cardinality: 3 }, { cardinality: 1000 }, { cardinality: 5_000_000 }];
  const plan = planEmbeddings(fields, { compression: 50, dim: 8, dense: true });
  assert.deepEqual(
    plan.fields.map((f) => f.method),
    ['full', 'full', 'bh'],
  );
  const big = plan.fields[2];
  assert.equal(big.bh!.codeBits, 23); // 2^22 < 5e6 ≤ 2^23
  assert.equal(big.bh!.dense, true);
  assert.equal(big.expectedCollisions, 0);
  assert.equal(plan.fields[0].field, 'f0');
  const hashed = planEmbeddings(fields, { compression: 50, dim: 8 });
  const S = hashed.fields[2].bh!.codeBits;
  assert.equal(S, Math.ceil(Math.log2(5_000_000 / 0.001)) - 1);
  assert.ok(hashed.fields[2].expectedCollisions <= 0.001 * 5_000_000);
  assert.ok(hashed.expectedCollisions > 0);
  // at equal memory the hashing trick collides far more than BH with a long code
  assert.ok(hashed.fields[2].alternatives!.hash.expectedCollisions > 1000 * hashed.fields[2].expectedCollisions);
});

test('invalid targets throw ConfigError', () => {
  const f = [{ cardinality: 100 }];
  assert.throws(() => planEmbeddings(f, { dim: 8 }), ConfigError);
  assert.throws(() => planEmbeddings(f, { dim: 8, compression: 2, budgetBytes: 100 }), ConfigError);
  assert.throws(() => planEmbeddings(f, { dim: 0, compression: 2 }), ConfigError);
  assert.throws(() => planEmbeddings(f, { dim: 8, compression: 0.5 }), ConfigError);
  assert.throws(() => planEmbeddings([], { dim: 8, compression: 2 }), ConfigError);
  assert.throws(() => planEmbeddings([{ cardinality: 0 }], { dim: 8, compression: 2 }), ConfigError);
  assert.throws(() => planEmbeddings([{ cardinality: 1000 }], { dim: 8, budgetBytes: 32 }), /fewer than the 2/);
});
