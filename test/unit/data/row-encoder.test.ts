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
import { BodyError } from '../../../src/data/json-rows.js';
import type { Row } from '../../../src/data/row-encoder.js';
import { collect, flatten } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures');
const lines = (name: string): string[] => readFileSync(join(FIX, name), 'utf8').split('\n').filter((l) => l !== '');

/** A cell as a client would send it: a number where the text is a canonical number, else the text; '' = left out. */
function value(t: string): string | number | undefined {
  if (t === '') return undefined;
  return String(Number(t)) === t ? Number(t) : t;
}

/**
 * The rows as objects (encode), and as a JSON request body (encodeJson, in chunks of 3 rows) give exactly the
 * reader's rows of the file; `scanned`: whether the body is plain enough for the byte scanner (else JSON.parse).
 */
async function check(format: DataFormat, file: string, reader: ReaderOptions, rows: Row[], scanned: boolean): Promise<void> {
  const r = await openReader(format, join(FIX, file), reader);
  const want = flatten(await collect(r));
  const enc = await RowEncoder.create(format, reader, r.fieldNames);
  assert.deepEqual(enc.fieldNames, r.fieldNames);
  assert.deepEqual(enc.denseNames, r.denseNames);
  const body = enc.encodeJson(Buffer.from(JSON.stringify({ instances: rows }, null, format === 'avazu' ? 1 : undefined)), 4096, 3);
  assert.equal(body.scanned, scanned, `${format}: read by the ${scanned ? 'scanner' : 'JSON.parse path'}`);
  assert.equal(body.rows, rows.length);
  assert.ok(body.chunks.every((c) => c.rows <= 3));
  for (const [how, got] of [
    ['objects', flatten([enc.encode(rows)])],
    ['JSON body', flatten(body.chunks)],
  ] as const) {
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      assert.deepEqual(got[i].values, want[i].values, `${format} ${how} row ${i}: ids`);
      assert.deepEqual(got[i].weights, want[i].weights, `${format} ${how} row ${i}: weights`);
      assert.deepEqual(got[i].dense, want[i].dense, `${format} ${how} row ${i}: dense`);
    }
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
  await check('criteo', 'criteo.tsv', {}, criteoRows(), true);
  await check('criteo', 'criteo.tsv', { numeric: 'dense' }, criteoRows(), true);
  // Values the scanner leaves to JSON.parse (non-ASCII, an escape) read the same.
  const rows = criteoRows().map((r, i) => (i === 1 ? { ...r, C2: 'a\u00e9"b' } : r));
  const enc = await RowEncoder.create('criteo', {});
  const body = enc.encodeJson(Buffer.from(JSON.stringify({ instances: rows })), 4096);
  assert.equal(body.scanned, false);
  assert.deepEqual(flatten(body.chunks), flatten([enc.encode(rows)]));
});

test('avazu rows encode as the reader reads the file, hour split or not; id and click are accepted and ignored', async () => {
  const [head, ...rest] = lines('avazu.csv');
  const cols = head.split(',');
  const rows = rest.map((l) => Object.fromEntries(l.split(',').map((c, k) => [cols[k], c])));
  await check('avazu', 'avazu.csv', {}, rows, true);
  await check('avazu', 'avazu.csv', { splitHour: true }, rows, true);
});

test('csv rows (categories, log1p dense, bucketized numbers, multi-valued cells or lists) encode as the reader reads the file', async () => {
  const schema = JSON.parse(readFileSync(join(FIX, 'table.schema.json'), 'utf8')) as ReaderOptions['schema'];
  const [head, ...rest] = lines('table.csv');
  const cols = head.split(',');
  const rows = rest.map((l, i) =>
    Object.fromEntries(l.split(',').flatMap((c, k) => (c === '' ? [] : [[cols[k], cols[k] === 'tags' && i % 2 === 1 ? c.split('|') : value(c)]]))),
  );
  await check('csv', 'table.csv', { schema }, rows, false); // lists
  await check('parquet', 'table.parquet', { schema }, rows, false);
  const plain = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'tags')));
  const enc = await RowEncoder.create('csv', { schema });
  const body = enc.encodeJson(Buffer.from(JSON.stringify({ instances: plain })), 4096);
  assert.equal(body.scanned, true);
  assert.deepEqual(flatten(body.chunks), flatten([enc.encode(plain)]));
});

