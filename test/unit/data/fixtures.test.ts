// The committed fixtures (test/fixtures, made by make-fixtures.ts) load with every reader; the bad Criteo
// fixture yields exactly one skipped row per planted problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../../../src/data/dataset.js';
import { openReader } from '../../../src/data/open.js';
import { formatSkips } from '../../../src/data/reader.js';
import { collect } from './helpers.js';

const FIX = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures');
const schema = join(FIX, 'table.schema.json');

test('fixtures: every format loads with the expected row and field counts', async () => {
  const cases = [
    ['criteo', 'criteo.tsv', {}, 300, 39],
    ['criteo', 'criteo-50.tsv.gz', {}, 50, 39],
    ['avazu', 'avazu.csv', { splitHour: true }, 200, 23],
    ['libsvm', 'data.libsvm', {}, 200, 3],
    ['libffm', 'data.libffm', {}, 200, 3],
    ['csv', 'table.csv', { schema }, 200, 4],
    ['parquet', 'table.parquet', { schema }, 200, 4],
  ] as const;
  for (const [format, file, options, rows, fields] of cases) {
    const ds = await loadDataset(format, join(FIX, file), options);
    assert.equal(ds.rows, rows, file);
    assert.equal(ds.numFields, fields, file);
  }
  const csv = await loadDataset('csv', join(FIX, 'table.csv'), { schema });
  const pq = await loadDataset('parquet', join(FIX, 'table.parquet'), { schema });
  assert.deepEqual(pq.labels, csv.labels);
  assert.deepEqual(pq.fields[0].ids, csv.fields[0].ids, 'same user ids from csv and parquet');
  assert.deepEqual(pq.fields[3].offsets, csv.fields[3].offsets);
});

test('fixtures: criteo-bad.tsv fails at line 3, and skip counts one row per problem', async () => {
  const path = join(FIX, 'criteo-bad.tsv');
  await assert.rejects((async () => collect(await openReader('criteo', path)))(), {
    message: `${path}:3: expected 40 tab-separated fields, got 38`,
  });
  const r = await openReader('criteo', path, { onError: 'skip' });
  const rows = (await collect(r)).reduce((s, c) => s + c.rows, 0);
  assert.equal(rows, 10);
  assert.deepEqual(r.stats.skipped.counts, { 'field-count': 1, label: 1, number: 1, 'empty-line': 1 });
  assert.deepEqual(formatSkips(r.stats), [
    `skipped 1 row(s) (field-count), first: ${path}:3: expected 40 tab-separated fields, got 38`,
    `skipped 1 row(s) (label), first: ${path}:5: label 'x' is not 0/1`,
    `skipped 1 row(s) (number), first: ${path}:7: I1 value 'abc' is not an integer`,
    `skipped 1 row(s) (empty-line), first: ${path}:9: empty line`,
  ]);
});
