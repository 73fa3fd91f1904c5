// Synthetic Criteo generator: seeded determinism, rows readable by the Criteo reader, Zipf samplers against the
// exact pmf, and labels whose empirical AUC against the written probabilities matches the Bayes-optimal AUC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { CRITEO_KAGGLE_CARDINALITIES, CriteoTeacher, expectedAuc, generateCriteo } from '../../../src/data/generate.js';
import { AliasZipf, ZipfSampler } from '../../../src/data/zipf.js';
import { loadDataset } from '../../../src/data/dataset.js';
import { tmpDir } from './helpers.js';

/** Mann–Whitney AUC of scores against 0/1 labels, ties counted half. */
function empiricalAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) j++;
    const avgRank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (labels[idx[k]] === 1) {
      rankSumPos += avgRank;
      pos++;
    }
    i = j;
  }
  const neg = idx.length - pos;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

test('default cardinalities are the published Criteo Kaggle ones (26 fields, 33,762,577 values)', () => {
  assert.equal(CRITEO_KAGGLE_CARDINALITIES.length, 26);
  assert.equal(CRITEO_KAGGLE_CARDINALITIES.reduce((a, b) => a + b, 0), 33762577);
});

test('generator: same seed → identical bytes; another seed → different', async () => {
  const a = join(tmpDir(), 'ga.tsv');
  const b = join(tmpDir(), 'gb.tsv');
  const c = join(tmpDir(), 'gc.tsv');
  await generateCriteo({ rows: 3000, out: a, seed: 42 });
  await generateCriteo({ rows: 3000, out: b, seed: 42 });
  await generateCriteo({ rows: 3000, out: c, seed: 43 });
  assert.ok(readFileSync(a).equals(readFileSync(b)));
  assert.ok(readFileSync(`${a}.prob`).equals(readFileSync(`${b}.prob`)));
  assert.ok(!readFileSync(a).equals(readFileSync(c)));
});

test('generator: byte writer equals the string formatter; every token within its field cardinality', () => {
  const card = [3, 50, 1000, ...Array.from({ length: 23 }, () => 7)];
  const t = new CriteoTeacher({ seed: 5, cardinalities: card, zipfExponent: 1.1, missingRate: 0.1, intMissingRate: 0.2, pairs: 3, ctr: 0.25, signal: 1 });
  const rng = new Rng(1);
  const buf = new Uint8Array(1024);
  const seen = card.map(() => new Set<string>());
  for (let i = 0; i < 2000; i++) {
    t.drawRow(rng);
    const end = t.writeRow(i % 2, buf, 0);
    const line = Buffer.from(buf.subarray(0, end)).toString('latin1');
    assert.equal(line, t.formatRow(i % 2) + '\n');
    const cols = line.slice(0, -1).split('\t');
    assert.equal(cols.length, 40);
    cols.slice(14).forEach((tok, f) => tok !== '' && seen[f].add(tok));
  }
  seen.forEach((s, f) => assert.ok(s.size <= card[f], `field ${f}: ${s.size} > ${card[f]}`));
  assert.equal(seen[0].size, 3);
});

test('Zipf samplers match the exact pmf (alias and rejection-inversion), s = 1 and s = 1.3', () => {
  for (const s of [1, 1.3]) {
    const n = 40;
    let h = 0;
    for (let k = 1; k <= n; k++) h += k ** -s;
    for (const sampler of [new AliasZipf(n, s), new ZipfSampler(n, s)]) {
      const rng = new Rng(9);
      const counts = new Float64Array(n + 1);
      const draws = 200000;
      for (let i = 0; i < draws; i++) counts[sampler.sample(rng)]++;
      assert.equal(counts[0], 0);
      for (let k = 1; k <= n; k++) {
        const p = k ** -s / h;
        const sd = Math.sqrt((p * (1 - p)) / draws);
        assert.ok(Math.abs(counts[k] / draws - p) < 5 * sd + 1e-4, `s=${s} ${sampler.constructor.name} k=${k}: ${counts[k] / draws} vs ${p}`);
      }
    }
  }
  // a 10^7 support: P(1) = 1 / H(n, s), computed by the Euler–Maclaurin tail
  const n = 10_000_000;
  const s = 1.1;
  let hn = 0;
  for (let k = 1; k <= 1000; k++) hn += k ** -s;
  hn += (1000.5 ** (1 - s) - (n + 0.5) ** (1 - s)) / (s - 1);
  const z = new ZipfSampler(n, s);
  const rng = new Rng(3);
  let ones = 0;
  let max = 0;
  for (let i = 0; i < 100000; i++) {
    const k = z.sample(rng);
    if (k === 1) ones++;
    if (k > max) max = k;
  }
  assert.ok(Math.abs(ones / 100000 - 1 / hn) < 0.006, `P(1) ${ones / 100000} vs ${1 / hn}`);
  assert.ok(max <= n && max > 1e5);
});

