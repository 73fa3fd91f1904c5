// The sample-weight column in every reader that names columns (csv/tsv, headerless tsv by position, avazu, parquet):
// values read per row (chunk.sampleWeights), never a feature, bad weights refused naming file, line and column (or
// skipped and counted), modes require/detect/ignore; criteo and libsvm/libfm/libffm refuse the option with the way
// to read such a file with weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { loadDataset } from '../../../src/data/dataset.js';
import { collect, flatten, tmpFile } from './helpers.js';
import { writeParquet } from './parquet-writer.js';

const weightsOf = (chunks: Awaited<ReturnType<typeof collect>>): number[] => chunks.flatMap((c) => Array.from(c.sampleWeights ?? []));

test('csv/tsv: the weight column is read per row and is no feature; the features equal the file without it', async () => {
  const schema = { label: 'y', categorical: ['site', 'ad'], numeric: ['price'] };
  const withW = tmpFile('y,site,w,ad,price\n1,a,2,x,1.5\n0,b,0.25,y,2\n1,c,0,z,\n');
  const without = tmpFile('y,site,ad,price\n1,a,x,1.5\n0,b,y,2\n1,c,z,\n');
  const r = await openReader('csv', withW, { schema, weightColumn: 'w', chunkRows: 2 });
  assert.equal(r.weightColumn, 'w');
  assert.deepEqual(r.fieldNames, ['site', 'ad']);
  const chunks = await collect(r);
  assert.deepEqual(weightsOf(chunks), [2, 0.25, 0]);
  assert.deepEqual(flatten(chunks), flatten(await collect(await openReader('csv', without, { schema }))));
  const ds = await loadDataset('csv', withW, { schema, weightColumn: 'w', chunkRows: 2 });
  assert.deepEqual(Array.from(ds.sampleWeights ?? []), [2, 0.25, 0], 'concatenated chunks keep their weights');
  // Without the option the column is ignored as any column outside the schema: no weights.
  assert.equal((await collect(await openReader('csv', withW, { schema }))).some((c) => c.sampleWeights !== undefined), false);
  // tsv without a header: columns by 0-based position, the weight after the features (a Criteo-style file + weight).
  const tsv = tmpFile('1\ta\tx\t3\n0\tb\ty\t1\n');
  const t = await openReader('tsv', tsv, { schema: { header: false, label: '0', categorical: ['1', '2'] }, weightColumn: '3' });
  assert.deepEqual(weightsOf(await collect(t)), [3, 1]);
});

test('csv: bad weights name file, line and column (fail), or are skipped and counted (skip)', async () => {
  const schema = { label: 'y', categorical: ['site'] };
  const cases: [string, string][] = [
    ['-1', "weight column 'w' value '-1' is negative (weights are numbers ≥ 0)"],
    ['abc', "weight column 'w' value 'abc' is not a number"],
    ['NaN', "weight column 'w' value 'NaN' is not a number"],
    ['', "weight column 'w' is empty (weights are numbers ≥ 0)"],
    ['1e999', "weight column 'w' value '1e999' is beyond the float32 range"],
  ];
  for (const [v, why] of cases) {
    const p = tmpFile(`y,site,w\n1,a,1\n0,b,${v}\n`);
    await assert.rejects(collect(await openReader('csv', p, { schema, weightColumn: 'w' })), { name: 'DataError', message: `${p}:3: ${why}` });
    const r = await openReader('csv', p, { schema, weightColumn: 'w', onError: 'skip' });
    assert.deepEqual(weightsOf(await collect(r)), [1]);
    assert.deepEqual(r.stats.skipped.counts, { weight: 1 });
  }
});

