// Headers and byte-order marks: a quoted header cell may hold the delimiter, a schema column that appears twice
// in the header is refused (both copies used to feed one field, the last silently winning), a one-column header
// hints at the delimiter, and a UTF-8 BOM at the start of a headerless file is not part of the first label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openReader } from '../../../src/data/open.js';
import { collect, expectIds, flatten, refHash, tmpFile } from './helpers.js';

const BOM = '\uFEFF';

test('csv: a quoted header cell may contain the delimiter', async () => {
  const p = tmpFile('"y","si,te",other\n1,a,q\n0,"b,c",q\n');
  const reader = await openReader('csv', p, { schema: { label: 'y', categorical: ['si,te'] } });
  const rows = flatten(await collect(reader));
  assert.deepEqual(rows.map((r) => r.label), [1, 0]);
  assert.deepEqual(rows.map((r) => r.values), [expectIds(['a']), expectIds(['b,c'])]);
});

test('csv: a schema column that appears twice in the header is refused with both positions', async () => {
  const p = tmpFile('y,site,app,site\n1,a,x,b\n');
  await assert.rejects(openReader('csv', p, { schema: { label: 'y', categorical: ['site', 'app'] } }), {
    name: 'DataError',
    message: `${p}:1: schema column 'site' appears 2 times in the header (columns 2, 4); rename all but one`,
  });
  // a repeated column the schema does not use is harmless
  const q = tmpFile('y,app,junk,junk\n1,x,1,2\n');
  const rows = flatten(await collect(await openReader('csv', q, { schema: { label: 'y', categorical: ['app'] } })));
  assert.deepEqual(rows[0].values, [[refHash('x', 0)]]);
});

test('csv: an unbalanced quote in the header is a DataError on line 1', async () => {
  const p = tmpFile('y,"site,app\n1,a,b\n');
  await assert.rejects(openReader('csv', p, { schema: { label: 'y', categorical: ['app'] } }), {
    name: 'DataError',
    message: `${p}:1: unbalanced or misplaced double quote in the header line`,
  });
});

test('csv/tsv: a header that splits into one column names the delimiter it does have and the fix; long names are cut', async () => {
  const p = tmpFile(`y\tsite\t${'x'.repeat(50)}\n1\ta\tb\n`);
  await assert.rejects(openReader('csv', p, { schema: { label: 'y', categorical: ['site'] } }), {
    name: 'DataError',
    message: `${p}:1: schema column 'y' is not in the header (columns: y\\tsite\\t${'x'.repeat(23)}…); only one column found when splitting on commas (--format csv), but the header has tabs: use --format tsv`,
  });
  // The other way round (the hint used to ask "is the file tab-separated?" of a comma-separated file).
  const c = tmpFile('y,site\n1,a\n');
  await assert.rejects(openReader('tsv', c, { schema: { label: 'y', categorical: ['site'] } }), {
    message: `${c}:1: schema column 'y' is not in the header (columns: y,site); only one column found when splitting on tabs (--format tsv), but the header has commas: use --format csv`,
  });
  const semi = tmpFile('y;site\n1;a\n');
  await assert.rejects(openReader('csv', semi, { schema: { label: 'y', categorical: ['site'] } }), {
    message: `${semi}:1: schema column 'y' is not in the header (columns: y;site); only one column found when splitting on commas (--format csv), but the header has semicolons: use "delimiter": ";" in the schema`,
  });
});

test('criteo, libsvm: a UTF-8 BOM before the first line is ignored (plain and gzip)', async () => {
  const line = ['1', ...Array.from({ length: 13 }, (_, i) => String(i)), ...Array.from({ length: 26 }, (_, i) => `c${i}`)].join('\t');
  for (const gzip of [false, true]) {
    const plain = flatten(await collect(await openReader('criteo', tmpFile(`${line}\n${line}\n`, { gzip }))));
    const bom = flatten(await collect(await openReader('criteo', tmpFile(`${BOM}${line}\n${line}\n`, { gzip }))));
    assert.deepEqual(bom, plain);
    assert.equal(bom[0].label, 1);
  }
  const svm = flatten(await collect(await openReader('libsvm', tmpFile(`${BOM}1 3:1 7:0.5\n0 2:1\n`))));
  assert.deepEqual(svm.map((r) => r.label), [1, 0]);
  assert.deepEqual(svm[0].values, [[refHash('3', 0)], [refHash('7', 1)]]);
});

test('CR-only line endings: the header or the first bad line says so (the whole file read as one line)', async () => {
  const hint = "contains a carriage return (\\r) not followed by a newline: are the line endings CR only (classic Mac)? Convert them with tr '\\r' '\\n'";
  const csv = tmpFile('y,a\r1,x\r0,z\r');
  await assert.rejects(openReader('csv', csv, { schema: { label: 'y', categorical: ['a'] } }), { name: 'DataError', message: `${csv}:1: the header line ${hint}` });
  const line = ['1', ...new Array<string>(13).fill('1'), ...new Array<string>(26).fill('c')].join('\t');
  const criteo = tmpFile(`${line}\r${line}\r`);
  await assert.rejects(collect(await openReader('criteo', criteo)), { name: 'DataError', message: `${criteo}:1: expected 40 tab-separated fields, got 79; the line ${hint}` });
  // CRLF is fine
  const crlf = flatten(await collect(await openReader('criteo', tmpFile(`${line}\r\n${line}\r\n`))));
  assert.equal(crlf.length, 2);
});

test('UTF-16 text (Excel "Unicode text") is named as such, not as binary data', async () => {
  for (const le of [true, false]) {
    const text = Buffer.from('\uFEFFy,a\n1,x\n', 'utf16le');
    if (!le) text.swap16();
    const p = tmpFile(text);
    await assert.rejects(openReader('csv', p, { schema: { label: 'y', categorical: ['a'] } }), {
      name: 'DataError',
      message: `${p}:1: this is UTF-16 text (byte-order mark FF FE or FE FF); convert it to UTF-8 first, e.g. iconv -f UTF-16 -t UTF-8`,
    });
  }
});
