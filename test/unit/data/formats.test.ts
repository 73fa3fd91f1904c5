// avazu, libsvm/libfm, libffm and csv/tsv readers on small generated text: labels, ids (vs an independent XXH64
// of the expected tokens), weights, multi-valued offsets and pooling, dense columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { openReader } from '../../../src/data/open.js';
import { collect, expectIds, flatten, refHash, tmpFile } from './helpers.js';

test('avazu: id dropped, click is the label, other columns hashed in order', async () => {
  const rng = new Rng(11);
  const header = 'id,click,hour,C1,banner_pos,site_id,device_ip';
  const rows: string[][] = [];
  for (let i = 0; i < 100; i++) {
    const hour = `1410${21 + (i % 10)}${String(i % 24).padStart(2, '0')}`;
    rows.push([String(1e18 + i * 7919), String(rng.int(2)), hour, String(1000 + rng.int(5)), String(rng.int(3)), (rng.nextU32() >>> 0).toString(16), rng.next() < 0.1 ? '' : `ip${rng.int(50)}`]);
  }
  const path = tmpFile([header, ...rows.map((r) => r.join(','))].join('\n') + '\n', { gzip: true });
  const reader = await openReader('avazu', path, { chunkRows: 32 });
  assert.deepEqual(reader.fieldNames, ['hour', 'C1', 'banner_pos', 'site_id', 'device_ip']);
  const got = flatten(await collect(reader));
  assert.equal(got.length, 100);
  for (let i = 0; i < 100; i++) {
    assert.equal(got[i].label, Number(rows[i][1]));
    assert.deepEqual(got[i].values, expectIds(rows[i].slice(2)));
  }
  // a second pass re-reads from the first data row
  assert.equal(flatten(await collect(reader)).length, 100);
});

test('avazu: splitHour → hour_of_day as written and weekday (0 = Sunday) from YYMMDD', async () => {
  const header = 'id,click,hour,C1';
  // 2014-10-21 was a Tuesday (2); 2014-10-26 a Sunday (0); 2014-10-30 a Thursday (4).
  const lines = ['1,0,14102100,a', '2,1,14102623,b', '3,0,14103007,c'];
  const reader = await openReader('avazu', tmpFile([header, ...lines].join('\n')), { splitHour: true });
  assert.deepEqual(reader.fieldNames, ['hour_of_day', 'weekday', 'C1']);
  const got = flatten(await collect(reader));
  const want = [
    ['00', '2', 'a'],
    ['23', '0', 'b'],
    ['07', '4', 'c'],
  ];
  got.forEach((r, i) => assert.deepEqual(r.values, expectIds(want[i])));
  const bad = tmpFile([header, '1,0,14133100,a'].join('\n'));
  await assert.rejects((async () => collect(await openReader('avazu', bad, { splitHour: true })))(), {
    message: `${bad}:2: hour '14133100' is not a valid YYMMDDHH time`,
  });
});

test('libsvm/libfm: field = token position, id = XXH64(idx), weight = val; -1 → 0; short lines padded with ""', async () => {
  const text = ['+1 12:0.5 7:1 3:2', '-1 5:1', '0 1:1 2:1 3:-1.5e-1', '1.0 8:1'].join('\n');
  for (const format of ['libsvm', 'libfm'] as const) {
    const reader = await openReader(format, tmpFile(text));
    assert.equal(reader.numFields, 3, 'found by a scan: the longest line has 3 features');
    const got = flatten(await collect(reader));
    assert.deepEqual(got.map((r) => r.label), [1, 0, 0, 1]);
    assert.deepEqual(got[0].values, expectIds(['12', '7', '3']));
    assert.deepEqual(got[0].weights, [[0.5], [1], [2]]);
    assert.deepEqual(got[1].values, expectIds(['5', '', '']));
    assert.deepEqual(got[1].weights, [[1], [1], [1]]);
    assert.deepEqual(got[2].weights, [[1], [1], [Math.fround(-0.15)]]);
  }
});

