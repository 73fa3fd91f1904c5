// Values that decode but cannot be used, and Parquet pages that do not decode: a dense value beyond float32 became
// Infinity (training then failed later with 'metrics: score 90 is NaN'), and a damaged Parquet page escaped as a
// RangeError from hyparquet ('internal error' with a stack in the CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { collect, flatten, tmpFile } from './helpers.js';
import { writeParquet } from './parquet-writer.js';

test('csv: a dense value beyond the float32 range is a DataError at its line; the largest float32 is kept', async () => {
  const schema = { label: 'y', categorical: ['a'], numeric: ['x'] };
  const p = tmpFile('y,a,x\n1,q,3.4e38\n0,q,-1e300\n');
  await assert.rejects(collect(await openReader('csv', p, { schema })), {
    name: 'DataError',
    message: `${p}:3: x value '-1e300' is beyond the float32 range (±3.4e38)`,
  });
  const ok = flatten(await collect(await openReader('csv', p, { schema, maxRows: 1 })));
  assert.equal(ok[0].dense[0], Math.fround(3.4e38));
  const r = await openReader('csv', p, { schema, onError: 'skip' });
  await collect(r);
  assert.deepEqual(r.stats.skipped.counts, { number: 1 });
});

test('libsvm/libffm: a feature value beyond the float32 range is a DataError at its line', async () => {
  const svm = tmpFile('1 3:1 7:2\n0 3:1e300\n');
  await assert.rejects(collect(await openReader('libsvm', svm)), {
    name: 'DataError',
    message: `${svm}:2: feature 1 '3:1e300': value is beyond the float32 range (±3.4e38)`,
  });
  const ffm = tmpFile('1 0:3:1 1:7:2\n0 1:7:-4e38\n');
  await assert.rejects(collect(await openReader('libffm', ffm)), {
    name: 'DataError',
    message: `${ffm}:2: token '1:7:-4e38': value is beyond the float32 range (±3.4e38)`,
  });
});

function parquet(values: number[]): Uint8Array {
  return writeParquet(
    [
      { name: 'click', type: 'int32', values: values.map((_, i) => i % 2) },
      { name: 'site', type: 'string', values: values.map((_, i) => `s${i % 5}`) },
      { name: 'price', type: 'double', values },
    ],
    4,
  );
}

test('parquet: a double beyond the float32 range is a DataError at its row', async () => {
  const p = tmpFile(parquet([1, 2, 1e300, 4, 5, 6]), { name: 'big.parquet' });
  await assert.rejects(collect(await openReader('parquet', p, { schema: { label: 'click', categorical: ['site'], numeric: ['price'] } })), {
    name: 'DataError',
    message: `${p}:3: price value "1e+300" is beyond the float32 range (±3.4e38)`,
  });
});

test('parquet: a damaged page is a DataError naming the file and the rows, not a RangeError', async () => {
  const bytes = Uint8Array.from(parquet([1, 2, 3, 4, 5, 6]));
  // the PLAIN-encoded string 's0' of the first page: 4-byte little-endian length 2, then the bytes
  const at = Buffer.from(bytes).indexOf(Buffer.from([2, 0, 0, 0, 0x73, 0x30]));
  assert.ok(at > 0);
  bytes[at + 3] = 0x7f; // length 2 → 2 + 0x7f << 24
  const p = tmpFile(bytes, { name: 'damaged.parquet' });
  await assert.rejects(collect(await openReader('parquet', p, { schema: { label: 'click', categorical: ['site'] } })), (e: unknown) => {
    assert.equal((e as Error).name, 'DataError');
    assert.match((e as Error).message, new RegExp(`^${p}: corrupt Parquet data in rows 1–4 \\(`));
    return true;
  });
});
