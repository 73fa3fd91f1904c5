// loadRunData checks --valid/--test against --train by field name and order (equal counts fed swapped Avazu
// columns to each other's tables), and a training file whose every row was skipped says how many and why
// (it said only 'no training rows').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { loadRunData } from '../../../src/experiment/pipeline.js';
import { tempDir } from '../../temp-dir.js';

const COLS = ['id', 'click', 'hour', 'C1', 'site_id', 'app_id'];
const dir = tempDir('bhembed-run-data-');

/** Avazu CSV with the columns in `order`; `extra` appends a stray column to every row (a bad row). */
function avazu(name: string, order: string[], rows = 30, extra = false): string {
  const rng = new Rng(5);
  const lines = [order.join(',')];
  for (let i = 0; i < rows; i++) {
    const v: Record<string, string> = { id: String(i), click: String(rng.int(2)), hour: '14102100', C1: String(1000 + rng.int(3)), site_id: `s${rng.int(9)}`, app_id: `a${rng.int(5)}` };
    lines.push(order.map((c) => v[c]).join(',') + (extra ? ',x' : ''));
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const train = avazu('train.csv', COLS);
type Err = Error & { code?: string };

test('--valid / --test whose columns differ by name or order from --train: DataError naming the file and the field', async () => {
  const swapped = avazu('swapped.csv', ['id', 'click', 'hour', 'C1', 'app_id', 'site_id']);
  const ok = await loadRunData({ format: 'avazu', train, valid: train });
  const i = ok.train.fieldNames.indexOf('site_id');
  assert.ok(i >= 0);
  for (const key of ['valid', 'test'] as const) {
    await assert.rejects(loadRunData({ format: 'avazu', train, [key]: swapped }), (e: Err) => {
      assert.equal(e.name, 'DataError');
      assert.equal(e.message, `${swapped}: field ${i + 1} is 'app_id' here but 'site_id' in ${train}; the columns must match in name and order`);
      return true;
    });
  }
});

test('every training row skipped: the error gives the count and the first reason with file:line', async () => {
  const bad = avazu('bad.csv', COLS, 12, true);
  await assert.rejects(loadRunData({ format: 'avazu', train: bad, onError: 'skip' }), (e: Err) => {
    assert.equal(e.name, 'DataError');
    assert.match(e.message, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no usable rows: all 12 row\\(s\\) were skipped as bad \\(first: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: .+\\)$`));
    return true;
  });
  // The same for a --test file; a good --train with skipped rows elsewhere still loads.
  await assert.rejects(loadRunData({ format: 'avazu', train, test: bad, onError: 'skip' }), (e: Err) => e.name === 'DataError' && e.message.startsWith(`${bad}: no usable rows: all 12 row(s)`));
  assert.equal((await loadRunData({ format: 'avazu', train, onError: 'skip' })).train.rows, 30);
});
