// RowEncoder: rows given as objects of a fixture file's own values encode to exactly the ids, weights and dense
// values the format's reader makes of the file, for every format and reader mode; bad rows name index and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openReader } from '../../../src/data/open.js';
import type { DataFormat, ReaderOptions } from '../../../src/data/reader.js';
import { RowEncoder, RowError } from '../../../src/data/row-encoder.js';
import type { Row } from '../../../src/data/row-encoder.js';
import { collect, flatten } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures');
const lines = (name: string): string[] => readFileSync(join(FIX, name), 'utf8').split('\n').filter((l) => l !== '');

/** A cell as a client would send it: a number where the text is a canonical number, else the text; '' = left out. */
function value(t: string): string | number | undefined {
  if (t === '') return undefined;
  return String(Number(t)) === t ? Number(t) : t;
}

async function check(format: DataFormat, file: string, reader: ReaderOptions, rows: Row[]): Promise<void> {
  const r = await openReader(format, join(FIX, file), reader);
  const want = flatten(await collect(r));
  const enc = await RowEncoder.create(format, reader, r.fieldNames);
  assert.deepEqual(enc.fieldNames, r.fieldNames);
  assert.deepEqual(enc.denseNames, r.denseNames);
  const got = flatten([enc.encode(rows)]);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i].values, want[i].values, `${format} row ${i}: ids`);
    assert.deepEqual(got[i].weights, want[i].weights, `${format} row ${i}: weights`);
    assert.deepEqual(got[i].dense, want[i].dense, `${format} row ${i}: dense`);
  }
}

const CRITEO_NAMES = ['label', ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)];
function criteoRows(): Row[] {
  return lines('criteo.tsv').map((l) => {
    const cells = l.split('\t');
    const o: Record<string, unknown> = {};
    for (let k = 1; k < cells.length; k++) if (cells[k] !== '') o[CRITEO_NAMES[k]] = k <= 13 ? value(cells[k]) : cells[k];
    return o;
  });
}

test('criteo rows (categories and dense numerics) encode as the reader reads the file', async () => {
  await check('criteo', 'criteo.tsv', {}, criteoRows());
  await check('criteo', 'criteo.tsv', { numeric: 'dense' }, criteoRows());
});

test('avazu rows encode as the reader reads the file, hour split or not; id and click are accepted and ignored', async () => {
  const [head, ...rest] = lines('avazu.csv');
  const cols = head.split(',');
  const rows = rest.map((l) => Object.fromEntries(l.split(',').map((c, k) => [cols[k], c])));
  await check('avazu', 'avazu.csv', {}, rows);
  await check('avazu', 'avazu.csv', { splitHour: true }, rows);
});

test('csv rows (categories, log1p dense, bucketized numbers, multi-valued cells or lists) encode as the reader reads the file', async () => {
  const schema = JSON.parse(readFileSync(join(FIX, 'table.schema.json'), 'utf8')) as ReaderOptions['schema'];
  const [head, ...rest] = lines('table.csv');
  const cols = head.split(',');
  const rows = rest.map((l, i) =>
    Object.fromEntries(l.split(',').flatMap((c, k) => (c === '' ? [] : [[cols[k], cols[k] === 'tags' && i % 2 === 1 ? c.split('|') : value(c)]]))),
  );
  await check('csv', 'table.csv', { schema }, rows);
  await check('parquet', 'table.parquet', { schema }, rows);
});

test('libsvm and libffm tokens encode as the reader reads the file', async () => {
  const svm = lines('data.libsvm').map((l) => Object.fromEntries(l.trim().split(/\s+/).slice(1).map((t, k) => [`f${k}`, t])));
  await check('libsvm', 'data.libsvm', { numFields: 3 }, svm);
  const ffm = lines('data.libffm').map((l) => {
    const o: Record<string, string[]> = {};
    for (const t of l.trim().split(/\s+/).slice(1)) {
      const [f, ...rest] = t.split(':');
      (o[`f${f}`] ??= []).push(rest.join(':'));
    }
    return o;
  });
  await check('libffm', 'data.libffm', { numFields: 3 }, ffm);
});

async function refused(format: DataFormat, reader: ReaderOptions, rows: Row[], instance: number, field: string | null, reason: RegExp): Promise<void> {
  const enc = await RowEncoder.create(format, reader, format === 'avazu' ? ['C1', 'hour_of_day', 'weekday'] : undefined, { maxValueLength: 16 });
  assert.throws(
    () => enc.encode(rows),
    (e: unknown) => {
      assert.ok(e instanceof RowError, String(e));
      assert.equal(e.instance, instance);
      assert.equal(e.field, field);
      assert.match(e.reason, reason);
      return true;
    },
  );
}

test('bad rows throw RowError naming the instance, the field and the reason', async () => {
  await refused('criteo', {}, [{ C1: 'a' }, { I2: 'x' }], 1, 'I2', /I2 value 'x' is not an integer/);
  await refused('criteo', {}, [{ C1: 'a', C99: 'b' }], 0, 'C99', /unknown field/);
  await refused('criteo', {}, [{ C1: true }], 0, 'C1', /string or a number/);
  await refused('criteo', {}, [{ C1: ['a'] }], 0, 'C1', /only for multi-valued/);
  await refused('criteo', {}, [{ C1: 'a\tb' }], 0, 'C1', /tab/);
  await refused('criteo', {}, [{ C1: 'a\nb' }], 0, 'C1', /line break/);
  await refused('criteo', {}, [{ C1: 'x'.repeat(17) }], 0, 'C1', /17 characters long, the limit is 16/);
  await refused('criteo', {}, [{ I1: Infinity }], 0, 'I1', /finite/);
  await refused('libsvm', { numFields: 3 }, [{ f0: '1:1', f2: '3:1' }], 0, 'f1', /positional/);
  await refused('libsvm', { numFields: 3 }, [{ f0: '1:x' }], 0, 'f0', /not a number/);
  await refused('avazu', { splitHour: true }, [{ C1: 'a', hour: '14102100' }, { C1: 'a' }], 1, 'hour', /required/);
  await refused('avazu', { splitHour: true }, [{ C1: 'a', hour: '14103200' }], 0, 'hour', /not a valid YYMMDDHH/);
  await refused('avazu', {}, [{ C1: 'a,b' }], 0, 'C1', /comma/);
});

test('a csv value holding the delimiter or a quote is quoted, so it hashes as the reader reads it quoted', async () => {
  const schema = { label: 'y', categorical: ['a'] };
  const enc = await RowEncoder.create('csv', { schema });
  const plain = flatten([enc.encode([{ a: 'x,"y"' }])])[0].values;
  const { tmpFile } = await import('./helpers.js');
  const r = await openReader('csv', tmpFile('y,a\n1,"x,""y"""\n'), { schema });
  assert.deepEqual(plain, flatten(await collect(r))[0].values);
});
