// --min-count for full tables: values seen fewer than N times in the training data share the OOV row (row 0), the
// table shrinks by exactly the rare values, and held and streamed data build the same vocabulary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIndexer } from '../../../src/embedding/registry.js';
import { checkModelOptions, loadRunData, planIndexSpecs, trainModel } from '../../../src/experiment/pipeline.js';
import type { ModelOptions } from '../../../src/experiment/pipeline.js';
import { bhembedInProcess } from '../../e2e/cli-in-process.js';
import { tempDir } from '../../temp-dir.js';

/** Field 0: value k (k = 0..19) appears k + 1 times (210 rows); field 1: always value 7. Labels alternate. */
function writeData(): { path: string; values: number[] } {
  const values: number[] = [];
  for (let k = 0; k < 20; k++) for (let j = 0; j <= k; j++) values.push(k);
  const lines = values.map((v, i) => `${i % 2} ${100 + v}:1 7:1`);
  const path = join(tempDir('min-count-'), 'd.libfm');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, values };
}

const base: ModelOptions = { arch: 'fm', method: 'full', dim: 4, epochs: 1, batchSize: 32, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1 };

test('min count: values seen fewer times share the OOV row, each frequent value keeps a row of its own', async () => {
  const { path, values } = writeData();
  for (const dataMode of ['memory', 'stream'] as const) {
    const data = await loadRunData({ format: 'libfm', train: path, dataMode, fullVocab: true });
    const one = planIndexSpecs(data, base).specs[0];
    assert.equal(one.method === 'full' && one.vocab.length, 20, dataMode);
    const spec = planIndexSpecs(data, { ...base, minCount: 10 }).specs[0];
    // Values 9..19 were seen 10..20 times: 11 rows plus the OOV row.
    assert.equal(spec.method === 'full' && spec.vocab.length, 11, dataMode);
    assert.equal(spec.method === 'full' && spec.minCount, 10);
    assert.equal(createIndexer(spec).numRows, 12);
    if (dataMode === 'stream') continue;
    const ids = (data.train.columns as NonNullable<typeof data.train.columns>).fields[0].ids;
    const rows = new Int32Array(values.length);
    createIndexer(spec).index(ids, values.length, rows);
    const rowOf = new Map<number, Set<number>>();
    values.forEach((v, i) => (rowOf.get(v) ?? rowOf.set(v, new Set()).get(v))?.add(rows[i]));
    for (let k = 0; k < 20; k++) {
      const r = [...(rowOf.get(k) as Set<number>)];
      assert.equal(r.length, 1);
      if (k < 9) assert.equal(r[0], 0, `value ${k} (seen ${k + 1} times) must share the OOV row`);
      else assert.ok(r[0] > 0, `value ${k} (seen ${k + 1} times) must keep its own row`);
    }
    const distinct = new Set([...rowOf.entries()].filter(([k]) => k >= 9).map(([, r]) => [...r][0]));
    assert.equal(distinct.size, 11, 'the 11 frequent values get 11 different rows');
  }
});

test('min count: the planner\'s full fields use it too, metrics record it, bad values are refused', async () => {
  const { path } = writeData();
  const data = await loadRunData({ format: 'libfm', train: path, test: path });
  // Field 1 (one value) stays full under the planner; its single value was seen 210 times.
  const r = planIndexSpecs(data, { ...base, method: 'hash', compression: 2, minCount: 211 });
  assert.equal(r.specs[1].method, 'full');
  assert.equal(r.specs[1].method === 'full' && r.specs[1].vocab.length, 0, 'seen 210 < 211 times: OOV only');
  const { metrics } = await trainModel(data, { ...base, minCount: 10 });
  assert.equal(metrics.train.minCount, 10);
  assert.equal(metrics.embedding.fields[0].rows, 12);
  assert.equal(metrics.embedding.fields[0].fullRows, 21);
  assert.throws(() => checkModelOptions({ ...base, minCount: 0 }), /--min-count: must be an integer ≥ 1, got 0/);
  assert.throws(() => checkModelOptions({ ...base, minCount: 2.5 }), /--min-count: must be an integer ≥ 1/);
});

test('bhembed train --min-count: a smaller full table; 0 is a usage error', async () => {
  const { path } = writeData();
  const dir = tempDir('min-count-cli-');
  const m = join(dir, 'm.json');
  const ok = await bhembedInProcess(['train', '--train', path, '--test', path, '--format', 'libfm', '--model', 'fm', '--embedding', 'full', '--min-count', '10', '--dim', '4', '--metrics', m, '-q']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /embedding full: 14 rows/); // 12 + field 1's 2 rows
  const bad = await bhembedInProcess(['train', '--train', path, '--format', 'libfm', '--embedding', 'full', '--min-count', '0', '-q']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--min-count/);
});
