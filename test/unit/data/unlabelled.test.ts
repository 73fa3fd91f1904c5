// Unlabelled rows, id passthrough, input positions and row-shape checks, in every reader: live traffic and
// competition test files have no label; predictions must line up with input rows after skips; another format's or
// another model's data must be refused with a reason, not scored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { normalizeSchema } from '../../../src/data/schema.js';
import { collect, expectIds, flatten, tmpFile } from './helpers.js';
import { writeParquet } from './parquet-writer.js';

const criteoRow = (label: string | null, k: number): string =>
  [...(label === null ? [] : [label]), ...Array.from({ length: 13 }, (_, i) => String(i + k)), ...Array.from({ length: 26 }, (_, i) => `c${i}x${k}`)].join('\t');

test('criteo: 39 columns are read without a label (none, detect); require names predict --no-label', async () => {
  const labelled = tmpFile(`${criteoRow('1', 0)}\n${criteoRow('0', 1)}\n`);
  const bare = tmpFile(`${criteoRow(null, 0)}\n${criteoRow(null, 1)}\n`);
  const want = flatten(await collect(await openReader('criteo', labelled)));
  for (const labels of ['none', 'detect'] as const) {
    const r = await openReader('criteo', bare, { labels });
    assert.equal(r.hasLabels, false);
    const got = flatten(await collect(r));
    assert.deepEqual(got.map((x) => x.values), want.map((x) => x.values), `${labels}: the same features as the labelled rows`);
    assert.deepEqual(got.map((x) => x.label), [0, 0]);
  }
  const detected = await openReader('criteo', labelled, { labels: 'detect' });
  assert.equal(detected.hasLabels, true);
  assert.deepEqual(flatten(await collect(detected)).map((x) => x.label), [1, 0]);
  await assert.rejects(collect(await openReader('criteo', bare)), {
    message: `${bare}:1: expected 40 tab-separated fields, got 39 (no label column? Criteo test files have none: score them with \`bhembed predict --no-label\`)`,
  });
  await assert.rejects(collect(await openReader('criteo', labelled, { labels: 'none' })), {
    message: `${labelled}:1: expected 39 tab-separated fields (no label), got 40 (the rows are read without a label, but this one has a label column)`,
  });
  await assert.rejects(openReader('criteo', labelled, { idColumn: 'id' }), { name: 'ConfigError', message: /criteo rows have no named columns/ });
});

test('positions: each row keeps its 0-based data row in the input, skipped rows counted (criteo, avazu header)', async () => {
  const p = tmpFile(`${criteoRow('1', 0)}\nbad\n${criteoRow('0', 1)}\n\n${criteoRow('1', 2)}\n`);
  const chunks = await collect(await openReader('criteo', p, { onError: 'skip', chunkRows: 2 }));
  assert.deepEqual(chunks.flatMap((c) => Array.from(c.positions ?? [])), [0, 2, 4]);
  const a = tmpFile('id,click,site\n7,1,a\n8,x,b\n9,0,c\n');
  const ac = await collect(await openReader('avazu', a, { onError: 'skip' }));
  assert.deepEqual(ac.flatMap((c) => Array.from(c.positions ?? [])), [0, 2], 'the header line is not a data row');
});

test('avazu: no click column → detect reads it unlabelled, require explains; idColumn passes id through', async () => {
  const test1 = tmpFile('id,hour,site\n1000009418151094273,14102100,a\n10000169349117863715,14102100,b\n');
  await assert.rejects(openReader('avazu', test1), {
    message: `${test1}:1: header has no 'click' column (columns: id, hour, site); is this comma-separated Avazu data? Unlabelled rows (Avazu's test file) can be scored with \`bhembed predict\``,
  });
  const r = await openReader('avazu', test1, { labels: 'detect', idColumn: 'id' });
  assert.equal(r.hasLabels, false);
  assert.deepEqual(r.fieldNames, ['hour', 'site']);
  const chunks = await collect(r);
  assert.deepEqual(chunks[0].keys, ['1000009418151094273', '10000169349117863715'], 'the id as written (beyond 2^53: text, not a number)');
  // A labelled file read with labels 'none': click is dropped, never a feature.
  const train = tmpFile('id,click,hour,site\n1,1,14102100,a\n');
  const none = await openReader('avazu', train, { labels: 'none' });
  assert.deepEqual(none.fieldNames, ['hour', 'site']);
  assert.deepEqual(flatten(await collect(none))[0].values, expectIds(['14102100', 'a']));
  await assert.rejects(openReader('avazu', train, { idColumn: 'uid' }), { message: `${train}:1: id column 'uid' is not in the header (columns: id, click, hour, site)` });
});

