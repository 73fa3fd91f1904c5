// Group AUC (--group-by): a hand-computed answer, a brute-force pair count on random data with ties and weights,
// and train/eval reporting the same number as a brute force over the model's own scores, grouped by the raw text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { GroupAuc } from '../../../src/train/metrics.js';
import { loadRunData, trainModel } from '../../../src/experiment/pipeline.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { bhembedInProcess } from '../../e2e/cli-in-process.js';
import { tempDir } from '../../temp-dir.js';

/** Brute force: every (positive, negative) pair of a group, weighted w_i·w_j, ties ½; groups weighted by Σw. */
function bruteGauc(rows: { g: string; s: number; y: number; w?: number }[]): { gauc: number; groups: number; skippedGroups: number; rows: number; skippedRows: number } {
  const by = new Map<string, typeof rows>();
  for (const r of rows) (by.get(r.g) ?? by.set(r.g, []).get(r.g))?.push(r);
  let num = 0;
  let den = 0;
  const out = { gauc: NaN, groups: 0, skippedGroups: 0, rows: 0, skippedRows: 0 };
  for (const rs of by.values()) {
    const pos = rs.filter((r) => r.y === 1);
    const neg = rs.filter((r) => r.y === 0);
    if (pos.length === 0 || neg.length === 0) {
      out.skippedGroups++;
      out.skippedRows += rs.length;
      continue;
    }
    let wins = 0;
    let pairs = 0;
    for (const p of pos) {
      for (const n of neg) {
        const w = (p.w ?? 1) * (n.w ?? 1);
        pairs += w;
        wins += w * (p.s > n.s ? 1 : p.s === n.s ? 0.5 : 0);
      }
    }
    const size = rs.reduce((a, r) => a + (r.w ?? 1), 0);
    num += (size * wins) / pairs;
    den += size;
    out.groups++;
    out.rows += rs.length;
  }
  out.gauc = num / den;
  return out;
}

/** Group ids as GroupAuc takes them: 2 u32 words per row (here: a small number in the low word). */
function idsOf(groups: number[]): Uint32Array {
  const ids = new Uint32Array(2 * groups.length);
  groups.forEach((g, i) => (ids[2 * i] = g));
  return ids;
}

test('group AUC: a hand-computed case (size-weighted mean, one-class groups left out and counted)', () => {
  // Group 1: the click scores above the non-click (AUC 1, 2 rows). Group 2: the click below both (AUC 0, 3 rows).
  // Group 3: clicks only (no AUC, 2 rows). Group 4: a tie (AUC ½, 2 rows). gAUC = (2·1 + 3·0 + 2·½) / 7 = 3/7.
  const scores = [0.9, 0.1, 0.2, 0.8, 0.5, 0.7, 0.6, 0.4, 0.4];
  const labels = [1, 0, 1, 0, 0, 1, 1, 1, 0];
  const groups = [1, 1, 2, 2, 2, 3, 3, 4, 4];
  const g = new GroupAuc();
  g.add(scores.slice(0, 4), labels.slice(0, 4), idsOf(groups.slice(0, 4)), 4); // in two calls: groups span batches
  g.add(scores.slice(4), labels.slice(4), idsOf(groups.slice(4)), 5);
  assert.deepEqual(g.result(), { gauc: 3 / 7, groups: 3, skippedGroups: 1, rows: 7, skippedRows: 2 });
});

test('group AUC equals the brute-force pair count on random data with ties and row weights', () => {
  const rng = new Rng(3);
  for (const weighted of [false, true]) {
    const rows = Array.from({ length: 3000 }, () => ({ g: String(rng.int(150)), s: rng.int(20) / 20, y: rng.next() < 0.3 ? 1 : 0, w: weighted ? 0.5 + rng.int(4) : undefined }));
    const g = new GroupAuc();
    for (let i = 0; i < rows.length; i += 512) {
      const part = rows.slice(i, i + 512);
      g.add(part.map((r) => r.s), part.map((r) => r.y), idsOf(part.map((r) => Number(r.g))), part.length, weighted ? part.map((r) => r.w as number) : null);
    }
    const got = g.result();
    const want = bruteGauc(rows);
    assert.ok(Math.abs(got.gauc - want.gauc) < 1e-12, `${got.gauc} vs ${want.gauc}`);
    assert.deepEqual({ ...got, gauc: 0 }, { ...want, gauc: 0 });
    assert.ok(want.skippedGroups > 0 && want.groups > 100);
  }
});

test('group AUC: one add() of more rows than twice the buffer, or a second add() past it, keeps every row', () => {
  const rng = new Rng(8);
  const rows = Array.from({ length: 3000 }, () => ({ g: String(rng.int(40)), s: rng.int(10) / 10, y: rng.next() < 0.4 ? 1 : 0 }));
  const want = bruteGauc(rows);
  const one = new GroupAuc();
  one.add(rows.map((r) => r.s), rows.map((r) => r.y), idsOf(rows.map((r) => Number(r.g))));
  const got = one.result();
  assert.ok(Math.abs(got.gauc - want.gauc) < 1e-12, `one add of 3000 rows: ${got.gauc} vs ${want.gauc}`);
  assert.deepEqual({ ...got, gauc: 0 }, { ...want, gauc: 0 });
  const two = new GroupAuc(); // 1000 rows, then 2000 more: past twice the grown buffer
  for (const [a, b] of [[0, 1000], [1000, 3000]]) {
    const part = rows.slice(a, b);
    two.add(part.map((r) => r.s), part.map((r) => r.y), idsOf(part.map((r) => Number(r.g))));
  }
  assert.ok(Math.abs(two.result().gauc - want.gauc) < 1e-12);
});