test('libffm: multi-valued fields with weights, any token order, absent field → one "" value', async () => {
  const text = ['1 0:5:1 2:9:0.5 0:6:2', '0 1:3:1', '-1 2:4:1 1:1:1 0:0:1'].join('\n');
  const reader = await openReader('libffm', tmpFile(text));
  assert.equal(reader.numFields, 3);
  assert.ok(reader.fields.every((f) => f.multiValued && f.weighted && f.pooling === 'sum'));
  const chunks = await collect(reader);
  const got = flatten(chunks);
  assert.deepEqual(got.map((r) => r.label), [1, 0, 0]);
  assert.deepEqual(got[0].values, [[refHash('5', 0), refHash('6', 0)], [refHash('', 1)], [refHash('9', 2)]]);
  assert.deepEqual(got[0].weights, [[1, 2], [1], [0.5]]);
  assert.deepEqual(got[1].values, [[refHash('', 0)], [refHash('3', 1)], [refHash('', 2)]]);
  assert.deepEqual(got[2].values, [[refHash('0', 0)], [refHash('1', 1)], [refHash('4', 2)]]);
  assert.deepEqual(Array.from(chunks[0].fields[0].offsets as Uint32Array), [0, 2, 3, 4]);
});

test('valueWeights false (a 0.1.0 model file): libsvm/libfm/libffm fields carry no weights, same ids, val still checked', async () => {
  for (const [format, text] of [['libsvm', '+1 12:0.5 7:1 3:2\n-1 5:1'], ['libfm', '+1 12:0.5 7:1 3:2\n-1 5:1'], ['libffm', '1 0:5:1 2:9:0.5 0:6:2\n0 1:3:1']] as const) {
    const path = tmpFile(text);
    const plain = await openReader(format, path, { numFields: 3, valueWeights: false });
    assert.ok(plain.fields.every((f) => !f.weighted), `${format}: fields must not be weighted`);
    const chunks = await collect(plain);
    assert.ok(chunks[0].fields.every((c) => c.weights === undefined), `${format}: no weight columns`);
    const weighted = flatten(await collect(await openReader(format, path, { numFields: 3 })));
    assert.deepEqual(flatten(chunks).map((r) => r.values), weighted.map((r) => r.values), `${format}: the same ids as with weights`);
    await assert.rejects(collect(await openReader(format, tmpFile(format === 'libffm' ? '1 0:5:x' : '1 5:x'), { numFields: 3, valueWeights: false })), /value is not a number/, `${format}: a bad val is still an error`);
  }
});

