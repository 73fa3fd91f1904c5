// bzip2/xz/zstd inputs are named with the fix (they read 'binary data (NUL byte)'), and a gzip-compressed Parquet
// file says it is compressed. Real compressed bytes come from node:zlib (gzip) or the formats' fixed headers.
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { otherCompression } from '../../../src/data/lines.js';
import { collect, tmpFile } from './helpers.js';
import { writeParquet } from './parquet-writer.js';

// Stream headers as the formats define them, followed by bytes with NULs (as real compressed data has).
const HEADERS: Record<string, number[]> = {
  bzip2: [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59],
  xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
  zstd: [0x28, 0xb5, 0x2f, 0xfd],
};

test('criteo/csv: a bzip2, xz or zstd file is named with the fix', async () => {
  for (const [name, magic] of Object.entries(HEADERS)) {
    const p = tmpFile(Uint8Array.from([...magic, 0, 1, 2, 0, 0, 7]));
    await assert.rejects(collect(await openReader('criteo', p)), {
      name: 'DataError',
      message: `${p}:1: this is ${name}-compressed data; decompress it first (gzip is read directly)`,
    });
  }
});

test('a text header that merely starts with BZh is not taken for bzip2', async () => {
  assert.equal(otherCompression(Buffer.from('BZhash,click\n1,2\n')), null);
  const p = tmpFile('BZhash,click\nx,1\ny,0\n');
  const r = await openReader('csv', p, { schema: { label: 'click', categorical: ['BZhash'] } });
  assert.equal((await collect(r)).reduce((a, c) => a + c.rows, 0), 2);
});

test('parquet: a gzip-compressed Parquet file says so', async () => {
  const pq = writeParquet([{ name: 'click', type: 'int32', values: [0, 1] }, { name: 'site', type: 'string', values: ['a', 'b'] }], 2);
  const p = tmpFile(gzipSync(pq), { name: 'x.parquet.gz' });
  await assert.rejects(openReader('parquet', p, { schema: { label: 'click', categorical: ['site'] } }), {
    name: 'DataError',
    message: `${p}: not a Parquet file (no PAR1 magic at the start); it is gzip-compressed: decompress it first (Parquet compresses inside the file)`,
  });
});
