// Criteo reader: labels, ids (integers → floor(ln(v)²) categories, hashed tokens), dense mode, gzip, several
// passes and chunk boundaries, all checked against an independent XXH64 of the expected tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { openReader } from '../../../src/data/open.js';
import { loadDataset } from '../../../src/data/dataset.js';
import { collect, expectIds, flatten, refHash, tmpFile } from './helpers.js';

interface Row {
  label: number;
  ints: (number | null)[];
  cats: string[];
}

function makeRows(n: number, seed: number): Row[] {
  const rng = new Rng(seed);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const ints = Array.from({ length: 13 }, () => (rng.next() < 0.2 ? null : rng.next() < 0.1 ? -1 - rng.int(3) : Math.floor(Math.exp(rng.next() * 12))));
    const cats = Array.from({ length: 26 }, (_, f) => (rng.next() < 0.1 ? '' : f === 3 ? `long-token-${rng.int(1000)}-é` : (rng.nextU32() >>> 0).toString(16).padStart(8, '0')));
    rows.push({ label: rng.int(2), ints, cats });
  }
  return rows;
}

function toTsv(rows: Row[]): string {
  return rows.map((r) => [String(r.label), ...r.ints.map((v) => (v === null ? '' : String(v))), ...r.cats].join('\t')).join('\n') + '\n';
}

/** The spec's rule, written out independently: v > 2 → floor(ln(v)²), else v; missing → "". */
function intToken(v: number | null): string {
  if (v === null) return '';
  return v > 2 ? String(Math.floor(Math.log(v) ** 2)) : String(v);
}

test('criteo: labels and every id equal XXH64(token, field index)', async () => {
  const rows = makeRows(300, 1);
  const path = tmpFile(toTsv(rows));
  const reader = await openReader('criteo', path, { chunkRows: 64 });
  assert.equal(reader.numFields, 39);
  assert.deepEqual(reader.fieldNames.slice(0, 2), ['I1', 'I2']);
  assert.equal(reader.fieldNames[13], 'C1');
  const chunks = await collect(reader);
  assert.deepEqual(chunks.map((c) => c.rows), [64, 64, 64, 64, 44]);
  const got = flatten(chunks);
  assert.equal(got.length, rows.length);
  for (let i = 0; i < rows.length; i++) {
    assert.equal(got[i].label, rows[i].label);
    assert.deepEqual(got[i].values, expectIds([...rows[i].ints.map(intToken), ...rows[i].cats]), `row ${i}`);
  }
  assert.equal(reader.stats.rows, 300);
  assert.equal(reader.stats.skippedRows, 0);
});

test('criteo: integer edge cases 0, 1, 2, 3, negatives, leading zeros', async () => {
  const ints = [0, 1, 2, 3, -1, -2, 7, 1000000, 20, 2, 1, 0, 5];
  const line = ['1', ...ints.map(String), ...Array.from({ length: 26 }, () => 'abc')].join('\t');
  const line2 = ['0', '003', ...Array.from({ length: 12 }, () => ''), ...Array.from({ length: 26 }, () => '')].join('\t');
  const ds = await loadDataset('criteo', tmpFile(line + '\n' + line2 + '\r\n'));
  const rows = flatten([ds]);
  const expected0 = ['0', '1', '2', '1', '-1', '-2', '3', '190', '8', '2', '1', '0', '2'];
  assert.deepEqual(rows[0].values.slice(0, 13), expected0.map((t, f) => [refHash(t, f)]));
  assert.deepEqual(rows[1].values[0], [refHash('1', 0)], "'003' is the integer 3 → floor(ln(3)²) = 1");
  assert.deepEqual(rows[1].values[1], [refHash('', 1)]);
  assert.deepEqual(rows[1].values[38], [refHash('', 38)], 'CRLF stripped: last field is empty');
});

test("criteo: numeric 'dense' gives 26 fields and log(1+v) with missing/negative → 0", async () => {
  const rows = makeRows(50, 2);
  const reader = await openReader('criteo', tmpFile(toTsv(rows)), { numeric: 'dense' });
  assert.equal(reader.numFields, 26);
  assert.equal(reader.numDense, 13);
  assert.equal(reader.fieldNames[0], 'C1');
  const got = flatten(await collect(reader));
  for (let i = 0; i < rows.length; i++) {
    assert.deepEqual(got[i].values, expectIds(rows[i].cats));
    const want = rows[i].ints.map((v) => (v === null || v < 0 ? 0 : Math.fround(Math.log1p(v))));
    assert.deepEqual(got[i].dense, want);
  }
});

test('criteo: gzip is detected by magic bytes (any file name), multi-member too, same result', async () => {
  const rows = makeRows(120, 3);
  const text = toTsv(rows);
  const plain = flatten(await collect(await openReader('criteo', tmpFile(text))));
  const gzPath = tmpFile(text, { gzip: true, name: 'no-extension-here' });
  const gz = flatten(await collect(await openReader('criteo', gzPath)));
  assert.deepEqual(gz, plain);
  const half = text.indexOf('\n', text.length >> 1) + 1;
  const { gzipSync } = await import('node:zlib');
  const multi = Buffer.concat([gzipSync(text.slice(0, half)), gzipSync(text.slice(half))]);
  assert.deepEqual(flatten(await collect(await openReader('criteo', tmpFile(multi)))), plain);
});

test('criteo: several passes give identical chunks; maxRows stops a pass', async () => {
  const path = tmpFile(toTsv(makeRows(200, 4)), { gzip: true });
  const reader = await openReader('criteo', path, { chunkRows: 50 });
  const a = flatten(await collect(reader));
  const b = flatten(await collect(reader));
  assert.equal(a.length, 200);
  assert.deepEqual(a, b);
  const limited = await openReader('criteo', path, { chunkRows: 50, maxRows: 70 });
  const c = await collect(limited);
  assert.equal(c.reduce((s, x) => s + x.rows, 0), 70);
});

test('criteo: lines spanning read blocks (1 MiB) and a last line without newline', async () => {
  const rows = makeRows(6000, 5); // ~1.3 MB
  const text = toTsv(rows).replace(/\n$/, '');
  const got = flatten(await collect(await openReader('criteo', tmpFile(text), { chunkRows: 1000 })));
  assert.equal(got.length, 6000);
  for (const i of [0, 2999, 4500, 5999]) {
    assert.deepEqual(got[i].values, expectIds([...rows[i].ints.map(intToken), ...rows[i].cats]));
  }
});

test('criteo: a consumer that stops early closes the pass; the next pass starts from row 1', async () => {
  const rows = makeRows(500, 6);
  const reader = await openReader('criteo', tmpFile(toTsv(rows), { gzip: true }), { chunkRows: 100 });
  for await (const c of reader.chunks()) {
    assert.equal(c.rows, 100);
    break;
  }
  const all = flatten(await collect(reader));
  assert.equal(all.length, 500);
  assert.equal(all[0].label, rows[0].label);
});
