// The hybrid index is exact (a hot value always gets its own row, once per block; any other value exactly its BH
// rows after the hot ones), checked against the bit-by-bit reference; and the hybrid planner's split holds its
// budget to the byte, keys included, and follows the stated rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { HOT_KEY_BYTES, bhBlockWidths, bhNumRows } from '../../../src/embedding/config.js';
import type { BhStrategy, HybridSpec } from '../../../src/embedding/config.js';
import { ConfigError } from '../../../src/core/errors.js';
import { HybridIndexer } from '../../../src/embedding/hybrid.js';
import { HOT_OVER_MEAN, HOT_PER_BLOCK, coldShape, planHybridField } from '../../../src/embedding/hybrid-planner.js';
import { PLAN_ROW_SLACK } from '../../../src/embedding/planner.js';
import { createIndexer } from '../../../src/embedding/registry.js';
import { loadReference } from './reference-index.js';

const hex = (lo: number, hi: number): string => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');

test('hot values get their own row, cold values (new ids included) exactly their BH or dhash rows after the hot rows', async () => {
  const ref = await loadReference();
  const rng = new Rng(9);
  const n = 4000;
  const ids = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) ids[i] = rng.nextU32();
  // [S, t, strategy, H] with a BH cold part; [R, k, 'dhash', H] with a dhash cold part of R rows and k hashes
  for (const [S, t, strategy, H] of [[20, 4, 'succession', 300], [33, 8, 'skip', 1], [64, 16, 'succession', 0], [7, 3, 'skip', 1000], [5, 2, 'dhash', 40], [13, 2, 'dhash', 0], [2, 3, 'dhash', 700]] as const) {
    // every 4th id is hot (in a shuffled order), the rest are cold
    const hot: string[] = [];
    for (let i = 0; i < n && hot.length < H; i += 4) hot.push(hex(ids[2 * i], ids[2 * i + 1]));
    for (let i = hot.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [hot[i], hot[j]] = [hot[j], hot[i]];
    }
    const spec: HybridSpec = strategy === 'dhash' ? { method: 'hybrid', hot, cold: 'dhash', rows: S, hashes: t } : { method: 'hybrid', hot, codeBits: S, blockBits: t, strategy };
    const ix = createIndexer(spec) as HybridIndexer;
    const K = strategy === 'dhash' ? t : Math.ceil(S / t);
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
      else for (const r of got) assert.ok(r >= hot.length && r < ix.numRows, `cold row ${r} is a cold row`);
    }
    if (strategy === 'dhash') {
      // the cold rows are the dhash baseline's rows of the same id, shifted by H
      const dh = createIndexer({ method: 'dhash', rows: S, hashes: t });
      const plain = new Int32Array(n * K);
      dh.index(ids, n, plain);
      for (let i = 0; i < n; i++) {
        if (hotAt.has(hex(ids[2 * i], ids[2 * i + 1]))) continue;
        for (let k = 0; k < K; k++) assert.equal(out[5 + i * K + k], hot.length + plain[i * K + k]);
      }
      assert.equal(ix.numRows, hot.length + S);
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

/** The spec a field plan describes (its cold part BH or dhash), with the given hot keys. */
function planSpec(p: ReturnType<typeof planHybridField>, hot: string[]): HybridSpec {
  return p.cold === 'dhash' ? { method: 'hybrid', hot, cold: 'dhash', rows: p.bhRows, hashes: p.hashes } : { method: 'hybrid', hot, codeBits: p.codeBits, blockBits: p.blockBits, strategy: p.strategy };
}

test('the hybrid split holds its budget to the byte (rows and keys) and fills it to within one hot row and key', () => {
  const forms = new Set<string>();
  // the last two: budgets of a few rows per field, where the cold part is double hashing
  for (const [n, s, budgetRows, rowBytes, strategy] of [[100000, 1.1, 1000, 44, 'succession'], [5000, 0.8, 400, 44, 'skip'], [300, 1.5, 250, 20, 'succession'], [50, 1, 7, 8, 'succession'], [4000, 0.9, 9, 40, 'succession'], [900, 1.1, 5, 40, 'skip']] as const) {
    const { counts, total } = zipfCounts(n, s, 1e6);
    const budgetBytes = budgetRows * rowBytes + 13; // a budget that is not a whole number of rows
    for (const hotShare of [undefined, 0, 0.5, 0.9]) {
      const p = planHybridField({ cardinality: n, counts, total, budgetBytes, rowBytes, strategy, hotShare });
      const ix = createIndexer(planSpec(p, Array.from({ length: p.hot }, (_, i) => hex(i + 1, 0))));
      forms.add(p.cold);
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
  assert.deepEqual([...forms].sort(), ['bh', 'dhash'], 'both cold forms planned');
});

test('the rule: h is hot while c_h ≥ min(M/(16K), 100·M/n_cold); a hot set that costs BH a step is kept only if it carries the rows it costs', () => {
  const rowBytes = 40;
  const per = rowBytes + HOT_KEY_BYTES;
  let kept = 0;
  let dropped = 0;
  let costly = 0;
  const forms = new Set<string>();
  // the last four: the rule's hot set costs BH rows and carries them (so the rule, not the bytes BH leaves, sets it)
  // [185000, 1.5, 12]: a skewed field in double hashing's range (12 rows), which takes no hot value
  for (const [n, s, budgetRows] of [[100000, 1.1, 1000], [20000, 0.7, 3000], [4000, 1.3, 400], [4000, 0.5, 200], [185000, 1.1, 40], [1000, 0.5, 40], [4000, 0.8, 20], [20000, 0.8, 40], [1000, 1.1, 20], [185000, 1.5, 12]] as const) {
    const { counts, total } = zipfCounts(n, s, 1e6);
    const B = budgetRows * rowBytes;
    const p = planHybridField({ cardinality: n, counts, total, budgetBytes: B, rowBytes });
    // the rule's own h, by brute force
    const R = (h: number): number => Math.floor((B - h * per) / rowBytes);
    const none0 = coldRef(minBits(n, 0.001), R(0), 'succession');
    const K = none0.blocks;
    assert.ok(K > 1);
    let h = 0;
    let cov = 0;
    const hot = (i: number, c: number): boolean => {
      const m = total - c - counts[i];
      return counts[i] * HOT_PER_BLOCK * K >= m || counts[i] * (n - i - 1) >= HOT_OVER_MEAN * m;
    };
    // a field whose whole budget is double hashing's (R(0) ≤ 13) takes no hot value
    while (none0.cold === 'bh' && R(h + 1) >= 2 && hot(h, cov)) cov += counts[h++];
    assert.ok(none0.cold === 'dhash' || R(h + 1) < 2 || !hot(h, cov), 'the next value fails the rule');
    // The outcome exactly: the rule's hot set plus the hot values the bytes its BH shape leaves can hold; or, when that
    // shape has fewer rows than BH with no hot value and the extra occurrences do not carry the rows lost × perRow,
    // BH's no-hot shape with hot values in the bytes it leaves.
    // the cold part keeps the form of the field's whole budget (none0's)
    const fill = (h0: number): { hot: number; shape: { rows: number; codeBits: number; blockBits: number; cold: string }; cov: number } => {
      const shape = none0.cold === 'dhash' ? { cold: 'dhash', codeBits: 0, blockBits: 0, rows: R(h0), blocks: 2 } : { cold: 'bh', ...specShape(minBits(n - h0, 0.001), R(h0), 'succession') };
      const hot = Math.max(h0, Math.min(n, Math.floor((B - shape.rows * rowBytes) / per)));
      let c = 0;
      for (let i = 0; i < hot; i++) c += counts[i];
      return { hot, shape, cov: c };
    };
    let want = fill(h);
    if (h > 0) {
      const base = fill(0);
      const lost = base.shape.rows - want.shape.rows;
      const perRow = Math.min(total / (HOT_PER_BLOCK * K), (HOT_OVER_MEAN * total) / n);
      if (lost > 0 && want.cov - base.cov < lost * perRow) {
        want = base;
        dropped++;
      } else {
        kept++;
        if (lost > 0) costly++;
      }
    }
    assert.deepEqual(
      [p.hot, p.cold, p.bhRows, p.codeBits, p.blockBits, p.hotCoverage],
      [want.hot, want.shape.cold, want.shape.rows, want.shape.codeBits, want.shape.blockBits, want.cov / total],
      `n ${n}, s ${s}, ${budgetRows} rows: rule h ${h}, K ${K}`,
    );
    assert.ok(p.bytes <= B && p.bytes > B - per);
    forms.add(p.cold);
  }
  assert.ok(costly > 0 && dropped > 0, `both outcomes exercised: kept at a cost in BH rows ${costly}, dropped ${dropped}`);
  assert.deepEqual([...forms].sort(), ['bh', 'dhash'], 'both cold forms planned');
});

/** The BH shape the spec asks for in `rows` rows, by brute force over (S, t) with bhNumRows (S = minS, skip also longer). */
function specShape(minS: number, rows: number, strategy: BhStrategy): { codeBits: number; blockBits: number; rows: number; blocks: number } {
  const lo = Math.min(minS, Math.floor(rows / 2));
  const all: Array<{ codeBits: number; blockBits: number; rows: number; blocks: number }> = [];
  for (let S = lo; S <= (strategy === 'skip' ? 64 : lo); S++) {
    for (let t = 1; t <= S; t++) {
      const r = bhNumRows(S, t, strategy);
      if (r <= rows) all.push({ codeBits: S, blockBits: Math.max(...bhBlockWidths(S, t, strategy)), rows: r, blocks: Math.ceil(S / t) });
    }
  }
  const most = Math.max(...all.map((c) => c.rows));
  const near = all.filter((c) => c.rows >= (1 - PLAN_ROW_SLACK) * most);
  near.sort((a, b) => a.blocks - b.blocks || b.rows - a.rows || a.codeBits - b.codeBits);
  return near[0];
}

/**
 * The cold part in `rows` rows by the stated rule: double hashing (2 hashes, every row) when BH's shape has a code
 * shorter than minS and R(R+1)/2 row pairs outnumber its 2^S codes, else the BH shape.
 */
function coldRef(minS: number, rows: number, strategy: BhStrategy): { cold: 'bh' | 'dhash'; codeBits: number; blockBits: number; rows: number; blocks: number } {
  const bh = specShape(minS, rows, strategy);
  if (bh.codeBits < minS && (rows * (rows + 1)) / 2 > 2 ** bh.codeBits) return { cold: 'dhash', codeBits: 0, blockBits: 0, rows, blocks: 2 };
  return { cold: 'bh', ...bh };
}

/** Smallest S with n²/2^(S+1) ≤ rate·n, counting up. */
function minBits(n: number, rate: number): number {
  let S = 1;
  while (S < 64 && (n * n) / 2 ** (S + 1) > rate * n) S++;
  return S;
}

test('hybrid split: a fixed hot share gives exactly its hot count, BH the spec shape of the rest, and the bytes BH leaves go to more hot values', () => {
  const rowBytes = 40;
  const per = rowBytes + HOT_KEY_BYTES;
  for (const [n, budgetRows, hotShare, strategy] of [[5000, 400, 0.5, 'succession'], [5000, 400, 0.25, 'skip'], [300, 60, 0.9, 'succession'], [50, 7, 0.6, 'succession']] as const) {
    const { counts, total } = zipfCounts(n, 1.1, 1e5);
    const B = budgetRows * rowBytes + 13;
    const p = planHybridField({ cardinality: n, counts, total, budgetBytes: B, rowBytes, strategy, hotShare });
    // the share's hot count, less while it leaves BH under 2 rows
    let h0 = Math.min(n, Math.floor((hotShare * B) / per));
    while (h0 > 0 && Math.floor((B - h0 * per) / rowBytes) < 2) h0--;
    // the cold part keeps the form of the field's whole budget
    const Rh = Math.floor((B - h0 * per) / rowBytes);
    const shape = coldRef(minBits(n, 0.001), Math.floor(B / rowBytes), strategy).cold === 'dhash' ? { cold: 'dhash' as const, codeBits: 0, blockBits: 0, rows: Rh, blocks: 2 } : { cold: 'bh' as const, ...specShape(minBits(n - h0, 0.001), Rh, strategy) };
    const hot = Math.max(h0, Math.min(n, Math.floor((B - shape.rows * rowBytes) / per)));
    const what = `n ${n}, ${B} B, hotShare ${hotShare}, ${strategy}`;
    assert.deepEqual(
      { hot: p.hot, cold: p.cold, codeBits: p.codeBits, blockBits: p.blockBits, bhRows: p.bhRows, rows: p.rows, keyBytes: p.keyBytes, bytes: p.bytes, strategy: p.strategy },
      { hot, cold: shape.cold, codeBits: shape.codeBits, blockBits: shape.blockBits, bhRows: shape.rows, rows: hot + shape.rows, keyBytes: 8 * hot, bytes: (hot + shape.rows) * rowBytes + 8 * hot, strategy },
      what,
    );
    let covered = 0;
    for (let i = 0; i < hot; i++) covered += counts[i];
    assert.equal(p.hotCoverage, covered / total, `${what}: hotCoverage`);
  }
  // a share that would leave BH a single row keeps 2: the most hot values with B − h·(r + 8) ≥ 2r
  const { counts, total } = zipfCounts(1000, 1, 1e5);
  const B = 10 * rowBytes;
  const p = planHybridField({ cardinality: 1000, counts, total, budgetBytes: B, rowBytes, hotShare: 0.99 });
  assert.equal(p.hot, Math.floor((B - 2 * rowBytes) / per), 'hotShare 0.99 of 10 rows');
  assert.equal(p.bhRows, 2);
  // more counts than values: only `cardinality` values can be hot
  const few = planHybridField({ cardinality: 3, counts: [50, 40, 30, 20, 10], total: 150, budgetBytes: 100 * rowBytes, rowBytes, hotShare: 0.9 });
  assert.equal(few.hot, 3, 'hot ≤ cardinality');
  assert.equal(few.hotCoverage, 120 / 150);
  // a field with no occurrences: coverage 0, not NaN
  assert.equal(planHybridField({ cardinality: 10, counts: [], total: 0, budgetBytes: 8 * rowBytes, rowBytes }).hotCoverage, 0);
});

test('hybrid split: codeBits and maxCollisionRate reach the BH part; bad budgets and hot shares name their key', () => {
  const rowBytes = 40;
  const { counts, total } = zipfCounts(5000, 1.1, 1e5);
  const base = { cardinality: 5000, counts, total, budgetBytes: 2000 * rowBytes, rowBytes, hotShare: 0 };
  // hotShare 0: BH plans all 5000 values; S from the collision rule (22 at 0.001, 15 at 0.1) or the pinned 12
  assert.equal(planHybridField(base).codeBits, minBits(5000, 0.001));
  assert.equal(planHybridField({ ...base, maxCollisionRate: 0.1 }).codeBits, minBits(5000, 0.1));
  assert.equal(planHybridField({ ...base, codeBits: 12 }).codeBits, 12);
  assert.equal(planHybridField({ ...base, codeBits: 12, hotShare: undefined }).codeBits, 12, 'the rule path pins S too');
  const says = (input: Parameters<typeof planHybridField>[0], message: string, key: string): void =>
    assert.throws(() => planHybridField(input), (e: unknown) => e instanceof ConfigError && e.message === message && e.details.key === key, message);
  says({ ...base, budgetBytes: 79 }, 'plan: a hybrid field needs at least 2 rows (80 bytes), got 79 bytes', 'plan.budgetBytes');
  says({ ...base, rowBytes: 0 }, 'plan: a hybrid field needs at least 2 rows (0 bytes), got 80000 bytes', 'plan.budgetBytes');
  says({ ...base, hotShare: 1 }, 'plan.hotShare must be in [0, 1), got 1', 'plan.hotShare');
  says({ ...base, hotShare: -0.1 }, 'plan.hotShare must be in [0, 1), got -0.1', 'plan.hotShare');
  says({ ...base, hotShare: Number.NaN }, 'plan.hotShare must be in [0, 1), got NaN', 'plan.hotShare');
  // the edges themselves plan: exactly 2 rows (no byte for a hot value), and a share of 0
  const two = planHybridField({ ...base, budgetBytes: 80, hotShare: undefined });
  assert.deepEqual([two.hot, two.bhRows, two.bytes], [0, 2, 80]);
});

test('cold part: double hashing exactly where BH’s code is cut short and R(R+1)/2 row pairs outnumber its codes (R ≤ 13 at the default rate)', () => {
  for (let R = 2; R <= 40; R++) {
    const c = coldShape(4000, R, 'succession', 0.001, undefined);
    assert.equal(c.cold, R <= 13 ? 'dhash' : 'bh', `R ${R}`);
    if (c.cold === 'dhash') assert.deepEqual(c, { cold: 'dhash', codeBits: 0, blockBits: 0, rows: R, blocks: 2 });
    else assert.ok(c.rows <= R && c.codeBits === Math.min(minBits(4000, 0.001), Math.floor(R / 2)), `R ${R}: BH ${JSON.stringify(c)}`);
  }
  // BH's code not cut short: a pinned S = 4 fits in 12 rows, a tiny field's S* = 5 at rate 0.1 in 12 rows, and 5000
  // values at rate 0.1 (S* = 15) in 3000 rows: BH, however many pairs the rows would give
  assert.equal(coldShape(4000, 12, 'succession', 0.001, 4).cold, 'bh');
  assert.equal(coldShape(5, 12, 'skip', 0.1, undefined).cold, 'bh');
  assert.equal(coldShape(5000, 3000, 'succession', 0.1, undefined).cold, 'bh');
  // forced forms (for measuring)
  assert.equal(coldShape(4000, 8, 'succession', 0.001, undefined, 'bh').cold, 'bh');
  assert.equal(coldShape(4000, 200, 'succession', 0.001, undefined, 'dhash').cold, 'dhash');
  // the planner takes it: a field of 6 rows is the double-hashing table, no hot value however skewed (half of the
  // occurrences on one value); with 14 rows the rule makes that value hot and the 12 rows left stay BH (the form of
  // the field's budget), and --hot-share in the 6-row field keeps its form: hot values and a dhash in the rest
  const counts = [2000, ...new Array(3999).fill(1)];
  const six = planHybridField({ cardinality: 4000, counts, total: 5999, budgetBytes: 6 * 40, rowBytes: 40 });
  assert.deepEqual([six.hot, six.cold, six.bhRows, six.hashes, six.bytes], [0, 'dhash', 6, 2, 240]);
  assert.deepEqual(planSpec(six, []), { method: 'hybrid', hot: [], cold: 'dhash', rows: 6, hashes: 2 });
  const fourteen = planHybridField({ cardinality: 4000, counts, total: 5999, budgetBytes: 14 * 40, rowBytes: 40 });
  assert.deepEqual([fourteen.hot, fourteen.cold, fourteen.bhRows, fourteen.codeBits, fourteen.blockBits, fourteen.hashes, fourteen.bytes], [1, 'bh', 12, 6, 2, 0, 13 * 40 + 8]);
  const share = planHybridField({ cardinality: 4000, counts, total: 5999, budgetBytes: 6 * 40, rowBytes: 40, hotShare: 0.5 });
  assert.deepEqual([share.hot, share.cold, share.bhRows, share.hashes, share.bytes], [2, 'dhash', 3, 2, 5 * 40 + 16]);
});