test('expectedAuc equals the brute-force pairwise formula', () => {
  const rng = new Rng(4);
  const p = Array.from({ length: 400 }, () => (rng.next() < 0.1 ? 0.5 : rng.next()));
  let num = 0;
  let den = 0;
  for (let i = 0; i < p.length; i++) {
    for (let j = 0; j < p.length; j++) {
      if (i === j) continue;
      const w = p[i] * (1 - p[j]);
      den += w;
      num += p[i] > p[j] ? w : p[i] === p[j] ? w / 2 : 0;
    }
  }
  assert.ok(Math.abs(expectedAuc(p) - num / den) < 1e-12);
});

test('generator: labels read back by the Criteo reader; empirical AUC vs probabilities ≈ Bayes AUC; mean ≈ ctr', async () => {
  const out = join(tmpDir(), 'auc.tsv');
  const st = await generateCriteo({ rows: 20000, out, seed: 7, ctr: 0.3 });
  const ds = await loadDataset('criteo', out);
  assert.equal(ds.rows, 20000);
  const probs = readFileSync(`${out}.prob`, 'utf8').trim().split('\n').map(Number);
  assert.equal(probs.length, 20000);
  let pos = 0;
  for (let i = 0; i < ds.rows; i++) pos += ds.labels[i];
  assert.equal(pos, st.positives);
  assert.ok(Math.abs(pos / ds.rows - 0.3) < 0.02, `ctr ${pos / ds.rows}`);
  const bayes = expectedAuc(probs);
  assert.ok(Math.abs(bayes - st.bayesAuc) < 1e-6);
  const auc = empiricalAuc(ds.labels, probs);
  assert.ok(bayes > 0.7 && bayes < 0.9, `Bayes AUC ${bayes}`);
  assert.ok(Math.abs(auc - bayes) < 0.015, `empirical ${auc} vs Bayes ${bayes}`);
  // a noisy score does worse
  const rng = new Rng(1);
  const noisy = probs.map((p) => p + 0.3 * rng.normal());
  assert.ok(empiricalAuc(ds.labels, noisy) < auc - 0.02);
});

test('generator: option errors name the key', async () => {
  await assert.rejects(generateCriteo({ rows: 10, out: join(tmpDir(), 'x.tsv'), cardinalities: [1, 2] }), { name: 'ConfigError', message: /^cardinalities must be 26/ });
  await assert.rejects(generateCriteo({ rows: 10, out: join(tmpDir(), 'x.tsv'), ctr: 1 }), { name: 'ConfigError', message: 'ctr must be in (0, 1), got 1' });
});

test('generator: files with different seeds share one teacher, so a model trained on one scores the other', async () => {
  const { loadRunData, trainModel } = await import('../../../src/experiment/pipeline.js');
  const dir = tmpDir();
  const card = CRITEO_KAGGLE_CARDINALITIES.map((c) => Math.max(2, Math.round(c / 2000)));
  const train = join(dir, 'train.tsv');
  const test = join(dir, 'test.tsv');
  const a = await generateCriteo({ rows: 20000, out: train, seed: 1, cardinalities: card, signal: 2 });
  const b = await generateCriteo({ rows: 5000, out: test, seed: 2, cardinalities: card, signal: 2 });
  assert.deepEqual([a.warnings, b.warnings], [[], []]);
  // The same value strings in both files (they come from the teacher): C1's values of the test file were seen in training.
  const c1 = (f: string): Set<string> => new Set(readFileSync(f, 'latin1').split('\n').filter(Boolean).map((l) => l.split('\t')[14]));
  const seen = c1(train);
  const testValues = [...c1(test)].filter((v) => v !== '');
  assert.ok(testValues.filter((v) => seen.has(v)).length > 0.9 * testValues.length);
  // Two seeds used to plant two teachers: test AUC 0.46. One teacher: well above chance, near the Bayes AUC.
  const data = await loadRunData({ format: 'criteo', train, test });
  const { metrics } = await trainModel(data, { arch: 'lr', method: 'full', dim: 1, epochs: 2, batchSize: 128, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1 });
  const auc = metrics.test?.auc as number;
  assert.ok(auc > 0.7 && auc > b.bayesAuc - 0.1, `test AUC ${auc} (Bayes ${b.bayesAuc})`);
});

test('generator: the same seeds twice in one process say the second output repeats the first\'s rows', async () => {
  const dir = tmpDir();
  const first = join(dir, 'tr.tsv');
  const second = join(dir, 'te.tsv');
  await generateCriteo({ rows: 50, out: first, seed: 77, teacherSeed: 3 });
  const st = await generateCriteo({ rows: 20, out: second, seed: 77, teacherSeed: 3 });
  assert.equal(st.warnings.length, 1);
  assert.match(st.warnings[0], /te\.tsv starts with the same rows as .*tr\.tsv \(same seed 77 and teacherSeed 3\)/);
  assert.equal(readFileSync(second, 'latin1'), readFileSync(first, 'latin1').split('\n').slice(0, 20).join('\n') + '\n');
  const other = await generateCriteo({ rows: 20, out: join(dir, 'te2.tsv'), seed: 78, teacherSeed: 3 });
  assert.deepEqual(other.warnings, []);
  await assert.rejects(generateCriteo({ rows: 1, out: join(dir, 'x.tsv'), teacherSeed: -1 }), /teacherSeed must be an integer/);
});
