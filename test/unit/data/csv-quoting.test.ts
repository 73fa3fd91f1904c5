// Bad quoting says which mistake it is: an unclosed quote (usually a field with a newline in it, which this reader
// does not support) or a stray quote; both were 'unbalanced or misplaced double quote'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { collect, expectIds, flatten, tmpFile } from './helpers.js';

const schema = { label: 'y', categorical: ['a', 'b'] };

test('csv: a quoted field with a newline is reported as not closed on its line, with the line number', async () => {
  const p = tmpFile('y,a,b\n1,x,y\n1,"two\nlines",z\n');
  await assert.rejects(collect(await openReader('csv', p, { schema })), {
    name: 'DataError',
    message: `${p}:3: a quoted field is not closed on this line (a quoted field may not span lines)`,
  });
});

test('csv: a stray quote is named as such; skip counts it under quoting; good quoting still parses', async () => {
  const p = tmpFile('y,a,b\n1,ab"c,z\n0,"x"y,z\n1,"a,""b""",z\n');
  const stray = 'a double quote inside an unquoted field or text after a closing quote (write a quote inside a quoted field as "")';
  await assert.rejects(collect(await openReader('csv', p, { schema })), { name: 'DataError', message: `${p}:2: ${stray}` });
  const r = await openReader('csv', p, { schema, onError: 'skip' });
  const rows = flatten(await collect(r));
  assert.deepEqual(r.stats.skipped.counts, { quoting: 2 });
  assert.equal(r.stats.skipped.examples.quoting, `${p}:2: ${stray}`);
  assert.deepEqual(rows.map((x) => x.values), [expectIds(['a,"b"', 'z'])]);
});
