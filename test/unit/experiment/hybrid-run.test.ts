// A hybrid run end to end on skewed generated data: the hot sets are the most frequent values (brute-force count),
// the budget holds to the byte with the hot keys, and the model file tells `inspect` how many
// rows are hot and what share of the training occurrences they carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { zipfSampler } from '../../../src/data/zipf.js';
import { createIndexer } from '../../../src/embedding/registry.js';
import { readModelFileHeader } from '../../../src/models/model-file.js';
import { summarize } from '../../../src/cli/commands/inspect.js';
import { loadRunData, planIndexSpecs, trainModel } from '../../../src/experiment/pipeline.js';
import type { ModelOptions } from '../../../src/experiment/pipeline.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { tempDir } from '../../temp-dir.js';

/** libfm rows: field 0 Zipf(1.2) over 3000 values, field 1 uniform over 500, field 2 over 4; label follows field 0's rank parity. */
function writeData(dir: string): string {
  const rng = new Rng(4);
  const z = zipfSampler(3000, 1.2);
  const lines: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const a = z.sample(rng);
    lines.push(`${(a + rng.int(3)) % 2} ${a}:1 ${10000 + rng.int(500)}:1 ${20000 + rng.int(4)}:1`);
  }
  const path = join(dir, 'skew.libfm');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const base: ModelOptions = { arch: 'fm', method: 'hybrid', dim: 4, epochs: 1, batchSize: 64, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1 };

