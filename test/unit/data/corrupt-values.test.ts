// Parquet pages that do not decode: a damaged page escaped as a RangeError from hyparquet ('internal error' with a
// stack in the CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { collect, tmpFile } from './helpers.js';
import { writeParquet } from './parquet-writer.js';

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