test('group AUC: label 0.5 is a non-click (> 0.5 is a click) and a NaN score is refused, naming the row', () => {
  const g = new GroupAuc();
  // one group: label 0.5 at 0.9 (a non-click above the click at 0.4) and label 0.51 at 0.4 (a click): AUC 0
  g.add([0.9, 0.4], [0.5, 0.51], idsOf([7, 7]));
  assert.deepEqual(g.result(), { gauc: 0, groups: 1, skippedGroups: 0, rows: 2, skippedRows: 0 });
  assert.throws(() => new GroupAuc().add([0.1, NaN], [0, 1], idsOf([1, 1])), (e: Error) => e.message === 'metrics: score 1 is NaN');
});

test('train --group-by and eval --group-by report the brute-force gAUC of the model\'s scores, grouped by the raw text', async () => {
  const dir = tempDir('gauc-');
  const rng = new Rng(5);
  // libfm: field 0 is a user (60 users, each with its own click rate), field 1 an item.
  const userRate = Array.from({ length: 60 }, () => rng.next());
  const lines = Array.from({ length: 3000 }, () => {
    const u = rng.int(60);
    const item = rng.int(30);
    const y = rng.next() < 0.5 * userRate[u] + (item < 10 ? 0.3 : 0) ? 1 : 0;
    return `${y} ${1000 + u}:1 ${item}:1`;
  });
  const train = join(dir, 'train.libfm');
  const testFile = join(dir, 'test.libfm');
  writeFileSync(train, `${lines.slice(0, 2400).join('\n')}\n`);
  writeFileSync(testFile, `${lines.slice(2400).join('\n')}\n`);
  const model = join(dir, 'm.bhm');
  const data = await loadRunData({ format: 'libfm', train, test: testFile });
  const names = data.train.fieldNames;
  const { metrics } = await trainModel(data, { arch: 'fm', method: 'full', dim: 4, epochs: 2, batchSize: 64, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1, groupBy: names[0] }, { out: model });
  const p = await Predictor.load(model);
  const probs: number[] = [];
  for await (const b of p.predictFile(testFile)) probs.push(...b.probs);
  await p.close();
  const rows = readFileSync(testFile, 'utf8').trim().split('\n').map((l, i) => ({ g: l.split(' ')[1], s: probs[i], y: Number(l[0]) }));
  const want = bruteGauc(rows);
  const got = metrics.test?.gauc;
  assert.ok(got !== undefined);
  assert.equal(got.field, names[0]);
  assert.ok(Math.abs(got.gauc - want.gauc) < 1e-12, `${got.gauc} vs ${want.gauc}`);
  assert.deepEqual({ ...got, gauc: 0, field: '' }, { ...want, gauc: 0, field: '' });
  assert.ok(want.gauc > 0.55 && want.gauc < (metrics.test?.auc as number), 'within users only the item matters: gAUC is above chance and below the AUC');

  const ev = await bhembedInProcess(['eval', model, testFile, '--group-by', names[0], '--json', '-q']);
  assert.equal(ev.status, 0, ev.stderr);
  const r = (JSON.parse(ev.stdout) as { results: { gauc: { gauc: number; groups: number } }[] }).results[0];
  assert.ok(Math.abs(r.gauc.gauc - want.gauc) < 1e-12);
  assert.equal(r.gauc.groups, want.groups);
  const text = await bhembedInProcess(['eval', model, testFile, '--group-by', names[0], '-q']);
  assert.match(text.stdout, new RegExp(`gAUC by ${names[0]} ${want.gauc.toFixed(4)} \\(${want.groups} groups, ${want.rows} rows; ${want.skippedGroups} one-class groups, ${want.skippedRows} rows, left out\\)`));
  const bad = await bhembedInProcess(['eval', model, testFile, '--group-by', 'user', '-q']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--group-by user: the model has no field 'user' \(its fields: /);
  await assert.rejects(trainModel(data, { arch: 'fm', method: 'full', dim: 4, epochs: 1, batchSize: 64, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1, groupBy: 'user' }), /--group-by user: the data has no field 'user'/);
});

test('train --cluster --group-by is refused (the cluster path does not compute it) instead of ignored', async () => {
  const r = await bhembedInProcess(['train', '--train', 'x.txt', '--format', 'criteo', '--embedding', 'full', '--cluster', 'nats://127.0.0.1:1', '--job', 'j', '--group-by', 'C1', '-q']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--group-by: --cluster training does not compute group AUC; score its model with bhembed eval MODEL DATA --group-by C1/);
});
