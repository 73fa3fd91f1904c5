// Every text format against every kind of bad input: the exact `file:line: reason` under onError 'fail', and the
// per-reason counts (no silent drops) under 'skip'. Also empty, missing, directory and binary files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, IoError } from '../../../src/core/errors.js';
import { openReader } from '../../../src/data/open.js';
import type { DataFormat, ReaderOptions } from '../../../src/data/reader.js';
import { collect, tmpDir, tmpFile } from './helpers.js';

interface FormatCase {
  format: DataFormat;
  options?: ReaderOptions;
  header?: string;
  good: (i: number) => string;
  wrongCount: string;
  wrongCountReason: string;
  badLabel: string;
  badLabelReason: string;
}

const criteoGood = (i: number): string => [String(i % 2), ...Array.from({ length: 13 }, (_, k) => String(i + k)), ...Array.from({ length: 26 }, (_, k) => `c${k}v${i % 7}`)].join('\t');
const avazuHeader = 'id,click,hour,C1,banner_pos,site_id';
const schema = { label: 'y', categorical: ['a', 'b'], numeric: ['x'] };

const CASES: FormatCase[] = [
  {
    format: 'criteo',
    good: criteoGood,
    wrongCount: criteoGood(0).split('\t').slice(0, 38).join('\t'),
    wrongCountReason: 'expected 40 tab-separated fields, got 38',
    badLabel: 'x' + criteoGood(0).slice(1),
    badLabelReason: "label 'x' is not 0/1",
  },
  {
    format: 'avazu',
    header: avazuHeader,
    good: (i) => `${1000 + i},${i % 2},14102100,1005,0,site${i % 3}`,
    wrongCount: '1,0,14102100,1005',
    wrongCountReason: 'expected 6 comma-separated fields, got 4',
    badLabel: '1,yes,14102100,1005,0,s',
    badLabelReason: "click 'yes' is not 0/1",
  },
  {
    format: 'libsvm',
    options: { numFields: 3 },
    good: (i) => `${i % 2 ? '+1' : '-1'} ${i}:1 ${i + 1}:0.5 7:1`,
    wrongCount: '1 1:1 2:1 3:1 4:1',
    wrongCountReason: 'expected at most 3 features, got 4 or more',
    badLabel: '2 1:1',
    badLabelReason: "label '2' is not 0/1 or -1/+1",
  },
  {
    format: 'libfm',
    options: { numFields: 2 },
    good: (i) => `${i % 2} ${i}:1 9:2`,
    wrongCount: '1 1:1 2:1 3:1',
    wrongCountReason: 'expected at most 2 features, got 3 or more',
    badLabel: 'abc 1:1',
    badLabelReason: "label 'abc' is not 0/1 or -1/+1",
  },
  {
    format: 'libffm',
    options: { numFields: 2 },
    good: (i) => `${i % 2} 0:${i}:1 1:${i + 3}:1`,
    wrongCount: '1 0:1:1 5:2:1',
    wrongCountReason: "token '5:2:1': field 5 ≥ numFields 2",
    badLabel: '0.5 0:1:1',
    badLabelReason: "label '0.5' is not 0/1 or -1/+1",
  },
  {
    format: 'csv',
    options: { schema },
    header: 'y,a,b,x',
    good: (i) => `${i % 2},a${i},b${i % 3},${i * 0.5}`,
    wrongCount: '1,a,b',
    wrongCountReason: 'expected 4 comma-separated fields, got 3',
    badLabel: 'maybe,a,b,1',
    badLabelReason: "label 'maybe' is not 0/1",
  },
  {
    format: 'tsv',
    options: { schema },
    header: 'y\ta\tb\tx',
    good: (i) => `${i % 2}\ta${i}\tb\t${i}`,
    wrongCount: '1\ta\tb\t1\textra',
    wrongCountReason: 'expected 4 tab-separated fields, got 5',
    badLabel: '7\ta\tb\t1',
    badLabelReason: "label '7' is not 0/1",
  },
];

function build(c: FormatCase, lines: string[]): string {
  return (c.header !== undefined ? c.header + '\n' : '') + lines.join('\n') + '\n';
}

/** 1-based file line of data line k (0-based). */
function fileLine(c: FormatCase, k: number): number {
  return k + 1 + (c.header !== undefined ? 1 : 0);
}

async function failsWith(c: FormatCase, path: string, message: string, extra: ReaderOptions = {}): Promise<void> {
  // Header formats may find the problem while opening (binary sniff of the first block), others while reading.
  await assert.rejects((async () => collect(await openReader(c.format, path, { ...c.options, ...extra })))(), (e: unknown) => {
    assert.ok(e instanceof DataError, `${c.format}: expected DataError, got ${String(e)}`);
    assert.equal((e as Error).message, message);
    return true;
  });
}