test('libsvm and libffm tokens encode as the reader reads the file', async () => {
  const svm = lines('data.libsvm').map((l) => Object.fromEntries(l.trim().split(/\s+/).slice(1).map((t, k) => [`f${k}`, t])));
  await check('libsvm', 'data.libsvm', { numFields: 3 }, svm, false);
  const ffm = lines('data.libffm').map((l) => {
    const o: Record<string, string[]> = {};
    for (const t of l.trim().split(/\s+/).slice(1)) {
      const [f, ...rest] = t.split(':');
      (o[`f${f}`] ??= []).push(rest.join(':'));
    }
    return o;
  });
  await check('libffm', 'data.libffm', { numFields: 3 }, ffm, false);
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

test('a JSON body that is not a list of instances, or holds a bad one, gets the same error from the scanner and from JSON.parse', async () => {
  const enc = await RowEncoder.create('criteo', {}, undefined, { maxValueLength: 16 });
  const cases: Array<{ body: string; error: RegExp; instance?: number; field?: string | null }> = [
    { body: '{"instances": [', error: /^malformed JSON body/ },
    { body: '', error: /^malformed JSON body/ },
    { body: '[1]', error: /must be a JSON object/ },
    { body: '{}', error: /'instances' list/ },
    { body: '{"instances": [{"C1": "a"}], "x": 1}', error: /unknown key 'x'/ },
    { body: '{"instances": {}}', error: /list of objects/ },
    { body: '{"instances": []}', error: /is empty/ },
    { body: '{"instances": [{}, {}, {}]}', error: /more than 2 instances/ },
    { body: '{"instances": [{"C1": "a"}, null]}', error: /JSON object/, instance: 1 },
    { body: '{"instances": [{"C1": "a"}, {"C1": "b", "Z9": "c"}]}', error: /unknown field/, instance: 1, field: 'Z9' },
    { body: '{"instances": [{"I2": "x"}]}', error: /not an integer/, instance: 0, field: 'I2' },
    { body: '{"instances": [{}, {"I2": 1.5}]}', error: /not an integer/, instance: 1, field: 'I2' },
    { body: '{"instances": [{"C1": "abcdefghijklmnopq"}]}', error: /17 characters long/, instance: 0, field: 'C1' },
    { body: '{"instances": [{"C1": "a"}, {"C1": true}]}', error: /got boolean/, instance: 1, field: 'C1' },
    { body: '{"instances": [{"C1": "a"} {"C1": "b"}]}', error: /^malformed JSON body/ },
    { body: '{"instances": [{"I1": 01}]}', error: /^malformed JSON body/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => enc.encodeJson(Buffer.from(c.body), 2),
      (e: unknown) => {
        assert.ok(e instanceof BodyError || e instanceof RowError, `${c.body}: ${String(e)}`);
        assert.match(e.message, c.error, c.body);
        assert.equal(e instanceof RowError ? e.instance : e.instance, c.instance, `${c.body}: instance`);
        if (c.field !== undefined) assert.equal(e instanceof RowError ? e.field : undefined, c.field, `${c.body}: field`);
        return true;
      },
    );
  }
  // Whitespace, null (missing) and duplicate names (the last one counts, as in JSON.parse) in a scanned body.
  const spaced = enc.encodeJson(Buffer.from(' {\n "instances" : [ { "C1" : "a" , "I1" : null , "C1" : "b" , "I2" : -3 } ] }\n'), 2);
  assert.equal(spaced.scanned, true);
  assert.deepEqual(flatten(spaced.chunks), flatten([enc.encode([{ C1: 'b', I2: -3 }])]));
  // A number not written as String(n) writes it goes through JSON.parse: 1.0 is the cell "1", as there.
  const odd = enc.encodeJson(Buffer.from('{"instances": [{"I1": 1.0, "I2": 2E0, "I3": -0}]}'), 2);
  assert.equal(odd.scanned, false);
  assert.deepEqual(flatten(odd.chunks), flatten([enc.encode([{ I1: 1, I2: 2, I3: 0 }])]));
});
