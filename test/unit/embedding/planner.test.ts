// The planner keeps its promises: total memory within the target, small fields full, S at least the collision
// rule's minimum, no (S, t) shape with more rows that still fits, and baselines at exactly the BH rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { PLAN_ROW_SLACK, bhShapeWithin, hashedCodeBits, planEmbeddings } from '../../../src/embedding/planner.js';
import type { EmbeddingPlan, FieldPlan, PlanField } from '../../../src/embedding/planner.js';
import { bhBlockWidths, bhNumRows, denseCodeBits } from '../../../src/embedding/config.js';
import type { BhStrategy } from '../../../src/embedding/config.js';
import { createIndexer } from '../../../src/embedding/registry.js';
import { ConfigError } from '../../../src/core/errors.js';

function criteoLike(rng: Rng): PlanField[] {
  const fields: PlanField[] = [];
  for (let i = 0; i < 26; i++) fields.push({ name: `C${i + 1}`, cardinality: Math.max(1, Math.floor(10 ** (1 + rng.next() * 6.5))) });
  return fields;
}

/** Smallest S with n²/2^(S+1) ≤ 0.001·n, by counting up (not by the planner's formula). */
function minHashedBits(n: number): number {
  let S = 1;
  while (S < 64 && (n * n) / 2 ** (S + 1) > 0.001 * n) S++;
  return S;
}

/**
 * One BH field of a plan against the contract, by brute force with bhNumRows over the shapes (S', t') with
 * S' ≥ the minimum (dense ids and succession: S' = the minimum): S ≥ the collision-rule minimum (unless the share is below the 2·S
 * rows that S bits need), collisions from the chosen S; rows at least (1 − PLAN_ROW_SLACK) of the most rows that
 * fit the share, and no shape with fewer blocks in that range; no shape with more rows and no more blocks that
 * fits in the field's rows + the plan's leftover; no shape with the same rows and fewer blocks (or as many blocks
 * and a shorter code).
 */
function checkShape(plan: EmbeddingPlan, f: FieldPlan, strategy: BhStrategy, dense: boolean): void {
  const bh = f.bh!;
  const n = f.cardinality;
  const minS = dense ? denseCodeBits(n) : minHashedBits(n);
  const forced = f.budgetRows < 2 * minS;
  const what = `${f.field} (n=${n}, share ${f.budgetRows}, ${f.rows} rows, S=${bh.codeBits} t=${bh.blockBits} ${strategy})`;
  if (forced) assert.ok(bh.codeBits <= minS, `${what}: a forced code is shorter than ${minS}`);
  else assert.ok(bh.codeBits >= minS, `${what}: S below the minimum ${minS}`);
  if (!forced && strategy === 'succession') assert.equal(bh.codeBits, minS, `${what}: succession keeps the minimum S`);
  if (dense) {
    if (!forced) assert.equal(bh.codeBits, minS, what);
    if (!forced) assert.equal(f.expectedCollisions, 0, what);
  } else {
    assert.ok(Math.abs(f.expectedCollisions - (n * (n - 1)) / 2 ** (bh.codeBits + 1)) <= 1e-9 * (1 + f.expectedCollisions), what);
    if (!forced) assert.ok(f.expectedCollisions <= 0.001 * n, what);
  }
  assert.equal(bhNumRows(bh.codeBits, bh.blockBits, strategy), f.rows, what);
  const K = Math.ceil(bh.codeBits / bh.blockBits);
  const leftover = plan.budgetRows - plan.totalRows;
  const shapes: Array<{ S: number; t: number; k: number; rows: number }> = [];
  for (let S = minS; S <= (dense || strategy === 'succession' ? minS : 64); S++) for (let t = 1; t <= S; t++) shapes.push({ S, t, k: Math.ceil(S / t), rows: bhNumRows(S, t, strategy) });
  if (!forced) {
    const most = Math.max(...shapes.filter((c) => c.rows <= f.budgetRows).map((c) => c.rows));
    const floor = (1 - PLAN_ROW_SLACK) * most;
    assert.ok(f.rows >= floor, `${what}: ${f.rows} rows, below ${floor} (the most that fit the share: ${most})`);
    for (const c of shapes) {
      if (c.rows >= floor && c.rows <= f.budgetRows) assert.ok(c.k >= K, `${what}: S'=${c.S} t'=${c.t} has ${c.rows} rows within the slack with ${c.k} < ${K} blocks`);
    }
  }
  for (const { S, t, k, rows } of shapes) {
    assert.ok(rows <= f.rows || k > K || rows - f.rows > leftover, `${what}: S'=${S} t'=${t} (${rows} rows, ${k} blocks) would still fit, ${leftover} unused`);
    if (!forced && rows === f.rows) assert.ok(k > K || (k === K && S >= bh.codeBits), `${what}: S'=${S} t'=${t} has the same rows with ${k} blocks`);
  }
}

