// Parquet reader (hyparquet, lazily loaded) on files written by a small test writer: default roles, schema roles,
// several row groups and passes, nulls, bad rows with file:row messages and skip counts, non-Parquet input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError, IoError } from '../../../src/core/errors.js';
import { openReader } from '../../../src/data/open.js';
import type { TableSchema } from '../../../src/data/schema.js';
import { collect, expectIds, flatten, refHash, tmpDir, tmpFile } from './helpers.js';
import { writeParquet } from './parquet-writer.js';

const N = 250;
const labels = Array.from({ length: N }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
const site = Array.from({ length: N }, (_, i) => (i % 11 === 0 ? null : `site-${i % 13}`));
const count = Array.from({ length: N }, (_, i) => (i % 5) * 3);
const big = Array.from({ length: N }, (_, i) => BigInt(i) * 1_000_000_007n);
const price = Array.from({ length: N }, (_, i) => i / 4);

function file(labelValues: (number | null)[] = labels): string {
  return tmpFile(
    writeParquet(
      [
        { name: 'click', type: 'int32', values: labelValues },
        { name: 'site', type: 'string', values: site },
        { name: 'count', type: 'int32', values: count },
        { name: 'big', type: 'int64', values: big },
        { name: 'price', type: 'double', values: price },
      ],
      64,
    ),
    { name: `t${Math.random().toString(36).slice(2)}.parquet` },
  );
}

test('parquet: default roles (click label, floats dense, others categorical), row groups, two passes', async () => {
  const path = file();
  const reader = await openReader('parquet', path, { chunkRows: 100 });
  assert.deepEqual(reader.fieldNames, ['site', 'count', 'big']);
  assert.deepEqual(reader.denseNames, ['price']);
  const chunks = await collect(reader);
  assert.deepEqual(chunks.map((c) => c.rows), [100, 100, 50]);
  const got = flatten(chunks);
  for (let i = 0; i < N; i++) {
    assert.equal(got[i].label, labels[i]);
    assert.deepEqual(got[i].values, expectIds([site[i] ?? '', String(count[i]), String(big[i])]), `row ${i}`);
    assert.deepEqual(got[i].dense, [Math.fround(price[i])]);
  }
  assert.deepEqual(flatten(await collect(reader)), got);
});

test('parquet: schema with bucketized and log1p columns', async () => {
  const path = file();
  const schema: TableSchema = { label: 'click', categorical: ['site'], numeric: [{ name: 'count', mode: 'bucket', boundaries: [1, 5] }, { name: 'price', transform: 'log1p' }] };
  const got = flatten(await collect(await openReader('parquet', path, { schema })));
  for (const i of [0, 1, 2, 3, 4, 77]) {
    const bucket = count[i] < 1 ? 0 : count[i] < 5 ? 1 : 2;
    assert.deepEqual(got[i].values, [[refHash(site[i] ?? '', 0)], [refHash(String(bucket), 1)]]);
    assert.deepEqual(got[i].dense, [Math.fround(Math.log1p(price[i]))]);
  }
});

test('parquet: bad labels → file:row reason, or skipped and counted', async () => {
  const bad = labels.map((v, i) => (i === 70 || i === 200 ? 5 : i === 71 ? null : v));
  const path = file(bad);
  await assert.rejects(collect(await openReader('parquet', path)), (e: unknown) => e instanceof DataError && (e as Error).message === `${path}:71: label 5 is not 0/1`);
  const r = await openReader('parquet', path, { onError: 'skip' });
  const rows = (await collect(r)).reduce((s, c) => s + c.rows, 0);
  assert.equal(rows, N - 3);
  assert.deepEqual(r.stats.skipped.counts, { label: 3 });
});

test('parquet: text, empty, missing and stdin inputs get clear errors', async () => {
  const text = tmpFile('1\t2\t3\n');
  await assert.rejects(openReader('parquet', text), (e: unknown) => e instanceof DataError && /not a Parquet file/.test((e as Error).message));
  const empty = tmpFile('');
  await assert.rejects(openReader('parquet', empty), (e: unknown) => e instanceof DataError && (e as Error).message === `${empty}: file is empty`);
  await assert.rejects(openReader('parquet', '/nonexistent/x.parquet'), (e: unknown) => e instanceof IoError && /no such file/.test((e as Error).message));
  await assert.rejects(openReader('parquet', tmpDir()), (e: unknown) => e instanceof IoError && /is a directory/.test((e as Error).message));
  await assert.rejects(openReader('parquet', '-'), (e: unknown) => e instanceof IoError && /cannot be read from stdin/.test((e as Error).message));
});
