// The README's first command, shrunk: demo generates data, trains full/hash/QR/BH, prints the table and writes
// the plot; a second run reuses the data and every finished run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bhembed, tempDir } from './cli-helpers.js';

test('demo (small): table for every method, plot and results; rerun reuses everything', () => {
  const dir = tempDir();
  const out = join(dir, 'demo');
  const args = ['demo', '--out-dir', out, '--rows', '3000', '--test-rows', '1000'];
  const r = bhembed(args);
  assert.equal(r.status, 0, r.stderr);
  for (const m of ['full', 'hash', 'qr', 'bh', 'hybrid']) assert.match(r.stdout, new RegExp(`^\\| ${m} \\|`, 'm'));
  for (const f of ['results.json', 'results.csv', 'results.md', 'auc-vs-compression.svg', 'data/train.txt', 'data/test.txt']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(readFileSync(join(out, 'data/train.txt'), 'utf8').trim().split('\n').length, 3000);
  const again = bhembed(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /reusing/);
  assert.match(again.stderr, /\(0 run\(s\) trained, \d+ reused\)/);
  assert.equal(again.stdout, r.stdout);
  assert.equal(existsSync(join(out, 'data/all.txt')), false, 'no second copy of the data after the split');
  // Other data in the same folder (demo --quick, then demo): every cell is trained again, never reused, and says why.
  const bigger = bhembed(['demo', '--out-dir', out, '--rows', '3500', '--test-rows', '1000']);
  assert.equal(bigger.status, 0, bigger.stderr);
  assert.match(bigger.stderr, /\(\d+ run\(s\) trained, 0 reused\)/);
  assert.match(bigger.stderr, /\[1\/\d+\] full@1#1: trained again, the saved result is out of date \(data\.identity\.train\.bytes: \d+ → \d+/);
});