test('byte budgets and compression targets are met; every plan builds; no shape with more rows still fits', () => {
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
    // The reported sizes: bytes = rows · dim · 4, compression = fullRows / rows, collisions summed over the fields.
    assert.equal(plan.totalBytes, plan.totalRows * dim * 4, 'plan.totalBytes');
    assert.equal(plan.fullRows, fields.reduce((a, f) => a + f.cardinality + 1, 0), 'plan.fullRows');
    assert.equal(plan.compression, plan.fullRows / plan.totalRows, 'plan.compression');
    assert.equal(plan.expectedCollisions, plan.fields.reduce((a, f) => a + f.expectedCollisions, 0), 'plan.expectedCollisions');
    assert.equal(plan.budgetRows, byBytes ? Math.floor(budgetBytes / (dim * 4)) : Math.floor(plan.fullRows / compression), 'plan.budgetRows');
    assert.match(plan.collisionRule, /^hashed ids: S ≥ the smallest S with expected colliding code pairs n²\/2\^\(S\+1\) ≤ 0\.001·n/);
    for (const f of plan.fields) {
      assert.equal(f.bytes, f.rows * dim * 4, `${f.field}: bytes`);
      assert.equal(f.fullRows, f.cardinality + 1, `${f.field}: fullRows`);
      if (f.method === 'full') {
        assert.equal(f.rows, f.cardinality + 1);
        assert.equal(f.compression, 1);
        assert.equal(f.expectedCollisions, 0);
        continue;
      }
      const n = f.cardinality;
      const pairs = (cells: number): number => (n * (n - 1)) / (2 * cells);
      assert.equal(f.expectedCollisions, pairs(2 ** f.bh!.codeBits), `${f.field}: BH code collisions n(n−1)/2^(S+1)`);
      assert.equal(f.alternatives!.hash.expectedCollisions, pairs(f.rows), `${f.field}: hashing-trick collisions`);
      assert.equal(f.alternatives!.dhash.expectedCollisions, pairs(f.rows * f.rows), `${f.field}: double-hash collisions`);
      const { remainder: m, quotient: q } = f.alternatives!.qr.spec;
      assert.equal(m, Math.ceil(f.rows / 2), `${f.field}: QR remainder m = ⌈rows/2⌉`);
      assert.equal(f.alternatives!.qr.expectedCollisions, pairs(m * q), `${f.field}: QR collisions`);
      assert.equal(f.alternatives!.qr.rows, m + q);
      const bh = f.bh!;
      const ix = createIndexer(bh);
      assert.equal(ix.numRows, f.rows);
      assert.ok(Math.abs(f.compression - f.fullRows / f.rows) < 1e-9);
      assert.equal(bh.strategy, strategy);
      checkShape(plan, f, strategy, false);
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
  assert.ok(S >= Math.ceil(Math.log2(5_000_000 / 0.001)) - 1, `S=${S}`);
  assert.equal(hashedCodeBits(5_000_000), minHashedBits(5_000_000));
  assert.ok(hashed.fields[2].expectedCollisions <= 0.001 * 5_000_000);
  assert.ok(hashed.expectedCollisions > 0);
  // at equal memory the hashing trick collides far more than BH with a long code
  assert.ok(hashed.fields[2].alternatives!.hash.expectedCollisions > 1000 * hashed.fields[2].expectedCollisions);
});

test('dense ids and collision rates: random plans keep the contract for both strategies', () => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 16; trial++) {
    const fields: PlanField[] = [];
    const count = 1 + rng.int(6);
    for (let i = 0; i < count; i++) fields.push({ cardinality: Math.max(1, Math.floor(10 ** (rng.next() * 6))) });
    const strategy: BhStrategy = trial % 2 === 0 ? 'succession' : 'skip';
    const dense = trial % 4 < 2;
    const compression = [3, 10, 30, 100][rng.int(4)];
    let plan: EmbeddingPlan;
    try {
      plan = planEmbeddings(fields, { compression, dim: 8, strategy, dense });
    } catch (e) {
      assert.match(String(e), /fewer than the 2 rows/);
      continue;
    }
    assert.ok(plan.totalRows <= plan.budgetRows);
    for (const f of plan.fields) {
      if (f.method === 'full') continue;
      assert.equal(createIndexer(f.bh!).numRows, f.rows);
      assert.equal(f.bh!.dense, dense);
      checkShape(plan, f, strategy, dense);
    }
  }
});

