// Data whose columns are the training data's in another order must be refused (avazu fields come from the header
// in file order; equal field counts used to be enough, so swapped columns fed one field's values to another's table).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { bhembed, tempDir } from '../../e2e/cli-helpers.js';

const COLS = ['id', 'click', 'hour', 'C1', 'banner_pos', 'site_id', 'app_id'];

/** Avazu CSV with the columns in `order` (names from COLS). */
function avazu(path: string, order: string[], rows = 200): void {
  const rng = new Rng(7);
  const lines = [order.join(',')];
  for (let i = 0; i < rows; i++) {
    const v: Record<string, string> = {
      id: String(i),
      click: String(rng.int(2)),
      hour: `141021${String(rng.int(24)).padStart(2, '0')}`,
      C1: String(1000 + rng.int(5)),
      banner_pos: String(rng.int(3)),
      site_id: `s${rng.int(20)}`,
      app_id: `a${rng.int(10)}`,
    };
    lines.push(order.map((c) => v[c]).join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const dir = tempDir('bhembed-fields-');
const train = join(dir, 'train.csv');
const swapped = join(dir, 'swapped.csv');
const model = join(dir, 'm.bhm');
avazu(train, COLS);
avazu(swapped, ['id', 'click', 'hour', 'C1', 'banner_pos', 'app_id', 'site_id']);
const FLAGS = ['--format', 'avazu', '--embedding', 'hash', '--compression', '2', '--dim', '4', '--mlp', '4', '-q'];
const expected = (ref: string): string =>
  `bhembed: ${swapped}: field 4 is 'app_id' here but 'site_id' in ${ref}; the columns must match in name and order\n`;

test('train: --valid / --test with the columns in another order exit 2 naming the file and the field', () => {
  for (const opt of ['--valid', '--test']) {
    const r = bhembed(['train', '--train', train, opt, swapped, ...FLAGS]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, expected(train));
  }
});

test('predict / eval: a file with the columns in another order exits 2; the training layout still works', () => {
  const t = bhembed(['train', '--train', train, ...FLAGS, '--out', model]);
  assert.equal(t.status, 0, t.stderr);
  const p = bhembed(['predict', model, swapped, '-q']);
  assert.equal(p.status, 2, p.stderr);
  assert.equal(p.stderr, expected(`the model ${model}`));
  assert.equal(p.stdout, '');
  const e = bhembed(['eval', model, swapped, '-q']);
  assert.equal(e.status, 2, e.stderr);
  assert.equal(e.stderr, expected(`the model ${model}`));
  const ok = bhembed(['predict', model, train, '-q']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim().split('\n').length, 201);
});