test('csv: categorical, dense (log1p), bucketized (boundaries and log² rule), multi-valued mean/sum, quotes', async () => {
  const schema = {
    label: 'clicked',
    categorical: ['site', 'app'],
    numeric: ['price', { name: 'age', mode: 'bucket', boundaries: [18, 30, 50] }, { name: 'views', mode: 'bucket' }, { name: 'count', transform: 'log1p' }],
    multi: [
      { name: 'tags', separator: '|', pooling: 'mean' },
      { name: 'cats', separator: ';', pooling: 'sum' },
    ],
  };
  const schemaPath = tmpFile(JSON.stringify(schema));
  const text = [
    'ignored,clicked,site,app,price,age,views,count,tags,cats',
    'x,1,s1,"a,pp",2.5,17,100,3,t1|t2|t3,c1;c2',
    'y,0,s2,"say ""hi""",,30,,0,,c3',
    'z,true,,a3,-1e2,99,2,-5,t4,',
  ].join('\n');
  const reader = await openReader('csv', tmpFile(text), { schema: schemaPath });
  assert.deepEqual(reader.fieldNames, ['site', 'app', 'age', 'views', 'tags', 'cats']);
  assert.deepEqual(reader.denseNames, ['price', 'count']);
  const got = flatten(await collect(reader));
  assert.deepEqual(got.map((r) => r.label), [1, 0, 1]);
  // age: index of the first boundary > v → 17 → 0, 30 → 2, 99 → 3. views: 100 → floor(ln(100)²) = 21, "" missing, 2 → 2.
  assert.deepEqual(got[0].values.slice(0, 4), expectIds(['s1', 'a,pp', '0', '21']));
  assert.deepEqual(got[1].values.slice(0, 4), expectIds(['s2', 'say "hi"', '2', '']));
  assert.deepEqual(got[2].values.slice(0, 4), expectIds(['', 'a3', '3', '2']));
  assert.deepEqual(got[0].values[4], ['t1', 't2', 't3'].map((t) => refHash(t, 4)));
  // Values weigh 1; the pooling is the model's (mean divides by the row's count there), named on the field.
  assert.deepEqual(got[0].weights[4], [1, 1, 1]);
  assert.deepEqual(reader.fields.map((f) => f.pooling), [undefined, undefined, undefined, undefined, 'mean', 'sum']);
  assert.deepEqual(got[0].values[5], ['c1', 'c2'].map((t) => refHash(t, 5)));
  assert.deepEqual(got[0].weights[5], [1, 1]);
  assert.deepEqual(got[1].values[4], [refHash('', 4)], 'empty multi cell = one "" value');
  assert.deepEqual(got[2].values[5], [refHash('', 5)]);
  assert.deepEqual(got[0].dense, [2.5, Math.fround(Math.log1p(3))]);
  assert.deepEqual(got[1].dense, [0, 0]);
  assert.deepEqual(got[2].dense, [-100, 0], 'log1p clamps negatives to 0');
});

test('tsv: tab default, header: false names columns by position; bad number is reported', async () => {
  const schema = { header: false, label: '2', categorical: ['0'], numeric: ['1'] };
  const path = tmpFile(['a\t1.5\t1\textra', 'b\t\t0\tmore'].join('\n'));
  const reader = await openReader('tsv', path, { schema });
  assert.deepEqual(reader.fieldNames, ['0']);
  const got = flatten(await collect(reader));
  assert.deepEqual(got.map((r) => [r.label, r.dense[0]]), [
    [1, 1.5],
    [0, 0],
  ]);
  assert.deepEqual(got[1].values, expectIds(['b']));
  const bad = tmpFile('a\tnope\t1\n');
  await assert.rejects((async () => collect(await openReader('tsv', bad, { schema })))(), { message: `${bad}:1: 1 value 'nope' is not a number` });
});

test('csv: schema errors name the key; a schema column missing from the header names the columns', async () => {
  const p = tmpFile('y,a\n1,x\n');
  await assert.rejects(openReader('csv', p, { schema: { label: 'y', numeric: [{ name: 'a', mode: 'log' }] } as never }), {
    name: 'ConfigError',
    message: "schema.numeric[0].mode: must be one of: 'dense', 'bucket' (got 'log')",
  });
  await assert.rejects(openReader('csv', p, { schema: { label: 'y', categorical: ['b'] } }), {
    name: 'DataError',
    message: `${p}:1: schema column 'b' is not in the header (columns: y, a)`,
  });
  await assert.rejects(openReader('csv', p, {}), { name: 'ConfigError' });
});

test('openReader: unknown format lists the allowed ones', async () => {
  await assert.rejects(openReader('xml' as never, 'x'), {
    name: 'ConfigError',
    message: "format must be one of: criteo, avazu, libsvm, libfm, libffm, csv, tsv, parquet (got 'xml')",
  });
});

test('csv: a UTF-8 byte-order mark before the header is ignored', async () => {
  const path = tmpFile('\uFEFFy,a\n1,x\n0,z\n');
  const got = flatten(await collect(await openReader('csv', path, { schema: { label: 'y', categorical: ['a'] } })));
  assert.deepEqual(got.map((r) => r.label), [1, 0]);
  assert.deepEqual(got[1].values, expectIds(['z']));
});