test('skip fills its budget like succession (several large fields at 10×)', () => {
  const sets = [
    [1892, 12523, 9749],
    [957, 4082, 233],
    [1000, 3000, 10_000, 30_000, 100_000],
    [5000, 5000, 70_000],
    [20_000, 50_000, 100_000],
  ];
  for (const cards of sets) {
    const fields = cards.map((cardinality) => ({ cardinality }));
    const succ = planEmbeddings(fields, { compression: 10, dim: 10, strategy: 'succession' });
    const skip = planEmbeddings(fields, { compression: 10, dim: 10, strategy: 'skip' });
    const what = `${cards.join(',')}: skip ${skip.totalRows}, succession ${succ.totalRows}, budget ${skip.budgetRows}`;
    assert.ok(skip.fields.filter((f) => f.method === 'bh').length >= 2, what);
    assert.ok(skip.totalRows <= skip.budgetRows && succ.totalRows <= succ.budgetRows, what);
    // each field within the slack of the most rows that fit its share, which is itself within ~2 % of the share
    const least = (1 - PLAN_ROW_SLACK) * 0.98;
    assert.ok(skip.totalRows >= least * skip.budgetRows, what);
    // succession keeps S at the minimum (finer steps already; see LONGER_CODES_FOR), so skip may now plan more rows
    assert.ok(skip.totalRows >= least * succ.totalRows, what);
    for (const f of skip.fields) if (f.method === 'bh') checkShape(skip, f, 'skip', false);
  }
});

test('a share below 2·S_min rows forces a shorter code that still fits', () => {
  for (const strategy of ['succession', 'skip'] as const) {
    // one field of a million values (S_min = 29) in 20 rows: S = 10 bits; t = 1 (10 blocks) and t = 2 (5 blocks of 4 rows) both give 20 rows, fewer blocks win
    const plan = planEmbeddings([{ cardinality: 1_000_000 }], { budgetBytes: 20 * 4 * 4, dim: 4, strategy });
    const f = plan.fields[0];
    assert.equal(plan.budgetRows, 20);
    assert.deepEqual([f.bh!.codeBits, f.bh!.blockBits, f.rows], [10, 2, 20]);
    assert.equal(createIndexer(f.bh!).numRows, 20);
    checkShape(plan, f, strategy, false);
  }
});

test('dense ids: QR has no collisions exactly when m·q ≥ n; the plan says which rule it used', () => {
  // A dense field of n ids planned into R rows: m = ⌈R/2⌉, q = R − m. Find targets where m·q lands on n exactly.
  let hit = 0;
  for (let n = 200; n < 3000 && hit < 3; n++) {
    for (let comp = 1.5; comp < 40; comp *= 1.07) {
      const plan = planEmbeddings([{ cardinality: n }], { compression: comp, dim: 4, dense: true });
      const f = plan.fields[0];
      if (f.method !== 'bh') continue;
      assert.equal(plan.collisionRule, 'dense ids: S = bits the largest id needs, no code collisions');
      const { remainder: m, quotient: q } = f.alternatives!.qr.spec;
      const want = m * q >= n ? 0 : (n * (n - 1)) / (2 * m * q);
      assert.equal(f.alternatives!.qr.expectedCollisions, want, `n ${n}, m ${m}, q ${q}`);
      if (m * q === n) hit++;
    }
  }
  assert.ok(hit > 0, 'some plan has m·q = n exactly');
});