for (const c of CASES) {
  test(`${c.format}: each bad row → exact file:line: reason (fail) and counted per reason (skip)`, async () => {
    const good = Array.from({ length: 10 }, (_, i) => c.good(i));
    const bad: [string, string, string][] = [
      [c.wrongCount, c.wrongCountReason, 'field-count'],
      [c.badLabel, c.badLabelReason, 'label'],
      ['', 'empty line', 'empty-line'],
      [c.good(1) + 'x'.repeat(300), 'line longer than 200 bytes', 'line-too-long'],
    ];
    if (c.format === 'libffm') bad[0][2] = 'field-index';
    for (const [line, reason] of bad) {
      const lines = [...good];
      lines.splice(3, 0, line);
      const path = tmpFile(build(c, lines));
      await failsWith(c, path, `${path}:${fileLine(c, 3)}: ${reason}`, { maxLineBytes: 200 });
    }
    // skip: all bad lines in one file, interleaved
    const lines: string[] = [];
    let k = 0;
    for (const [line] of bad) {
      lines.push(good[k++], line, line);
    }
    lines.push(good[k++]);
    const path = tmpFile(build(c, lines));
    const reader = await openReader(c.format, path, { ...c.options, onError: 'skip', maxLineBytes: 200 });
    const chunks = await collect(reader);
    assert.equal(chunks.reduce((s, x) => s + x.rows, 0), k, 'every good row is kept');
    const counts: Record<string, number> = {};
    for (const [, , kind] of bad) counts[kind] = 2;
    assert.deepEqual(reader.stats.skipped.counts, counts);
    assert.equal(reader.stats.skippedRows, 2 * bad.length);
    assert.equal(reader.stats.skipped.examples['label'], `${path}:${fileLine(c, 4)}: ${c.badLabelReason}`);
  });

  test(`${c.format}: NUL bytes and invalid UTF-8 in a line; binary file; empty, missing, directory`, async () => {
    // Enough good lines first that the bad line lies beyond the 4 KiB binary sniff.
    const good = Array.from({ length: 200 }, (_, i) => c.good(i));
    const nulLine = c.good(0).replace(/.$/, '\u0000');
    const badUtf8 = Buffer.concat([Buffer.from(build(c, good)), Buffer.from(c.good(0).slice(0, -1)), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]);
    const p1 = tmpFile(build(c, [...good, nulLine]));
    await failsWith(c, p1, `${p1}:${fileLine(c, 200)}: binary data (NUL byte) where text was expected`);
    const p2 = tmpFile(badUtf8);
    await failsWith(c, p2, `${p2}:${fileLine(c, 200)}: invalid UTF-8 where text was expected`);
    const r = await openReader(c.format, p2, { ...c.options, onError: 'skip' });
    await collect(r);
    assert.deepEqual(r.stats.skipped.counts, { encoding: 1 });
    assert.equal(r.stats.rows, 200);

    // binary garbage from the start: always an error, even under 'skip'
    const garbage = new Uint8Array(3000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 255;
    const p3 = tmpFile(garbage);
    await assert.rejects(
      (async () => collect(await openReader(c.format, p3, { ...c.options, onError: 'skip' })))(),
      (e: unknown) => e instanceof DataError && /binary data \(NUL bytes?\)|invalid UTF-8/.test((e as Error).message) && (e as Error).message.startsWith(p3),
    );

    const empty = tmpFile('');
    await assert.rejects(
      (async () => collect(await openReader(c.format, empty, c.options)))(),
      (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`${empty}: file is empty`),
    );
    const missing = join(tmpDir(), 'does-not-exist.txt');
    await assert.rejects(
      (async () => collect(await openReader(c.format, missing, c.options)))(),
      (e: unknown) => e instanceof IoError && (e as Error).message === `${missing}: no such file`,
    );
    const dir = join(tmpDir(), `a-directory-${c.format}`);
    mkdirSync(dir, { recursive: true });
    await assert.rejects(
      (async () => collect(await openReader(c.format, dir, c.options)))(),
      (e: unknown) => e instanceof IoError && (e as Error).message === `${dir}: is a directory, expected a data file`,
    );
  });
}

test('header formats: a header and no rows is an error, not an empty dataset', async () => {
  const p = tmpFile(avazuHeader + '\n');
  await assert.rejects(
    (async () => collect(await openReader('avazu', p)))(),
    (e: unknown) => e instanceof DataError && (e as Error).message === `${p}: no data rows after the header line`,
  );
});

test('a corrupt gzip stream is a DataError naming the file', async () => {
  const { gzipSync } = await import('node:zlib');
  const gz = gzipSync(Buffer.from(Array.from({ length: 500 }, (_, i) => criteoGood(i)).join('\n')));
  const truncated = gz.subarray(0, gz.length >> 1);
  const p = tmpFile(truncated);
  await assert.rejects(
    (async () => collect(await openReader('criteo', p)))(),
    (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`${p}: corrupt or truncated gzip data`),
  );
});

test('a Parquet file given to a text reader says which format to use', async () => {
  const p = tmpFile(Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(100, 1)]));
  await assert.rejects(
    (async () => collect(await openReader('criteo', p)))(),
    (e: unknown) => e instanceof DataError && /Parquet file.*use format "parquet"/.test((e as Error).message),
  );
});
