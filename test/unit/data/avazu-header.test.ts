// An Avazu header that names a column twice or leaves one unnamed is refused: a second 'click' column used to
// become a feature, so the label leaked into the model (AUC 0.89 on random labels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { collect, tmpFile } from './helpers.js';

test('avazu: a repeated column name is a DataError on line 1 naming both columns', async () => {
  const p = tmpFile('id,click,site_id,click\n1,0,s,0\n');
  await assert.rejects(openReader('avazu', p), { name: 'DataError', message: `${p}:1: header names column 'click' twice (columns 2 and 4)` });
  const q = tmpFile('id,click,app_id,site_id,app_id\n1,0,a,s,a\n');
  await assert.rejects(openReader('avazu', q), { name: 'DataError', message: `${q}:1: header names column 'app_id' twice (columns 3 and 5)` });
});

test('avazu: an empty column name is a DataError; a well-formed header still reads', async () => {
  const p = tmpFile('id,click,,site_id\n1,0,x,s\n');
  await assert.rejects(openReader('avazu', p), { name: 'DataError', message: `${p}:1: header column 3 has no name` });
  const ok = await openReader('avazu', tmpFile('id,click,site_id\n1,0,s\n2,1,t\n'));
  assert.deepEqual(ok.fieldNames, ['site_id']);
  assert.equal((await collect(ok)).reduce((a, c) => a + c.rows, 0), 2);
});