test('invalid targets throw ConfigError', () => {
  const says = (fields: PlanField[], target: Parameters<typeof planEmbeddings>[1], message: string, key: string): void =>
    assert.throws(() => planEmbeddings(fields, target), (e: unknown) => e instanceof ConfigError && e.message === message && e.details.key === key);
  says([{ cardinality: 9 }], { dim: 1.5, compression: 2 }, 'plan.dim must be an integer ≥ 1, got 1.5', 'plan.dim');
  says([{ cardinality: 9 }], { dim: 4, compression: 2, bytesPerElement: 0 }, 'plan.bytesPerElement must be > 0, got 0', 'plan.bytesPerElement');
  says([{ cardinality: 9 }], { dim: 4, compression: 2, maxCollisionRate: 0 }, 'plan.maxCollisionRate must be > 0, got 0', 'plan.maxCollisionRate');
  says([{ cardinality: 9 }], { dim: 4, compression: 2, strategy: 'x' as BhStrategy }, 'plan.strategy must be one of: succession, skip; got "x"', 'plan.strategy');
  says([], { dim: 4, compression: 2 }, 'plan needs at least one field', 'plan.fields');
  says([{ cardinality: 9 }], { dim: 4, compression: 2, codeBits: 65 }, 'plan.codeBits must be an integer in [1, 64], got 65', 'plan.codeBits');
  says([{ cardinality: 9 }], { dim: 4, compression: 2, codeBits: 0 }, 'plan.codeBits must be an integer in [1, 64], got 0', 'plan.codeBits');
  says([{ cardinality: 9 }, { cardinality: 2.5 }], { dim: 4, compression: 2 }, 'plan.fields[1].cardinality must be an integer ≥ 1, got 2.5', 'plan.fields[1].cardinality');
  says([{ cardinality: 9 }], { dim: 4 }, 'plan needs exactly one of compression (e.g. 100 for 100×) and budgetBytes', 'plan.compression');
  says([{ cardinality: 9 }], { dim: 4, compression: 0.9 }, 'plan.compression must be ≥ 1, got 0.9', 'plan.compression');
  says([{ cardinality: 9 }], { dim: 4, budgetBytes: 0 }, 'plan.budgetBytes must be > 0, got 0', 'plan.budgetBytes');
  assert.ok(planEmbeddings([{ cardinality: 9 }], { dim: 4, compression: 1, codeBits: 64, bytesPerElement: 2 }).totalBytes > 0, 'the edges themselves are accepted');
  const f = [{ cardinality: 100 }];
  assert.throws(() => planEmbeddings(f, { dim: 8 }), ConfigError);
  assert.throws(() => planEmbeddings(f, { dim: 8, compression: 2, budgetBytes: 100 }), ConfigError);
  assert.throws(() => planEmbeddings(f, { dim: 0, compression: 2 }), ConfigError);
  assert.throws(() => planEmbeddings(f, { dim: 8, compression: 0.5 }), ConfigError);
  assert.throws(() => planEmbeddings([], { dim: 8, compression: 2 }), ConfigError);
  assert.throws(() => planEmbeddings([{ cardinality: 0 }], { dim: 8, compression: 2 }), ConfigError);
  assert.throws(() => planEmbeddings([{ cardinality: 1000 }], { dim: 8, budgetBytes: 32 }), /fewer than the 2/);
});