test('hybrid: hot sets are the head of a brute-force count, budgets hold with keys, inspect reports hot rows and their share', async () => {
  const dir = tempDir('hybrid-run-');
  const train = writeData(dir);
  const data = await loadRunData({ format: 'libfm', train });
  const cols = data.train.columns;
  assert.ok(cols !== null);
  // brute force: per field, each 64-bit id's count
  const counts = cols.fields.map((col) => {
    const m = new Map<string, number>();
    for (let i = 0; i < cols.rows; i++) {
      const k = col.ids[2 * i + 1].toString(16).padStart(8, '0') + col.ids[2 * i].toString(16).padStart(8, '0');
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  });
  const forms = new Set<string>();
  for (const budget of [500, 2000, 6000]) {
    for (const hotShare of [undefined, 0.6]) {
      const { specs } = planIndexSpecs(data, { ...base, memoryBudget: budget, fusion: 'sum', hotShare });
      let bytes = 0;
      specs.forEach((s, f) => {
        if (s.method === 'hybrid') forms.add(s.cold ?? 'bh');
        const ix = createIndexer(s);
        bytes += 4 * ix.numRows * (base.dim + 1) + (s.method === 'hybrid' ? 8 * s.hot.length : 0);
        if (s.method !== 'hybrid') return;
        // the hot values are the field's most frequent ones, in count order
        const sorted = [...counts[f].entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
        assert.deepEqual(s.hot, sorted.slice(0, s.hot.length).map((e) => e[0]), `field ${f} @ ${budget} B`);
      });
      assert.ok(bytes <= budget, `${bytes} ≤ ${budget} (hotShare ${hotShare})`);
    }
  }
  assert.deepEqual([...forms].sort(), ['bh', 'dhash'], 'cold parts of both forms planned (dhash at the few-row budgets)');
  const { specs } = planIndexSpecs(data, { ...base, memoryBudget: 2000, fusion: 'sum', hotShare: 0.6 });
  assert.equal(specs[0].method, 'hybrid');
  assert.ok(specs[0].method === 'hybrid' && specs[0].hot.length > 0);

  const out = join(dir, 'm.bhm');
  const run = await trainModel(data, { ...base, memoryBudget: 2000, fusion: 'sum', hotShare: 0.6 }, { out });
  assert.ok(run.metrics.embedding.bytes <= 2000, `${run.metrics.embedding.bytes} B`);
  const { header, fileBytes } = readModelFileHeader(out);
  const s = summarize(header, fileBytes) as { fields: { method: string; hot?: number; hotShare?: number }[] };
  s.fields.forEach((f, i) => {
    const spec = specs[i];
    if (spec.method !== 'hybrid') return assert.equal(f.hot, undefined);
    assert.equal(f.hot, spec.hot.length);
    const covered = spec.hot.reduce((a, k) => a + (counts[i].get(k) ?? 0), 0);
    assert.ok(Math.abs((f.hotShare as number) - covered / cols.rows) < 1e-12, `field ${i}: ${f.hotShare} vs ${covered / cols.rows}`);
  });

  // A budget of a few rows per field: cold parts of double-hashing form, a version-2 file that inspect describes and
  // the Predictor (bhembed serve's scorer) loads and scores as training's model did.
  const tiny = join(dir, 'tiny.bhm');
  const withTest = await loadRunData({ format: 'libfm', train, test: train });
  const tinyRun = await trainModel(withTest, { ...base, memoryBudget: 500, fusion: 'sum' }, { out: tiny });
  assert.ok(tinyRun.metrics.embedding.bytes <= 500, `${tinyRun.metrics.embedding.bytes} B`);
  const t = readModelFileHeader(tiny);
  assert.equal(t.header.version, 2);
  const ts = summarize(t.header, t.fileBytes) as { fields: { method: string; spec: string; rows: number }[] };
  const dh = ts.fields.filter((f) => / \+ dhash R=\d+ k=2$/.test(f.spec));
  assert.ok(dh.length > 0, JSON.stringify(ts.fields));
  for (const f of dh) assert.equal(f.rows, Number(/hot (\d+)/.exec(f.spec)?.[1]) + Number(/R=(\d+)/.exec(f.spec)?.[1]), f.spec);
  const p = await Predictor.load(tiny);
  try {
    const probs: number[] = [];
    for await (const b of p.predictFile(train)) probs.push(...b.probs);
    assert.equal(probs.length, cols.rows);
    // the file's model ranks the rows as the trained model did (its test AUC on the same rows)
    const labels = Array.from(cols.labels.subarray(0, cols.rows));
    assert.ok(Math.abs(aucOf(probs, labels) - (tinyRun.metrics.test?.auc as number)) < 1e-9, `${aucOf(probs, labels)} vs ${tinyRun.metrics.test?.auc}`);
    assert.ok(new Set(probs.map((x) => x.toFixed(4))).size > 3, 'scores vary');
  } finally {
    await p.close();
  }
});

/** AUC by pairs (ties ½). */
function aucOf(scores: number[], labels: number[]): number {
  let pos = 0;
  let hit = 0;
  const neg: number[] = [];
  labels.forEach((l, i) => (l > 0.5 ? pos++ : neg.push(scores[i])));
  neg.sort((a, b) => a - b);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] <= 0.5) continue;
    for (const s of neg) hit += s < scores[i] ? 1 : s === scores[i] ? 0.5 : 0;
  }
  return hit / (pos * neg.length);
}

test('hybrid on streamed data: the counting pass finds the same hot sets as the in-memory count; without hot counts it says how to get them', async () => {
  const dir = tempDir('hybrid-stream-');
  const train = writeData(dir);
  const mem = await loadRunData({ format: 'libfm', train });
  const streamed = await loadRunData({ format: 'libfm', train, dataMode: 'stream', hotCounts: true, fullVocab: true });
  assert.equal(streamed.train.columns, null);
  for (const hotShare of [undefined, 0.6]) {
    const a = planIndexSpecs(mem, { ...base, memoryBudget: 2000, fusion: 'sum', hotShare });
    const b = planIndexSpecs(streamed, { ...base, memoryBudget: 2000, fusion: 'sum', hotShare });
    assert.deepEqual(b.specs, a.specs);
  }
  const bare = await loadRunData({ format: 'libfm', train, dataMode: 'stream', fullVocab: true });
  assert.throws(() => planIndexSpecs(bare, { ...base, memoryBudget: 2000 }), /--embedding hybrid on streamed data needs the hot counts of the counting pass/);
});
