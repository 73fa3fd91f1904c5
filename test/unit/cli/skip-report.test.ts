// --on-error skip must count and report what it dropped: predict/eval used to hide the report under --quiet, and a
// --valid/--test/predict/eval file whose every row was skipped gave 'AUC NaN (0 rows)' with exit 0.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bhembed, criteoLines, tempDir } from '../../e2e/cli-helpers.js';

const dir = tempDir('bhembed-skip-');
const train = join(dir, 'train.txt');
writeFileSync(train, `${criteoLines(300, 1).join('\n')}\n`);
const good = criteoLines(100, 2);
const mixed = join(dir, 'mixed.txt');
// lines 11, 12 and 53 are bad: 97 good rows
writeFileSync(mixed, `${[...good.slice(0, 10), 'x', '1\t2', ...good.slice(10, 50), 'y', ...good.slice(50, 97)].join('\n')}\n`);
const allBad = join(dir, 'all-bad.txt');
writeFileSync(allBad, 'x\ny\nz\n');
const model = join(dir, 'm.bhm');
const FLAGS = ['--format', 'criteo', '--embedding', 'hash', '--compression', '2', '--dim', '4', '--mlp', '4', '-q'];
const SKIP_LINE = `bhembed: skipped 3 row(s) (field-count), first: ${mixed}:11: expected 40 tab-separated fields, got 1\n`;
const NONE_LEFT = `bhembed: ${allBad}: no usable rows: all 3 row(s) were skipped as bad (first: ${allBad}:1: expected 40 tab-separated fields, got 1)\n`;

test('train: a --valid or --test file with every row skipped exits 2 and says so', () => {
  for (const opt of ['--valid', '--test']) {
    const r = bhembed(['train', '--train', train, opt, allBad, ...FLAGS, '--on-error', 'skip']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, NONE_LEFT);
  }
});

test('predict/eval --quiet --on-error skip still report the skipped rows; all skipped is an error', () => {
  const t = bhembed(['train', '--train', train, ...FLAGS, '--out', model]);
  assert.equal(t.status, 0, t.stderr);
  const p = bhembed(['predict', model, mixed, '-q', '--on-error', 'skip']);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(p.stderr, SKIP_LINE);
  assert.equal(p.stdout.trim().split('\n').length, 1 + 97);
  const e = bhembed(['eval', model, mixed, '-q', '--on-error', 'skip']);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(e.stderr, SKIP_LINE);
  assert.match(e.stdout, /\(97 rows, \d+ positive\)/);
  const out = join(dir, 'none.csv');
  const none = bhembed(['predict', model, allBad, '-q', '--on-error', 'skip', '-o', out]);
  assert.equal(none.status, 2);
  assert.equal(none.stderr, NONE_LEFT);
  assert.equal(existsSync(out), false);
  const noneEval = bhembed(['eval', model, allBad, '-q', '--on-error', 'skip']);
  assert.equal(noneEval.status, 2);
  assert.equal(noneEval.stderr, NONE_LEFT);
});
