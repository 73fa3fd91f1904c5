// Empty lines at the end of a file (an editor's or `echo >>`'s extra newline) hold no data: they are not an error
// (the whole run failed on 'file:402: empty line'). Empty lines followed by data are still bad rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { collect, flatten, tmpFile } from './helpers.js';

const row = (y: number, tag: string): string => [String(y), ...new Array<string>(13).fill('1'), ...new Array<string>(26).fill(tag)].join('\t');

test('criteo: trailing empty lines are ignored in fail mode and not counted in skip mode', async () => {
  const p = tmpFile(`${row(1, 'a')}\n${row(0, 'b')}\n\n\r\n\n`);
  const rows = flatten(await collect(await openReader('criteo', p)));
  assert.deepEqual(rows.map((r) => r.label), [1, 0]);
  const r = await openReader('criteo', p, { onError: 'skip' });
  await collect(r);
  assert.equal(r.stats.skippedRows, 0);
});

test('criteo: empty lines before more data are still bad rows, reported at the first of them', async () => {
  const p = tmpFile(`${row(1, 'a')}\n\n\n${row(0, 'b')}\n\n`);
  await assert.rejects(collect(await openReader('criteo', p)), { name: 'DataError', message: `${p}:2: empty line` });
  const r = await openReader('criteo', p, { onError: 'skip' });
  assert.equal(flatten(await collect(r)).length, 2);
  assert.deepEqual(r.stats.skipped.counts, { 'empty-line': 2 });
  assert.equal(r.stats.skipped.examples['empty-line'], `${p}:2: empty line`);
});

test('only empty lines: a DataError that says so (with and without a header)', async () => {
  const p = tmpFile('\n\n\n');
  await assert.rejects(collect(await openReader('criteo', p)), { name: 'DataError', message: `${p}: no data rows, only empty lines` });
  const q = tmpFile('y,a\n\n\n');
  await assert.rejects(collect(await openReader('csv', q, { schema: { label: 'y', categorical: ['a'] } })), {
    name: 'DataError',
    message: `${q}: no data rows after the header line, only empty lines`,
  });
});