test('a share under 2 rows: the error gives the largest compression / smallest budget that plans, and a worse one fails', () => {
  const tooSmall = /fewer than the 2 rows a compressed field needs/;
  const rng = new Rng(33);
  let checked = 0;
  for (let trial = 0; trial < 40; trial++) {
    const fields: PlanField[] = [];
    const count = 2 + rng.int(30);
    for (let i = 0; i < count; i++) fields.push({ name: `I${i}`, cardinality: Math.max(1, Math.floor(10 ** (rng.next() * 4))) });
    const dim = 1 + rng.int(16);
    const compression = [50, 300, 1000, 1e5][rng.int(4)];
    let err: Error | null = null;
    try {
      planEmbeddings(fields, { compression, dim });
    } catch (e) {
      err = e as Error;
    }
    if (err === null) continue;
    const c = Number(/lower the compression to at most ([0-9.]+) \(/.exec(err.message)?.[1]);
    assert.ok(c >= 1 && c < compression, err.message);
    assert.doesNotThrow(() => planEmbeddings(fields, { compression: c, dim }), `compression ${c}`);
    assert.throws(() => planEmbeddings(fields, { compression: c + 0.01, dim }), tooSmall, `compression ${c + 0.01}`);
    // The same fields under a byte budget: the smallest budget plans, one byte less (and any less) does not.
    const bytesErr = (() => {
      try {
        planEmbeddings(fields, { budgetBytes: 1, dim });
      } catch (e) {
        return e as Error;
      }
      return null;
    })() as Error;
    const bytes = Number(/raise the budget to at least (\d+) bytes/.exec(bytesErr.message)?.[1]);
    assert.ok(bytes > 0 && bytes % (4 * dim) === 0, bytesErr.message);
    assert.doesNotThrow(() => planEmbeddings(fields, { budgetBytes: bytes, dim }));
    assert.throws(() => planEmbeddings(fields, { budgetBytes: bytes - 1, dim }), tooSmall);
    for (let k = 0; k < 5; k++) assert.throws(() => planEmbeddings(fields, { budgetBytes: Math.max(1, bytes - 4 * dim * (1 + rng.int(bytes / (4 * dim)))), dim }), tooSmall);
    checked++;
  }
  assert.ok(checked >= 10, `${checked} infeasible plans checked`);
});

test('QR at equal memory splits the rows evenly (the most distinct pairs m·q for m + q rows), and its collision counts follow', () => {
  const rng = new Rng(33);
  const pairs = (n: number, cells: number): number => (n * (n - 1)) / (2 * cells);
  let checked = 0;
  for (let trial = 0; trial < 12; trial++) {
    const dense = trial % 3 === 0;
    const plan = planEmbeddings(criteoLike(rng), { compression: [4, 30, 300][trial % 3], dim: 8, dense, strategy: trial % 2 === 0 ? 'succession' : 'skip' });
    for (const f of plan.fields) {
      if (f.method !== 'bh') continue;
      const { qr, hash, dhash } = f.alternatives!;
      const m = qr.spec.remainder;
      const q = qr.spec.quotient;
      const what = `${f.field}: ${f.rows} rows split into remainder ${m} + quotient ${q}`;
      assert.equal(m + q, f.rows, `${what}: QR must use exactly the BH rows`);
      assert.ok(m >= q && m - q <= 1, `${what}: QR must split the rows evenly (m = ⌈rows/2⌉), not collapse towards one table`);
      assert.equal(qr.rows, f.rows);
      const n = f.cardinality;
      assert.equal(qr.expectedCollisions, dense && m * q >= n ? 0 : pairs(n, m * q), `${what}: expected collisions over m·q = ${m * q} pairs`);
      assert.equal(hash.expectedCollisions, pairs(n, f.rows), `${f.field}: hashing trick collisions over ${f.rows} rows`);
      assert.equal(dhash.expectedCollisions, pairs(n, f.rows * f.rows), `${f.field}: double hashing collisions over rows²`);
      assert.deepEqual(dhash.spec, { method: 'dhash', rows: f.rows, hashes: 2 });
      checked++;
    }
  }
  assert.ok(checked > 50, `${checked} compressed fields checked`);
  // The balanced split is what makes QR lossless below m·q: ids 0 … m·q − 1 get distinct row pairs.
  const plan = planEmbeddings([{ cardinality: 5000 }], { compression: 50, dim: 4, dense: true });
  const { spec } = plan.fields[0].alternatives!.qr;
  assert.deepEqual([spec.remainder, spec.quotient], [Math.ceil(plan.fields[0].rows / 2), Math.floor(plan.fields[0].rows / 2)]);
  const ix = createIndexer(spec);
  const cells = spec.remainder * spec.quotient;
  const ids = new Uint32Array(2 * cells);
  for (let i = 0; i < cells; i++) ids[2 * i] = i;
  const rows = new Int32Array(2 * cells);
  ix.index(ids, cells, rows);
  const seen = new Set<number>();
  for (let i = 0; i < cells; i++) seen.add(rows[2 * i] * 1e6 + rows[2 * i + 1]);
  assert.equal(seen.size, cells, `ids 0 … ${cells - 1} must get distinct (remainder, quotient) rows`);
});

test('codeBits pins S for every compressed field (a paper setting); t is still planned within the budget, and a share under 2·S rows shortens it', () => {
  const plan = planEmbeddings;
  const fields = [{ cardinality: 1e6 }, { cardinality: 5e4 }, { cardinality: 3 }];
  for (const S of [64, 40, 24]) {
    const p = plan(fields, { compression: 100, dim: 8, codeBits: S });
    assert.ok(p.totalRows <= p.budgetRows);
    for (const f of p.fields) {
      if (f.method === 'full') continue;
      assert.equal(f.bh?.codeBits, S);
      assert.ok(f.rows <= p.budgetRows);
    }
    const skip = plan(fields, { compression: 100, dim: 8, codeBits: S, strategy: 'skip' });
    for (const f of skip.fields) if (f.method === 'bh') assert.equal(f.bh?.codeBits, S);
  }
  // 1000 rows in all: the 50k-value field's share is under 2·64 rows, so S = 64 is cut to floor(share / 2)
  const tiny = plan(fields, { budgetBytes: 200 * 32, dim: 8, codeBits: 64 });
  for (const f of tiny.fields) if (f.method === 'bh') assert.equal(f.bh?.codeBits, Math.floor(f.budgetRows / 2));
  assert.throws(() => plan(fields, { compression: 100, dim: 8, codeBits: 65 }), /plan.codeBits must be an integer in \[1, 64\]/);
});

test('bhShapeWithin: the fewest blocks within PLAN_ROW_SLACK of the most rows that fit (ties: more rows, shorter S); S from the rule, codeBits or rows/2; null under 2 rows', () => {
  const rng = new Rng(5);
  const spec = (minS: number, rows: number, strategy: BhStrategy, pinned: boolean): { codeBits: number; blockBits: number; rows: number; blocks: number } => {
    const lo = Math.min(minS, Math.floor(rows / 2));
    const all: Array<{ codeBits: number; blockBits: number; rows: number; blocks: number }> = [];
    for (let S = lo; S <= (strategy === 'skip' && !pinned ? 64 : lo); S++) {
      for (let t = 1; t <= S; t++) {
        const r = bhNumRows(S, t, strategy);
        if (r <= rows) all.push({ codeBits: S, blockBits: Math.max(...bhBlockWidths(S, t, strategy)), rows: r, blocks: Math.ceil(S / t) });
      }
    }
    const most = Math.max(...all.map((c) => c.rows));
    return all.filter((c) => c.rows >= (1 - PLAN_ROW_SLACK) * most).sort((a, b) => a.blocks - b.blocks || b.rows - a.rows || a.codeBits - b.codeBits)[0];
  };
  for (let trial = 0; trial < 60; trial++) {
    const n = Math.max(1, Math.floor(10 ** (rng.next() * 7)));
    const rows = 2 + Math.floor(10 ** (rng.next() * 5));
    const strategy: BhStrategy = trial % 2 === 0 ? 'succession' : 'skip';
    const rate = [0.001, 0.01, 0.3][trial % 3];
    const codeBits = trial % 5 === 4 ? 1 + rng.int(64) : undefined;
    const got = bhShapeWithin(n, rows, strategy, rate, codeBits);
    const minS = codeBits ?? minHashedBitsAt(n, rate);
    assert.deepEqual(got, spec(minS, rows, strategy, codeBits !== undefined), `n ${n}, ${rows} rows, ${strategy}, rate ${rate}, codeBits ${codeBits}`);
  }
  assert.deepEqual(bhShapeWithin(1000, 2, 'succession'), { codeBits: 1, blockBits: 1, rows: 2, blocks: 1 });
  assert.equal(bhShapeWithin(1000, 1, 'succession'), null);
  assert.equal(bhShapeWithin(1000, 1, 'skip', 0.001, 8), null);
  assert.equal(bhShapeWithin(5000, 1e6, 'succession')?.codeBits, hashedCodeBits(5000), 'the default rate is 0.001');
});

/** Smallest S with n²/2^(S+1) ≤ rate·n, by counting up. */
function minHashedBitsAt(n: number, rate: number): number {
  let S = 1;
  while (S < 64 && (n * n) / 2 ** (S + 1) > rate * n) S++;
  return S;
}

/**
 * planEmbeddings' documented rule, by brute force over lists of shapes (bhNumRows): water-filling from the smallest
 * full table (ties: field order; a lower-bound field never full), per compressed field the fewest blocks within
 * PLAN_ROW_SLACK of the most rows that fit its share (ties: more rows, shorter S), then the leftover rows, largest
 * field first and round after round, each time to the field's smallest larger row count with no more blocks that
 * fits (ties: fewer blocks, shorter S).
 */
function referencePlan(fields: PlanField[], budgetRows: number, strategy: BhStrategy, dense: boolean): Array<{ method: string; rows: number; S?: number; t?: number }> {
  const full = fields.map((f) => (f.lowerBound === true ? Infinity : f.cardinality + 1));
  const order = fields.map((_, i) => i).sort((a, b) => full[a] - full[b] || a - b);
  const isFull = fields.map(() => false);
  const share = fields.map(() => 0);
  let left = budgetRows;
  let pos = 0;
  while (pos < order.length && full[order[pos]] <= Math.floor(left / (order.length - pos))) {
    isFull[order[pos]] = true;
    left -= full[order[pos]];
    pos++;
  }
  type Shape = { S: number; t: number; K: number; rows: number };
  const shapesOf = (i: number): Shape[] => {
    const n = fields[i].cardinality;
    const lo = Math.min(dense ? denseCodeBits(n) : minHashedBits(n), Math.floor(share[i] / 2));
    const out: Shape[] = [];
    for (let S = lo; S <= (dense || strategy === 'succession' ? lo : 64); S++) {
      for (let t = 1; t <= S; t++) out.push({ S, t: Math.max(...bhBlockWidths(S, t, strategy)), K: Math.ceil(S / t), rows: bhNumRows(S, t, strategy) });
    }
    return out;
  };
  const shape: Shape[] = [];
  let used = 0;
  for (let i = 0; i < fields.length; i++) {
    if (isFull[i]) {
      used += full[i];
      continue;
    }
    share[i] = Math.floor(left / (order.length - pos));
    const fit = shapesOf(i).filter((c) => c.rows <= share[i]);
    const most = Math.max(...fit.map((c) => c.rows));
    shape[i] = fit.filter((c) => c.rows >= (1 - PLAN_ROW_SLACK) * most).sort((a, b) => a.K - b.K || b.rows - a.rows || a.S - b.S)[0];
    used += shape[i].rows;
  }
  const largestFirst = order.slice(pos).reverse();
  for (let grew = true; grew; ) {
    grew = false;
    for (const i of largestFirst) {
      const now = shape[i];
      const next = shapesOf(i)
        .filter((c) => c.rows > now.rows && c.rows - now.rows <= budgetRows - used && c.K <= now.K)
        .sort((a, b) => a.rows - b.rows || a.K - b.K || a.S - b.S)[0];
      if (next !== undefined) {
        used += next.rows - now.rows;
        shape[i] = next;
        grew = true;
      }
    }
  }
  return fields.map((f, i) => (isFull[i] ? { method: 'full', rows: full[i] } : { method: 'bh', rows: shape[i].rows, S: shape[i].S, t: shape[i].t }));
}

test("every field of a plan is the documented rule's shape (water-filling, slack, largest field first with the leftover), checked against a brute-force reference", () => {
  const rng = new Rng(44);
  let compressed = 0;
  for (let trial = 0; trial < 60; trial++) {
    const fields: PlanField[] = [];
    const count = 1 + rng.int(7);
    for (let i = 0; i < count; i++) fields.push({ name: `F${i}`, cardinality: Math.max(1, Math.floor(10 ** (rng.next() * 5))), lowerBound: rng.int(6) === 0 });
    // some fields of equal size (ties in the water-filling order)
    if (count > 2 && trial % 4 === 0) fields[1] = { ...fields[1], cardinality: fields[0].cardinality };
    const strategy: BhStrategy = trial % 2 === 0 ? 'succession' : 'skip';
    const dense = trial % 5 === 0;
    const dim = 1 + rng.int(8);
    const budgetBytes = dim * 4 * (2 * count + rng.int(2 * fields.reduce((a, f) => a + f.cardinality + 1, 0)));
    let plan: EmbeddingPlan;
    try {
      plan = planEmbeddings(fields, { budgetBytes, dim, strategy, dense });
    } catch (e) {
      assert.match(String(e), /fewer than the 2 rows/);
      continue;
    }
    const want = referencePlan(fields, Math.floor(budgetBytes / (dim * 4)), strategy, dense);
    const got = plan.fields.map((f) => (f.method === 'full' ? { method: 'full', rows: f.rows } : { method: 'bh', rows: f.rows, S: f.bh!.codeBits, t: f.bh!.blockBits }));
    assert.deepEqual(got, want, `${JSON.stringify(fields)} in ${budgetBytes} B, dim ${dim}, ${strategy}${dense ? ', dense' : ''}`);
    compressed += want.filter((f) => f.method === 'bh').length;
  }
  assert.ok(compressed > 60, `${compressed} compressed fields compared`);
});

test('plan edges: a full table equal to its share stays full, codeBits 1, dense ids at 2^k and in a forced short code, the unnamed field in the error', () => {
  // 20 rows for tables of 10 and 100 rows: the first equals its share (⌊20/2⌋) and stays full; the second gets 10
  const eq = planEmbeddings([{ cardinality: 9 }, { cardinality: 99 }], { budgetBytes: 20 * 16, dim: 4 });
  assert.deepEqual(eq.fields.map((f) => [f.method, f.rows, f.budgetRows]), [['full', 10, 10], ['bh', 10, 10]]);
  const one = planEmbeddings([{ cardinality: 1000 }], { compression: 10, dim: 4, codeBits: 1 });
  assert.deepEqual([one.fields[0].bh!.codeBits, one.fields[0].rows], [1, 2], 'codeBits 1 plans S = 1 (2 rows)');
  // dense 1024 ids: S = 10 and 2^10 = n codes, no collision; a dense field forced to S = 5 (10 rows) collides
  const pow = planEmbeddings([{ cardinality: 1024 }], { compression: 10, dim: 4, dense: true });
  assert.deepEqual([pow.fields[0].bh!.codeBits, pow.fields[0].expectedCollisions], [10, 0]);
  const forced = planEmbeddings([{ cardinality: 1024 }], { budgetBytes: 10 * 16, dim: 4, dense: true });
  assert.equal(forced.fields[0].bh!.codeBits, 5);
  assert.equal(forced.fields[0].expectedCollisions, (1024 * 1023) / (2 * 32), 'a forced 5-bit dense code: 1024 ids in 32 codes');
  // 3 rows for two fields: both compressed with 1 row each; the first by index is named (f0 when unnamed); 4 rows plan
  assert.throws(
    () => planEmbeddings([{ cardinality: 5 }, { cardinality: 900 }], { budgetBytes: 3 * 16, dim: 4 }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === 'plan: field f0 gets 1 rows, fewer than the 2 rows a compressed field needs; raise the budget to at least 64 bytes (every compressed field then gets at least 2 rows)' &&
      JSON.stringify(e.details) === JSON.stringify({ key: 'plan.budgetBytes', field: 'f0', minBudgetBytes: 64 }),
  );
  // 907 full rows at 400×: 2 rows; 4 rows plan, so at most ⌊907/4⌋ = 226.75×
  assert.throws(
    () => planEmbeddings([{ cardinality: 900, name: 'big' }, { cardinality: 5 }], { compression: 400, dim: 4 }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === 'plan: field big gets 1 rows, fewer than the 2 rows a compressed field needs; lower the compression to at most 226.75 (every compressed field then gets at least 2 rows)' &&
      JSON.stringify(e.details) === JSON.stringify({ key: 'plan.compression', field: 'big', maxCompression: 226.75 }),
  );
});