test('csv: require / detect / ignore, and a weight column that is also a schema column or the id is refused', async () => {
  const schema = { label: 'y', categorical: ['site'] };
  const noW = tmpFile('y,site\n1,a\n');
  await assert.rejects(openReader('csv', noW, { schema, weightColumn: 'w' }), { message: `${noW}:1: weight column 'w' is not in the header (columns: y, site)` });
  const d = await openReader('csv', noW, { schema, weightColumn: 'w', weights: 'detect' });
  assert.equal(d.weightColumn, undefined);
  assert.equal((await collect(d))[0].sampleWeights, undefined, 'detect without the column: every row weighs 1');
  const bad = tmpFile('y,site,w\n1,a,-3\n');
  const ig = await openReader('csv', bad, { schema, weightColumn: 'w', weights: 'ignore' });
  assert.equal(ig.weightColumn, undefined);
  assert.equal((await collect(ig))[0].sampleWeights, undefined, 'ignore: the column is not even parsed');
  await assert.rejects(openReader('csv', bad, { schema, weightColumn: 'site' }), { name: 'ConfigError', message: "weight column 'site' is also the schema's categorical column; a sample weight is not a feature: remove it from the schema or name another column" });
  await assert.rejects(openReader('csv', bad, { schema, weightColumn: 'y' }), { message: /weight column 'y' is also the schema's label;/ });
  await assert.rejects(openReader('csv', bad, { schema, weightColumn: 'w', idColumn: 'w' }), { message: "weightColumn 'w' is also the idColumn; a weight is a number per row, an id names the row" });
  await assert.rejects(openReader('csv', bad, { schema, weightColumn: 'w', weights: 'maybe' as never }), { message: "weights must be one of: 'require', 'detect', 'ignore' (got 'maybe')" });
});

test('avazu: the weight column is dropped from the fields like id and read per row; parquet reads it too', async () => {
  const a = tmpFile('id,click,site,wt,app\n1,1,s1,2.5,a1\n2,0,s2,x,a2\n');
  const r = await openReader('avazu', a, { weightColumn: 'wt', onError: 'skip' });
  assert.deepEqual(r.fieldNames, ['site', 'app']);
  assert.deepEqual(weightsOf(await collect(r)), [2.5]);
  assert.match(Object.values(r.stats.skipped.examples)[0], new RegExp(`:3: weight column 'wt' value 'x' is not a number$`));
  const ig = await openReader('avazu', a, { weightColumn: 'wt', weights: 'ignore' });
  assert.deepEqual(ig.fieldNames, ['site', 'app'], 'ignored (predict): still not a feature, as the model was trained');
  assert.equal((await collect(ig)).length, 1);
  await assert.rejects(openReader('avazu', a, { weightColumn: 'click' }), { message: "weight column 'click' is avazu's label column; name the column that holds the sample weights" });
  await assert.rejects(openReader('avazu', a, { weightColumn: 'nope' }), { message: `${a}:1: weight column 'nope' is not in the header (columns: id, click, site, wt, app)` });

  const pq = tmpFile(
    writeParquet(
      [
        { name: 'click', type: 'int32', values: [1, 0, 1] },
        { name: 'site', type: 'string', values: ['a', 'b', 'c'] },
        { name: 'w', type: 'double', values: [0.5, 2, -1] },
      ],
      2,
    ),
    { name: 'weighted.parquet' },
  );
  // Without a schema every other column would be a feature: the weight column is not.
  const p = await openReader('parquet', pq, { weightColumn: 'w', onError: 'skip' });
  assert.deepEqual(p.fieldNames, ['site']);
  assert.deepEqual(weightsOf(await collect(p)), [0.5, 2]);
  assert.deepEqual(Object.values(p.stats.skipped.examples), [`${pq}:3: weight column 'w' value -1 is negative (weights are numbers ≥ 0)`]);
});

test('criteo, libsvm, libfm, libffm: no named columns, so weightColumn is refused with the way to read such a file', async () => {
  const row = ['1', ...Array.from({ length: 13 }, () => '1'), ...Array.from({ length: 26 }, () => 'c')].join('\t');
  await assert.rejects(openReader('criteo', tmpFile(`${row}\n`), { weightColumn: '40' }), {
    name: 'ConfigError',
    message: `weightColumn '40': criteo rows have no named columns to take a sample weight from; read a Criteo-style file with an extra weight column as --format tsv with a schema of "header": false, which names columns by 0-based position (label "0", …, weight "40")`,
  });
  for (const [format, line] of [['libsvm', '1 3:1'], ['libfm', '1 3:1'], ['libffm', '1 0:3:1']] as const) {
    await assert.rejects(openReader(format, tmpFile(`${line}\n`), { weightColumn: 'w' }), { name: 'ConfigError', message: new RegExp(`^weightColumn 'w': ${format} rows have no named columns`) });
    // Scoring (weights 'ignore') of a model trained elsewhere never trips over it.
    await openReader(format, tmpFile(`${line}\n`), { weightColumn: 'w', weights: 'ignore' });
  }
});

test('serving rows: a training weight column sent with a row is accepted and ignored, like the label (avazu, csv)', async () => {
  const { RowEncoder } = await import('../../../src/data/row-encoder.js');
  const csv = await RowEncoder.create('csv', { schema: { label: 'y', categorical: ['site'] }, weightColumn: 'w' });
  assert.deepEqual(flatten([csv.encode([{ site: 'a', w: 3, y: 1 }])]), flatten([csv.encode([{ site: 'a' }])]));
  const plain = await RowEncoder.create('csv', { schema: { label: 'y', categorical: ['site'] } });
  assert.throws(() => plain.encode([{ site: 'a', w: 3 }]), /unknown field/);
  const av = await RowEncoder.create('avazu', { weightColumn: 'wt' }, ['site', 'app']);
  assert.deepEqual(flatten([av.encode([{ site: 's', app: 'a', wt: '2' }])]), flatten([av.encode([{ site: 's', app: 'a' }])]));
});
