// One token in several fields, for every reader: a field's ids are XXH64(token, seed = the field), so the same
// text in two fields must give two different ids, each the reference hash with its own field's seed. The readers'
// short-token caches key their entries by field; a cache that forgot the field would hand field B the id field A
// got for the same token (Avazu: device_type 1 would get banner_pos 1's hash). Tokens of 1–9 bytes (both cache
// word paths and the uncached long path), each repeated so later rows are cache hits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { DATA_FORMATS } from '../../../src/data/reader.js';
import { collect, flatten, refHash, tmpFile } from './helpers.js';
import { writeParquet } from './parquet-writer.js';

const TOKENS = ['1', '2', 'ab', 'abc1', 'abcde', 'abcdefg', 'abcdefgh', 'abcdefghi'];
const ROWS = 64;
const tokenOf = (r: number): string => TOKENS[r % TOKENS.length];

/** Every row's ids against refHash(expected token of field f, seed f). */
const covered = new Set<string>();

function check(format: string, got: ReturnType<typeof flatten>, expect: (r: number, f: number) => string): void {
  covered.add(format);
  assert.equal(got.length, ROWS, `${format}: rows`);
  got.forEach((row, r) =>
    row.values.forEach((ids, f) => {
      const token = expect(r, f);
      assert.deepEqual(ids, [refHash(token, f)], `${format} row ${r} field ${f}: token '${token}' must hash with its own field's seed ${f} (the same token is in other fields of this row)`);
    }),
  );
}

test('criteo: the same token in all 26 categorical fields and the same integer in all 13 integer fields', async () => {
  // I-fields: v = 5 → the log² bucket floor(ln(5)²) = 2, hashed as '2' with the I-field's seed.
  const lines = Array.from({ length: ROWS }, (_, r) => [String(r % 2), ...new Array(13).fill('5'), ...new Array(26).fill(tokenOf(r))].join('\t'));
  const got = flatten(await collect(await openReader('criteo', tmpFile(lines.join('\n') + '\n'))));
  check('criteo', got, (r, f) => (f < 13 ? '2' : tokenOf(r)));
});

test('avazu: the same token in every column after id and click (banner_pos = device_type = 1)', async () => {
  const header = 'id,click,hour,C1,banner_pos,site_id,device_type,device_conn_type';
  const lines = Array.from({ length: ROWS }, (_, r) => [String(1000 + r), String(r % 2), ...new Array(6).fill(tokenOf(r))].join(','));
  const got = flatten(await collect(await openReader('avazu', tmpFile([header, ...lines].join('\n') + '\n'))));
  check('avazu', got, (r) => tokenOf(r));
});

for (const format of ['csv', 'tsv'] as const) {
  test(`${format}: the same token in three categorical columns and the same number in two bucketized ones`, async () => {
    const sep = format === 'csv' ? ',' : '\t';
    const schema = { label: 'y', categorical: ['a', 'b', 'c'], numeric: [{ name: 'n1', mode: 'bucket' as const }, { name: 'n2', mode: 'bucket' as const }] };
    const lines = ['y,a,b,c,n1,n2'.split(',').join(sep), ...Array.from({ length: ROWS }, (_, r) => [String(r % 2), tokenOf(r), tokenOf(r), tokenOf(r), '5', '5'].join(sep))];
    const got = flatten(await collect(await openReader(format, tmpFile(lines.join('\n') + '\n'), { schema })));
    check(format, got, (r, f) => (f < 3 ? tokenOf(r) : '2'));
  });
}

for (const format of ['libsvm', 'libfm'] as const) {
  test(`${format}: the same index at every position`, async () => {
    const idx = (r: number): string => String(1 + (r % 5));
    const lines = Array.from({ length: ROWS }, (_, r) => `${r % 2} ${idx(r)}:1 ${idx(r)}:1 ${idx(r)}:1`);
    const got = flatten(await collect(await openReader(format, tmpFile(lines.join('\n') + '\n'))));
    check(format, got, (r) => idx(r));
  });
}

test('libffm: the same feature token in every field', async () => {
  const lines = Array.from({ length: ROWS }, (_, r) => `${r % 2} 0:${tokenOf(r)}:1 1:${tokenOf(r)}:1 2:${tokenOf(r)}:1`);
  const got = flatten(await collect(await openReader('libffm', tmpFile(lines.join('\n') + '\n'))));
  check('libffm', got, (r) => tokenOf(r));
});

test('parquet: the same string in two columns and the same integer in two columns', async () => {
  const n = Array.from({ length: ROWS }, (_, r) => r % 7);
  const bytes = writeParquet(
    [
      { name: 'click', type: 'int32', values: Array.from({ length: ROWS }, (_, r) => r % 2) },
      { name: 's1', type: 'string', values: Array.from({ length: ROWS }, (_, r) => tokenOf(r)) },
      { name: 's2', type: 'string', values: Array.from({ length: ROWS }, (_, r) => tokenOf(r)) },
      { name: 'i1', type: 'int32', values: n },
      { name: 'i2', type: 'int64', values: n.map((v) => BigInt(v)) },
    ],
    16,
  );
  const got = flatten(await collect(await openReader('parquet', tmpFile(bytes, { name: 'same-token.parquet' }))));
  check('parquet', got, (r, f) => (f < 2 ? tokenOf(r) : String(n[r])));
});

test('every reader format is covered above', () => {
  assert.deepEqual([...covered].sort(), [...DATA_FORMATS].sort(), 'a new reader needs its one-token-in-two-fields case here');
});