test('csv/tsv: the label column absent → detect; headerless none shifts the columns after the label; id passthrough', async () => {
  const schema = { label: 'y', categorical: ['site', 'app'] };
  const bare = tmpFile('rid,site,app\nr1,a,"b,c"\nr2,d,e\n');
  await assert.rejects(openReader('csv', bare, { schema }), { message: /schema column 'y' is not in the header .*; unlabelled rows can be scored with `bhembed predict`/ });
  const r = await openReader('csv', bare, { schema, labels: 'detect', idColumn: 'rid' });
  assert.equal(r.hasLabels, false);
  const chunks = await collect(r);
  assert.deepEqual(chunks[0].keys, ['r1', 'r2']);
  assert.deepEqual(flatten(chunks)[0].values, expectIds(['a', 'b,c']));
  // No header: columns by position, label at 0. Unlabelled rows hold only columns 1 and 2, now at 0 and 1.
  const pos = { label: '0', categorical: ['1', '2'], header: false };
  const labelled = flatten(await collect(await openReader('csv', tmpFile('1,a,b\n'), { schema: pos })));
  const shifted = flatten(await collect(await openReader('csv', tmpFile('a,b\n'), { schema: pos, labels: 'none' })));
  assert.deepEqual(shifted[0].values, labelled[0].values);
  await assert.rejects(openReader('csv', bare, { schema, idColumn: 'nope', labels: 'detect' }), { message: /id column 'nope' is not in the header/ });
});

test('parquet: a file without the label column is read unlabelled under detect; idColumn passes text through', async () => {
  const path = tmpFile(
    writeParquet(
      [
        { name: 'rid', type: 'int64', values: [10n, 11n, 12n] },
        { name: 'site', type: 'string', values: ['a', 'b', 'c'] },
      ],
      2,
    ),
    { name: 'unlabelled.parquet' },
  );
  const schema = { label: 'click', categorical: ['site'] };
  await assert.rejects(openReader('parquet', path, { schema }), { message: /schema column 'click' is not in .*; unlabelled rows can be scored with `bhembed predict`/ });
  const r = await openReader('parquet', path, { schema, labels: 'detect', idColumn: 'rid' });
  assert.equal(r.hasLabels, false);
  const chunks = await collect(r);
  assert.deepEqual(chunks.flatMap((c) => c.keys ?? []), ['10', '11', '12']);
  assert.deepEqual(chunks.flatMap((c) => Array.from(c.positions ?? [])), [0, 1, 2]);
});

test('libsvm/libfm/libffm: a first token of the form idx:val means no label (detect); none reads every token as a feature', async () => {
  const labelled = flatten(await collect(await openReader('libfm', tmpFile('1 3:1 9:0.5\n0 4:1 8:1\n'))));
  const bareFile = tmpFile('3:1 9:0.5\n4:1 8:1\n');
  for (const labels of ['detect', 'none'] as const) {
    const r = await openReader('libfm', bareFile, { labels });
    assert.equal(r.hasLabels, false);
    assert.equal(r.numFields, 2, 'the scan counts features, not a label');
    assert.deepEqual(flatten(await collect(r)).map((x) => x.values), labelled.map((x) => x.values));
  }
  const ffm = await openReader('libffm', tmpFile('0:3:1 1:9:1\n'), { labels: 'detect' });
  assert.equal(ffm.hasLabels, false);
  assert.equal(ffm.numFields, 2);
  await assert.rejects(collect(await openReader('libfm', bareFile, { numFields: 2 })), { message: /label '3:1' is not 0\/1 or -1\/\+1 \(it looks like a feature: are the rows unlabelled\?/ });
});

test('libsvm/libfm: a token that is not idx:val is refused (a Criteo TSV read as libfm trained before)', async () => {
  const tsv = tmpFile(`${criteoRow('0', 5)}\n`);
  for (const format of ['libsvm', 'libfm'] as const) {
    await assert.rejects(collect(await openReader(format, tsv)), {
      message: `${tsv}:1: feature 1 '5' is not index:value (the line is tab-separated: is this a Criteo or TSV file? use --format criteo or tsv)`,
    });
  }
});

test('minFeatures: rows with fewer features (fields for libffm) than the model was trained on are field-count errors', async () => {
  const short = tmpFile('1 1518:1 5688:1 14464:1\n');
  await assert.rejects(collect(await openReader('libfm', short, { numFields: 10, minFeatures: 10 })), {
    message: `${short}:1: expected 10 features (the model's training rows all had at least that many), got 3: is this the model's kind of data?`,
  });
  const r = await openReader('libfm', tmpFile('1 1:1 2:1\n0 1:1 2:1 3:1\n'));
  await collect(r);
  assert.equal(r.minFeaturesSeen, 2);
  await assert.rejects(collect(await openReader('libffm', tmpFile('1 0:1:1 0:2:1\n'), { numFields: 3, minFeatures: 2 })), { message: /expected 2 fields .*got 1/ });
});

test('schema: an unknown key inside a numeric or multi entry is refused with the likely key (it was ignored)', () => {
  assert.throws(() => normalizeSchema({ label: 'y', multi: [{ name: 'tags', sep: ';' }] }), {
    name: 'ConfigError',
    message: "schema.multi[0].sep: unknown key (did you mean 'separator'?); allowed keys: name, separator, pooling",
  });
  assert.throws(() => normalizeSchema({ label: 'y', numeric: [{ name: 'age', mdoe: 'bucket' }] }), {
    message: "schema.numeric[0].mdoe: unknown key (did you mean 'mode'?); allowed keys: name, mode, transform, boundaries",
  });
  assert.throws(() => normalizeSchema({ label: 'y', numeric: ['a', { name: 'b', bins: [1] }] }), { message: 'schema.numeric[1].bins: unknown key; allowed keys: name, mode, transform, boundaries' });
});
